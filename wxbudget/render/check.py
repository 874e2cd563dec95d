"""Views of `check`: the stocks below a threshold, and the live table of `--watch`."""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, Any

from wxbudget.render.console import count, stderr, stdout

if TYPE_CHECKING:
    from wxbudget.thresholds import Verdict


def _table(title: str, verdicts: list[Verdict], *, caption: str | None = None) -> Any:
    from rich.table import Table
    from rich.text import Text

    table = Table(title=title, caption=caption, header_style="bold")
    for column in ("stock", "state", "left in all", "left today", "below threshold"):
        numeric = column.startswith("left")
        table.add_column(column, justify="right" if numeric else "left", overflow="fold")
    for verdict in verdicts:
        stock = verdict.stock
        found = "; ".join(crossing.message for crossing in verdict.crossings)
        table.add_row(
            stock.stock_id,
            stock.state,
            count(stock.remaining_total),
            count(stock.remaining_today),
            Text(found, style="bold red") if found else Text("ok", style="green"),
        )
    return table


def alerts(title: str, verdicts: list[Verdict]) -> None:
    """The stocks that crossed a threshold, one row each, on stdout."""
    stdout().print(_table(title, [v for v in verdicts if v.crossed]))


def on_terminal(message: str) -> None:
    """A reassurance for a person at a terminal; nothing at all in cron or a pipeline, which
    read the exit code (and mail any output)."""
    if stderr().is_terminal:
        stderr().print(message, markup=False)


class Watch:
    """A live table on the terminal, redrawn after each check until the command stops."""

    def __init__(self) -> None:
        self._live: Any = None

    def __enter__(self) -> Watch:
        from rich.live import Live

        # Redrawn when a check ends, not on a timer: nothing else changes in between.
        self._live = Live(console=stdout(), auto_refresh=False, transient=False)
        self._live.__enter__()
        return self

    def show(self, title: str, verdicts: list[Verdict], caption: str) -> None:
        self._live.update(_table(title, verdicts, caption=caption), refresh=True)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._live.__exit__(kind, error, trace)
