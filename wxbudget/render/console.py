"""The terminal's two streams: results on stdout, everything human on stderr.

One rule for both: a terminal's own width; otherwise COLUMNS when set, else PIPED_WIDTH (a cron
log or a pipe gets room instead of 80 columns that would wrap notes a word a line). Styles only
on a terminal, and none at all under NO_COLOR (no-color.org: no colour, no bold, no italic).
Every view of this package prints through these two consoles; nothing outside the package
imports rich.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from functools import cache
from typing import TYPE_CHECKING, Any

from wxbudget.i18n import Message, _, localize
from wxbudget.printable import json_escaped, printable

if TYPE_CHECKING:
    from rich.console import Console

PIPED_WIDTH = 200
ERROR_PREFIX = _("error: ")
UNLIMITED = _("unlimited")


@cache
def stdout() -> Console:
    return _console(stderr=False)


@cache
def stderr() -> Console:
    return _console(stderr=True)


def reset() -> None:
    """Forget the consoles: the next output decides the width and styling afresh (each run of
    the CLI in one process, as tests do, sees its own COLUMNS and NO_COLOR)."""
    stdout.cache_clear()
    stderr.cache_clear()
    _MARKS.clear()


# What every JSON result object of this run carries: {"sandbox": True} on the embedded sandbox,
# so a script can tell a result from a throwaway world (`jq -e '.sandbox != true'`).
_MARKS: dict[str, Any] = {}


def mark_sandbox() -> None:
    _MARKS["sandbox"] = True


def result_marks() -> dict[str, Any]:
    """The fields every JSON result object of this run carries (none against a real profile)."""
    return dict(_MARKS)


def _console(*, stderr: bool) -> Console:
    import os

    from rich.console import Console

    # The stream is looked up at each write (tests swap it); its kind decides the width once.
    terminal = _is_terminal(sys.stderr if stderr else sys.stdout)
    width = None if terminal or os.environ.get("COLUMNS") else PIPED_WIDTH
    options: dict[str, Any] = {}
    if os.environ.get("NO_COLOR"):
        options["color_system"] = None  # rich then writes no style escape at all
    # emoji=False: ":name:" codes never appear in our output, and their table costs ~4 ms to load.
    return Console(
        stderr=stderr,
        highlight=False,
        soft_wrap=stderr,
        emoji=False,
        width=width,
        **options,
    )


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def notice(message: str) -> None:
    """A human message on stderr (never markup-interpreted: ids may contain brackets)."""
    stderr().print(printable(localize(message)), markup=False)


def urgent_notice(message: str) -> None:
    """A line from a signal handler: written straight to stderr's descriptor, because the
    handler may run while this very thread is inside rich (whose lock it would wait on)."""
    import contextlib
    import os

    with contextlib.suppress(OSError, ValueError):  # stderr closed: nowhere to say it
        line = printable(localize(message)) + "\n"
        os.write(sys.stderr.fileno(), line.encode("utf-8", "replace"))


def error(line: str) -> None:
    from rich.text import Text

    stderr().print(Text(localize(ERROR_PREFIX), style="bold red") + Text(printable(localize(line))))


def trace(line: str) -> None:
    from rich.text import Text

    # Only the trace's own words are messages: headers, URLs and bodies are shown verbatim.
    shown = localize(line) if isinstance(line, Message) else line
    stderr().print(Text(printable(shown), style="dim"))


def json_result(value: Any) -> None:
    """Machine output: plain JSON on stdout, the value given (each object of it marked on the
    embedded sandbox), nothing else."""
    if _MARKS:
        if isinstance(value, dict):
            value = value | _MARKS
        elif isinstance(value, list):
            value = [item | _MARKS if isinstance(item, dict) else item for item in value]
    sys.stdout.write(json_escaped(json.dumps(value, ensure_ascii=False, indent=2)) + "\n")
    sys.stdout.flush()


def raw_result(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def streamed_result(pieces: Iterable[str]) -> None:
    """Large JSON output written as it is produced, never held whole in memory."""
    for piece in pieces:
        sys.stdout.write(json_escaped(piece))
    sys.stdout.write("\n")
    sys.stdout.flush()


def count(value: int | None, *, none: str = UNLIMITED) -> str:
    return localize(none) if value is None else f"{value:,}"


def confirm(question: str) -> bool:
    """Ask on the terminal; only called when stdin is a TTY."""
    question = printable(localize(_("{question} [y/N] ", question=question)))
    answer = stderr().input(question, markup=False)
    return answer.strip().lower() in ("y", "yes")


def ask(key: str, meaning: str) -> str:
    """One profile value from the terminal, the key explained first; only called on a TTY."""
    stderr().print(f"{key}: {localize(meaning)}", markup=False)
    return stderr().input(f"  {key} = ", markup=False).strip()
