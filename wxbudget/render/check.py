"""Views of `check`: the stocks below a threshold, and the live table of `--watch`."""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, Any

from wxbudget import i18n
from wxbudget.i18n import _, localize
from wxbudget.printable import printable
from wxbudget.render import table
from wxbudget.render.bars import usage
from wxbudget.render.console import count, stderr, stdout

if TYPE_CHECKING:
    from wxbudget.thresholds import Verdict


OK = _("ok")
COLUMNS = (
    (_("stock"), "id"),
    (_("state"), "id"),
    (_("left in all"), "number"),
    (_("left today"), "number"),
    (_("used"), "number"),
    (_("used today"), "number"),
    (_("below threshold"), "text"),
)


def _rows(verdicts: list[Verdict]) -> list[tuple[Any, ...]]:
    from rich.text import Text

    from wxbudget.models import state_name

    rows = []
    for verdict in verdicts:
        stock = verdict.stock
        found = localize(i18n.join("; ", (crossing.message for crossing in verdict.crossings)))
        rows.append(
            (
                stock.stock_id,
                state_name(stock.state),
                count(stock.remaining_total),
                count(stock.remaining_today),
                usage(stock.sent_total, stock.max_count),
                usage(stock.sent_today, stock.max_count_per_day),
                Text(found, style="bold red") if found else Text(localize(OK), style="green"),
            )
        )
    return rows


def _columns() -> list[table.Column]:
    return [table.Column(header, kind) for header, kind in COLUMNS]


def alerts(title: str, verdicts: list[Verdict]) -> None:
    """The stocks that crossed a threshold, one row each, on stdout."""
    crossed = [verdict for verdict in verdicts if verdict.crossed]
    table.show(stdout(), title, _columns(), _rows(crossed))


def on_terminal(message: str) -> None:
    """A reassurance for a person at a terminal; nothing at all in cron or a pipeline, which
    read the exit code (and mail any output)."""
    if stderr().is_terminal:
        stderr().print(printable(localize(message)), markup=False)


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
        shown = table.renderable(stdout(), title, _columns(), _rows(verdicts), caption=caption)
        self._live.update(shown, refresh=True)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._live.__exit__(kind, error, trace)
