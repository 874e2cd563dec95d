"""`wxbudget doctor`: check a profile's setup, one line per check."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from wxbudget.cli.options import GlobalOptions, with_global_options

StockOption = Annotated[
    tuple[str, str] | None,
    typer.Option(
        "--stock",
        metavar="PRODUCT_COUPON_ID STOCK_ID",
        help="Also read this stock and check that the signed answer verifies",
        show_default=False,
    ),
]


@with_global_options
def doctor(stock: StockOption = None, *, options: GlobalOptions) -> None:
    """Check a profile: config, key files and permissions, keys, hosts, clock, a signed call.

    One line per check: pass, warn, fail (with the fix), or skip when a check it depends on
    failed. Without --stock the clock is read from the answer to a GET of a stock that does
    not exist (error answers carry the server's time too). Nothing is changed, the embedded
    sandbox is never started, and no key material is printed. Exit 0 when nothing failed
    (warnings allowed), 3 otherwise.

    Examples:

      wxbudget doctor

      wxbudget doctor -p prod --stock 1000000013 1000000013001

      wxbudget doctor -o json  (for monitoring: profile, config, checks, ok)
    """
    from wxbudget import doctor as checkup
    from wxbudget import render
    from wxbudget.errors import ExitCode
    from wxbudget.ids import parse_id

    if stock is not None:
        stock = (parse_id(stock[0], "product coupon id"), parse_id(stock[1], "stock id"))
    report = checkup.diagnose(
        options.flags(),
        os.environ,
        stock=stock,
        trace=render.trace if options.verbose else None,
    )
    if options.json:
        render.json_result(report.to_json())
    else:
        render.doctor_report(report)
    if not report.ok:
        raise typer.Exit(int(ExitCode.CONFIG))
