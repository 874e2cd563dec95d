"""`wxbudget history`: the audit journal, intents paired with outcomes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from wxbudget.cli.options import GlobalOptions, with_global_options
from wxbudget.cli.stock import id_argument

_EARLIEST = datetime.min.replace(tzinfo=UTC)


@with_global_options
def history(
    product_coupon_id: Annotated[
        str | None,
        typer.Argument(
            help="Only this product coupon",
            show_default=False,
            callback=id_argument("product coupon id"),
        ),
    ] = None,
    stock_id: Annotated[
        str | None,
        typer.Argument(
            help="Only this stock", show_default=False, callback=id_argument("stock id")
        ),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            metavar="DATE",
            help="Only operations at or after DATE (2026-11-01 or 2026-11-01T08:00:00+08:00)",
            show_default=False,
        ),
    ] = None,
    *,
    options: GlobalOptions,
) -> None:
    """Show every budget change wxbudget made from this machine, with its outcome.

    Intents without an outcome (a crash or a kill mid-write) are flagged: re-run the same command
    with its --out-request-no to finish it safely.

    Examples:

      wxbudget history

      wxbudget history 1000000013 1000000013001 --since 2026-11-01 -o json
    """
    from wxbudget import config, render
    from wxbudget.errors import UsageError
    from wxbudget.journal import Journal

    cutoff = None
    if since is not None:
        try:
            cutoff = datetime.fromisoformat(since)
        except ValueError as error:
            raise UsageError(
                f"--since {since!r} is not a date; use 2026-11-01 or 2026-11-01T08:00:00+08:00"
            ) from error
        if cutoff.tzinfo is None:
            try:
                cutoff = cutoff.astimezone()  # a date without a zone is this machine's time
            except (ValueError, OverflowError):  # before year 1 once shifted: all of history
                cutoff = _EARLIEST
    path = config.audit_log_path(options.flags())
    operations = [
        operation
        for operation in Journal(path).operations()
        if (
            product_coupon_id is None
            or operation.intent.get("product_coupon_id") == product_coupon_id
        )
        and (stock_id is None or operation.intent.get("stock_id") == stock_id)
        and (cutoff is None or _time(operation.intent) >= cutoff)
    ]
    if options.json:
        render.json_result([operation.to_json() for operation in operations])
    else:
        render.history_table(operations, path)


def _time(entry: dict[str, object]) -> datetime:
    try:
        moment = datetime.fromisoformat(str(entry.get("time")))
    except ValueError:
        moment = _EARLIEST
    # A journal line without a zone cannot be compared with an aware cutoff: take it as UTC.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
