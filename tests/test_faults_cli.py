"""Injected faults through the CLI: every write is applied once, reported truly and journaled.

Each test starts a sandbox that misbehaves on purpose (wxbudget.sandbox.faults) and checks what a
user would notice: the exit code, the one stderr line, what the sandbox applied (requests.jsonl)
and what the audit journal says.
"""

from __future__ import annotations

import json
import os
import re
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.cli import Result, run, spawn
from tests.helpers.logs import (
    applied_counts,
    audit_entries,
    outcome_of,
    posts_of,
    read_jsonl,
    request_log,
)
from tests.helpers.sandboxes import Sandboxes
from wxbudget import config, operations
from wxbudget.budget import parse_target
from wxbudget.client import Client
from wxbudget.errors import ExitCode, NetworkError, StaleCurrentError
from wxbudget.journal import Journal
from wxbudget.models import UpdateMode
from wxbudget.sandbox import RunningSandbox

COUPON = "1000000013"
STOCK = "1000000013002"  # SENDING, total cap 50,000 (12,000 issued), daily cap 5,000

SIGNATURE_FAULTS = {
    "badsig": r"signature invalid",
    "unsigned": r"response is unsigned: header Wechatpay-Timestamp is missing",
    "skew": r"clock skew of (\d+) s",
    "probe": r"probe signature",
}

# A signing message line of the -v trace: method, target, timestamp, nonce, body (JSON-quoted).
POST_SIGNING_MESSAGE = re.compile(
    r'> signing message: "POST\\n[^"]*?\\n(\d+)\\n(\w+)\\n(\{.*?\})\\n"'
)
LONG_BASE64 = re.compile(r"[A-Za-z0-9+/]{300,}={0,2}")

Launch = Callable[..., RunningSandbox]


@pytest.fixture
def launch(sandboxes: Sandboxes) -> Launch:
    """Start the sandbox (faults as KIND=P[:METHOD] strings); WXBUDGET_CONFIG points at it.

    Launching again restarts the same home (same stocks, same idempotency records, new port).
    """

    def start(*faults: str, **options: Any) -> RunningSandbox:
        return sandboxes.start(faults=faults, rate_limit=0, **options)

    return start


def max_count(stock: str = STOCK) -> int:
    data = json.loads(run("show", COUPON, stock, "-o", "json").stdout)
    count: int = data["stock_send_rule"]["max_count"]
    return count


def set_max(target: str, *options: str, expect: int = 0) -> Result:
    """`wxbudget set-max COUPON STOCK TARGET --yes OPTIONS...` in-process."""
    return run("set-max", COUPON, STOCK, target, "--yes", *options, expect=expect)


def verification_reason(kind: str, text: str) -> str:
    """The reason of `kind` found in `text` (fails the test when it is not there)."""
    match = re.search(SIGNATURE_FAULTS[kind], text)
    assert match, f"no {kind!r} reason in: {text}"
    if kind == "skew":
        assert int(match.group(1)) >= 599
    return match.group(0)


# 1. Verification faults on every method: nothing is believed, nothing is sent.


@pytest.mark.parametrize("kind", sorted(SIGNATURE_FAULTS))
def test_show_refuses_an_answer_that_fails_verification(launch: Launch, kind: str) -> None:
    sandbox = launch(f"{kind}=1")
    result = run("show", COUPON, STOCK, expect=6)
    verification_reason(kind, result.stderr)
    assert "not believed" in result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert re.search(r"\(Request-ID [0-9A-F]{40}-\d+\)$", result.stderr.strip())
    assert result.stdout == ""
    assert [entry["fault"] for entry in request_log(sandbox.home)] == [kind]


@pytest.mark.parametrize("kind", sorted(SIGNATURE_FAULTS))
def test_set_max_sends_nothing_when_the_read_fails_verification(
    launch: Launch, kind: str, isolated_environment: Path
) -> None:
    sandbox = launch(f"{kind}=1")
    result = set_max("+100", expect=6)
    verification_reason(kind, result.stderr)
    assert result.stderr.count("\n") == 1, result.stderr
    assert "Request-ID" in result.stderr
    assert result.stdout == ""
    assert posts_of(sandbox.home) == []
    assert audit_entries(isolated_environment) == []


# 2. Verification faults on the write only: the re-read settles what happened.


