"""Batches: plan every cap of a plan file against live state, then apply exactly once.

Each step (one cap of one stock) gets its out_request_no written, fsynced, to the batch journal
before its first attempt. Re-running the same plan reads that journal: steps confirmed done are
skipped, unfinished ones are re-sent with their recorded number and recorded change, so a batch
killed at any instant finishes with every change applied once.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from wxbudget import exposure, i18n
from wxbudget.batch_journal import BatchJournal
from wxbudget.budget import Change, Target
from wxbudget.client import Client
from wxbudget.earlier import EarlierChange
from wxbudget.errors import ExitCode, WxBudgetError
from wxbudget.i18n import _
from wxbudget.interrupts import StopFlag
from wxbudget.journal import Journal, now_text
from wxbudget.limits import Limits
from wxbudget.models import UpdateMode
from wxbudget.operations import execute
from wxbudget.plan import PlanRow

CONFIRMED_EARLIER = _("applied in an earlier run (confirmed by the stock)")
# How a failed step is retried safely: its recorded out_request_no goes with the resumed plan.
RETRY_STEP = _("re-run the same plan (or 'wxbudget apply --resume')")


@dataclass(slots=True)
class Step:
    """One cap of one planned stock, from planning to its result."""

    row: PlanRow
    mode: UpdateMode
    target: Target
    status: str = "pending"  # change | noop | refused | done | applied | failed | not-started
    change: Change | None = None
    current: int | None = None
    reason: str | None = None
    out_request_no: str | None = None
    request_id: str | None = None
    exit_code: int | None = None
    earlier: EarlierChange | None = None  # an interrupted earlier operation on this cap
    # The cap this step aims at when no change is planned (done earlier, or refused).
    aimed: int | None = None
    # What the audit journal records of this step's write besides the change itself.
    journal_extra: dict[str, Any] | None = None

    @property
    def to(self) -> int | None:
        """The cap after the step: its change's target, or what it aimed at."""
        return self.change.target if self.change else self.aimed

    @property
    def key(self) -> str:
        row = self.row
        if row.stock_bundle_id is not None:
            return f"{row.product_coupon_id}/bundle/{row.stock_bundle_id}/{self.mode.value}"
        return f"{row.product_coupon_id}/{row.stock_id}/{self.mode.value}"

    def to_json(self) -> dict[str, Any]:
        return {
            "product_coupon_id": self.row.product_coupon_id,
            "stock_id": self.row.stock_id or None,
            "stock_bundle_id": self.row.stock_bundle_id,
            "update_mode": self.mode.value,
            "from": self.current,
            "to": self.to,
            "outcome": self.status,
            "reason": self.reason,
            "warnings": list(self.change.warnings) if self.change else [],
            "out_request_no": self.out_request_no,
            "request_id": self.request_id,
            **self.money_json(),
        }

    def money_json(self) -> dict[str, Any]:
        """The change in the money at stake (yuan, exact), or why it is not known."""
        if self.change is None:
            return {"exposure_change_yuan": None, "exposure_note": None}
        found = exposure.of_change(self.change)
        return {
            "exposure_change_yuan": found.yuan_text(),
            "exposure_per_day": found.per_day,
            "exposure_note": found.reason,
        }


class ThreadClients:
    """One client per worker thread (requests sessions are not shared across threads)."""

    def __init__(self, main: Client | None, make_client: Callable[[], Client] | None) -> None:
        self.main = main
        self.make_client = make_client
        self.local = threading.local()
        self.made: list[Client] = []
        self.lock = threading.Lock()

    def get(self) -> Client:
        if self.make_client is None:
            if self.main is None:
                raise RuntimeError("no client to read with")
            return self.main
        client: Client | None = getattr(self.local, "client", None)
        if client is None:
            client = self.make_client()
            self.local.client = client
            with self.lock:
                self.made.append(client)
        return client

    def __enter__(self) -> ThreadClients:
        return self

    def __exit__(self, *exc: object) -> None:
        for client in self.made:
            client.close()


@dataclass
class ApplyOptions:
    concurrency: int
    make_client: Callable[[], Client]
    audit: Journal
    on_step_done: Callable[[Step], None]
    stop: StopFlag
    batch_id: str | None = None  # recorded with every write of the batch


