"""Which language wxbudget speaks: the precedence, decided in one function (`choose`).

    WXBUDGET_LANG  >  language in the profile  >  language at the top of the config file
    >  LC_ALL / LC_MESSAGES / LANG (the first one set; any zh* locale is Chinese)  >  English

`config.resolve_language` feeds it the config file's two keys; the CLI asks before it builds
any text, because --help and usage errors come before a profile is loaded.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from wxbudget.i18n import _

ENV_LANG = "WXBUDGET_LANG"
LANGUAGES = ("zh", "en")
LANGUAGE_NAMES = {"zh": "中文", "en": "English"}
# POSIX order: LC_ALL overrides LC_MESSAGES, which overrides LANG.
LOCALE_VARIABLES = ("LC_ALL", "LC_MESSAGES", "LANG")
DEFAULT_LANGUAGE = "en"


class Choice(NamedTuple):
    """The language and what decided it, for doctor: "WXBUDGET_LANG", "profile 'prod'",
    "the config file", "LANG=zh_CN.UTF-8" or "the default"."""

    language: str
    source: str
    # A WXBUDGET_LANG that names no language wxbudget speaks (ignored; doctor warns).
    ignored: str | None = None


def normalize(value: str | None) -> str | None:
    """zh or en from a language or locale name (zh, zh_CN.UTF-8, en-US, C), else None."""
    if not value:
        return None
    text = value.strip().lower()
    if text in ("c", "posix") or text.startswith(("c.", "posix.")):
        return "en"
    for separator in ("_", "-", ".", "@"):
        text = text.partition(separator)[0]
    return text if text in LANGUAGES else None


def choose(
    env: Mapping[str, str],
    *,
    profile: str | None = None,
    profile_name: str | None = None,
    config_file: str | None = None,
) -> Choice:
    """The one precedence of the language (see the module docstring)."""
    requested = env.get(ENV_LANG)
    chosen = normalize(requested)
    if chosen is not None:
        return Choice(chosen, ENV_LANG)
    ignored = requested if requested else None
    if profile in LANGUAGES:
        return Choice(profile, _("profile '{name}'", name=profile_name), ignored)
    if config_file in LANGUAGES:
        return Choice(config_file, _("the config file"), ignored)
    for variable in LOCALE_VARIABLES:
        value = env.get(variable)
        if value:
            # The first locale variable set decides, as it does for every POSIX program.
            return Choice(
                "zh" if normalize(value) == "zh" else "en", f"{variable}={value}", ignored
            )
    return Choice(DEFAULT_LANGUAGE, _("the default"), ignored)


def option_value(argv: list[str], names: tuple[str, ...]) -> str | None:
    """The last value given to one of the options `names` in argv (`-p x`, `-px`, `--profile x`,
    `--profile=x`), read before the CLI parses it; None when absent."""
    found: str | None = None
    index = 0
    while index < len(argv):
        argument = argv[index]
        if argument == "--":
            break
        for name in names:
            if argument == name and index + 1 < len(argv):
                found = argv[index + 1]
                index += 1
            elif name.startswith("--") and argument.startswith(name + "="):
                found = argument[len(name) + 1 :]
            elif not name.startswith("--") and argument.startswith(name) and argument != name:
                found = argument[len(name) :]
        index += 1
    return found