@pytest.mark.parametrize("kind", sorted(SIGNATURE_FAULTS))
def test_an_unverified_write_answer_is_settled_by_re_reading(
    launch: Launch, kind: str, isolated_environment: Path
) -> None:
    sandbox = launch(f"{kind}=1:POST")
    number = f"verify-{kind}-01"
    result = set_max("+100", "--out-request-no", number)
    reason = verification_reason(kind, result.stderr)
    (warning,) = [
        line
        for line in result.stderr.splitlines()
        if "applied (confirmed by re-reading the stock)" in line
    ]
    assert reason in warning
    assert "now 50,100" in result.stderr
    log = request_log(sandbox.home)
    assert [(e["method"], e["applied"], e["fault"]) for e in log] == [
        ("GET", False, None),
        ("POST", True, kind),
        ("GET", False, None),  # the reconciliation, verified
    ]
    outcome = outcome_of(audit_entries(isolated_environment), number)
    assert outcome["result"] == "applied"
    assert outcome["reconciled"] is True
    assert outcome["verified"] is False
    assert outcome["exit_code"] == 0
    assert outcome["attempts"] == 1
    assert max_count() == 50_100


# 3.-5. Lost answers: the write landed, the answer did not.


def test_a_dropped_answer_is_settled_by_reading_not_by_sending_again(
    launch: Launch, isolated_environment: Path
) -> None:
    sandbox = launch("drop=1:POST", fault_limit=1)
    number = "drop-once-0001"
    result = set_max("+100", "--verbose", "--out-request-no", number)
    assert len(POST_SIGNING_MESSAGE.findall(result.stderr)) == 1
    assert "confirmed by reading): not sent again" in result.stderr
    assert "applied (confirmed by re-reading the stock)" in result.stderr
    assert "retry 1 of" not in result.stderr  # no backoff: the read answered
    assert [(e["applied"], e["fault"]) for e in posts_of(sandbox.home)] == [(True, "drop")]
    assert applied_counts(sandbox.home) == {number: 1}
    outcome = outcome_of(audit_entries(isolated_environment), number)
    assert (outcome["result"], outcome["attempts"], outcome["reconciled"]) == ("applied", 1, True)
    assert max_count() == 50_100


def test_a_retried_write_is_a_byte_identical_replay(
    launch: Launch, isolated_environment: Path
) -> None:
    sandbox = launch("500=1:POST", fault_limit=1)
    number = "retry-once-001"
    result = set_max("+100", "--verbose", "--out-request-no", number)
    messages = POST_SIGNING_MESSAGE.findall(result.stderr)
    assert len(messages) == 2
    (_, first_nonce, first_body), (_, second_nonce, second_body) = messages
    assert first_body == second_body
    assert f'\\"out_request_no\\":\\"{number}\\"' in first_body
    assert first_nonce != second_nonce
    assert "retry 1 of 3 in" in result.stderr
    assert [(e["status"], e["applied"]) for e in posts_of(sandbox.home)] == [
        (500, False),
        (200, True),
    ]
    assert {e["out_request_no"] for e in posts_of(sandbox.home)} == {number}
    outcome = outcome_of(audit_entries(isolated_environment), number)
    assert (outcome["result"], outcome["attempts"], outcome["verified"]) == ("applied", 2, True)
    assert outcome["code"] is None  # the last answer's, not the first attempt's SYSTEM_ERROR
    assert max_count() == 50_100


def test_every_answer_dropped_is_settled_by_re_reading(
    launch: Launch, isolated_environment: Path
) -> None:
    sandbox = launch("drop=1:POST")
    number = "drop-all-00001"
    result = set_max("60000", "--max-retries", "1", "--out-request-no", number)
    assert "applied (confirmed by re-reading the stock)" in result.stderr
    # The first lost answer is settled by a read: the write is not sent again.
    assert [(e["applied"], e["replay"]) for e in posts_of(sandbox.home)] == [(True, False)]
    assert applied_counts(sandbox.home) == {number: 1}
    outcome = outcome_of(audit_entries(isolated_environment), number)
    assert outcome["result"] == "applied"
    assert outcome["reconciled"] is True
    assert outcome["attempts"] == 1
    assert outcome["exit_code"] == 0
    assert max_count() == 60_000


