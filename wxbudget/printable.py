"""Text from outside made safe for a terminal: no control characters.

Every string that came from outside (an answer's message, `detail.field`, a Request-ID, a stock
cell, an id, a config value, a journal line) may carry terminal escapes: a window-title change,
a screen clear, a hyperlink, a fake line. C0 and C1 control characters (and DEL) are what every
such escape needs, so removing them leaves nothing a terminal acts on; Unicode's bidirectional
overrides, which reorder what is shown, go too. Tabs become spaces. `render` passes everything
it prints through here; error lines are made printable where they are built.
"""

from __future__ import annotations

import re
from functools import cache

_BIDI = "\u202a-\u202e\u2066-\u2069"
# ASCII text, the common case (ids, numbers, English), is cleaned with a translate table; the
# expressions below are compiled only when a text has more than ASCII: compiling a class
# beyond Latin-1 costs ~1% of every start (bench/startup.py), and most runs never need it.
_ASCII_CONTROLS_BUT_NEWLINE = dict.fromkeys([*range(0x00, 0x09), *range(0x0B, 0x20), 0x7F])


@cache
def _controls_but_newline() -> re.Pattern[str]:
    """C0 but tab and newline, DEL, C1, bidirectional overrides."""
    return re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI}]")


@cache
def _json_unescaped() -> re.Pattern[str]:
    """What JSON leaves unescaped (it escapes C0 itself): DEL, C1, bidirectional overrides."""
    return re.compile(f"[\x7f-\x9f{_BIDI}]")


def printable(text: str) -> str:
    """`text` without control characters; newlines kept (a cell or a notice may have lines)."""
    text = text.replace("\t", " ")
    if text.isascii():
        return text.translate(_ASCII_CONTROLS_BUT_NEWLINE)
    return _controls_but_newline().sub("", text)


def one_line(text: str) -> str:
    """`text` as one printable line: newlines become spaces."""
    return printable(text.replace("\r\n", " ").replace("\n", " "))


def json_escaped(document: str) -> str:
    """A JSON document with DEL, C1 and bidirectional controls written as `\\uXXXX`: the same
    value, nothing a terminal acts on (json.dumps already escapes C0)."""
    if document.isascii():
        return document.replace("\x7f", "\\u007f")
    return _json_unescaped().sub(lambda found: f"\\u{ord(found.group()):04x}", document)
