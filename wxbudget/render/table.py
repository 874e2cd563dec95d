"""Tables that never cut an id or a number.

A table is laid out in columns when its ids and numbers fit the width whole (text columns, such
as a reason, may wrap between words); otherwise it is folded into one block per record, every
value on a line of its own after its column's name. A plausible but wrong number (`10,000` for
10,000,000) or an empty id column is worse than a longer listing.

Cells are data, never markup: a stock id `[link=...]x[/link]` is shown as typed, and every cell,
title and caption is made printable (no control characters) first.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from wxbudget.i18n import Message, localize
from wxbudget.printable import printable

if TYPE_CHECKING:
    from rich.console import Console

ID = "id"  # never wraps: ids, states, names
NUMBER = "number"  # never wraps, right-aligned
TEXT = "text"  # may wrap between words (folded within a word only when a word is too long)
# The narrowest a text column is squeezed to before the table is folded into blocks instead.
TEXT_MIN_WIDTH = 12

Cell = "str | Text"


class Column(NamedTuple):
    header: str
    kind: str = ID
    style: str | None = None


def show(
    console: Console,
    title: str | None,
    columns: Sequence[Column],
    rows: Sequence[Sequence[Any]],
    *,
    caption: str | None = None,
    pairs: bool = False,
) -> None:
    """Print `rows` under `columns` on `console`: as a table when it fits, else as blocks.

    `pairs`: a two-column name/value table (one record), folded into `name: value` lines.
    """
    title, columns, rows, caption = _localized(title, columns, rows, caption)
    if fits(console.width, columns, rows):
        console.print(_table(title, columns, rows, caption))
        return
    for line in _blocks(title, columns, rows, pairs=pairs):
        # soft_wrap: a line longer than the width wraps on the terminal, never cropped.
        console.print(line, soft_wrap=True)
    if caption:
        # A caption is prose: wrapped between words at the width, like a text column.
        console.print(_caption(caption))


def renderable(
    console: Console,
    title: str | None,
    columns: Sequence[Column],
    rows: Sequence[Sequence[Any]],
    *,
    caption: str | None = None,
) -> Any:
    """What `show` would print, as one renderable (for a live display that redraws it)."""
    title, columns, rows, caption = _localized(title, columns, rows, caption)
    if fits(console.width, columns, rows):
        return _table(title, columns, rows, caption)
    from rich.console import Group

    lines = _blocks(title, columns, rows, pairs=False)
    return Group(*lines, _caption(caption)) if caption else Group(*lines)


def _localized(
    title: str | None,
    columns: Sequence[Column],
    rows: Sequence[Sequence[Any]],
    caption: str | None,
) -> tuple[str | None, list[Column], list[list[Any]], str | None]:
    """The table in the user's language: its title, headers and caption, and the cells that
    are messages (never data: an id or a state that happens to read like a message)."""
    return (
        localize(title) if title else title,
        [column._replace(header=localize(column.header)) for column in columns],
        [[localize(cell) if isinstance(cell, Message) else cell for cell in row] for row in rows],
        localize(caption) if caption else caption,
    )


def _caption(caption: str) -> Any:
    from rich.text import Text

    return Text(printable(caption), style="dim")


def _cell(value: Any, style: str = "") -> Any:
    """A cell, title or caption as plain text (markup never interpreted), printable."""
    from rich.text import Text

    if isinstance(value, Text):
        shown = printable(value.plain)
        if shown == value.plain:
            return value
        return Text(shown, style=value.style)
    return Text(printable(str(value)), style=style)


def fits(width: int, columns: Sequence[Column], rows: Sequence[Sequence[Any]]) -> bool:
    """Whether every id and number fits whole: each column's widest cell (its header included;
    a text column at most TEXT_MIN_WIDTH), plus a border and a space each side per column."""
    from rich.cells import cell_len

    needed = 1
    for index, column in enumerate(columns):
        widest = max(
            [cell_len(column.header)] + [_widest_line(row[index], cell_len) for row in rows]
        )
        if column.kind == TEXT:
            widest = min(widest, max(TEXT_MIN_WIDTH, cell_len(column.header)))
        needed += widest + 3
    return needed <= width


def _widest_line(cell: Any, cell_len: Any) -> int:
    text = cell.plain if hasattr(cell, "plain") else str(cell)
    return max((cell_len(line) for line in text.splitlines()), default=0)


def _table(
    title: str | None,
    columns: Sequence[Column],
    rows: Sequence[Sequence[Any]],
    caption: str | None,
) -> Any:
    from rich.table import Table

    table = Table(
        title=None if title is None else _cell(title, "table.title"),
        header_style="bold",
        caption=None if caption is None else _cell(caption, "table.caption"),
    )
    for column in columns:
        table.add_column(
            column.header,
            justify="right" if column.kind == NUMBER else "left",
            no_wrap=column.kind != TEXT,
            overflow="fold",
            style=column.style,
        )
    for row in rows:
        table.add_row(*(_cell(value) for value in row))
    return table


def _blocks(
    title: str | None,
    columns: Sequence[Column],
    rows: Sequence[Sequence[Any]],
    *,
    pairs: bool,
) -> list[Any]:
    """The lines of the folded layout: the title, then each record as a block."""
    from rich.text import Text

    lines: list[Text] = []

    def line(*parts: Any) -> None:
        text = Text()
        for part in parts:
            text.append(_cell(part))
        lines.append(text)

    if title:
        line(Text(title, style="bold"))
    for row in rows:
        if pairs:
            if str(row[0]):
                line(f"{row[0]}: ", row[1])
            else:
                line("  ", row[1])
            continue
        line("")
        line(Text(f"{columns[0].header} ", style="bold"), row[0])
        for column, value in zip(columns[1:], row[1:], strict=True):
            shown = value.plain if hasattr(value, "plain") else str(value)
            if shown:
                line(f"  {column.header}: ", value)
    return lines
