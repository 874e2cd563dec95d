"""`wxbudget doctor`: check a profile's setup, one line per check."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from wxbudget.cli.options import GlobalOptions, with_global_options
from wxbudget.i18n import _

if TYPE_CHECKING:
    from wxbudget.config import Flags

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
    not exist (error answers carry the server's time too). Nothing is changed and no key
    material is printed. With no config file at all, every other command runs on the embedded
    sandbox, so doctor checks that setup (starting the sandbox as they do) and says so. Exit 0
    when nothing failed (warnings allowed), 3 otherwise.

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
        stock = (parse_id(stock[0], _("product coupon id")), parse_id(stock[1], _("stock id")))
    flags, missing, embedded = _embedded_or_given(options)
    report = checkup.diagnose(
        flags,
        os.environ,
        stock=stock,
        trace=render.trace if options.verbose else None,
    )
    if embedded:
        report = checkup.on_embedded_sandbox(report, missing)
    if options.json:
        render.json_result(report.to_json())
    else:
        render.doctor_report(report)
    if not report.ok:
        raise typer.Exit(int(ExitCode.CONFIG))


def _embedded_or_given(options: GlobalOptions) -> tuple[Flags, Path | None, bool]:
    """The flags to check: as given, or the embedded sandbox's when this run uses it (asked
    for, or no config file at all and a person at a terminal), which every other command would
    use; the config file that was missing; and whether it is the embedded sandbox. With no
    config file and nobody at a terminal the flags stay as given: the config check fails."""

    from wxbudget import render
    from wxbudget.cli.embedded import sandbox_config
    from wxbudget.errors import ConfigError

    flags = options.flags()
    try:
        found = sandbox_config(flags, os.environ)
    except ConfigError:
        return flags, None, False
    if found is None:
        return flags, None, False
    path, missing = found
    render.mark_sandbox()
    return flags._replace(config=path, sandbox=None), missing, True
