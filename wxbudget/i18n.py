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

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable
    from gettext import NullTranslations

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
    from gettext import GNUTranslations
    from pathlib import Path

    compiled = Path(__file__).parent / "locale" / locale / "LC_MESSAGES" / "wxbudget.mo"
    if compiled.is_file():
        with compiled.open("rb") as handle:
            return GNUTranslations(handle)
    from wxbudget import catalog

    return catalog.load_source(locale)


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
