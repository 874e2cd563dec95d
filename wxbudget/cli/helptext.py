"""Help text that reads well at 80 columns: a docstring's paragraphs are joined into one line
each (the help formatter wraps them between words), while indented example lines keep their
breaks; and words are never broken, not at a hyphen (`--fault-` / `seed`) nor inside a path.

typer keeps a docstring's single line breaks, so a source line wrapped at 100 columns would
break again mid-sentence on a narrower terminal.
"""

from __future__ import annotations

import inspect
from typing import Any


def keep_words_whole() -> None:
    """Make the help formatter (typer's vendored click) wrap only between words: a word longer
    than the line stays whole on a line of its own rather than being cut."""
    from typer._click import _textwrap

    original = _textwrap.TextWrapper
    if getattr(original, "keeps_words_whole", False):
        return

    class WholeWords(original):  # type: ignore[misc, valid-type]
        keeps_words_whole = True

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs.setdefault("break_on_hyphens", False)
            kwargs.setdefault("break_long_words", False)
            super().__init__(*args, **kwargs)

    _textwrap.TextWrapper = WholeWords  # type: ignore[misc]


def reflow(text: str | None) -> str | None:
    if not text:
        return text
    paragraphs = inspect.cleandoc(text).split("\n\n")
    return "\n\n".join(_paragraph(paragraph) for paragraph in paragraphs)


def _paragraph(paragraph: str) -> str:
    lines = paragraph.splitlines()
    if any(line.startswith("  ") for line in lines):
        return paragraph  # examples: one command per line, as written
    return " ".join(line.strip() for line in lines)


def reflow_command(command: Any) -> None:
    """Reflow a click command's help, and its subcommands' when it is a group."""
    command.help = reflow(command.help)
    for child in getattr(command, "commands", {}).values():
        reflow_command(child)
