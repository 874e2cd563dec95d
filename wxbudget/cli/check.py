"""`check`: budget alerts for cron and CI (exit 9 when a stock is below a threshold)."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

import typer

from wxbudget import i18n
from wxbudget.cli.options import GlobalOptions, with_global_options
from wxbudget.cli.show import StockIds
from wxbudget.cli.stock import ProductCouponId, open_client
from wxbudget.i18n import _, ngettext

if TYPE_CHECKING:
    from wxbudget.client import Client
    from wxbudget.thresholds import Thresholds, Verdict

FloorOption = "N or P%"


@with_global_options
def check(
    product_coupon_id: ProductCouponId,
    stock_ids: StockIds = None,
    min_remaining: Annotated[
        str | None,
        typer.Option(
            "--min-remaining",
            metavar=FloorOption,
            help="Alert when fewer than N coupons (or P% of the total cap) are left in all",
            show_default=False,
        ),
    ] = None,
    min_remaining_today: Annotated[
        str | None,
        typer.Option(
            "--min-remaining-today",
            metavar=FloorOption,
            help="Alert when fewer than N coupons (or P% of the daily cap) are left today",
            show_default=False,
        ),
    ] = None,
    state: Annotated[
        list[str] | None,
        typer.Option(
            "--state",
            metavar="STATE",
            help="Alert when a stock is not in this state (repeat, or SENDING,PAUSED, for any of "
            "several)",
            show_default=False,
        ),
    ] = None,
    watch: Annotated[
        float | None,
        typer.Option(
            "--watch",
            metavar="SECONDS",
            min=1.0,
            help="On a terminal: check again every SECONDS in a live table, until Ctrl-C",
            show_default=False,
        ),
    ] = None,
    *,
    options: GlobalOptions,
) -> None:
    """Alert on stocks below a threshold: exit 9 when any is, 0 when none is (for cron and CI).

    Checks the named stocks, or every stock of the coupon that has not ended (STOPPED and
    DEACTIVATED stocks are left out unless named). Prints only the stocks below a threshold,
    so a cron job that is fine prints nothing; -o json prints the whole verdict.

    Examples:

      wxbudget check 1000000013 --min-remaining 1000 --min-remaining-today 10%

      wxbudget check 1000000013 1000000013002 --state SENDING -o json

      wxbudget check 1000000013 --min-remaining 5% --watch 30
    """
    from wxbudget.errors import UsageError
    from wxbudget.thresholds import Thresholds, parse_floor, parse_states

    thresholds = Thresholds(
        min_remaining=parse_floor(min_remaining, "--min-remaining") if min_remaining else None,
        min_remaining_today=(
            parse_floor(min_remaining_today, "--min-remaining-today")
            if min_remaining_today
            else None
        ),
        states=parse_states(state or []),
    )
    if thresholds.is_empty:
        raise UsageError(
            _(
                "no threshold to check: give --min-remaining N, --min-remaining-today N (or P%), "
                "or --state STATE"
            )
        )
    request = CheckRequest(product_coupon_id, stock_ids, thresholds)
    if watch is not None:
        if options.output is not None and options.output.value != "table":
            raise UsageError(_("--watch shows a live table; it takes no -o json"))
        if not sys.stdout.isatty():
            raise UsageError(
                _("--watch needs a terminal; for cron or CI run check without it and act on exit 9")
            )
        _watch(options, request, watch)
        return
    with open_client(options, rate_limited=True) as client:
        result = _check_once(client, request)
    _report(options, request, result)


@dataclass(frozen=True)
class CheckRequest:
    product_coupon_id: str
    stock_ids: list[str] | None
    thresholds: Thresholds


@dataclass(frozen=True)
class CheckResult:
    verdicts: list[Verdict]
    left_out: int  # ended stocks of the coupon, not checked
    missing: str | None  # the named stocks not found, as one line

    @property
    def crossed(self) -> list[Verdict]:
        return [verdict for verdict in self.verdicts if verdict.crossed]


def _check_once(client: Client, request: CheckRequest) -> CheckResult:
    from wxbudget.reads import read_stocks
    from wxbudget.thresholds import checked, judge

    reading = read_stocks(
        client, request.product_coupon_id, request.stock_ids, make_client=client.sibling
    )
    stocks, ended = checked(list(reading.stocks), named=request.stock_ids is not None)
    missing = None
    if reading.missing:
        missing = i18n.join(
            "; ",
            (
                _("{stock_id}: {problem}", stock_id=stock_id, problem=error.line())
                for stock_id, error in reading.missing
            ),
        )
    return CheckResult([judge(stock, request.thresholds) for stock in stocks], len(ended), missing)


def _report(options: GlobalOptions, request: CheckRequest, result: CheckResult) -> None:
    from wxbudget import render
    from wxbudget.errors import ExitCode, LocalCheckError

    crossed = result.crossed
    if options.json:
        render.json_result(_document(request, result))
    elif crossed:
        render.check_alerts(_title(request, len(crossed), len(result.verdicts)), result.verdicts)
    if result.missing is not None:
        raise LocalCheckError(_("stocks not found: {missing}", missing=result.missing))
    if crossed:
        raise typer.Exit(int(ExitCode.THRESHOLD))
    if not options.json:
        if result.left_out:
            render.on_terminal(
                _(
                    "ok: {count} stocks within every threshold ({left_out} ended stocks not "
                    "checked)",
                    count=len(result.verdicts),
                    left_out=result.left_out,
                )
            )
        else:
            render.on_terminal(
                _("ok: {count} stocks within every threshold", count=len(result.verdicts))
            )


def _title(request: CheckRequest, crossed: int, checked: int) -> str:
    return _(
        "{crossed} of {checked} stocks of coupon {product_coupon_id} below a threshold",
        crossed=crossed,
        checked=checked,
        product_coupon_id=request.product_coupon_id,
    )


def _document(request: CheckRequest, result: CheckResult) -> dict[str, object]:
    return {
        "product_coupon_id": request.product_coupon_id,
        "thresholds": request.thresholds.to_json(),
        "checked": len(result.verdicts),
        "ended_not_checked": result.left_out,
        "crossed": bool(result.crossed),
        "alerts": [
            {
                "stock_id": verdict.stock.stock_id,
                "state": verdict.stock.state,
                "max_count": verdict.stock.max_count,
                "max_count_per_day": verdict.stock.max_count_per_day,
                "sent_total": verdict.stock.sent_total,
                "sent_today": verdict.stock.sent_today,
                "remaining_total": verdict.stock.remaining_total,
                "remaining_today": verdict.stock.remaining_today,
                "crossed": [
                    {"threshold": crossing.threshold, "message": crossing.message}
                    for crossing in verdict.crossings
                ],
            }
            for verdict in result.crossed
        ],
    }


def _watch(options: GlobalOptions, request: CheckRequest, seconds: float) -> None:
    """Check, redraw, sleep; until Ctrl-C. A failed check is shown and the watch goes on."""
    import time

    from wxbudget import render
    from wxbudget.errors import WxBudgetError
    from wxbudget.interrupts import Interrupted

    checks = 0
    last: CheckResult | None = None
    try:
        with open_client(options, rate_limited=True) as client, render.CheckWatch() as live:
            while True:
                checks += 1
                stamp = time.strftime("%H:%M:%S")
                try:
                    last = _check_once(client, request)
                    problem = _("; {missing}", missing=last.missing) if last.missing else ""
                except WxBudgetError as error:
                    problem = _("; check failed: {problem}", problem=error.line())
                verdicts = last.verdicts if last is not None else []
                crossed = len(last.crossed) if last is not None else 0
                live.show(
                    _title(request, crossed, len(verdicts)),
                    verdicts,
                    _(
                        "check {checks} at {stamp}, every {seconds:g}s; Ctrl-C to stop{problem}",
                        checks=checks,
                        stamp=stamp,
                        seconds=seconds,
                        problem=problem,
                    ),
                )
                time.sleep(seconds)
    except Interrupted as stopped:
        # The live table stays on screen as it was last drawn; one line says how it ended.
        stopped.reported = True
        found = _("nothing")
        if last is not None:
            found = _(
                "{crossed} of {checked} stocks below a threshold",
                crossed=len(last.crossed),
                checked=len(last.verdicts),
            )
        render.notice(
            ngettext(
                "stopped watching after {count} check; the last one found {found}",
                "stopped watching after {count} checks; the last one found {found}",
                checks,
                count=checks,
                found=found,
            )
        )
        raise
