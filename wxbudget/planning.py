"""Planning a batch as a stream: read the live state a little ahead, plan each row, hand it on.

Nothing is held per row of the plan: rows are parsed from the plan's text one by one, the reads
they need run on worker threads at most a window ahead (a coupon with many planned rows is read
once, with the list endpoint, and its listing dropped after its last row), and every step is
yielded as soon as it is planned. So memory follows the window, not the plan or the account.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from wxbudget.batch import Step, ThreadClients
from wxbudget.batch_journal import BatchJournal
from wxbudget.budget import (
    Change,
)
from wxbudget.client import Client
from wxbudget.earlier import acknowledge, settle_earlier
from wxbudget.errors import LocalCheckError, RejectedError, UsageError, WxBudgetError
from wxbudget.i18n import _
from wxbudget.interrupts import StopFlag
from wxbudget.journal import Journal
from wxbudget.models import Stock
from wxbudget.plan import Plan, PlanRow
from wxbudget.readpool import ReadPool
from wxbudget.rereads import fetch_bundle
from wxbudget.settings import Settings
from wxbudget.step_changes import head, plan_applied_before, plan_new, plan_recorded

# A coupon with more planned rows than this is read with the list endpoint (50 per page).
LIST_THRESHOLD = 5
# Reads in flight or done but not yet used, per worker; and rows parsed ahead at most.
READS_AHEAD_PER_WORKER = 2
ROWS_AHEAD = 4096

# What a read gives: one stock (or why not), or the planned stocks of a listed coupon.
Listing = dict[str, Stock] | RejectedError
# What a row is planned against: its stock, its bundle's stocks (in bundle order), or why not.
Found = Stock | list[Stock] | WxBudgetError


@dataclass(frozen=True)
class Earlier:
    """Where planning meets the audit journal: interrupted earlier operations."""

    audit: Journal
    settings: Settings
    again: bool = False  # --again: stack relative changes on interrupted ones that landed
    record: bool = True  # False for a dry run: settle nothing in the journal


def row_brand_id(row: PlanRow, plan: Plan, settings: Settings) -> str | None:
    """The brand_id a row's calls carry: None for a brand profile, which acts for itself."""
    if settings.is_brand:
        if row.brand_id and row.brand_id != settings.brand_id:
            raise UsageError(
                _(
                    "{source} line {line}: brand {brand_id} is not this brand profile's "
                    "({own_brand_id}); a brand can only change its own stocks",
                    source=plan.source,
                    line=row.line,
                    brand_id=row.brand_id,
                    own_brand_id=settings.brand_id,
                )
            )
        return None
    brand_id = row.brand_id or settings.brand_id
    if not brand_id:
        raise UsageError(
            _(
                "{source} line {line}: no brand_id: add a brand_id column, pass "
                "--brand-id, or set brand_id in the profile",
                source=plan.source,
                line=row.line,
            )
        )
    return brand_id


def check_rows(plan: Plan, settings: Settings) -> None:
    """Everything about the rows that needs no request: refused before the first read."""
    for row in plan.iter_rows():
        row_brand_id(row, plan, settings)


def plan_stream(
    plan: Plan,
    client: Client,
    journal: BatchJournal,
    *,
    make_client: Callable[[], Client] | None = None,
    workers: int = 4,
    stop: StopFlag | None = None,
    earlier: Earlier | None = None,
) -> Iterator[Step]:
    """Every step of the plan, in plan order, each planned against the live stock.

    Reads run on `workers` threads (each with its own client from `make_client`, sharing the
    rate limiter) ahead of the rows being planned. When `stop` is set (Ctrl-C) no further read
    starts and the queued ones are dropped, so the caller stops at once.
    """
    settings = client.settings
    clients = ThreadClients(client, make_client)
    pool = ReadPool(workers)
    reader = _Reader(plan, settings, clients, pool, stop, workers * READS_AHEAD_PER_WORKER)
    try:
        for row, found in reader:
            yield from _plan_row(row, found, plan, journal, settings, earlier)
    except BaseException:
        # Interrupted (or failed): drop the queued reads, abandon those in flight.
        pool.shutdown(wait=False)
        raise
    pool.shutdown()
    clients.__exit__()


