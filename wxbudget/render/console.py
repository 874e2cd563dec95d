"""The terminal's two streams: results on stdout, everything human on stderr.

rich honours NO_COLOR and drops colour when the stream is not a terminal. Every view of this
package prints through these two consoles; nothing outside the package imports rich.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

PIPED_WIDTH = 200


@cache
def stdout() -> Console:
    import os

    from rich.console import Console

    # Piped output defaults to 80 columns, which would cut ids and counts in wide tables: a file
    # or a pager gets room instead (COLUMNS still wins when set).
    width = None if sys.stdout.isatty() or os.environ.get("COLUMNS") else PIPED_WIDTH
    # emoji=False: ":name:" codes never appear in our output, and their table costs ~4 ms to load.
    return Console(highlight=False, soft_wrap=False, emoji=False, width=width)


@cache
def stderr() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)


def notice(message: str) -> None:
    """A human message on stderr (never markup-interpreted: ids may contain brackets)."""
    stderr().print(message, markup=False)


def urgent_notice(message: str) -> None:
    """A line from a signal handler: written straight to stderr's descriptor, because the
    handler may run while this very thread is inside rich (whose lock it would wait on)."""
    import contextlib
    import os

    with contextlib.suppress(OSError, ValueError):  # stderr closed: nowhere to say it
        os.write(sys.stderr.fileno(), (message + "\n").encode("utf-8", "replace"))


def error(line: str) -> None:
    from rich.text import Text

    stderr().print(Text("error: ", style="bold red") + Text(line))


def trace(line: str) -> None:
    from rich.text import Text

    stderr().print(Text(line, style="dim"))


def json_result(value: Any) -> None:
    """Machine output: plain JSON on stdout, exactly the value given, nothing else."""
    sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=2) + "\n")
    sys.stdout.flush()


def raw_result(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def streamed_result(pieces: Iterable[str]) -> None:
    """Large machine output written as it is produced, never held whole in memory."""
    for piece in pieces:
        sys.stdout.write(piece)
    sys.stdout.write("\n")
    sys.stdout.flush()


def count(value: int | None, *, none: str = "unlimited") -> str:
    return none if value is None else f"{value:,}"


def confirm(question: str) -> bool:
    """Ask on the terminal; only called when stdin is a TTY."""
    answer = stderr().input(f"{question} [y/N] ", markup=False)
    return answer.strip().lower() in ("y", "yes")


def ask(key: str, meaning: str) -> str:
    """One profile value from the terminal, the key explained first; only called on a TTY."""
    stderr().print(f"{key}: {meaning}", markup=False)
    return stderr().input(f"  {key} = ", markup=False).strip()
