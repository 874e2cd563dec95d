"""`wxbudget bundle show|set-max|set-daily`: stock bundles (批次组), changed together."""

from __future__ import annotations

import typer

from wxbudget.cli.change import change_command
from wxbudget.cli.options import GlobalOptions, with_global_options
from wxbudget.cli.stock import BundleId, ProductCouponId, open_client, print_stocks
from wxbudget.i18n import _

bundle_app = typer.Typer(
    # Plain (click) help: it wraps between words at any width, where rich panels cut words.
    rich_markup_mode=None,
    help="Stock bundles (批次组) of progressive-bundle coupons: every stock changes together.",
    no_args_is_help=True,
)


@bundle_app.command("show")
@with_global_options
def show(
    product_coupon_id: ProductCouponId, stock_bundle_id: BundleId, *, options: GlobalOptions
) -> None:
    """Show every stock of a bundle with its caps.

    -o csv writes a ready plan file: one row naming the bundle, with its caps, for `apply`.

    Examples:

      wxbudget bundle show 1000000014 712315129419284901

      wxbudget bundle show 1000000014 712315129419284901 -o csv > plan.csv
    """
    from wxbudget import render, rereads
    from wxbudget.cli.options import OutputFormat
    from wxbudget.errors import LocalCheckError
    from wxbudget.plan_export import stocks_csv

    with open_client(options, rate_limited=True) as client:
        stocks = rereads.fetch_bundle(client, product_coupon_id, stock_bundle_id)
    if not stocks:
        # [OFF-LIST] the stock_bundle_id filter lists a bundle's stocks: none, no such bundle.
        raise LocalCheckError(
            _(
                "stock bundle {stock_bundle_id} has no stocks in coupon {product_coupon_id}",
                stock_bundle_id=stock_bundle_id,
                product_coupon_id=product_coupon_id,
            )
        )
    if options.output is OutputFormat.csv:
        render.raw_result(stocks_csv(stocks).rstrip("\n"))
    else:
        print_stocks(options, tuple(stocks), bundle=stock_bundle_id)


# A TARGET like -500 or -10% must reach the command as an argument, not an unknown option.
_NEGATIVE_TARGETS = {"ignore_unknown_options": True}

bundle_app.command("set-max", context_settings=_NEGATIVE_TARGETS)(
    change_command(
        "MAX_COUNT",
        """Set the total cap (MAX_COUNT) of every stock in a bundle, in one call.

    Examples:

      wxbudget bundle set-max 1000000014 712315129419284901 +1000 --yes

      wxbudget bundle set-max 1000000014 712315129419284901 40000 --dry-run
    """,
        bundle=True,
    )
)
bundle_app.command("set-daily", context_settings=_NEGATIVE_TARGETS)(
    change_command(
        "MAX_COUNT_PER_DAY",
        """Set the daily cap (MAX_COUNT_PER_DAY) of every stock in a bundle, in one call.

    A bundle's daily cap cannot switch between limited and unlimited.

    Example: wxbudget bundle set-daily 1000000014 712315129419284901 -10% --yes
    """,
        bundle=True,
    )
)