def test_an_answer_later_than_the_timeout_is_settled_by_re_reading(
    launch: Launch, isolated_environment: Path
) -> None:
    sandbox = launch()
    sandbox.hold_answers("POST")  # until the sandbox stops: the client gives up first
    number = "delay-all-0001"
    # The timeout covers the re-read too, so it leaves a loaded machine time to answer that.
    result = set_max("-1000", "--timeout", "2", "--max-retries", "0", "--out-request-no", number)
    assert "no answer before the timeout" in result.stderr
    assert "applied (confirmed by re-reading the stock)" in result.stderr
    assert applied_counts(sandbox.home) == {number: 1}
    outcome = outcome_of(audit_entries(isolated_environment), number)
    assert (outcome["result"], outcome["reconciled"], outcome["exit_code"]) == ("applied", True, 0)
    assert outcome["attempts"] == 1
    assert max_count() == 49_000


# 6. Refusals before anything is applied: retried, then reported as not applied.


@pytest.mark.parametrize(("kind", "code"), [("500", "SYSTEM_ERROR"), ("429", "RATELIMIT_EXCEEDED")])
def test_retryable_refusals_are_retried_then_reported_not_applied(
    launch: Launch, kind: str, code: str, isolated_environment: Path
) -> None:
    sandbox = launch(f"{kind}=1:POST")
    number = f"refused-{kind}-01"
    result = set_max("+100", "--max-retries", "1", "--out-request-no", number, expect=7)
    # The plan and the number come first; the failure is one line, the last.
    *_, last = result.stderr.splitlines()
    assert [line for line in result.stderr.splitlines() if "error" in line] == [last]
    assert last.startswith("error: ")
    assert f"{kind} {code}" in result.stderr
    assert "(after 2 attempts)" in result.stderr
    assert "not applied: stock 1000000013002 still has" in result.stderr
    assert f"--out-request-no {number}" in result.stderr
    assert [(e["out_request_no"], e["status"], e["applied"]) for e in posts_of(sandbox.home)] == [
        (number, int(kind), False),
        (number, int(kind), False),
    ]
    outcome = outcome_of(audit_entries(isolated_environment), number)
    assert outcome["result"] == "not_applied"
    assert outcome["attempts"] == 2
    assert outcome["exit_code"] == 7
    assert outcome["http_status"] == int(kind)
    assert outcome["code"] == code
    assert max_count() == 50_000


# 7. A 4xx is the caller's to fix: never retried.


def test_an_unknown_stock_is_asked_for_once(launch: Launch) -> None:
    sandbox = launch()
    result = run("set-max", COUPON, "1000000013999", "+1", "--yes", expect=4)
    assert "404 NOT_FOUND" in result.stderr
    assert [(e["method"], e["status"]) for e in request_log(sandbox.home)] == [("GET", 404)]


def test_a_cap_changed_between_read_and_write_is_a_conflict_sent_once(
    launch: Launch, isolated_environment: Path
) -> None:
    # The first read's answer is held back until another operator has changed the cap: the
    # sandbox read 50,000 for the cron job, and the job learns it only after the change.
    sandbox = launch()
    hold = sandbox.hold_answers("GET")
    number = "stale-cron-001"
    with spawn("set-max", COUPON, STOCK, "+1000", "--yes", "--out-request-no", number) as process:
        hold.wait_held()
        set_max("70000")
        hold.release()
        _, stderr = process.communicate(timeout=60)
    assert process.returncode == 5, stderr
    assert "read 50000, now 70000" in stderr
    assert [(e["status"], e["applied"]) for e in posts_of(sandbox.home, number)] == [(400, False)]
    assert outcome_of(audit_entries(isolated_environment), number)["result"] == "conflict"
    assert max_count() == 70_000


def test_a_cap_changed_by_someone_else_while_the_answer_was_unverified_exits_5(
    launch: Launch, isolated_environment: Path
) -> None:
    # Our write lands, but its answer fails verification; before we re-read, another operator
    # sets a third value. Neither the value we read nor our target: never "not applied".
    sandbox = launch("badsig=1:POST", fault_limit=1)
    hold = sandbox.hold_answers("POST")
    number = "overtaken-00001"
    with spawn("set-max", COUPON, STOCK, "+100", "--yes", "--out-request-no", number) as process:
        hold.wait_held()
        set_max("70000")
        hold.release()
        _, stderr = process.communicate(timeout=60)
    assert process.returncode == 5, stderr
    assert "now has total cap 70000, neither the 50000 read before nor the target 50100" in stderr
    assert "someone else changed it" in stderr
    assert stderr.strip().splitlines()[-1].startswith("error: ")
    outcome = outcome_of(audit_entries(isolated_environment), number)
    assert (outcome["result"], outcome["exit_code"], outcome["reconciled"]) == ("conflict", 5, True)
    assert applied_counts(sandbox.home)[number] == 1
    assert max_count() == 70_000


