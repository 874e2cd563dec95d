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

from wxbudget.errors import ConfigError, os_reason
from wxbudget.i18n import _
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


def process_token(pid: int | None = None) -> str:
    """This process, as an intent records it: host, pid and (on Linux) when the process
    started, so a later run can tell a write still in flight elsewhere from an abandoned one
    even after the pid was reused."""
    pid = os.getpid() if pid is None else pid
    return f"{socket.gethostname()}:{pid}:{_start_time(pid)}"


def is_running(token: object) -> bool:
    """Whether the process a `process_token` names is alive on this host (False when unknown)."""
    if not isinstance(token, str) or token.count(":") < 2:
        return False
    host, pid_text, started = token.rsplit(":", 2)
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False  # this very run: not "elsewhere"
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, another user's
    return _start_time(pid) == started


def _start_time(pid: int) -> str:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    # Field 22 (starttime), counted after the command name, which may hold spaces.
    fields = stat.rpartition(")")[2].split()
    return fields[19] if len(fields) > 19 else ""


def ci_job(env: Mapping[str, str]) -> str | None:
    for name in CI_JOB_VARIABLES:
        if env.get(name):
            return f"{name}={env[name]}"
    return None


# A journal line is a few hundred bytes; one far longer is damage (or not a journal at all) and
# is skipped unread, so a huge or endless file never fills memory.
MAX_LINE_BYTES = 64 * 1024
READ_CHUNK_BYTES = 64 * 1024


@dataclass
class Reading:
    """What a pass over the file found besides its records: lines that are not records."""

    unreadable: int = 0


@dataclass
class Journal:
    """The journal file; lookups read it once, then follow this process's own appends (a batch
    asks about every step, and the file holds all of history).

    Record types: `intent` (before the first attempt), `outcome` (after the last),
    `interrupted` (a signal ended the run while the operation was in flight) and `settled` (a
    later run confirmed an interrupted operation to the operator, who went on).
    """

    path: Path
    what: str = _("audit journal")
    # Makes an appended line durable; a parameter because a crash that loses an unsynced
    # line cannot be staged in a test, but the call's place (before the write is sent) can.
    sync: Callable[[int], None] = field(default=os.fsync, repr=False)
    _index: _Index | None = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def append(self, entry: Mapping[str, Any]) -> None:
        """Append one line durably: flushed and fsynced before returning.

        A line always starts at the beginning of a line: after a crash mid-append left the last
        line without its newline, the next record goes on a line of its own instead of being
        glued onto the torn one (and lost with it).
        """
        line = json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n"
        descriptor = open_state_file(self.path, self.what, os.O_RDWR | os.O_APPEND | os.O_CREAT)
        try:
            self._check_is_journal(descriptor)
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            size = os.fstat(descriptor).st_size
            if size and os.pread(descriptor, 1, size - 1) != b"\n":
                line = "\n" + line
            os.write(descriptor, line.encode("utf-8"))
            self.sync(descriptor)
        except OSError as error:
            raise ConfigError(
                _(
                    "cannot write the {what} {path}: {strerror}",
                    what=self.what,
                    path=self.path,
                    strerror=os_reason(error),
                )
            ) from error
        finally:
            os.close(descriptor)
        with self._lock:
            if self._index is not None:
                self._index.add(dict(entry))

    def entries(self, reading: Reading | None = None) -> Iterator[dict[str, Any]]:
        """Every well-formed record, in bounded memory; other lines (a torn last line after a
        crash, damage, a line far too long) are skipped and counted in `reading`."""
        reading = reading if reading is not None else Reading()
        try:
            descriptor = open_state_file(self.path, self.what, os.O_RDONLY)
        except FileNotFoundError:
            return
        with open(descriptor, "rb") as handle:
            self._check_is_journal(descriptor)
            for line in _bounded_lines(handle, reading):
                try:
                    entry = json.loads(line)
                except ValueError:
                    entry = None
                if isinstance(entry, dict):
                    yield entry
                else:
                    reading.unreadable += 1

    def _check_is_journal(self, descriptor: int) -> None:
        """Every line is a JSON object: a file that starts otherwise (a CSV plan, a pseudo-file
        such as /proc/version, which calls itself regular) is neither read nor appended to."""
        try:
            start = os.pread(descriptor, 64, 0).lstrip()
        except OSError as error:
            raise ConfigError(
                _(
                    "cannot read the {what} {path}: {strerror}",
                    what=self.what,
                    path=self.path,
                    strerror=os_reason(error),
                )
            ) from error
        if start and not start.startswith(b"{"):
            raise ConfigError(
                _(
                    "{what} {path} is not a wxbudget audit journal (it does not start with a JSON "
                    "record); point audit_log at a file of its own (a new path is created)",
                    what=self.what,
                    path=self.path,
                )
            )

    def find_intent(self, mchid: str, out_request_no: str) -> dict[str, Any] | None:
        """The latest intent that used this out_request_no for this merchant."""
        return self._indexed().intents.get((mchid, out_request_no))

    def has_outcome(self, operation: str) -> bool:
        return operation in self._indexed().outcomes

    def outcome(self, operation: str) -> dict[str, Any] | None:
        return self._indexed().outcomes.get(operation)

    def interruption(self, operation: str) -> dict[str, Any] | None:
        """The `interrupted` record of an operation a signal caught in flight, unless a later
        `settled` record closed it."""
        return self._indexed().interruptions.get(operation)

    def latest_on(self, key: TargetKey) -> dict[str, Any] | None:
        """The latest intent on one cap of one stock or bundle of one account."""
        return self._indexed().latest.get(key)

    def _indexed(self) -> _Index:
        with self._lock:
            if self._index is None:
                self._index = _Index()
                for entry in self.entries():
                    self._index.add(entry)
            return self._index

    def operations(self, reading: Reading | None = None) -> Iterator[Operation]:
        """Intents paired with their outcomes, oldest first (in one pass over the file)."""
        by_id: dict[str, Operation] = {}
        for entry in self.entries(reading):
            operation_id = entry.get("operation")
            if not isinstance(operation_id, str):
                continue
            kind = entry.get("type")
            if kind == "intent":
                by_id[operation_id] = Operation(intent=entry)
            elif operation_id in by_id:
                if kind == "outcome":
                    by_id[operation_id].outcome = entry
                elif kind == "interrupted":
                    by_id[operation_id].interrupted = entry
        yield from by_id.values()


