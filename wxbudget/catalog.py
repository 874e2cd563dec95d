"""gettext catalogs: read a `.po` file, compile it to `.mo`, load the one a language needs.

Standard library only: the package build (hatch_build.py) loads this file by path to compile
every `.po` into the wheel's `.mo`, and a source checkout (an editable install) compiles the
`.po` in memory instead, so both read their messages through the same code: `i18n.MoCatalog`,
a gettext `NullTranslations` over the `.mo` bytes (tests check it answers as gettext's own
`GNUTranslations` does for every message).
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field
from pathlib import Path

DOMAIN = "wxbudget"
LOCALE_DIR = Path(__file__).parent / "locale"
_MO_MAGIC = 0x950412DE
_ESCAPE = re.compile(r"\\(.)")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}


@dataclass
class Entry:
    """One message of a `.po` file: its English text and its translations (one per plural
    form; one alone when the message has no plural)."""

    msgid: str
    msgid_plural: str | None = None
    msgstr: list[str] = field(default_factory=list)
    fuzzy: bool = False
    line: int = 0

    @property
    def translated(self) -> bool:
        return not self.fuzzy and bool(self.msgstr) and all(self.msgstr)


def po_path(locale: str) -> Path:
    return LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


def parse_po(text: str) -> list[Entry]:
    """The entries of a `.po` file, the header (msgid "") included, in file order."""
    entries: list[Entry] = []
    current: Entry | None = None
    # The keyword a continuation line ("...") extends: msgid, msgid_plural or msgstr[N].
    target: str | None = None
    fuzzy = False
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            if line.startswith("#,") and "fuzzy" in line:
                fuzzy = True
            continue
        if line.startswith('"'):
            if current is None or target is None:
                raise ValueError(f"line {number}: a string continues no keyword")
            _extend(current, target, _unquote(line, number))
            continue
        keyword, _, rest = line.partition(" ")
        value = _unquote(rest.strip(), number)
        if keyword == "msgid":
            current = Entry(msgid=value, fuzzy=fuzzy, line=number)
            entries.append(current)
            fuzzy = False
        elif current is None:
            raise ValueError(f"line {number}: {keyword} before any msgid")
        elif keyword == "msgid_plural":
            current.msgid_plural = value
        elif keyword == "msgstr":
            current.msgstr = [value]
        elif keyword.startswith("msgstr[") and keyword.endswith("]"):
            index = int(keyword[len("msgstr[") : -1])
            if index != len(current.msgstr):
                raise ValueError(f"line {number}: {keyword} out of order")
            current.msgstr.append(value)
        else:
            raise ValueError(f"line {number}: unknown keyword {keyword!r}")
        target = keyword
    return entries


def _unquote(text: str, number: int) -> str:
    if len(text) < 2 or not (text.startswith('"') and text.endswith('"')):
        raise ValueError(f"line {number}: expected a quoted string, got {text!r}")
    try:
        return _ESCAPE.sub(lambda match: _ESCAPES[match.group(1)], text[1:-1])
    except KeyError as error:
        raise ValueError(f"line {number}: unknown escape \\{error.args[0]}") from None


def _extend(entry: Entry, keyword: str, value: str) -> None:
    if keyword == "msgid":
        entry.msgid += value
    elif keyword == "msgid_plural":
        entry.msgid_plural = (entry.msgid_plural or "") + value
    else:
        entry.msgstr[-1] += value


def compile_mo(entries: list[Entry]) -> bytes:
    """The `.mo` bytes of translated entries (the header always), as GNU msgfmt writes them."""
    messages: dict[bytes, bytes] = {}
    for entry in entries:
        if entry.msgid and not entry.translated:
            continue  # untranslated or fuzzy: gettext falls back to the English text
        original = entry.msgid
        if entry.msgid_plural is not None:
            original += "\0" + entry.msgid_plural
        messages[original.encode("utf-8")] = "\0".join(entry.msgstr).encode("utf-8")
    keys = sorted(messages)
    header_size = 7 * 4
    originals_table = header_size
    translations_table = originals_table + len(keys) * 8
    data_start = translations_table + len(keys) * 8
    originals: list[tuple[int, int]] = []
    translations: list[tuple[int, int]] = []
    data = bytearray()
    for key in keys:
        originals.append((len(key), data_start + len(data)))
        data += key + b"\0"
    for key in keys:
        value = messages[key]
        translations.append((len(value), data_start + len(data)))
        data += value + b"\0"
    output = bytearray(
        struct.pack(
            "<7I", _MO_MAGIC, 0, len(keys), originals_table, translations_table, 0, data_start
        )
    )
    for length, offset in originals + translations:
        output += struct.pack("<2I", length, offset)
    return bytes(output + data)


def compile_source(locale: str) -> bytes:
    """The `.mo` bytes of `locale`'s `.po`, compiled in memory (a source checkout has no `.mo`:
    the build makes it)."""
    return compile_mo(parse_po(po_path(locale).read_text(encoding="utf-8")))