def test_the_intent_is_on_record_while_the_write_is_in_flight(
    launch: Launch, isolated_environment: Path
) -> None:
    sandbox = launch()
    hold = sandbox.hold_answers("POST")
    number = "in-flight-00001"
    with spawn("set-max", COUPON, STOCK, "+100", "--yes", "--out-request-no", number) as process:
        hold.wait_held()
        # The write has landed and its answer is on its way: the intent is already durable.
        (intent,) = audit_entries(isolated_environment)
        assert (intent["type"], intent["out_request_no"]) == ("intent", number)
        assert (intent["from"], intent["to"]) == (50_000, 50_100)
        hold.release()
        _, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    intent_again, outcome = audit_entries(isolated_environment)
    assert intent_again == intent
    assert (outcome["type"], outcome["result"]) == ("outcome", "applied")


def test_the_intent_is_synced_before_the_write_is_sent_and_the_outcome_after(
    launch: Launch,
) -> None:
    sandbox = launch()
    settings = config.resolve(config.Flags(config=sandbox.config_path))
    synced: list[tuple[str, int]] = []

    def sync(descriptor: int) -> None:
        os.fsync(descriptor)
        synced.append((read_jsonl(settings.audit_log)[-1]["type"], len(posts_of(sandbox.home))))

    journal = Journal(settings.audit_log, sync=sync)
    client = Client(settings)
    change = operations.plan(
        client,
        COUPON,
        STOCK,
        UpdateMode.MAX_COUNT,
        parse_target("+5"),
        out_request_no="synced-0000001",
        journal=journal,
    )
    operations.execute(client, journal, change, target_text="+5")
    client.close()
    assert synced == [("intent", 0), ("outcome", 1)]


def test_every_journal_a_command_writes_is_synced_with_os_fsync(tmp_path: Path) -> None:
    # What fsync buys (the line survives a power cut) cannot be staged in a test: the test above
    # proves where the sync happens, and this one that the sync the commands get is os.fsync.
    assert Journal(tmp_path / "audit.jsonl").sync is os.fsync


# The journal's outcome line describes the write's own last answer.


def test_a_conflict_is_journaled_with_the_refused_writes_answer(
    launch: Launch, isolated_environment: Path
) -> None:
    sandbox = launch()
    number = "stale-journal-01"
    settings = config.resolve(config.Flags(config=sandbox.config_path))
    journal = Journal(settings.audit_log)
    client = Client(settings)
    change = operations.plan(
        client,
        COUPON,
        STOCK,
        UpdateMode.MAX_COUNT,
        parse_target("+1000"),
        out_request_no=number,
        journal=journal,
    )
    set_max("70000")  # another operator, in between
    with pytest.raises(StaleCurrentError):
        operations.execute(client, journal, change, target_text="+1000")
    client.close()
    (refused,) = posts_of(sandbox.home, number)
    outcome = outcome_of(audit_entries(isolated_environment), number)
    assert (outcome["result"], outcome["exit_code"]) == ("conflict", 5)
    assert (outcome["http_status"], outcome["code"]) == (400, refused["code"])
    assert outcome["request_id"] == refused["request_id"]
    assert outcome["verified"] is False


def test_a_write_that_succeeds_on_retry_journals_only_the_last_answer(
    launch: Launch, isolated_environment: Path
) -> None:
    sandbox = launch("500=1:POST", fault_limit=1)
    number = "retried-ok-0001"
    set_max("+1", "--max-retries", "1", "--out-request-no", number)
    first, last = posts_of(sandbox.home, number)
    assert (first["status"], last["status"], last["applied"]) == (500, 200, True)
    outcome = outcome_of(audit_entries(isolated_environment), number)
    assert (outcome["result"], outcome["attempts"], outcome["verified"]) == ("applied", 2, True)
    assert outcome["request_id"] == last["request_id"]
    assert (outcome["http_status"], outcome["code"]) == (200, None)


# 8.-9. Outcome unknown, and a crash: a re-run with the same number finishes the job once.


