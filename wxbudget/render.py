"""All terminal output: results on stdout, everything human on stderr. The only importer of rich.

rich honours NO_COLOR and drops colour when the stream is not a terminal.
"""

from __future__ import annotations

import json
import sys
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

    from rich.console import Console

    from wxbudget.budget import Change
    from wxbudget.journal import Operation
    from wxbudget.models import Stock, UpdateMode


@cache
def _stdout() -> Console:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False)


@cache
def _stderr() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


def notice(message: str) -> None:
    """A human message on stderr (never markup-interpreted: ids may contain brackets)."""
    _stderr().print(message, markup=False)


def error(line: str) -> None:
    from rich.text import Text

    _stderr().print(Text("error: ", style="bold red") + Text(line))


def trace(line: str) -> None:
    from rich.text import Text

    _stderr().print(Text(line, style="dim"))


def json_result(value: Any) -> None:
    """Machine output: plain JSON on stdout, exactly the value given, nothing else."""
    sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=2) + "\n")
    sys.stdout.flush()


def raw_result(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _count(value: int | None, *, none: str = "unlimited") -> str:
    return none if value is None else f"{value:,}"


def stock_table(
    stock: Stock, *, changed: UpdateMode | None = None, before: int | None = None
) -> None:
    """The stock's state and budget; the changed cap is highlighted with its old value."""
    from rich.table import Table
    from rich.text import Text

    from wxbudget.models import UpdateMode

    table = Table(
        title=f"stock {stock.stock_id} of coupon {stock.product_coupon_id}",
        show_header=True,
        header_style="bold",
    )
    table.add_column("field")
    table.add_column("value", justify="right")

    def cap_cell(mode: UpdateMode) -> Text:
        value = _count(stock.cap(mode))
        if changed is mode:
            return Text(f"{value}  (was {_count(before)})", style="bold green")
        return Text(value)

    rows: list[tuple[str, Text | str]] = [
        ("state", stock.state),
        ("total cap (max_count)", cap_cell(UpdateMode.MAX_COUNT)),
        ("daily cap (max_count_per_day)", cap_cell(UpdateMode.MAX_COUNT_PER_DAY)),
        ("per-user cap", _count(stock.max_count_per_user)),
        ("sent total", _count(stock.sent_total)),
        ("sent today", _count(stock.sent_today)),
        ("remaining total", _count(stock.remaining_total)),
        ("remaining today", _count(stock.remaining_today)),
        ("code mode", stock.coupon_code_mode or "-"),
    ]
    if stock.bundle_id is not None:
        rows.append(("stock bundle", stock.bundle_id))
    if stock.brand_id is not None:
        rows.append(("brand", stock.brand_id))
    for name, value in rows:
        table.add_row(name, value)
    _stdout().print(table)


def plan(change: Change) -> None:
    """before -> after on stderr, for the human deciding whether to confirm."""
    delta = change.target - change.current
    sign = "+" if delta >= 0 else ""
    percent = f", {sign}{delta / change.current:.1%}" if change.current else ""
    notice(
        f"stock {change.stock.stock_id} (coupon {change.stock.product_coupon_id}, "
        f"{change.stock.state}): {change.mode.label} {change.current:,} -> {change.target:,} "
        f"({sign}{delta:,}{percent})"
    )


def confirm(question: str) -> bool:
    """Ask on the terminal; only called when stdin is a TTY."""
    answer = _stderr().input(f"{question} [y/N] ", markup=False)
    return answer.strip().lower() in ("y", "yes")


def history_table(operations: list[Operation], path: Path) -> None:
    """One row per write; intents without an outcome are flagged for a safe re-run."""
    from rich.table import Table
    from rich.text import Text

    if not operations:
        notice(f"no budget changes recorded in {path}")
        return
    table = Table(title=f"budget changes ({path})", header_style="bold")
    for column in ("time", "coupon", "stock", "cap", "change", "out_request_no", "result", "by"):
        table.add_column(column)
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
    _stdout().print(table)
