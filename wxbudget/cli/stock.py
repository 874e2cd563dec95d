"""`show`, `set-max`, `set-daily`: one stock, one cap, read-modify-write."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

import typer

from wxbudget.cli.options import GlobalOptions, with_global_options

if TYPE_CHECKING:
    from wxbudget.client import Client
    from wxbudget.models import Stock, UpdateMode


def id_argument(what: str) -> Callable[[str | None], str | None]:
    """A callback that checks an id argument as it is parsed, before anything is read or signed."""

    def check(value: str | None) -> str | None:
        from wxbudget.ids import parse_id

        return None if value is None else parse_id(value, what)

    return check


ProductCouponId = Annotated[
    str,
    typer.Argument(
        help="Product coupon id (商品券ID)",
        show_default=False,
        callback=id_argument("product coupon id"),
    ),
]
StockId = Annotated[
    str,
    typer.Argument(help="Stock id (批次ID)", show_default=False, callback=id_argument("stock id")),
]
BundleId = Annotated[
    str,
    typer.Argument(
        help="Stock bundle id (批次组ID, stock_bundle_id)",
        show_default=False,
        callback=id_argument("stock bundle id"),
    ),
]
TargetArgument = Annotated[
    str,
    typer.Argument(
        help="New cap: absolute (20000) or relative to the current cap (+500, -500, +10%, -10%)",
        show_default=False,
    ),
]
YesOption = Annotated[
    bool, typer.Option("--yes", "-y", help="Change without asking (for cron and CI)")
]
DryRunOption = Annotated[
    bool, typer.Option("--dry-run", help="Print the plan and the exact JSON body; send nothing")
]
ExpectCurrentOption = Annotated[
    int | None,
    typer.Option(
        "--expect-current",
        help="Refuse (exit 5) unless the current cap is exactly N",
        metavar="N",
        show_default=False,
    ),
]
OutRequestNoOption = Annotated[
    str | None,
    typer.Option(
        "--out-request-no",
        help="Use this request number (6-40 of 0-9A-Za-z_-) instead of a generated one",
        show_default=False,
    ),
]


@with_global_options
def show(product_coupon_id: ProductCouponId, stock_id: StockId, *, options: GlobalOptions) -> None:
    """Show a stock's state and budget: caps, issued counts, what remains.

    Example: wxbudget show 1000000013 1000000013001 -o json
    """
    with open_client(options) as client:
        stock = client.fetch_stock(product_coupon_id, stock_id)
    print_stocks(options, (stock,))


def change_command(mode_name: str, doc: str, *, bundle: bool = False) -> Callable[..., None]:
    """set-max and set-daily (and their bundle twins) share every parameter; only the cap
    (update_mode) and what it applies to differ."""

    def command(
        product_coupon_id: ProductCouponId,
        stock_id: StockId,
        target: TargetArgument,
        yes: YesOption = False,
        dry_run: DryRunOption = False,
        expect_current: ExpectCurrentOption = None,
        out_request_no: OutRequestNoOption = None,
        *,
        options: GlobalOptions,
    ) -> None:
        from wxbudget.models import UpdateMode

        request = ChangeRequest(
            mode=UpdateMode(mode_name),
            product_coupon_id=product_coupon_id,
            stock_id=stock_id,
            target_text=target,
            yes=yes,
            dry_run=dry_run,
            expect_current=expect_current,
            out_request_no=out_request_no,
            bundle=bundle,
        )
        _change(options, request)

    if bundle:
        command.__annotations__["stock_id"] = "BundleId"  # resolved by with_global_options
    command.__doc__ = doc
    command.__name__ = mode_name.lower()
    return with_global_options(command)


set_max = change_command(
    "MAX_COUNT",
    """Set a stock's total issuing cap (MAX_COUNT).

    Examples:

      wxbudget set-max 1000000013 1000000013001 20000

      wxbudget set-max 1000000013 1000000013001 +10% --yes -o json

      wxbudget set-max 1000000013 1000000013001 -500 --dry-run
    """,
)

set_daily = change_command(
    "MAX_COUNT_PER_DAY",
    """Set a stock's daily issuing cap (MAX_COUNT_PER_DAY).

    A stock created without a daily cap cannot get one afterwards.

    Examples:

      wxbudget set-daily 1000000013 1000000013002 8000

      wxbudget set-daily 1000000013 1000000013002 -10% --yes
    """,
)


@dataclass(frozen=True)
class ChangeRequest:
    mode: UpdateMode
    product_coupon_id: str
    stock_id: str  # the stock, or the stock bundle when `bundle` is set
    target_text: str
    yes: bool
    dry_run: bool
    expect_current: int | None
    out_request_no: str | None
    bundle: bool = False


def _change(options: GlobalOptions, request: ChangeRequest) -> None:
    from wxbudget import budget, operations, render
    from wxbudget.errors import UsageError
    from wxbudget.journal import Journal
    from wxbudget.transport import serialize_body

    mode = request.mode
    # Everything checkable without the network is checked before the first request.
    target = budget.parse_target(request.target_text)
    number = (
        budget.check_out_request_no(request.out_request_no)
        if request.out_request_no is not None
        else budget.new_out_request_no()
    )
    with open_client(options) as client:
        journal = Journal(client.settings.audit_log)
        change = operations.plan(
            client,
            request.product_coupon_id,
            request.stock_id,
            mode,
            target,
            out_request_no=number,
            expect_current=request.expect_current,
            journal=journal,
            bundle=request.bundle,
        )
        recorded = journal.find_intent(client.settings.identity, number)
        if recorded is not None:
            render.notice(
                f"out_request_no {number} is recorded ({recorded.get('time')}) as {mode.label} "
                f"{recorded.get('from')} -> {recorded.get('to')}: replaying that change"
            )
        if change.is_noop:
            render.notice(
                f"{mode.label} of {change.subject} is already {change.current:,}: nothing to do"
            )
            print_stocks(options, change.bundle_stocks or (change.stock,), bundle=change.bundle_id)
            return
        render.plan(change)
        if request.dry_run:
            render.notice("dry run: nothing sent; the request body would be:")
            render.raw_result(serialize_body(change.body()).decode("utf-8"))
            return
        if not request.yes:
            if not sys.stdin.isatty():
                raise UsageError(
                    "refusing to change the budget without confirmation: stdin is not a terminal; "
                    "pass --yes (or --dry-run to preview)"
                )
            if not render.confirm("Apply this change?"):
                render.notice("cancelled: nothing was sent")
                raise typer.Exit(2)
        render.notice(f"out_request_no {change.out_request_no}")
        outcome = operations.execute(client, journal, change, target_text=request.target_text)
    if outcome.warning:
        render.notice(outcome.warning)
    render.notice(f"done: {mode.label} of {change.subject} is now {outcome.stock.cap(mode):,}")
    print_stocks(
        options, outcome.stocks, bundle=change.bundle_id, changed=mode, before=change.current
    )


def print_stocks(
    options: GlobalOptions,
    stocks: tuple[Stock, ...],
    *,
    bundle: str | None = None,
    changed: UpdateMode | None = None,
    before: int | None = None,
) -> None:
    """A single stock as a detailed table; a bundle's stocks as one list (json: the objects)."""
    from wxbudget import render

    if bundle is not None:
        if options.json:
            render.json_result({"stock_bundle_id": bundle, "stock_list": [s.raw for s in stocks]})
        else:
            render.stocks_table(f"stock bundle {bundle}", list(stocks), changed=changed)
    elif options.json:
        render.json_result(stocks[0].raw)
    else:
        render.stock_table(stocks[0], changed=changed, before=before)


@contextmanager
def open_client(options: GlobalOptions, *, rate_limited: bool = False) -> Iterator[Client]:
    """Resolve settings and hold one client (one connection pool) for the command."""
    from wxbudget import render
    from wxbudget.cli.embedded import resolve_settings
    from wxbudget.client import Client
    from wxbudget.ratelimit import RateLimiter

    settings = resolve_settings(options.flags())
    client = Client(
        settings,
        trace=render.trace if options.verbose else None,
        limiter=RateLimiter(settings.rate_limit) if rate_limited else None,
    )
    try:
        yield client
    finally:
        client.close()
