"""Batches: plan every cap of a plan file against live state, then apply exactly once.

Each step (one cap of one stock) gets its out_request_no written, fsynced, to the batch journal
before its first attempt. Re-running the same plan reads that journal: steps confirmed done are
skipped, unfinished ones are re-sent with their recorded number and recorded change, so a batch
killed at any instant finishes with every change applied once.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from wxbudget.batch_journal import BatchJournal
from wxbudget.budget import (
    Change,
    Target,
    gives,
    new_out_request_no,
    parse_target,
    plan_change,
)
from wxbudget.client import Client
from wxbudget.errors import LocalCheckError, RejectedError, UsageError, WxBudgetError
from wxbudget.journal import Journal, now_text
from wxbudget.models import Stock, UpdateMode
from wxbudget.operations import execute
from wxbudget.plan import Plan, PlanRow
from wxbudget.settings import Settings

CONFIRMED_EARLIER = "applied in an earlier run (confirmed by the stock)"
# A coupon with more planned rows than this is read with the list endpoint (50 per page).
LIST_THRESHOLD = 5


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

    @property
    def key(self) -> str:
        return f"{self.row.product_coupon_id}/{self.row.stock_id}/{self.mode.value}"

    def to_json(self) -> dict[str, Any]:
        return {
            "product_coupon_id": self.row.product_coupon_id,
            "stock_id": self.row.stock_id,
            "update_mode": self.mode.value,
            "from": self.current,
            "to": self.change.target if self.change else None,
            "outcome": self.status,
            "reason": self.reason,
            "warnings": list(self.change.warnings) if self.change else [],
            "out_request_no": self.out_request_no,
            "request_id": self.request_id,
        }


def row_brand_id(row: PlanRow, plan: Plan, settings: Settings) -> str | None:
    """The brand_id a row's calls carry: None for a brand profile, which acts for itself."""
    if settings.is_brand:
        if row.brand_id and row.brand_id != settings.brand_id:
            raise UsageError(
                f"{plan.source} line {row.line}: brand {row.brand_id} is not this brand profile's "
                f"({settings.brand_id}); a brand can only change its own stocks"
            )
        return None
    brand_id = row.brand_id or settings.brand_id
    if not brand_id:
        raise UsageError(
            f"{plan.source} line {row.line}: no brand_id: add a brand_id column, pass "
            "--brand-id, or set brand_id in the profile"
        )
    return brand_id


def read_current_state(
    client: Client, plan: Plan, *, make_client: Callable[[], Client] | None = None, workers: int = 4
) -> dict[tuple[str, str], Stock | WxBudgetError]:
    """The live stock of every planned row: listed per coupon when many, else one GET each.

    Reads run on `workers` threads (each with its own client from `make_client`, sharing the
    rate limiter), so one slow or retried read does not hold up the others.
    """
    by_coupon: dict[tuple[str, str | None], list[PlanRow]] = {}
    for row in plan.rows:
        brand_id = row_brand_id(row, plan, client.settings)
        by_coupon.setdefault((row.product_coupon_id, brand_id), []).append(row)
    jobs: list[tuple[str, str | None, list[PlanRow]]] = []
    for (coupon, brand_id), rows in by_coupon.items():
        if len(rows) > LIST_THRESHOLD:
            jobs.append((coupon, brand_id, rows))
        else:
            jobs.extend((coupon, brand_id, [row]) for row in rows)
    found: dict[tuple[str, str], Stock | WxBudgetError] = {}
    with _ThreadClients(client, make_client) as clients, ThreadPoolExecutor(workers) as pool:
        reads = [pool.submit(_read, clients, *job) for job in jobs]
        for read in reads:
            found.update(read.result())
    return found


def _read(
    clients: _ThreadClients, coupon: str, brand_id: str | None, rows: list[PlanRow]
) -> dict[tuple[str, str], Stock | WxBudgetError]:
    client = clients.get()
    found: dict[tuple[str, str], Stock | WxBudgetError] = {}
    if len(rows) == 1:
        row = rows[0]
        try:
            found[(coupon, row.stock_id)], _ = client.get_stock(coupon, row.stock_id, brand_id)
        except RejectedError as error:
            found[(coupon, row.stock_id)] = error
        return found
    planned = {row.stock_id for row in rows}
    try:
        listed = {
            stock.stock_id: stock
            for stock in client.list_stocks(coupon, brand_id, keep_raw=False)
            if stock.stock_id in planned
        }
    except RejectedError as error:
        return {(coupon, row.stock_id): error for row in rows}
    for row in rows:
        found[(coupon, row.stock_id)] = listed.get(row.stock_id) or LocalCheckError(
            f"stock {row.stock_id} is not in coupon {coupon} of brand {brand_id}"
        )
    return found


class _ThreadClients:
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

    def __enter__(self) -> _ThreadClients:
        return self

    def __exit__(self, *exc: object) -> None:
        for client in self.made:
            client.close()