def _bounded_lines(handle: Any, reading: Reading) -> Iterator[bytes]:
    """Lines of at most MAX_LINE_BYTES; a longer one is skipped in chunks, never held whole."""
    while True:
        line = handle.readline(MAX_LINE_BYTES)
        if not line:
            return
        if len(line) == MAX_LINE_BYTES and not line.endswith(b"\n"):
            reading.unreadable += 1
            while True:
                rest = handle.readline(READ_CHUNK_BYTES)
                if not rest or rest.endswith(b"\n"):
                    break
            continue
        if line.strip():
            yield line


# (account, product_coupon_id, "stock:ID" or "bundle:ID", update_mode)
TargetKey = tuple[str, str, str, str]


def target_key(
    account: str, product_coupon_id: str, stock_id: str | None, bundle_id: str | None, mode: str
) -> TargetKey:
    subject = f"bundle:{bundle_id}" if bundle_id is not None else f"stock:{stock_id}"
    return (account, product_coupon_id, subject, mode)


def intent_account(intent: Mapping[str, Any]) -> str:
    """Who an intent ran as: mchid (or brand_id) and API host; older intents lack the host."""
    return f"{intent.get('mchid')}@{intent.get('host') or ''}"


@dataclass
class _Index:
    intents: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    outcomes: dict[str, dict[str, Any]] = field(default_factory=dict)
    interruptions: dict[str, dict[str, Any]] = field(default_factory=dict)
    latest: dict[TargetKey, dict[str, Any]] = field(default_factory=dict)

    def add(self, entry: dict[str, Any]) -> None:
        kind = entry.get("type")
        operation = str(entry.get("operation"))
        if kind == "intent":
            key = (str(entry.get("mchid")), str(entry.get("out_request_no")))
            self.intents[key] = entry
            target = target_key(
                intent_account(entry),
                str(entry.get("product_coupon_id")),
                entry.get("stock_id"),
                entry.get("stock_bundle_id"),
                str(entry.get("update_mode")),
            )
            self.latest[target] = entry
        elif kind == "outcome":
            self.outcomes[operation] = entry
        elif kind == "interrupted":
            self.interruptions[operation] = entry
        elif kind == "settled":
            self.interruptions.pop(operation, None)


@dataclass
class Operation:
    intent: dict[str, Any]
    outcome: dict[str, Any] | None = field(default=None)
    interrupted: dict[str, Any] | None = field(default=None)

    def to_json(self) -> dict[str, Any]:
        return {"intent": self.intent, "outcome": self.outcome, "interrupted": self.interrupted}


def new_operation_id() -> str:
    return uuid.uuid4().hex
