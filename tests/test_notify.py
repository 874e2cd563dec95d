"""Tell the team: after a write, a summary posted to a WeCom group robot or any URL.

The receiving end is a real HTTP server on loopback (tests.helpers.hostile) that records what
it got and answers what each test scripts: a robot's `errcode 0`, an error, silence.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.cli import run, script
from tests.helpers.hostile import Answer, HostileServer, Received
from tests.helpers.logs import audit_entries, posts_of
from tests.helpers.sandboxes import Sandboxes, edit_profile
from wxbudget import notify
from wxbudget.errors import ExitCode
from wxbudget.sandbox import RunningSandbox

COUPON = "1000000013"
STOCK = "1000000013002"  # normal_coupon ¥5.00; caps 50,000 / 5,000 a day
SECRET = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"
ROBOT_PATH = f"/cgi-bin/webhook/send?key={SECRET}"
ROBOT_OK = Answer(body=b'{"errcode":0,"errmsg":"ok"}')


@pytest.fixture
def receiver() -> Iterator[HostileServer]:
    server = HostileServer(lambda request: ROBOT_OK)
    try:
        yield server
    finally:
        server.stop()


def robot_url(server: HostileServer) -> str:
    return server.base_url + ROBOT_PATH


def posted(server: HostileServer) -> list[dict[str, Any]]:
    documents: list[dict[str, Any]] = []
    for request in server.received:
        assert request.method == "POST"
        assert request.headers["content-type"].startswith("application/json")
        documents.append(json.loads(request.body))
    return documents


def test_set_max_tells_a_wecom_robot_what_changed_and_by_whom(
    sandbox: RunningSandbox, receiver: HostileServer
) -> None:
    result = script("set-max", COUPON, STOCK, "+1000", "--yes", "--notify", robot_url(receiver))
    # The one warning: the key on the command line (the notification itself went through).
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning")]
    assert warnings == [
        "warning: --notify's URL holds a key that other users of this machine can read in the "
        "process list; keep it in the profile's notify_url (a 0600 file) instead"
    ]
    assert SECRET not in result.stdout + result.stderr
    ((request,),) = [receiver.received]
    assert request.target == ROBOT_PATH  # posted to the webhook, key and all
    (message,) = posted(receiver)
    assert message["msgtype"] == "markdown"
    content = message["markdown"]["content"]
    assert content.startswith("**wxbudget set-max**:")
    assert "applied" in content
    assert "(exit 0)" in content
    assert f"stock {STOCK} of coupon {COUPON}, total cap 50,000 -> 51,000, applied" in content
    assert "at stake +¥5,000.00" in content
    assert "profile sandbox" in content
    assert "by " in content


def test_only_a_key_on_the_command_line_is_warned_about(
    sandbox: RunningSandbox, receiver: HostileServer
) -> None:
    plain = run("set-max", COUPON, STOCK, "+1", "--yes", "--notify", receiver.base_url + "/hook")
    assert "process list" not in plain.stderr
    edit_profile(sandbox, notify_url=robot_url(receiver))  # the key in the 0600 file
    from_profile = run("set-max", COUPON, STOCK, "+1", "--yes")
    assert "process list" not in from_profile.stderr
    assert len(receiver.received) == 2


def test_apply_posts_a_json_document_with_the_batch_result_and_its_failures(
    sandbox: RunningSandbox, receiver: HostileServer, tmp_path: Path
) -> None:
    edit_profile(sandbox, notify_url=receiver.base_url + "/hooks/wxbudget")
    plan = tmp_path / "plan.csv"
    plan.write_text(
        "product_coupon_id,stock_id,max_count,max_count_per_day\n"
        f"{COUPON},{STOCK},+100,\n"
        f"{COUPON},99,5,\n"  # no such stock: refused
    )
    run("apply", str(plan), "--dry-run")
    assert receiver.received == []  # a dry run sends nothing, so it tells nothing
    run("apply", str(plan), "--yes", expect=int(ExitCode.PARTIAL))
    (document,) = posted(receiver)
    assert receiver.received[0].target == "/hooks/wxbudget"
    assert document["source"] == "wxbudget"
    assert document["command"] == f"apply {plan}"
    assert (document["result"], document["exit_code"]) == ("partly applied", 8)
    assert list(document["counts"].items()) == [("applied", 1), ("refused", 1)]
    assert document["profile"] == "sandbox"
    assert document["actor"]
    refused, applied = document["changes"]  # what did not apply comes first
    assert (refused["stock_id"], refused["result"]) == ("99", "refused")
    assert "NOT_FOUND" in refused["note"]
    assert (applied["stock_id"], applied["from"], applied["to"]) == (STOCK, 50000, 50100)
    assert applied["result"] == "applied"
    assert applied["out_request_no"]
    assert document["at_stake"] == "+¥500.00"
    assert "1 applied, 1 refused" in document["text"]


def test_bundle_changes_notify_too(sandbox: RunningSandbox, receiver: HostileServer) -> None:
    bundle = "712315129419284901"
    run("bundle", "set-max", "1000000014", bundle, "+100", "--yes", "--notify", robot_url(receiver))
    content = posted(receiver)[0]["markdown"]["content"]
    assert content.startswith("**wxbudget bundle set-max**:")
    assert f"bundle {bundle} of coupon 1000000014" in content


def test_a_failed_write_is_told_with_its_reason(
    sandboxes: Sandboxes, receiver: HostileServer
) -> None:
    sandboxes.start(faults=["500=1:POST"], fault_limit=1)
    url = robot_url(receiver)
    args = ("set-max", COUPON, STOCK, "+1", "--yes", "--max-retries", "0", "--notify", url)
    run(*args, expect=int(ExitCode.NETWORK))
    content = posted(receiver)[0]["markdown"]["content"]
    assert '<font color="warning">failed</font> (exit 7)' in content
    assert "total cap 50,000 -> 50,001, failed: WeChat Pay answered 500 SYSTEM_ERROR" in (content)


@pytest.mark.parametrize(
    "answer",
    [
        Answer(status=500, body=b"oops"),
        Answer(body=b'{"errcode":93000,"errmsg":"invalid webhook url, key ' + SECRET.encode()),
        Answer(body=b'{"errcode":93000,"errmsg":"invalid webhook url"}'),
        Answer(body=b'{"errcode":93000,"errmsg":"no robot with key ' + SECRET.encode() + b'"}'),
        Answer(status=302, headers={"Location": "http://127.0.0.1:9/elsewhere"}),
    ],
    ids=["http-500", "not-json", "robot-error", "robot-echoes-key", "redirect"],
)
def test_a_failed_notification_is_a_warning_and_changes_nothing_else(
    sandbox: RunningSandbox, isolated_environment: Path, answer: Answer
) -> None:
    server = HostileServer(lambda request: answer)
    try:
        url = robot_url(server)
        result = script("set-max", COUPON, STOCK, "+1", "--yes", "--notify", url)
    finally:
        server.stop()
    assert len(server.received) == 1  # once: no retry, no redirect followed
    (warning,) = [line for line in result.stderr.splitlines() if "notification" in line]
    host = server.base_url.removeprefix("http://")
    assert warning.startswith(
        f"warning: the notification to http://{host}/cgi-bin/webhook/send?key=*** failed ("
    )
    assert SECRET not in result.stderr + result.stdout
    assert not [e for e in audit_entries(isolated_environment) if "notif" in json.dumps(e)]
    assert len(posts_of(sandbox.home)) == 1


def test_an_unreachable_or_silent_receiver_is_a_warning_in_bounded_time(
    sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    stopped = HostileServer(lambda request: ROBOT_OK)
    gone = stopped.base_url + "/hook?token=" + SECRET
    stopped.stop()
    refused = run("set-max", COUPON, STOCK, "+1", "--yes", "--notify", gone)
    assert "failed (the connection was refused)" in refused.stderr
    assert SECRET not in refused.stderr
    # A receiver that never answers: the command stops waiting (NOTIFY_SECONDS, shortened here
    # so the test does not wait the real 5 seconds) and ends as it would have.
    monkeypatch.setattr(notify, "NOTIFY_SECONDS", 0.2)

    def silent(request: Received) -> Answer:
        return Answer(chunks=[b"{"] * 20, pause=0.5)

    server = HostileServer(silent)
    try:
        slow = run("set-max", COUPON, STOCK, "+1", "--yes", "--notify", robot_url(server))
    finally:
        server.stop()
    assert "failed (no answer in time)" in slow.stderr
    assert len(posts_of(sandbox.home)) == 2


def test_nothing_sent_means_nothing_told(sandbox: RunningSandbox, receiver: HostileServer) -> None:
    url = robot_url(receiver)
    run("set-max", COUPON, STOCK, "+1", "--dry-run", "--notify", url)
    run("set-max", COUPON, STOCK, "50000", "--yes", "--notify", url)  # already there
    run("set-max", COUPON, STOCK, "+1", "--notify", url, expect=2)  # no terminal to confirm on
    assert receiver.received == []


def test_a_bad_notify_url_is_refused_before_anything_is_sent_without_showing_its_key(
    sandbox: RunningSandbox,
) -> None:
    plain = f"http://qyapi.example.com/cgi-bin/webhook/send?key={SECRET}"
    refused = run("set-max", COUPON, STOCK, "+1", "--yes", "--notify", plain, expect=2)
    assert "--notify http://qyapi.example.com/cgi-bin/webhook/send?key=*** in the command" in (
        refused.stderr
    )
    assert "plain http to a non-loopback host; use https://" in refused.stderr
    assert SECRET not in refused.stderr
    edit_profile(sandbox, notify_url=f"ftp://robot/?key={SECRET}")
    bad = run("set-max", COUPON, STOCK, "+1", "--yes", expect=int(ExitCode.CONFIG))
    assert "notify_url ftp://robot/?key=*** in" in bad.stderr
    assert SECRET not in bad.stderr
    assert posts_of(sandbox.home) == []


def test_profile_show_masks_the_robot_key(sandbox: RunningSandbox) -> None:
    edit_profile(
        sandbox, notify_url=f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={SECRET}"
    )
    shown = run("profile", "show", "-o", "json").stdout
    assert SECRET not in shown
    keys = json.loads(shown)["keys"]
    assert keys["notify_url"] == "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=***"


def test_a_long_batch_fits_a_robot_message() -> None:
    line = notify.Line("stock 1 of coupon 2", "total cap", 1, 2, "failed", "x" * 500)
    summary = notify.Summary(
        "apply plan.csv", "failed", 8, "ops", "prod", "api.mch.weixin.qq.com", (line,) * 300
    )
    content = json.loads(notify.message("https://h/cgi-bin/webhook/send?key=k", summary))
    text = content["markdown"]["content"]
    assert len(text.encode("utf-8")) <= notify.MAX_CONTENT_BYTES
    assert "and 290 more" in text or "more lines left out" in text
    document = json.loads(notify.message("https://h/hook", summary))
    assert len(document["changes"]) == notify.MAX_DOCUMENT_CHANGES
    assert document["changes_left_out"] == 200
