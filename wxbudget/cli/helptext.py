"""Help text that reads well at 80 columns: a docstring's paragraphs are joined into one line
each (the help formatter wraps them between words), while indented example lines keep their
breaks; and words are never broken, not at a hyphen (`--fault-` / `seed`) nor inside a path.

typer keeps a docstring's single line breaks, so a source line wrapped at 100 columns would
break again mid-sentence on a narrower terminal.

Chinese has no spaces: a line may break between any two of its characters (never before a
closing mark such as ，。）, nor after an opening one such as （), and each character takes
two columns of the terminal, so lines holding it are measured in columns, not characters.
"""

from __future__ import annotations

import inspect
import unicodedata
from typing import Any

# Marks a line must not start with, and marks it must not end with (Chinese line breaking).
_NO_LINE_START = set("，。、；：！？）》」』〉】…,.;:!?)]")
_NO_LINE_END = set("（《「『〈【([")


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

        def _split(self, text: str) -> list[str]:
            chunks: list[str] = super()._split(text)
            if not any(_is_wide(character) for character in text):
                return chunks
            return [piece for chunk in chunks for piece in _break_opportunities(chunk)]

        def _wrap_chunks(self, chunks: list[str]) -> list[str]:
            if not any(_is_wide(character) for chunk in chunks for character in chunk):
                return list(super()._wrap_chunks(chunks))
            return _wrap_by_columns(self, chunks)

    _textwrap.TextWrapper = WholeWords  # type: ignore[misc]


def _is_wide(character: str) -> bool:
    return unicodedata.east_asian_width(character) in ("W", "F")


def _columns(text: str) -> int:
    return sum(2 if _is_wide(character) else 1 for character in text)


def _break_opportunities(chunk: str) -> list[str]:
    """A chunk cut where a line may break: between wide characters, and between a wide
    character and a run of narrow ones, never before a closing mark or after an opening one."""
    pieces: list[str] = []
    for character in chunk:
        previous = pieces[-1][-1] if pieces else ""
        breakable = (
            pieces
            and (_is_wide(character) or _is_wide(previous))
            and character not in _NO_LINE_START
            and previous not in _NO_LINE_END
        )
        if breakable:
            pieces.append(character)
        elif pieces:
            pieces[-1] += character
        else:
            pieces.append(character)
    return pieces


def _wrap_by_columns(wrapper: Any, chunks: list[str]) -> list[str]:
    """textwrap's line filling, measured in terminal columns; a word wider than the line stays
    whole on a line of its own."""
    lines: list[str] = []
    chunks = list(reversed(chunks))
    while chunks:
        line: list[str] = []
        used = 0
        indent = wrapper.subsequent_indent if lines else wrapper.initial_indent
        width = wrapper.width - _columns(indent)
        if wrapper.drop_whitespace and lines and not chunks[-1].strip():
            chunks.pop()
        while chunks and (used + _columns(chunks[-1]) <= width or not line):
            used += _columns(chunks[-1])
            line.append(chunks.pop())
        if wrapper.drop_whitespace and line and not line[-1].strip():
            line.pop()
        if line:
            lines.append(indent + "".join(line))
    return lines


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