class _Reader:
    """Rows in plan order, each with its read, the reads submitted a window ahead."""

    def __init__(
        self,
        plan: Plan,
        settings: Settings,
        clients: ThreadClients,
        pool: ReadPool,
        stop: StopFlag | None,
        window: int,
    ) -> None:
        self.plan = plan
        self.settings = settings
        self.clients = clients
        self.pool = pool
        self.stop = stop
        self.window = window
        self.rows = plan.iter_rows()
        self.ahead: deque[tuple[PlanRow, Future[Any], tuple[str, str | None] | None]] = deque()
        self.listings: dict[tuple[str, str | None], Future[Listing]] = {}
        self.left: dict[tuple[str, str | None], int] = {}
        self.open_reads = 0

    def __iter__(self) -> Iterator[tuple[PlanRow, Found]]:
        while True:
            self._fill()
            if not self.ahead:
                return
            row, read, listed = self.ahead.popleft()
            found = read.result()
            if listed is None:
                self.open_reads -= 1
                yield row, found
                continue
            self.left[listed] -= 1
            if not self.left[listed]:
                # The coupon's last planned row: its listing is not needed any more.
                del self.left[listed], self.listings[listed]
                self.open_reads -= 1
            if isinstance(found, RejectedError):
                yield row, found
            else:
                # [OFF-LIST] lists every stock of the coupon: one not listed does not exist for
                # this brand, which update-budget would answer with 404 NOT_FOUND.
                yield (
                    row,
                    found.get(row.stock_id)
                    or LocalCheckError(
                        _(
                            "stock {stock_id} is not in coupon {product_coupon_id} of brand "
                            "{listed}",
                            stock_id=row.stock_id,
                            product_coupon_id=row.product_coupon_id,
                            listed=listed[1],
                        )
                    ),
                )

    def _fill(self) -> None:
        while not self.ahead or (self.open_reads < self.window and len(self.ahead) < ROWS_AHEAD):
            row = next(self.rows, None)
            if row is None:
                return
            coupon = row.product_coupon_id
            brand_id = row_brand_id(row, self.plan, self.settings)
            if row.stock_bundle_id is not None:
                # A bundle is read whole (the list endpoint's stock_bundle_id filter).
                bundle: Future[Found] = self.pool.submit(
                    _bundle, self.clients, coupon, row.stock_bundle_id, brand_id
                )
                self.open_reads += 1
                self.ahead.append((row, bundle, None))
            elif len(self.plan.groups[coupon]) > LIST_THRESHOLD:
                key = (coupon, brand_id)
                if key not in self.listings:
                    self.listings[key] = self.pool.submit(
                        _list, self.clients, self.plan, coupon, brand_id, self.stop
                    )
                    self.left[key] = 0
                    self.open_reads += 1
                self.left[key] += 1
                self.ahead.append((row, self.listings[key], key))
            else:
                read = self.pool.submit(_get, self.clients, coupon, row.stock_id, brand_id)
                self.open_reads += 1
                self.ahead.append((row, read, None))


def _get(
    clients: ThreadClients, coupon: str, stock_id: str, brand_id: str | None
) -> Stock | WxBudgetError:
    try:
        stock, _response = clients.get().get_stock(coupon, stock_id, brand_id)
    except RejectedError as error:
        return error
    return stock


def _bundle(
    clients: ThreadClients, coupon: str, stock_bundle_id: str, brand_id: str | None
) -> Found:
    try:
        stocks = fetch_bundle(clients.get(), coupon, stock_bundle_id, brand_id)
    except RejectedError as error:
        return error
    if not stocks:
        return LocalCheckError(
            _(
                "stock bundle {stock_bundle_id} has no stocks in coupon {coupon} (or does not "
                "exist)",
                stock_bundle_id=stock_bundle_id,
                coupon=coupon,
            )
        )
    return stocks


def _list(
    clients: ThreadClients,
    plan: Plan,
    coupon: str,
    brand_id: str | None,
    stop: StopFlag | None,
) -> Listing:
    """The planned stocks of a coupon, page by page; the others are not kept."""
    found: dict[str, Stock] = {}
    try:
        for stock in clients.get().list_stocks(coupon, brand_id, keep_raw=False):
            if plan.is_planned(coupon, stock.stock_id):
                found[stock.stock_id] = stock
            if stop is not None and stop.is_set():
                break
    except RejectedError as error:
        return error
    return found


def _plan_row(
    row: PlanRow,
    stock: Found,
    plan: Plan,
    journal: BatchJournal,
    settings: Settings,
    earlier: Earlier | None,
) -> Iterator[Step]:
    """The steps of one row (one per cap it sets), each with its status."""
    for mode, target in row.targets:
        step = Step(row=row, mode=mode, target=target)
        if isinstance(stock, WxBudgetError):
            step.status, step.reason = "refused", stock.message
            yield step
            continue
        step.current = head(stock).cap(mode)
        recorded = journal.records.get(step.key)
        brand_id = row_brand_id(row, plan, settings)
        if recorded and recorded.get("result") == "applied":
            plan_applied_before(step, recorded)
        elif recorded:
            plan_recorded(step, stock, recorded, brand_id)
        else:
            plan_new(step, stock, brand_id)
            if earlier is not None and step.change is not None:
                _check_earlier(step, step.change, earlier)
        yield step


def _check_earlier(step: Step, change: Change, earlier: Earlier) -> None:
    """An interrupted earlier operation on this cap that landed: a relative step would stack
    on it, so it is held back (refused) unless --again says to apply another one."""
    found = settle_earlier(earlier.audit, earlier.settings, change, record=earlier.record)
    if found is None:
        return
    step.earlier = found
    if change.is_noop or not step.target.is_relative or earlier.again:
        if earlier.record:
            acknowledge(earlier.audit, found.intent)
        return
    step.status, step.out_request_no = "refused", None
    step.reason = _(
        "{earlier}; {text} would come on top of it: pass --again to apply another one",
        earlier=found.describe(),
        text=step.target.text,
    )


def stacked(steps: list[Step]) -> list[Step]:
    """Steps held back because they would stack on an interrupted earlier change."""
    return [step for step in steps if step.status == "refused" and step.earlier is not None]


def release(steps: list[Step], audit: Journal) -> None:
    """The operator said yes: the held-back steps are changes again."""
    for step in steps:
        if step.earlier is None or step.change is None:
            continue
        acknowledge(audit, step.earlier.intent)
        step.status, step.reason = "change", None
        step.out_request_no = step.change.out_request_no
