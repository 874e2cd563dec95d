"""The audit journal: an append-only JSON-lines record of every write, intent before outcome.

An intent line is written (flushed and fsynced) before the first attempt and an outcome line
after the last, so a crash in between leaves the intent on record. Lines of one operation share
an `operation` id. Appends take an exclusive lock, so concurrent processes never interleave.
"""

from __future__ import annotations

import fcntl
import getpass
import json
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from wxbudget.statefiles import open_state_file

# Environment variables that identify a CI job, in the order they are looked for.
CI_JOB_VARIABLES = (
    "GITHUB_RUN_ID",
    "CI_JOB_ID",
    "BUILD_TAG",
    "BUILDKITE_JOB_ID",
    "CIRCLE_BUILD_NUM",
    "TRAVIS_JOB_ID",
    "BUILD_ID",
)


def now_text() -> str:
    return datetime.now(UTC).astimezone().isoformat(timespec="seconds")


def actor() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry, e.g. in a bare container
        user = str(os.getuid())
    return f"{user}@{socket.gethostname()}"


def ci_job(env: Mapping[str, str]) -> str | None:
    for name in CI_JOB_VARIABLES:
        if env.get(name):
            return f"{name}={env[name]}"
    return None


@dataclass
class Journal:
    """The journal file; lookups read it once, then follow this process's own appends (a batch
    asks about every step, and the file holds all of history)."""

    path: Path
    what: str = "audit journal"
    # Makes an appended line durable; a parameter because a crash that loses an unsynced
    # line cannot be staged in a test, but the call's place (before the write is sent) can.
    sync: Callable[[int], None] = field(default=os.fsync, repr=False)
    _index: _Index | None = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def append(self, entry: Mapping[str, Any]) -> None:
        """Append one line durably: flushed and fsynced before returning."""
        line = json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n"
        descriptor = open_state_file(self.path, self.what, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            os.write(descriptor, line.encode("utf-8"))
            self.sync(descriptor)
        finally:
            os.close(descriptor)
        with self._lock:
            if self._index is not None:
                self._index.add(dict(entry))

    def entries(self) -> Iterator[dict[str, Any]]:
        """Every well-formed line; a torn last line (a crash mid-write) is skipped."""
        try:
            descriptor = open_state_file(self.path, self.what, os.O_RDONLY)
        except FileNotFoundError:
            return
        with open(descriptor, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                if isinstance(entry, dict):
                    yield entry

    def find_intent(self, mchid: str, out_request_no: str) -> dict[str, Any] | None:
        """The latest intent that used this out_request_no for this merchant."""
        return self._indexed().intents.get((mchid, out_request_no))

    def has_outcome(self, operation: str) -> bool:
        return operation in self._indexed().outcomes

    def _indexed(self) -> _Index:
        with self._lock:
            if self._index is None:
                self._index = _Index()
                for entry in self.entries():
                    self._index.add(entry)
            return self._index

    def operations(self) -> list[Operation]:
        """Intents paired with their outcomes, oldest first."""
        by_id: dict[str, Operation] = {}
        for entry in self.entries():
            operation_id = entry.get("operation")
            if not isinstance(operation_id, str):
                continue
            if entry.get("type") == "intent":
                by_id[operation_id] = Operation(intent=entry)
            elif entry.get("type") == "outcome" and operation_id in by_id:
                by_id[operation_id].outcome = entry
        return list(by_id.values())


@dataclass
class _Index:
    intents: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    outcomes: set[str] = field(default_factory=set)

    def add(self, entry: dict[str, Any]) -> None:
        if entry.get("type") == "intent":
            key = (str(entry.get("mchid")), str(entry.get("out_request_no")))
            self.intents[key] = entry
        elif entry.get("type") == "outcome":
            self.outcomes.add(str(entry.get("operation")))


@dataclass
class Operation:
    intent: dict[str, Any]
    outcome: dict[str, Any] | None = field(default=None)

    def to_json(self) -> dict[str, Any]:
        return {"intent": self.intent, "outcome": self.outcome}


def new_operation_id() -> str:
    return uuid.uuid4().hex
