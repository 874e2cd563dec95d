"""How much of a cap is used, drawn in a table cell: a coloured bar on a colour terminal, plain
ASCII (`[######----] 60%`) under NO_COLOR or when piped. Never in JSON or CSV."""

from __future__ import annotations

from typing import TYPE_CHECKING

from wxbudget.i18n import localize
from wxbudget.render.console import UNLIMITED, stdout

if TYPE_CHECKING:
    from rich.text import Text

BAR_WIDTH = 10
# rich's progress bars: a heavy line, the part not used in a dim grey.
BAR_GLYPH = "━"
BACKGROUND = "grey23"
# Colour by how close the stock is to its cap.
WARN_AT = 75
DANGER_AT = 90


def _share(used: int, cap: int) -> int:
    """Whole percent used, rounded down (99.9% is not full); a cap of 0 is full."""
    return 100 if cap <= 0 else used * 100 // cap


def colour(percent: int) -> str:
    if percent >= DANGER_AT:
        return "red"
    return "yellow" if percent >= WARN_AT else "green"


def plain(used: int, cap: int | None) -> str:
    """The ASCII bar: `[#####-----] 50%`; `unlimited` without a cap."""
    if cap is None:
        return localize(UNLIMITED)
    percent = _share(used, cap)
    filled = min(percent * BAR_WIDTH // 100, BAR_WIDTH)
    return f"[{'#' * filled}{'-' * (BAR_WIDTH - filled)}] {percent}%"


def usage(used: int, cap: int | None) -> Text:
    """`used` of `cap` as a bar with its percentage ("unlimited" when there is no cap): a
    line of rich's bar glyph, the used part in the colour of how close it is to the cap."""
    from rich.text import Text

    if cap is None:
        return Text(localize(UNLIMITED), style="dim")
    console = stdout()
    if console.no_color or console.color_system is None:
        return Text(plain(used, cap))
    percent = _share(used, cap)
    style = colour(percent)
    filled = min(percent * BAR_WIDTH // 100, BAR_WIDTH)
    bar = Text(BAR_GLYPH * filled, style=style)
    bar.append(BAR_GLYPH * (BAR_WIDTH - filled), style=BACKGROUND)
    bar.append(f" {percent}%", style=style)
    return bar
