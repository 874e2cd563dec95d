"""Messages written in English, shown in the user's language.

`_("template {name}", name=value)` marks a message for translation. It returns a `Message`: a
str whose value is the English text, so everything a machine reads (JSON, CSV, journals, exit
codes) stays the same in every language, and which remembers its template and arguments, so
what a person reads is translated where it is shown (`localize`, called by the render package
and the CLI's help). The language is chosen once per run (`activate`, see `wxbudget.language`).

Catalogs are gettext's: `wxbudget/locale/<locale>/LC_MESSAGES/wxbudget.po`, compiled to `.mo`
when the package is built (`wxbudget.catalog`). Templates use `str.format` fields by name, so a
translation may put them in any order; a test keeps every marked message translated with the
same fields.
"""

from __future__ import annotations

import struct
from gettext import NullTranslations, c2py
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

ENGLISH = "en"
CHINESE = "zh"
# The catalog of each language other than English (the language the messages are written in).
CATALOG_LOCALES = {CHINESE: "zh_CN"}

_active_language = ENGLISH
_catalog: NullTranslations | None = None


class Message(str):
    """A message's English text (its str value) that can be shown in another language."""

    template: str
    plural: str | None
    quantity: int
    args: dict[str, object]

    def __new__(
        cls,
        template: str,
        args: dict[str, object],
        *,
        plural: str | None = None,
        count: int = 1,
    ) -> Message:
        english = template if plural is None or count == 1 else plural
        text = super().__new__(cls, english.format(**args) if args else english)
        text.template = template
        text.plural = plural
        text.quantity = count
        text.args = args
        return text

    def __reduce__(self) -> tuple[object, ...]:
        # copy and pickle rebuild the message, not a bare str.
        return (_rebuild, (self.template, self.args, self.plural, self.quantity))


def _rebuild(template: str, args: dict[str, object], plural: str | None, count: int) -> Message:
    return Message(template, args, plural=plural, count=count)


def _(template: str, /, **args: object) -> Message:
    """Mark a message: `template` is English with `{name}` fields filled from `args`."""
    return Message(template, args)


def ngettext(singular: str, plural: str, count: int, /, **args: object) -> Message:
    """A message whose English wording depends on a count ("1 stock", "2 stocks")."""
    return Message(singular, args, plural=plural, count=count)


def join(separator: str, items: Iterable[object]) -> Message:
    """`separator.join(items)` that stays a message: each item shown in the user's language.

    Its template is no catalog entry (gettext gives it back as it is): only the items are
    translated, and its English text is exactly `separator.join(str(item) ...)`.
    """
    values = {f"item{index}": item for index, item in enumerate(items)}
    escaped = separator.replace("{", "{{").replace("}", "}}")
    return Message(escaped.join(f"{{{name}}}" for name in values), values)


def activate(language: str) -> None:
    """Show messages in `language` ("en" or "zh") from now on."""
    global _active_language, _catalog
    # English is the messages' own language: no catalog to read.
    _catalog = None if language == ENGLISH else _load_catalog(CATALOG_LOCALES[language])
    _active_language = language


def _load_catalog(locale: str) -> NullTranslations:
    """The wheel's compiled catalog; a source checkout's .po, compiled in memory (slower, and
    never stale after an edit)."""
    from pathlib import Path

    compiled = Path(__file__).parent / "locale" / locale / "LC_MESSAGES" / "wxbudget.mo"
    if compiled.is_file():
        return MoCatalog(compiled.read_bytes())
    from wxbudget import catalog

    return MoCatalog(catalog.compile_source(locale))


_MO_MAGIC = 0x950412DE  # a little-endian GNU .mo, as catalog.compile_mo writes it


class MoCatalog(NullTranslations):
    """The messages of a `.mo` file, looked up in its bytes and decoded when shown.

    gettext's `GNUTranslations` decodes every message of the file when it loads it: ~3 ms, 4% of
    a Chinese `set-max --help` (bench/startup.py), for a run that shows a few dozen. Here the
    load indexes the original strings as bytes in one pass, and a message is decoded when it is
    looked up. Plural forms follow the file's own Plural-Forms header, as gettext's do.
    """

    def __init__(self, data: bytes) -> None:
        super().__init__()
        magic, _revision, count, originals, translations = struct.unpack_from("<5I", data)
        if magic != _MO_MAGIC:
            raise ValueError("not a little-endian .mo file (the build writes little-endian)")
        keys = struct.unpack_from(f"<{2 * count}I", data, originals)  # length, offset, ...
        self._data = data
        self._values = struct.unpack_from(f"<{2 * count}I", data, translations)
        # A plural entry's original is "singular\0plural": it is found by its singular.
        self._index = {
            data[offset : offset + length].partition(b"\0")[0]: number
            for number, (length, offset) in enumerate(zip(keys[::2], keys[1::2], strict=True))
        }
        self._plural = c2py("n != 1")  # English's rule, until the header says otherwise
        header = self._forms(b"")
        for line in header[0].splitlines() if header else ():
            name, _, value = line.partition(":")
            if name.strip().lower() == "plural-forms":
                self._plural = c2py(value.split(";")[1].split("plural=")[1])

    def _forms(self, message: bytes) -> list[str] | None:
        number = self._index.get(message)
        if number is None:
            return None
        length, offset = self._values[2 * number], self._values[2 * number + 1]
        return self._data[offset : offset + length].decode("utf-8").split("\0")

    def gettext(self, message: str) -> str:
        forms = self._forms(message.encode("utf-8")) if message else None
        return message if forms is None else forms[0]

    def ngettext(self, msgid1: str, msgid2: str, n: int) -> str:
        forms = self._forms(msgid1.encode("utf-8"))
        index = self._plural(n)
        if forms is None or index >= len(forms):
            return msgid1 if n == 1 else msgid2
        return forms[index]


def active_language() -> str:
    return _active_language


def localize(text: object) -> str:
    """The text to show a person: a `Message` in the active language (its fields localized in
    turn), any other str looked up as a message of its own (help texts, typer's own words), and
    anything else as str() gives it."""
    if _catalog is None or not isinstance(text, str) or not text:
        return str(text)  # gettext("") would be the catalog's header
    if not isinstance(text, Message):
        return _catalog.gettext(text)
    if text.plural is None:
        template = _catalog.gettext(text.template)
    else:
        template = _catalog.ngettext(text.template, text.plural, text.quantity)
    if not text.args:
        return template
    return template.format(
        **{
            name: localize(value) if isinstance(value, Message) else value
            for name, value in text.args.items()
        }
    )
