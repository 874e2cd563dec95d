"""The audit journal survives damage, and `history` finds what an operator looks for."""

from __future__ import annotations

import json
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.helpers.cli import run
from tests.helpers.logs import audit_path, plant_intent_without_outcome, read_jsonl
from tests.helpers.sandboxes import Sandboxes
from wxbudget.sandbox import RunningSandbox

COUPON = "1000000013"
STOCK = "1000000013002"


@pytest.fixture
def sandbox(sandboxes: Sandboxes) -> RunningSandbox:
    return sandboxes.start(rate_limit=0)


def listed(*args: str) -> list[dict[str, object]]:
    operations: list[dict[str, object]] = json.loads(run("history", *args, "-o", "json").stdout)
    return operations


def test_a_record_after_a_torn_line_starts_on_its_own_line(
    sandbox: RunningSandbox, isolated_environment: Path
) -> None:
    journal = audit_path(isolated_environment)
    journal.parent.mkdir(parents=True)
    journal.write_text('{"type": "intent", "operation": "torn", "time": "2026-1')  # a crash
    run("set-max", COUPON, STOCK, "+1", "--yes")
    lines = journal.read_text().splitlines()
    assert len(lines) == 3
    assert [json.loads(line)["type"] for line in lines[1:]] == ["intent", "outcome"]
    result = run("history")
    assert "applied, exit 0" in result.stdout
    assert "1 line(s) of" in result.stderr
    assert "could not be read" in result.stderr
    (operation,) = listed()
    assert operation["outcome"]["result"] == "applied"  # type: ignore[index]


def test_history_reads_a_huge_damaged_line_in_bounded_memory(
    sandbox: RunningSandbox, isolated_environment: Path
) -> None:
    run("set-max", COUPON, STOCK, "+1", "--yes")
    journal = audit_path(isolated_environment)
    with journal.open("ab") as handle:
        handle.write(b"\0" * 20_000_000)  # 20 MB of zeros and no newline, as /dev/full gives
        handle.write(b"\n")
    run("set-max", COUPON, STOCK, "+1", "--yes")
    tracemalloc.start()
    try:
        result = run("history")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000, peak
    assert result.stdout.count("applied, exit 0") == 2
    assert "1 line(s) of" in result.stderr


def test_history_filters_limit_and_profile_column(
    sandbox: RunningSandbox, isolated_environment: Path
) -> None:
    run("set-max", COUPON, STOCK, "+1", "--yes")
    run("set-daily", COUPON, STOCK, "+1", "--yes")
    run("set-max", COUPON, "1000000013001", "+1", "--yes")
    run("set-max", COUPON, "1000000013004", "+1", "--yes", expect=4)  # local: not journaled
    table = run("history").stdout
    assert "sandbox @127.0.0.1" in table
    assert len(listed()) == 3
    latest = listed("--limit", "2")
    assert [op["intent"]["stock_id"] for op in latest] == [STOCK, "1000000013001"]  # type: ignore[index]
    assert len(listed("--result", "applied")) == 3
    assert listed("--result", "no-outcome") == []
    assert "no records match (3 operation(s) in" in run("history", "--result", "unknown").stderr
    assert "no records match" in run("history", "9999999999").stderr
    assert len(listed("--since", "24h")) == 3
    assert len(listed("--since", "30m")) == 3
    # Relative --since counts back from now: shift the journal's times two days into the past.
    journal = audit_path(isolated_environment)
    past = (datetime.now(UTC) - timedelta(days=2)).isoformat(timespec="seconds")
    entries = read_jsonl(journal)
    journal.write_text("".join(json.dumps(entry | {"time": past}) + "\n" for entry in entries))
    assert listed("--since", "24h") == []
    assert len(listed("--since", "7d")) == 3
    run("history", "--since", "24x", expect=2)
    assert "use one of applied" in run("history", "--result", "lost", expect=2).stderr


def test_history_shows_caps_as_every_other_view_does(sandbox: RunningSandbox) -> None:
    run("set-max", COUPON, STOCK, "+500", "--yes")
    run("set-daily", COUPON, STOCK, "-10%", "--yes")
    table = run("history").stdout
    assert "50,000 -> 50,500 (+500)" in table
    assert "5,000 -> 4,500 (-10%)" in table
    # -o json keeps the journal's numbers as numbers
    intents = [operation["intent"] for operation in listed()]
    assert [(i["from"], i["to"]) for i in intents] == [(50000, 50500), (5000, 4500)]  # type: ignore[index]


def test_history_with_no_journal_and_no_outcome_filter(
    sandbox: RunningSandbox, isolated_environment: Path
) -> None:
    assert "no budget changes recorded" in run("history").stderr
    plant_intent_without_outcome(audit_path(isolated_environment), COUPON, STOCK)
    (operation,) = listed("--result", "no-outcome")
    assert operation["intent"]["out_request_no"] == "crashed-01"  # type: ignore[index]


@pytest.mark.parametrize("kind", ["folder", "below a file", "device", "proc", "a plan"])
def test_an_audit_log_that_is_not_a_journal_file_is_one_line_and_exit_3(
    sandbox: RunningSandbox, tmp_path: Path, kind: str
) -> None:
    from tests.helpers.logs import posts_of
    from tests.helpers.sandboxes import edit_profile

    plain = tmp_path / "plain.txt"
    plain.write_text("not a folder\n")
    place = {
        "folder": tmp_path,
        "below a file": plain / "audit.jsonl",
        "device": "/dev/full",
        "proc": "/proc/version",  # a pseudo-file that calls itself regular
        "a plan": plain,
    }
    edit_profile(sandbox, audit_log=str(place[kind]))
    for args in (["history"], ["set-max", COUPON, STOCK, "+1", "--yes"]):
        result = run(*args, expect=3)
        assert result.stderr.count("\n") == 1, result.stderr
        assert result.stderr.startswith("error: audit journal ")
    assert posts_of(sandbox.home) == []
    assert plain.read_text() == "not a folder\n"
