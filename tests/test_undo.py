"""`undo`: a journaled change (or a batch) taken back, as an operation of its own."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.cli import SCRIPT, converse, run, table_fields
from tests.helpers.hostile import Answer, HostileServer
from tests.helpers.logs import applied_counts, audit_entries, audit_path, posts_of
from tests.helpers.sandboxes import BOTH_MODES, Sandboxes
from wxbudget.errors import ExitCode
from wxbudget.sandbox import RunningSandbox

COUPON = "1000000013"
STOCK = "1000000013002"  # caps 50,000 / 5,000 a day
OTHER = "1000000013001"  # total cap 10,000,000
BUNDLE_COUPON = "1000000014"
BUNDLE = "712315129419284901"
PARTIAL, CONFLICT, REJECTED = int(ExitCode.PARTIAL), int(ExitCode.CONFLICT), int(ExitCode.REJECTED)


def caps(stock: str = STOCK, coupon: str = COUPON) -> tuple[int, int | None]:
    rule = json.loads(run("show", coupon, stock, "-o", "json").stdout)["stock_send_rule"]
    return rule["max_count"], rule.get("max_count_per_day")


def intents(home: Path) -> list[dict[str, Any]]:
    return [entry for entry in audit_entries(home) if entry["type"] == "intent"]


def history() -> list[dict[str, Any]]:
    operations: list[dict[str, Any]] = json.loads(run("history", "-o", "json").stdout)
    return operations


@BOTH_MODES
def test_undo_sets_the_cap_back_once_as_an_operation_of_its_own(
    sandbox: RunningSandbox, isolated_environment: Path
) -> None:
    run("set-max", COUPON, STOCK, "+1000", "--yes", "--out-request-no", "raise-1")
    assert caps()[0] == 51000
    dry = run("undo", "raise-1", "--dry-run")
    assert "undo of out_request_no raise-1 (" in dry.stderr
    assert "total cap of stock 1000000013002 50,000 -> 51,000: back to 50,000" in dry.stderr
    body = json.loads(dry.stdout)
    assert (body["current_max_count"], body["target_max_count"]) == (51000, 50000)
    assert len(posts_of(sandbox.home)) == 1  # the dry run sent nothing
    undone = run("undo", "raise-1", "--yes", "-o", "json")
    assert json.loads(undone.stdout)["stock_send_rule"]["max_count"] == 50000
    assert caps()[0] == 50000
    original, reverting = intents(isolated_environment)
    assert reverting["undoes"] == original["operation"]
    assert reverting["undoes_out_request_no"] == "raise-1"
    assert (reverting["from"], reverting["to"]) == (51000, 50000)
    assert reverting["out_request_no"] != "raise-1"
    # Undoing it again, or undoing the undo, is refused before anything is sent.
    again = run("undo", "raise-1", "--yes", expect=REJECTED)
    assert f"already undone by out_request_no {reverting['out_request_no']}" in again.stderr
    assert "undoing it again is refused" in again.stderr
    back = run("undo", reverting["out_request_no"], "--yes", expect=REJECTED)
    assert "is itself an undo (of out_request_no raise-1)" in back.stderr
    assert len(posts_of(sandbox.home)) == 2
    assert set(applied_counts(sandbox.home).values()) == {1}
    # history names each operation (its id undoes it too) and says what an undo reverts.
    operations = history()
    assert [op["intent"]["operation"] for op in operations] == [
        original["operation"],
        reverting["operation"],
    ]
    table = run("history").stdout
    assert original["operation"] in table
    assert "undoes raise-1" in table


def test_undo_by_operation_id_and_of_a_bundle(sandbox: RunningSandbox) -> None:
    run("bundle", "set-max", BUNDLE_COUPON, BUNDLE, "+100", "--yes")
    (operation,) = history()
    run("undo", operation["intent"]["operation"], "--yes")
    shown = json.loads(run("bundle", "show", BUNDLE_COUPON, BUNDLE, "-o", "json").stdout)
    assert {stock["stock_send_rule"]["max_count"] for stock in shown["stock_list"]} == {30000}


@BOTH_MODES
def test_a_cap_changed_since_is_not_undone_exit_5_saying_what_it_is_now(
    sandbox: RunningSandbox,
) -> None:
    run("set-max", COUPON, STOCK, "+1000", "--yes", "--out-request-no", "raise-2")
    run("set-max", COUPON, STOCK, "+1", "--yes")  # someone else, after
    refused = run("undo", "raise-2", "--yes", expect=CONFLICT)
    assert (
        "the total cap of stock 1000000013002 is now 51,001, not the 51,000 that "
        "out_request_no raise-2 set: it was changed since" in refused.stderr
    )
    assert "nothing was sent" in refused.stderr
    assert len(posts_of(sandbox.home)) == 2
    assert caps()[0] == 51001


def test_a_change_made_between_the_read_and_the_undo_is_refused_by_wechat_pay(
    sandboxes: Sandboxes,
) -> None:
    sandboxes.start()
    run("set-max", COUPON, STOCK, "+1000", "--yes", "--out-request-no", "raise-3")
    racing = sandboxes.start(faults=["race=1"], fault_limit=1)  # same home, a racing writer
    refused = run("undo", "raise-3", "--yes", expect=CONFLICT)
    assert "changed underneath: read 51000, now 51001; nothing was applied" in refused.stderr
    assert [entry["applied"] for entry in posts_of(racing.home)][-1] is False
    assert caps()[0] == 51001


def test_undo_asks_on_a_terminal_and_refuses_without_one(sandbox: RunningSandbox) -> None:
    run("set-max", COUPON, STOCK, "+10", "--yes", "--out-request-no", "raise-4")
    refused = run("undo", "raise-4", expect=2)
    assert "stdin is not a terminal; pass --yes" in refused.stderr
    status, output = converse(["undo", "raise-4"], [(b"Apply this change?", b"n\n")])
    assert status == 2
    assert "cancelled: nothing was sent" in output
    assert caps()[0] == 50010
    status, output = converse(["undo", "raise-4"], [(b"Apply this change?", b"y\n")])
    assert status == 0, output
    assert caps()[0] == 50000


def test_a_forged_or_unknown_journal_line_is_never_undone(
    sandbox: RunningSandbox, isolated_environment: Path
) -> None:
    run("set-max", COUPON, STOCK, "+1000", "--yes", "--out-request-no", "raise-5")
    journal = audit_path(isolated_environment)
    text = journal.read_text()
    journal.write_text(text.replace('"from":50000,"to":51000', '"from":90000,"to":51000'))
    forged = run("undo", "raise-5", "--yes", expect=CONFLICT)
    assert "which is not a change wxbudget wrote (edited or planted)" in forged.stderr
    journal.write_text(text.replace('"host":"127.0.0.1",', ""))
    hostless = run("undo", "raise-5", "--yes", expect=2)
    assert "records no API host (an older wxbudget wrote it)" in hostless.stderr
    unknown = run("undo", "no-such-change", "--yes", expect=2)
    assert "no change with out_request_no or operation id 'no-such-change'" in unknown.stderr
    both = run("undo", "raise-5", "--batch", "b1", expect=2)
    assert "not both" in both.stderr
    assert len(posts_of(sandbox.home)) == 1


@pytest.mark.slow
def test_an_undo_killed_mid_write_is_finished_by_running_it_again_exactly_once(
    sandboxes: Sandboxes, isolated_environment: Path
) -> None:
    held = sandboxes.start(rate_limit=0)
    run("set-max", COUPON, STOCK, "+1000", "--yes", "--out-request-no", "raise-8")
    hold = held.hold_answers("POST")
    process = subprocess.Popen(
        [SCRIPT, "undo", "raise-8", "--yes"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    hold.wait_held()
    process.kill()
    process.communicate()
    hold.release()
    (undo,) = [entry for entry in intents(isolated_environment) if entry.get("undoes")]
    finished = run("undo", "raise-8", "--yes")
    number = undo["out_request_no"]
    assert f"an interrupted undo of it is on record: finishing it ({number})" in finished.stderr
    assert "nothing to do" in finished.stderr  # it had landed: not sent again
    assert caps()[0] == 50000
    assert applied_counts(held.home)[number] == 1
    outcomes = [e for e in audit_entries(isolated_environment) if e["type"] == "outcome"]
    assert (outcomes[-1]["out_request_no"], outcomes[-1]["result"]) == (number, "applied")
    again = run("undo", "raise-8", "--yes", expect=REJECTED)
    assert f"already undone by out_request_no {number}" in again.stderr


def test_apply_resume_leaves_an_undo_batch_to_undo(
    sandboxes: Sandboxes, tmp_path: Path, isolated_environment: Path
) -> None:
    sandboxes.start(rate_limit=0)
    run("apply", str(plan(tmp_path)), "--yes")
    (batch_id,) = {entry["batch"] for entry in intents(isolated_environment)}
    sandboxes.start(rate_limit=0, faults=["500=1:POST"], fault_limit=1)
    args = ("--yes", "--max-retries", "0", "--concurrency", "1")
    run("undo", "--batch", batch_id, *args, expect=PARTIAL)
    refused = run("apply", "--resume", "--yes", expect=2)
    assert f"finish it with 'wxbudget undo --batch {batch_id}'" in refused.stderr


def test_a_failed_change_has_nothing_to_undo(sandboxes: Sandboxes) -> None:
    sandboxes.start(faults=["500=1:POST"], fault_limit=1)
    args = ("set-max", COUPON, STOCK, "+1", "--yes", "--max-retries", "0")
    run(*args, "--out-request-no", "raise-6", expect=int(ExitCode.NETWORK))
    refused = run("undo", "raise-6", "--yes", expect=REJECTED)
    assert "was not applied (result not_applied): nothing to undo" in refused.stderr


def plan(tmp_path: Path) -> Path:
    path = tmp_path / "plan.csv"
    path.write_text(
        "product_coupon_id,stock_id,max_count,max_count_per_day\n"
        f"{COUPON},{STOCK},+100,+10\n"
        f"{COUPON},{OTHER},+5,\n"
    )
    return path


@BOTH_MODES
def test_undo_batch_reverts_every_applied_row_and_lists_the_ones_changed_since(
    sandbox: RunningSandbox, tmp_path: Path, isolated_environment: Path
) -> None:
    applied = run("apply", str(plan(tmp_path)), "--yes")
    batch = {entry["batch"] for entry in intents(isolated_environment)}
    assert len(batch) == 1
    (batch_id,) = batch
    assert f"wxbudget undo --batch {batch_id}" in applied.stderr
    assert {op["intent"]["batch"] for op in history()} == {batch_id}
    assert batch_id in run("history").stdout
    run("set-daily", COUPON, STOCK, "+1", "--yes")  # someone else, after
    dry = run("undo", "--batch", batch_id, "--dry-run", "-o", "json")
    steps = json.loads(dry.stdout)
    assert [(s["stock_id"], s["update_mode"], s["outcome"]) for s in steps] == [
        (OTHER, "MAX_COUNT", "change"),
        (STOCK, "MAX_COUNT", "change"),
        (STOCK, "MAX_COUNT_PER_DAY", "refused"),
    ]
    assert "is now 5,011, not the 5,010 that out_request_no" in steps[2]["reason"]
    posted = len(posts_of(sandbox.home))
    result = run("undo", "--batch", batch_id, "--yes", "-o", "json", expect=PARTIAL)
    outcomes = [step["outcome"] for step in json.loads(result.stdout)]
    assert outcomes == ["applied", "applied", "refused"]
    assert caps() == (50000, 5011)
    assert caps(OTHER)[0] == 10_000_000
    assert len(posts_of(sandbox.home)) == posted + 2
    undos = [entry for entry in intents(isolated_environment) if entry.get("undoes")]
    assert {entry["undoes_batch"] for entry in undos} == {batch_id}
    assert len({entry["batch"] for entry in undos}) == 1  # the undo is a batch of its own
    again = run("undo", "--batch", batch_id, "--yes", expect=REJECTED)
    assert "undoing it again is refused" in again.stderr
    undo_batch = undos[0]["batch"]
    refused = run("undo", "--batch", undo_batch, "--yes", expect=REJECTED)
    assert f"batch {undo_batch} is itself an undo (of batch {batch_id})" in refused.stderr


def test_an_interrupted_undo_batch_finishes_on_a_rerun_exactly_once(
    sandboxes: Sandboxes, tmp_path: Path, isolated_environment: Path
) -> None:
    first_run = sandboxes.start(rate_limit=0)
    run("apply", str(plan(tmp_path)), "--yes")
    applying = len(posts_of(first_run.home))
    (batch_id,) = {entry["batch"] for entry in intents(isolated_environment)}
    failing = sandboxes.start(rate_limit=0, faults=["500=1:POST"], fault_limit=1)
    args = ("undo", "--batch", batch_id, "--yes", "--max-retries", "0", "--concurrency", "1")
    first = run(*args, expect=PARTIAL)
    assert "failed" in first.stdout
    run(*args)  # the re-run resumes the same undo batch: the failed step, same number
    assert caps() == (50000, 5000)
    assert caps(OTHER)[0] == 10_000_000
    assert set(applied_counts(failing.home).values()) == {1}
    numbers = [entry["out_request_no"] for entry in posts_of(failing.home)][applying:]
    assert len(numbers) == 4  # three steps, one of them sent twice with its recorded number
    assert len(set(numbers)) == 3
    fields = table_fields(run("show", COUPON, STOCK).stdout)
    assert fields["total cap (max_count)"] == "50,000"


def test_an_undo_tells_the_team(sandbox: RunningSandbox, tmp_path: Path) -> None:
    receiver = HostileServer(lambda request: Answer(body=b'{"errcode":0,"errmsg":"ok"}'))
    try:
        run("set-max", COUPON, STOCK, "+1000", "--yes", "--out-request-no", "raise-7")
        url = receiver.base_url + "/cgi-bin/webhook/send?key=k"
        run("undo", "raise-7", "--yes", "--notify", url)
        run("apply", str(plan(tmp_path)), "--yes")
        (batch,) = {op["intent"].get("batch") for op in history()} - {None}
        run("undo", "--batch", batch, "--yes", "--notify", url)
    finally:
        receiver.stop()
    single, whole = (
        json.loads(request.body)["markdown"]["content"] for request in receiver.received
    )
    assert single.startswith("**wxbudget undo raise-7**:")
    assert "total cap 51,000 -> 50,000, applied" in single
    assert whole.startswith(f"**wxbudget undo --batch {batch}**:")
    assert "> 3 applied" in whole
