"""Readers of what the sandbox and the CLI wrote down, and waits that fail loudly."""

from __future__ import annotations

import json
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

Entry = dict[str, Any]
# Long enough for a loaded 2-core machine; a wait that runs out fails the test, never passes it.
WAIT_SECONDS = 30.0
POLL_SECONDS = 0.02


def read_jsonl(path: Path) -> list[Entry]:
    """Every line of a JSON-lines file (none when the file does not exist yet)."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def request_log(home: Path) -> list[Entry]:
    """The sandbox's requests.jsonl: one entry per answered request, in order."""
    return read_jsonl(home / "requests.jsonl")


def posts_of(home: Path, out_request_no: str | None = None) -> list[Entry]:
    """The update-budget requests the sandbox answered, optionally of one out_request_no."""
    return [
        entry
        for entry in request_log(home)
        if entry["method"] == "POST"
        and (out_request_no is None or entry["out_request_no"] == out_request_no)
    ]


def applied_counts(home: Path) -> Counter[str]:
    """How many times each out_request_no changed state (must never exceed 1)."""
    return Counter(entry["out_request_no"] for entry in posts_of(home) if entry["applied"])


def fault_counts(home: Path) -> Counter[str]:
    """Faults the sandbox injected, by kind."""
    return Counter(entry["fault"] for entry in request_log(home) if entry["fault"])


def audit_path(isolated_home: Path) -> Path:
    """The audit journal's default place ($XDG_STATE_HOME of the isolated environment)."""
    return isolated_home / ".local" / "state" / "wxbudget" / "audit.jsonl"


def audit_entries(isolated_home: Path) -> list[Entry]:
    """The audit journal at its default place; none when nothing was journaled."""
    return read_jsonl(audit_path(isolated_home))


def plant_intent_without_outcome(
    journal: Path, coupon: str, stock: str, *, torn_tail: str = ""
) -> Entry:
    """Write a journal holding one intent and no outcome, as a crash before the answer leaves
    it (`torn_tail`: raw text after it, such as a line cut short mid-write); returns the intent."""
    intent: Entry = {
        "type": "intent",
        "operation": "abc",
        "time": "2026-11-22T10:00:00+00:00",
        "product_coupon_id": coupon,
        "stock_id": stock,
        "update_mode": "MAX_COUNT",
        "from": 1,
        "to": 2,
        "target": "2",
        "out_request_no": "crashed-01",
    }
    journal.parent.mkdir(parents=True, exist_ok=True)
    journal.write_text(json.dumps(intent) + "\n" + torn_tail, encoding="utf-8")
    return intent


def outcome_of(entries: list[Entry], out_request_no: str) -> Entry:
    """The one outcome line the journal holds for `out_request_no`."""
    (outcome,) = [
        entry
        for entry in entries
        if entry["type"] == "outcome" and entry["out_request_no"] == out_request_no
    ]
    return outcome


def wait_until(
    condition: Callable[[], bool],
    what: str,
    *,
    process: subprocess.Popen[Any] | None = None,
    seconds: float = WAIT_SECONDS,
) -> None:
    """Poll `condition`; fail the test naming `what` if it never holds or `process` ends first."""
    deadline = time.monotonic() + seconds
    while not condition():
        if process is not None and process.poll() is not None:
            pytest.fail(f"the process ended (exit {process.returncode}) before {what}")
        if time.monotonic() > deadline:
            pytest.fail(f"waited {seconds:g} s and never saw {what}")
        time.sleep(POLL_SECONDS)


def wait_for_log(
    home: Path,
    condition: Callable[[list[Entry]], bool],
    process: subprocess.Popen[Any] | None = None,
    *,
    what: str = "the request the test waited for",
) -> list[Entry]:
    """Poll requests.jsonl until `condition` holds and return it; fail loudly otherwise."""
    wait_until(lambda: condition(request_log(home)), what, process=process)
    return request_log(home)
