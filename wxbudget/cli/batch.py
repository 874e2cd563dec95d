"""`list`: every stock of a coupon, as a table, JSON or a ready plan file."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from wxbudget.cli.options import GlobalOptions, with_global_options
from wxbudget.cli.stock import ProductCouponId, open_client
from wxbudget.i18n import _

if TYPE_CHECKING:
    pass

STATES = ("AUDITING", "SENDING", "PAUSED", "STOPPED", "DEACTIVATED")


@with_global_options
def list_stocks(
    product_coupon_id: ProductCouponId,
    state: Annotated[
        str | None,
        typer.Option(
            "--state", help=f"Only stocks in this state: {', '.join(STATES)}", show_default=False
        ),
    ] = None,
    *,
    options: GlobalOptions,
) -> None:
    """List every stock of a product coupon with its caps (all pages).

    -o csv writes a ready plan file holding the current caps: export, edit, apply.

    Examples:

      wxbudget list 1000000013

      wxbudget list 1000000013 --state SENDING -o csv > plan.csv
    """
    from wxbudget import render
    from wxbudget.errors import UsageError
    from wxbudget.plan_export import stocks_csv

    if state is not None and state.upper() not in STATES:
        raise UsageError(
            _(
                "--state {state!r} is not a state; use one of {states}",
                state=state,
                states=", ".join(STATES),
            )
        )
    with open_client(options, rate_limited=True) as client:
        brand_id = client.settings.body_brand_id()
        stocks = list(
            client.list_stocks(product_coupon_id, brand_id, state=state.upper() if state else None)
        )
    if options.output is not None and options.output.value == "csv":
        render.raw_result(stocks_csv(stocks).rstrip("\n"))
    elif options.json:
        render.json_result([stock.raw for stock in stocks])
    else:
        render.stocks_table(
            _("coupon {product_coupon_id}", product_coupon_id=product_coupon_id), stocks
        )
