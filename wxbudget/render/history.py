"""The view of the audit journal: one row per write."""

from __future__ import annotations

from typing import TYPE_CHECKING

from wxbudget.i18n import _, localize
from wxbudget.render import table
from wxbudget.render.console import count, stdout

if TYPE_CHECKING:
    from pathlib import Path

    from wxbudget.journal import Operation


# The outcomes the journal records, as a person reads them (the journal keeps the names).
RESULT_NAMES = {
    "applied": _("applied"),
    "not_applied": _("not_applied"),
    "rejected": _("rejected"),
    "conflict": _("conflict"),
    "unknown": _("unknown"),
}


def _cap(value: object) -> str:
    """A recorded cap as every other view shows one: 50,000; no cap: unlimited."""
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return count(value)
    return str(value)


def history_table(operations: list[Operation], path: Path) -> None:
    """One row per write; intents without an outcome are flagged for a safe re-run."""
    from rich.text import Text

    names = (_("time"), _("profile"), _("coupon"), _("stock"), _("cap"), _("change"))
    columns = [
        *(table.Column(name) for name in names),
        table.Column("out_request_no"),
        table.Column(_("operation")),
        table.Column(_("batch")),
        table.Column(_("result"), table.TEXT),
        table.Column(_("by")),
    ]
    rows = []
    for operation in operations:
        intent, outcome = operation.intent, operation.outcome
        cap = _("total") if intent.get("update_mode") == "MAX_COUNT" else _("daily")
        change: str = (
            f"{_cap(intent.get('from'))} -> {_cap(intent.get('to'))} ({intent.get('target')})"
        )
        if intent.get("undoes_out_request_no"):
            change = _(
                "{change}, undoes {out_request_no}",
                change=change,
                out_request_no=intent.get("undoes_out_request_no"),
            )
        if outcome is None:
            result = Text(localize(_("NO OUTCOME (interrupted?)")), style="bold yellow")
        else:
            label = RESULT_NAMES.get(str(outcome.get("result")), str(outcome.get("result")))
            if outcome.get("reconciled"):
                label = _("{result} (reconciled)", result=label)
            style = "green" if outcome.get("exit_code") == 0 else "red"
            shown = _("{result}, exit {code}", result=label, code=outcome.get("exit_code"))
            result = Text(localize(shown), style=style)
        if operation.interrupted is not None:
            signal = operation.interrupted.get("signal")
            result.append(localize(_("; interrupted by {signal}", signal=signal)), "yellow")
        profile = str(intent.get("profile"))
        if intent.get("host"):
            profile += f" @{intent.get('host')}"
        subject = intent.get("stock_id") or _(
            "bundle {stock_bundle_id}", stock_bundle_id=intent.get("stock_bundle_id")
        )
        rows.append(
            (
                str(intent.get("time")),
                profile,
                str(intent.get("product_coupon_id")),
                subject,
                cap,
                change,
                str(intent.get("out_request_no")),
                str(intent.get("operation")),
                str(intent.get("batch") or ""),
                result,
                str(intent.get("actor")),
            )
        )
    table.show(stdout(), _("budget changes ({path})", path=path), columns, rows)