def apply_steps(steps: list[Step], journal: BatchJournal, options: ApplyOptions) -> bool:
    """Send every `change` step; return False when stopped (the steps in flight finish, the
    others stay not-started)."""
    pending = [step for step in steps if step.status == "change"]
    clients = ThreadClients(None, options.make_client)

    def client() -> Client:
        return clients.get()

    def run(step: Step) -> Step:
        if options.stop.is_set():
            step.status = "not-started"
            return step
        change = step.change
        if change is None:  # only "change" steps are submitted
            raise RuntimeError(f"step {step.key} has no planned change")
        journal.write(
            {
                "type": "step",
                "key": step.key,
                "time": now_text(),
                "out_request_no": change.out_request_no,
                "from": change.current,
                "to": change.target,
            }
        )
        try:
            outcome = execute(
                client(),
                options.audit,
                change,
                target_text=step.target.text,
                retry=RETRY_STEP,
                extra={**(step.journal_extra or {}), "batch": options.batch_id},
            )
        except WxBudgetError as error:
            step.status, step.reason, step.exit_code = "failed", error.line(), int(error.exit_code)
            step.request_id = error.request_id
            journal.write(
                {
                    "type": "result",
                    "key": step.key,
                    "result": "failed",
                    "final": is_final_failure(error),
                }
            )
        else:
            step.status = "applied"
            step.reason = outcome.warning
            last_write = client().last_write
            step.request_id = last_write.request_id if last_write else None
            journal.write({"type": "result", "key": step.key, "result": "applied"})
        return step

    pool = ThreadPoolExecutor(max_workers=max(options.concurrency, 1))
    try:
        futures: set[Future[Step]] = {pool.submit(run, step) for step in pending}
        while futures:
            done, futures = wait(futures, return_when=FIRST_COMPLETED)
            for future in done:
                step = future.result()
                if step.status != "not-started":
                    options.on_step_done(step)
    except BaseException:
        # A second signal (or a bug): return at once, not after the writes still in flight
        # (`with` would wait for them); the CLI then ends the process without waiting either.
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    clients.__exit__()
    return not options.stop.is_set()


def is_final_failure(error: WxBudgetError) -> bool:
    """A failure a retry with the same out_request_no cannot change: WeChat Pay refused it
    (or the cap moved underneath). Unknown outcomes and network failures are worth resuming."""
    return error.exit_code in (ExitCode.REJECTED, ExitCode.CONFLICT, ExitCode.CONFIG)


def is_finished(steps: list[Step], journal: BatchJournal) -> bool:
    """Every step reached an end a re-run could not improve on."""
    for step in steps:
        if step.status in ("change", "not-started", "pending"):
            return False
        if step.status == "failed" and not journal.records.get(step.key, {}).get("final"):
            return False
    return True


def within_limits(steps: Iterable[Step], limits: Limits, *, override: bool) -> Iterator[Step]:
    """Each step, a change beyond the profile's limits refused (listed, never sent); with
    `override` it goes, and its intent in the audit journal records the limits it passed."""
    for step in steps:
        breaches = limits.breaches(step.change) if step.status == "change" and step.change else ()
        if breaches and override:
            step.journal_extra = {**(step.journal_extra or {}), "limits_overridden": [*breaches]}
        elif breaches:
            step.status, step.out_request_no = "refused", None
            step.reason = _(
                "beyond the limits of profile '{profile}' ({breaches}); --override-limits sends it",
                profile=limits.profile,
                breaches=i18n.join("; ", breaches),
            )
        yield step


def changed_rows(steps: Iterable[Step]) -> int:
    """How many rows of the plan have a change to send (for the max_rows limit)."""
    return len({step.row.line for step in steps if step.status == "change"})


def check_rows_limit(steps: list[Step], limits: Limits, *, override: bool) -> None:
    """A plan changing more rows than max_rows is refused whole (exit 4) before anything is
    sent; with `override` every write records that it passed the limit."""
    breach = limits.rows_breach(changed_rows(steps))
    if breach is None:
        return
    if not override:
        raise limits.refusal("this plan", (breach,))
    for step in steps:
        if step.status == "change":
            extra = step.journal_extra or {}
            passed = extra.get("limits_overridden", [])
            step.journal_extra = {**extra, "limits_overridden": [*passed, breach]}


def steps_json(steps: Iterable[Step], marks: Mapping[str, Any] | None = None) -> Iterator[str]:
    """A JSON array, one object per step (with `marks` added), produced piece by piece (plans
    can be huge)."""
    yield "["
    for index, step in enumerate(steps):
        separator = "," if index else ""
        shown = step.to_json() | dict(marks or {})
        yield separator + "\n  " + json.dumps(shown, ensure_ascii=False)
    yield "\n]"