def test_an_unknown_outcome_is_finished_by_a_re_run_with_its_number(
    launch: Launch, isolated_environment: Path
) -> None:
    number = "unknown-out-001"
    first = launch()
    settings = config.resolve(config.Flags(config=first.config_path))
    journal = Journal(settings.audit_log)
    client = Client(settings)
    change = operations.plan(
        client,
        COUPON,
        STOCK,
        UpdateMode.MAX_COUNT,
        parse_target("+250"),
        out_request_no=number,
        journal=journal,
    )
    client.close()
    # The same home again, now dropping every answer: the write and the re-read both go unanswered.
    faulty = launch("drop=1")
    client = Client(config.resolve(config.Flags(config=faulty.config_path, max_retries=0)))
    with pytest.raises(NetworkError) as caught:
        operations.execute(client, journal, change, target_text="+250")
    client.close()
    error = caught.value
    assert error.exit_code is ExitCode.NETWORK
    assert "failed too" in error.line()
    assert f"re-run with --out-request-no {number}" in error.line()
    assert "\n" not in error.line()
    intent, outcome = [
        e for e in audit_entries(isolated_environment) if e["out_request_no"] == number
    ]
    assert (intent["type"], intent["from"], intent["to"]) == ("intent", 50_000, 50_250)
    assert (outcome["type"], outcome["result"], outcome["exit_code"]) == ("outcome", "unknown", 7)
    # The re-run (same relative target, same number) on a healthy sandbox.
    healthy = launch()
    result = set_max("+250", "--out-request-no", number)
    assert "already 50,250: nothing to do" in result.stderr
    assert max_count() == 50_250
    assert applied_counts(healthy.home) == {number: 1}


def test_a_crash_between_intent_and_outcome_is_flagged_and_a_re_run_applies_once(
    launch: Launch,
) -> None:
    sandbox = launch()
    hold = sandbox.hold_answers("POST")  # the write lands; its answer never comes
    number = "crash-cron-0001"
    args = ["set-max", COUPON, STOCK, "+300", "--yes", "--out-request-no", number]
    with spawn(*args) as process:
        hold.wait_held()
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert process.returncode == -signal.SIGKILL  # killed mid-write, not finished
    assert applied_counts(sandbox.home) == {number: 1}
    assert "NO OUTCOME" in run("history").stdout
    (crashed,) = json.loads(run("history", "-o", "json").stdout)
    assert crashed["intent"]["out_request_no"] == number
    assert crashed["outcome"] is None
    result = run(*args)
    assert "nothing to do" in result.stderr
    assert max_count() == 50_300
    assert applied_counts(sandbox.home) == {number: 1}
    # The re-run settled the interrupted write: history no longer flags it.
    (settled,) = json.loads(run("history", "-o", "json").stdout)
    assert settled["outcome"]["result"] == "applied"
    assert settled["outcome"]["reconciled"] is True
    assert "NO OUTCOME" not in run("history").stdout


# 10. The trace under retries and faults: every attempt shown, no secret ever.


def key_material(home: Path) -> list[str]:
    """Every line of every key file of the sandbox home, PEM armour excepted."""
    lines = [
        line.strip()
        for path in sorted((home / "keys").rglob("*"))
        if path.is_file()
        for line in path.read_text().splitlines()
        if line.strip() and "-----" not in line
    ]
    assert any("PRIVATE" in path.read_text() for path in (home / "keys").rglob("*.pem"))
    return lines


@pytest.mark.parametrize(
    ("fault", "limit", "shown"),
    [
        ("500=1:POST", 1, [r"< 500\n", r"retry 1 of 2 in \d+\.\d\d s", r"verification: ok"]),
        (
            "drop=1:POST",
            1,
            [
                r"< no answer: the connection was closed or reset before an answer; the outcome "
                r"is unknown",
                r"reading the current state",
            ],
        ),
        ("probe=1:POST", None, [r"< verification: probe signature"]),
        ("badsig=1:POST", None, [r"< verification: signature invalid"]),
    ],
)
def test_verbose_trace_shows_every_attempt_and_no_secret(
    launch: Launch, fault: str, limit: int | None, shown: list[str]
) -> None:
    sandbox = launch(fault, fault_limit=limit)
    result = set_max("+9", "--verbose", "--max-retries", "2")
    trace = result.stderr
    for pattern in shown:
        assert re.search(pattern, trace), pattern
    # Every request the sandbox saw (the reads included) is one announced attempt.
    assert len(re.findall(r"^attempt \d+:$", trace, re.MULTILINE)) == len(request_log(sandbox.home))
    assert trace.count("> POST http://127.0.0.1") == len(posts_of(sandbox.home))
    assert "Wechatpay-Signature: <elided" in trace
    for line in key_material(sandbox.home):
        assert line not in trace
    assert not LONG_BASE64.search(trace)
