"""The view of the audit journal: one row per write."""

from __future__ import annotations

from typing import TYPE_CHECKING

from wxbudget.render import table
from wxbudget.render.console import stdout

if TYPE_CHECKING:
    from pathlib import Path

    from wxbudget.journal import Operation


def history_table(operations: list[Operation], path: Path) -> None:
    """One row per write; intents without an outcome are flagged for a safe re-run."""
    from rich.text import Text

    names = ("time", "profile", "coupon", "stock", "cap", "change", "out_request_no", "operation")
    columns = [
        *(table.Column(name) for name in names),
        table.Column("batch"),
        table.Column("result", table.TEXT),
        table.Column("by"),
    ]
    rows = []
    for operation in operations:
        intent, outcome = operation.intent, operation.outcome
        cap = "total" if intent.get("update_mode") == "MAX_COUNT" else "daily"
        change = f"{intent.get('from')} -> {intent.get('to')} ({intent.get('target')})"
        if intent.get("undoes_out_request_no"):
            change += f", undoes {intent.get('undoes_out_request_no')}"
        if outcome is None:
            result = Text("NO OUTCOME (interrupted?)", style="bold yellow")
        else:
            label = str(outcome.get("result"))
            if outcome.get("reconciled"):
                label += " (reconciled)"
            style = "green" if outcome.get("exit_code") == 0 else "red"
            result = Text(f"{label}, exit {outcome.get('exit_code')}", style=style)
        if operation.interrupted is not None:
            result.append(f"; interrupted by {operation.interrupted.get('signal')}", "yellow")
        profile = str(intent.get("profile"))
        if intent.get("host"):
            profile += f" @{intent.get('host')}"
        subject = intent.get("stock_id") or f"bundle {intent.get('stock_bundle_id')}"
        rows.append(
            (
                str(intent.get("time")),
                profile,
                str(intent.get("product_coupon_id")),
                str(subject),
                cap,
                change,
                str(intent.get("out_request_no")),
                str(intent.get("operation")),
                str(intent.get("batch") or ""),
                result,
                str(intent.get("actor")),
            )
        )
    table.show(stdout(), f"budget changes ({path})", columns, rows)
