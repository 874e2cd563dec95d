"""The batch journal: one file per plan and account, holding each step's out_request_no and
result, fsynced before the step's first attempt, and the lock that lets one apply run at a time.

`apply` re-run on the same plan reads it to skip what is done and resend what is not with the
same number, so a batch killed at any instant finishes with every change applied once.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from wxbudget.errors import UsageError
from wxbudget.journal import Journal
from wxbudget.plan import Plan
from wxbudget.settings import Settings
from wxbudget.statefiles import open_state_file

PLAN_KEY = "__plan__"
BATCH_JOURNAL = "batch journal"


@dataclass
class BatchJournal:
    """Per-plan record of each step's out_request_no and result; named by the plan's hash."""

    path: Path
    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def default_path(cls, settings: Settings, plan: Plan) -> Path:
        """Named by the plan's content and the account it runs against, so the same plan
        applied to another merchant or brand starts afresh instead of looking "done"."""
        target = f"{plan.digest}\n{account_of(settings)}"
        name = hashlib.sha256(target.encode()).hexdigest()[:16]
        return settings.audit_log.parent / "batches" / f"{name}.jsonl"

    def check_belongs_to(self, plan: Plan, settings: Settings) -> None:
        """A journal records one plan against one account; anything else would make its
        steps look done (or pending) for changes it never saw."""
        header = self.records.get(PLAN_KEY)
        if header is None:
            return
        if header.get("digest") != plan.digest:
            raise UsageError(
                f"batch journal {self.path} belongs to another plan ({header.get('source')}); "
                "use a new --journal (or none) for this plan"
            )
        if header.get("account") != account_of(settings):
            raise UsageError(
                f"batch journal {self.path} belongs to {header.get('account')}, not "
                f"{account_of(settings)}; use the profile it was made with"
            )

    def load(self) -> None:
        self.records = {}
        for entry in Journal(self.path, BATCH_JOURNAL).entries():
            key = entry.get("key")
            if isinstance(key, str):
                self.records.setdefault(key, {}).update(entry)

    def write(self, entry: dict[str, Any]) -> None:
        Journal(self.path, BATCH_JOURNAL).append(entry)
        with self._lock:
            self.records.setdefault(entry["key"], {}).update(entry)

    def record_plan(self, plan: Plan, settings: Settings) -> None:
        """Keep the plan itself (so `apply --resume` can finish without the file) and whose
        account it runs against."""
        if PLAN_KEY not in self.records:
            self.write(
                {
                    "type": "plan",
                    "key": PLAN_KEY,
                    "source": plan.source,
                    "digest": plan.digest,
                    "account": account_of(settings),
                    "csv": plan.text,
                }
            )

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the batch's lock; a second apply of the same plan refuses (exit 2)."""
        lock_path = self.path.with_suffix(".lock")
        # Checked before anything is written: a planted link here once made apply truncate
        # whatever it pointed at.
        descriptor = open_state_file(lock_path, "batch lock", os.O_RDWR | os.O_CREAT)
        try:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.read(descriptor, 64).decode("ascii", "replace").strip() or "?"
                raise UsageError(
                    f"another apply of this plan is running (pid {holder}, lock {lock_path}); "
                    "wait for it, or use --resume once it has stopped"
                ) from None
            os.ftruncate(descriptor, 0)
            os.pwrite(descriptor, str(os.getpid()).encode(), 0)
            yield
        finally:
            os.close(descriptor)


def account_of(settings: Settings) -> str:
    """Who a batch runs as: kind, identity and API host (the port of a sandbox excluded)."""
    host = urlsplit(settings.base_url).hostname or ""
    return f"{settings.kind}:{settings.identity}@{host}"


def latest_journal(settings: Settings) -> Path | None:
    """The most recently written batch journal of this account, for `apply --resume`."""
    folder = settings.audit_log.parent / "batches"
    journals = sorted(folder.glob("*.jsonl"), key=lambda path: path.lstat().st_mtime, reverse=True)
    account = account_of(settings)
    for path in journals:
        journal = BatchJournal(path)
        journal.load()
        if journal.records.get(PLAN_KEY, {}).get("account") == account:
            return path
    return None
