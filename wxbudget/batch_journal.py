"""The batch journal: one file per plan and account, holding each step's out_request_no and
result, fsynced before the step's first attempt, and the lock that lets one apply run at a time.

`apply` re-run on the same plan reads it to skip what is done and resend what is not with the
same number, so a batch killed at any instant finishes with every change applied once.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from wxbudget.errors import UsageError
from wxbudget.i18n import _
from wxbudget.journal import MAX_LINE_BYTES, Journal, new_operation_id, now_text
from wxbudget.plan import Plan
from wxbudget.settings import Settings
from wxbudget.statefiles import open_state_file

PLAN_KEY = "__plan__"
FINISHED_KEY = "__finished__"
BATCH_JOURNAL = _("batch journal")


@dataclass
class BatchJournal:
    """Per-plan record of each step's out_request_no and result; named by the plan's hash.

    The file holds the batches of one plan and account, one after the other: a `plan` record
    opens a batch, step and result records follow, and a `finished` record closes it once every
    step reached an end (applied, in place, refused or rejected). Only the last batch is read:
    unfinished, a re-run resumes it; finished, a re-run starts a new one.
    """

    path: Path
    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    finished: dict[str, Any] | None = None
    # The plan record of the last batch once it finished (to check what the file belongs to).
    finished_header: dict[str, Any] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def default_path(cls, settings: Settings, plan: Plan) -> Path:
        """Named by the plan's content and the account it runs against, so the same plan
        applied to another merchant, profile or host starts afresh instead of looking "done"."""
        target = f"{plan.digest}\n{account_of(settings)}"
        name = hashlib.sha256(target.encode()).hexdigest()[:16]
        return settings.audit_log.parent / "batches" / f"{name}.jsonl"

    def check_belongs_to(self, plan: Plan, settings: Settings) -> None:
        """A journal records one plan against one account; anything else would make its
        steps look done (or pending) for changes it never saw."""
        header = self.records.get(PLAN_KEY) or self.finished_header
        if header is None:
            return
        if header.get("digest") != plan.digest:
            raise UsageError(
                _(
                    "batch journal {path} belongs to another plan ({source}); "
                    "use a new --journal (or none) for this plan",
                    path=self.path,
                    source=header.get("source"),
                )
            )
        if header.get("account") != account_of(settings):
            raise UsageError(
                _(
                    "batch journal {path} belongs to {account}, not "
                    "{own}; use the profile it was made with",
                    path=self.path,
                    account=header.get("account"),
                    own=account_of(settings),
                )
            )

    def check_is_journal(self) -> None:
        """--journal names a file wxbudget may append to: refuse anything else (a plan, a
        folder) before writing a byte to it."""
        path = self.path
        if path.is_dir():
            raise UsageError(
                _("--journal {path} is a folder; give a file name inside it", path=path)
            )
        try:
            descriptor = open_state_file(path, BATCH_JOURNAL, os.O_RDONLY)
        except FileNotFoundError:
            return
        with open(descriptor, "rb") as handle:
            first = handle.readline(MAX_LINE_BYTES)
        if not first.strip():
            return
        try:
            entry = json.loads(first)
        except ValueError:
            entry = None
        if not isinstance(entry, dict) or not isinstance(entry.get("key"), str):
            raise UsageError(
                _(
                    "--journal {path} is not a wxbudget batch journal (its first line is not a "
                    "journal record); nothing was written to it: give a new file name",
                    path=path,
                )
            )

    def load(self) -> None:
        """The records of the last batch in the file (earlier batches are history)."""
        self.records = {}
        self.finished = None
        self.finished_header = None
        for entry in Journal(self.path, BATCH_JOURNAL).entries():
            key = entry.get("key")
            if entry.get("type") == "plan":
                self.records = {}
                self.finished = None
            elif entry.get("type") == "finished":
                self.finished = entry
                self.finished_header = self.records.get(PLAN_KEY)
                self.records = {}
                continue
            if isinstance(key, str):
                self.records.setdefault(key, {}).update(entry)

    def write(self, entry: dict[str, Any]) -> None:
        Journal(self.path, BATCH_JOURNAL).append(entry)
        with self._lock:
            self.records.setdefault(entry["key"], {}).update(entry)

    def record_plan(
        self, plan: Plan, settings: Settings, extra: dict[str, Any] | None = None
    ) -> None:
        """Keep the plan itself (so `apply --resume` can finish without the file), whose
        account it runs against and the batch's id (every write of the batch carries it into
        the audit journal, so `history` and `undo --batch` can name the batch); this opens a
        batch. `extra`: what else the batch is (the batch an undo reverts)."""
        if PLAN_KEY not in self.records:
            self.write(
                {
                    "type": "plan",
                    "key": PLAN_KEY,
                    "time": now_text(),
                    "source": plan.source,
                    "digest": plan.digest,
                    "account": account_of(settings),
                    "batch": new_operation_id()[:16],
                    "csv": plan.text,
                    **(extra or {}),
                }
            )

    @property
    def batch_id(self) -> str | None:
        """The id of the open batch (None for one opened before batches had ids)."""
        found = self.records.get(PLAN_KEY, {}).get("batch")
        return found if isinstance(found, str) else None

    def record_finished(self) -> None:
        """Close the batch: the next run of this plan is a new batch."""
        Journal(self.path, BATCH_JOURNAL).append(
            {"type": "finished", "key": FINISHED_KEY, "time": now_text()}
        )

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the batch's lock; a second apply of the same plan refuses (exit 2).

        The lock file is removed when the run ends. A process that opened it just before (and
        so locks a file no longer in the folder) sees that and tries again on the new one.
        """
        lock_path = self.path.with_name(self.path.name + ".lock")
        while True:
            # Checked before anything is written: a planted link here once made apply truncate
            # whatever it pointed at.
            descriptor = open_state_file(lock_path, _("batch lock"), os.O_RDWR | os.O_CREAT)
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.read(descriptor, 64).decode("ascii", "replace").strip() or "?"
                os.close(descriptor)
                raise UsageError(
                    _(
                        "another apply of this plan is running (pid {holder}, lock {lock_path}); "
                        "wait for it, or use --resume once it has stopped",
                        holder=holder,
                        lock_path=lock_path,
                    )
                ) from None
            if _same_file(descriptor, lock_path):
                break
            os.close(descriptor)
        try:
            os.ftruncate(descriptor, 0)
            os.pwrite(descriptor, str(os.getpid()).encode(), 0)
            yield
        finally:
            with contextlib.suppress(OSError):
                lock_path.unlink()
            os.close(descriptor)


def _same_file(descriptor: int, path: Path) -> bool:
    try:
        on_disk = path.lstat()
    except FileNotFoundError:
        return False
    opened = os.fstat(descriptor)
    return (opened.st_dev, opened.st_ino) == (on_disk.st_dev, on_disk.st_ino)


def account_of(settings: Settings) -> str:
    """Who a batch runs as and where: kind, identity, API host (a sandbox's port excluded) and
    the profile (its name and config file), so a rehearsal on one sandbox home and the real
    run on another (or on the real API) are different batches."""
    host = urlsplit(settings.base_url).hostname or ""
    return (
        f"{settings.kind}:{settings.identity}@{host} "
        f"(profile {settings.profile} of {settings.config_path})"
    )


def latest_journal(settings: Settings) -> Path | None:
    """The most recently written unfinished batch journal of this account, for `--resume`."""
    folder = settings.audit_log.parent / "batches"
    journals = sorted(folder.glob("*.jsonl"), key=lambda path: path.lstat().st_mtime, reverse=True)
    account = account_of(settings)
    for path in journals:
        journal = BatchJournal(path)
        journal.load()
        if journal.records.get(PLAN_KEY, {}).get("account") == account:
            return path
    return None
