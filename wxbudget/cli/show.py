"""`show`: one stock in detail, or many stocks of a coupon (named, or `--all`) in one table."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer

from wxbudget import i18n
from wxbudget.cli.options import GlobalOptions, OutputFormat, with_global_options
from wxbudget.cli.stock import ProductCouponId, open_client, print_stocks
from wxbudget.i18n import _

if TYPE_CHECKING:
    from wxbudget.models import Stock


def ids_argument(what: str) -> Callable[[list[str] | None], list[str] | None]:
    """Checks every id of a variadic argument as it is parsed, before anything is read."""

    def check(values: list[str] | None) -> list[str] | None:
        from wxbudget.ids import parse_id

        return None if values is None else [parse_id(value, what) for value in values]

    return check


StockIds = Annotated[
    list[str] | None,
    typer.Argument(
        help="Stock ids (批次ID): one for the detailed view, several for one table",
        show_default=False,
        callback=ids_argument(_("stock id")),
    ),
]
AllOption = Annotated[
    bool, typer.Option("--all", "-a", help="Every stock of the coupon (through the list endpoint)")
]


@with_global_options
def show(
    product_coupon_id: ProductCouponId,
    stock_ids: StockIds = None,
    all_stocks: AllOption = False,
    *,
    options: GlobalOptions,
) -> None:
    """Show a stock's state and budget: caps, issued counts, what remains.

    One STOCK_ID gives the detailed view (-o json: the stock object). Several, or --all, give
    one table of them all, read in parallel within the rate limit (-o json: an array of stock
    objects). -o csv writes a ready plan file of the stocks shown, as `list -o csv` does.

    Examples:

      wxbudget show 1000000013 1000000013001

      wxbudget show 1000000013 1000000013001 1000000013002 -o json

      wxbudget show 1000000013 --all -o csv > plan.csv
    """
    from wxbudget.errors import UsageError

    if all_stocks and stock_ids:
        raise UsageError(_("give STOCK_IDs or --all, not both"))
    if not all_stocks and not stock_ids:
        raise UsageError(
            _(
                "missing STOCK_ID: name one stock (or several), or pass --all for every stock of "
                "coupon {product_coupon_id}",
                product_coupon_id=product_coupon_id,
            )
        )
    if stock_ids is not None and len(stock_ids) == 1:
        with open_client(options) as client:
            stock = client.fetch_stock(product_coupon_id, stock_ids[0])
        if options.output is OutputFormat.csv:
            _print_csv([stock])
        else:
            print_stocks(options, (stock,))
        return
    _show_many(options, product_coupon_id, stock_ids)


def _show_many(options: GlobalOptions, product_coupon_id: str, stock_ids: list[str] | None) -> None:
    from wxbudget import render
    from wxbudget.errors import LocalCheckError
    from wxbudget.reads import read_stocks

    with open_client(options, rate_limited=True) as client:
        reading = read_stocks(client, product_coupon_id, stock_ids, make_client=client.sibling)
    stocks = list(reading.stocks)
    if options.output is OutputFormat.csv:
        _print_csv(stocks)
    elif options.json:
        render.json_result([stock.raw for stock in stocks])
    elif stocks or not reading.missing:
        render.stocks_table(
            _("coupon {product_coupon_id}", product_coupon_id=product_coupon_id), stocks
        )
    if reading.missing:
        # What was found is shown; what was not fails the command, naming each stock.
        listed = i18n.join(
            "; ",
            (
                _("{stock_id}: {problem}", stock_id=stock_id, problem=error.line())
                for stock_id, error in reading.missing
            ),
        )
        asked = len(stocks) + len(reading.missing)
        raise LocalCheckError(
            _(
                "{count} of {asked} stocks not found: {listed}",
                count=len(reading.missing),
                asked=asked,
                listed=listed,
            )
        )


def _print_csv(stocks: list[Stock]) -> None:
    from wxbudget import render
    from wxbudget.plan_export import stocks_csv

    render.raw_result(stocks_csv(stocks).rstrip("\n"))
