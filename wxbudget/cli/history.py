"""`wxbudget history`: the audit journal, intents paired with outcomes."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated

import typer

from wxbudget.cli.options import GlobalOptions, with_global_options
from wxbudget.cli.stock import id_argument
from wxbudget.i18n import _

if TYPE_CHECKING:
    from wxbudget.journal import Operation

_EARLIEST = datetime.min.replace(tzinfo=UTC)
_RELATIVE = re.compile(r"([0-9]{1,6})([smhdw])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
# --result NAME -> what it matches: an outcome's result, or a state of the operation.
RESULTS = ("applied", "not-applied", "rejected", "conflict", "unknown", "no-outcome", "interrupted")


@with_global_options
def history(
    product_coupon_id: Annotated[
        str | None,
        typer.Argument(
            help="Only this product coupon",
            show_default=False,
            callback=id_argument(_("product coupon id")),
        ),
    ] = None,
    stock_id: Annotated[
        str | None,
        typer.Argument(
            help="Only this stock", show_default=False, callback=id_argument(_("stock id"))
        ),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            metavar="WHEN",
            help="Only operations at or after WHEN: a date (2026-11-01, "
            "2026-11-01T08:00:00+08:00) or a time ago (30m, 24h, 7d, 2w)",
            show_default=False,
        ),
    ] = None,
    result: Annotated[
        str | None,
        typer.Option(
            "--result",
            metavar="RESULT",
            help=f"Only operations with this result: {', '.join(RESULTS)}",
            show_default=False,
        ),
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option(
            "--limit",
            metavar="N",
            min=1,
            max=1_000_000,
            help="Only the N latest operations (after the other filters)",
            show_default=False,
        ),
    ] = None,
    *,
    options: GlobalOptions,
) -> None:
    """Show every budget change wxbudget made from this machine, with its outcome.

    Intents without an outcome (a crash or a kill mid-write) are flagged: re-run the same command
    with its --out-request-no to finish it safely. Writes whose run a signal ended are marked
    "interrupted".

    Examples:

      wxbudget history --since 24h

      wxbudget history --result no-outcome

      wxbudget history 1000000013 1000000013001 --since 2026-11-01 --limit 5
    """
    from wxbudget import render
    from wxbudget.cli.embedded import audit_log_path
    from wxbudget.errors import UsageError
    from wxbudget.journal import Journal, Reading

    cutoff = _cutoff(since) if since is not None else None
    wanted = result.lower().replace("_", "-") if result is not None else None
    if wanted is not None and wanted not in RESULTS:
        raise UsageError(
            _(
                "--result {result!r} is not a result; use one of {results}",
                result=result,
                results=", ".join(RESULTS),
            )
        )
    path = audit_log_path(options.flags())
    reading = Reading()
    total = 0
    matched: list[Operation] = []
    for operation in Journal(path).operations(reading):
        total += 1
        intent = operation.intent
        if (
            (product_coupon_id is None or intent.get("product_coupon_id") == product_coupon_id)
            and (stock_id is None or intent.get("stock_id") == stock_id)
            and (cutoff is None or _time(intent) >= cutoff)
            and (wanted is None or wanted in result_names(operation))
        ):
            matched.append(operation)
    if limit is not None:
        matched = matched[-limit:]
    if reading.unreadable:
        render.notice(
            _(
                "{unreadable} line(s) of {path} could not be read (torn by a crash or "
                "damaged) and are skipped",
                unreadable=reading.unreadable,
                path=path,
            )
        )
    if options.json:
        render.json_result([operation.to_json() for operation in matched])
    elif not total:
        render.notice(_("no budget changes recorded in {path}", path=path))
    elif not matched:
        render.notice(
            _("no records match ({total} operation(s) in {path})", total=total, path=path)
        )
    else:
        render.history_table(matched, path)


def result_names(operation: Operation) -> set[str]:
    """The --result names an operation answers to."""
    names = set()
    if operation.outcome is None:
        names.add("no-outcome")
    else:
        names.add(str(operation.outcome.get("result")).replace("_", "-"))
    if operation.interrupted is not None:
        names.add("interrupted")
    return names


def _cutoff(since: str) -> datetime:
    from wxbudget.errors import UsageError

    relative = _RELATIVE.fullmatch(since)
    if relative:
        amount, unit = relative.groups()
        return datetime.now(UTC) - timedelta(**{_UNITS[unit]: int(amount)})
    try:
        cutoff = datetime.fromisoformat(since)
    except ValueError as error:
        raise UsageError(
            _(
                "--since {since!r} is not a date or a time ago; use 2026-11-01, "
                "2026-11-01T08:00:00+08:00, or 30m, 24h, 7d, 2w",
                since=since,
            )
        ) from error
    if cutoff.tzinfo is None:
        try:
            cutoff = cutoff.astimezone()  # a date without a zone is this machine's time
        except (ValueError, OverflowError):  # before year 1 once shifted: all of history
            cutoff = _EARLIEST
    return cutoff


def _time(entry: dict[str, object]) -> datetime:
    try:
        moment = datetime.fromisoformat(str(entry.get("time")))
    except ValueError:
        moment = _EARLIEST
    # A journal line without a zone cannot be compared with an aware cutoff: take it as UTC.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