def plan_steps(
    plan: Plan,
    state: dict[tuple[str, str], Stock | WxBudgetError],
    journal: BatchJournal,
    settings: Settings,
) -> list[Step]:
    """Every step with its status: change, no-op, refused, or done in an earlier run."""
    steps: list[Step] = []
    for row in plan.rows:
        for mode, target in row.targets:
            step = Step(row=row, mode=mode, target=target)
            steps.append(step)
            stock = state[(row.product_coupon_id, row.stock_id)]
            if isinstance(stock, WxBudgetError):
                step.status, step.reason = "refused", stock.message
                continue
            step.current = stock.cap(mode)
            recorded = journal.records.get(step.key)
            if recorded and recorded.get("result") == "applied":
                _plan_applied_before(step, recorded)
                continue
            brand_id = row_brand_id(row, plan, settings)
            if recorded:
                _plan_recorded(step, stock, recorded, brand_id)
                continue
            _plan_new(step, stock, brand_id)
    return steps


def _plan_applied_before(step: Step, recorded: dict[str, Any]) -> None:
    """A step an earlier run applied: done, unless the cap moved since (then refuse, loudly)."""
    step.out_request_no = recorded.get("out_request_no")
    if step.current == recorded.get("to"):
        step.status, step.reason = "done", "done in an earlier run"
        return
    step.status = "refused"
    step.reason = (
        f"an earlier run applied {recorded.get('from')} -> {recorded.get('to')} "
        f"({step.out_request_no}) but the cap is now {step.current}: it changed since; "
        "write a new plan for a new change"
    )


def _plan_new(step: Step, stock: Stock, brand_id: str | None) -> None:
    try:
        change = plan_change(
            stock,
            step.mode,
            step.target,
            out_request_no=new_out_request_no(),
            brand_id=brand_id,
        )
    except LocalCheckError as error:
        step.status, step.reason = "refused", error.message
        return
    step.change = change
    step.status = "noop" if change.is_noop else "change"
    step.out_request_no = None if change.is_noop else change.out_request_no


def _plan_recorded(
    step: Step, stock: Stock, recorded: dict[str, Any], brand_id: str | None
) -> None:
    """An unfinished step of an earlier run: its recorded change, never a new one."""
    before, after = recorded.get("from"), recorded.get("to")
    number = str(recorded.get("out_request_no"))
    step.out_request_no = number
    if not gives(step.target, before, after):
        # The plan row is the command given: a recorded `to` it does not give from the recorded
        # `from` was not written by wxbudget, and is never sent.
        step.status = "refused"
        step.reason = (
            f"the batch journal records {before!r} -> {after!r} ({number}), but "
            f"{step.target.text} from {before!r} does not give {after!r}; not sent (check "
            "the journal)"
        )
        return
    if step.current == after:
        step.status, step.reason = "done", CONFIRMED_EARLIER
        return
    if step.current != before:
        step.status = "refused"
        step.reason = (
            f"an earlier run recorded {before} -> {after} ({number}) but the cap is now "
            f"{step.current}: someone else changed it"
        )
        return
    try:
        step.change = plan_change(
            stock,
            step.mode,
            parse_target(str(after)),
            out_request_no=number,
            brand_id=brand_id,
        )
    except LocalCheckError as error:
        step.status, step.reason = "refused", f"{error.message} (unfinished since an earlier run)"
        return
    step.status = "change"
    step.reason = "resumed with its recorded out_request_no"


@dataclass
class ApplyOptions:
    concurrency: int
    make_client: Callable[[], Client]
    audit: Journal
    on_step_done: Callable[[Step], None]
    stop: threading.Event


def apply_steps(steps: list[Step], journal: BatchJournal, options: ApplyOptions) -> bool:
    """Send every `change` step; return False when interrupted (in-flight steps finish)."""
    pending = [step for step in steps if step.status == "change"]
    clients = _ThreadClients(None, options.make_client)

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
            outcome = execute(client(), options.audit, change, target_text=step.target.text)
        except WxBudgetError as error:
            step.status, step.reason, step.exit_code = "failed", error.line(), int(error.exit_code)
            step.request_id = error.request_id
            journal.write({"type": "result", "key": step.key, "result": "failed"})
        else:
            step.status = "applied"
            step.reason = outcome.warning
            last_write = client().last_write
            step.request_id = last_write.request_id if last_write else None
            journal.write({"type": "result", "key": step.key, "result": "applied"})
        return step

    interrupted = False
    with ThreadPoolExecutor(max_workers=max(options.concurrency, 1)) as pool:
        futures: set[Future[Step]] = {pool.submit(run, step) for step in pending}
        while futures:
            # Ctrl-C may land while waiting or while showing progress: either way, stop issuing
            # new requests and let the in-flight ones finish.
            try:
                done, futures = wait(futures, return_when=FIRST_COMPLETED)
                for future in done:
                    options.on_step_done(future.result())
            except KeyboardInterrupt:
                interrupted = True
                options.stop.set()
    clients.__exit__()
    return not (interrupted or options.stop.is_set())


def steps_json(steps: list[Step]) -> Iterator[str]:
    """A JSON array, one object per step, produced piece by piece (plans can be huge)."""
    yield "["
    for index, step in enumerate(steps):
        separator = "," if index else ""
        yield separator + "\n  " + json.dumps(step.to_json(), ensure_ascii=False)
    yield "\n]"
