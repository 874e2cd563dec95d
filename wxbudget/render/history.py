"""The view of the audit journal: one row per write."""

from __future__ import annotations

from typing import TYPE_CHECKING

from wxbudget.render.console import notice, stdout

if TYPE_CHECKING:
    from pathlib import Path

    from wxbudget.journal import Operation


def history_table(operations: list[Operation], path: Path) -> None:
    """One row per write; intents without an outcome are flagged for a safe re-run."""
    from rich.table import Table
    from rich.text import Text

    if not operations:
        notice(f"no budget changes recorded in {path}")
        return
    table = Table(title=f"budget changes ({path})", header_style="bold")
    for column in ("time", "coupon", "stock", "cap", "change", "out_request_no", "result", "by"):
        table.add_column(column, overflow="fold")
    for operation in operations:
        intent, outcome = operation.intent, operation.outcome
        cap = "total" if intent.get("update_mode") == "MAX_COUNT" else "daily"
        change = f"{intent.get('from')} -> {intent.get('to')} ({intent.get('target')})"
        if outcome is None:
            result = Text("NO OUTCOME (interrupted?)", style="bold yellow")
        else:
            label = str(outcome.get("result"))
            if outcome.get("reconciled"):
                label += " (reconciled)"
            style = "green" if outcome.get("exit_code") == 0 else "red"
            result = Text(f"{label}, exit {outcome.get('exit_code')}", style=style)
        table.add_row(
            str(intent.get("time")),
            str(intent.get("product_coupon_id")),
            str(intent.get("stock_id")),
            cap,
            change,
            str(intent.get("out_request_no")),
            result,
            str(intent.get("actor")),
        )
    stdout().print(table)
