"""The CLI framework's own words (typer and its vendored click) in the user's language.

typer's vendored click writes its texts in English without gettext ("Usage: ", "Missing
argument", "Show this message and exit."); only typer's own code asks stdlib gettext, through
the name `_` of typer.core (section titles, "required", "default: ..."), which is pointed at our
catalog below. So the commands are built from the classes below, which show usage lines,
metavars and the help option through `i18n.localize`; `localize_help` translates a command's
help once it is built (and reflowed, see `helptext`); and usage errors are translated at the
CLI's error boundary by matching click's own message templates (`translate_usage_error`). The
English texts are marked with `_()` here, so the catalog test sees them like every other
message.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import typer
from typer._click.core import Context
from typer._click.formatting import HelpFormatter
from typer.core import TyperCommand, TyperGroup, TyperOption

from wxbudget.i18n import Message, _, localize

USAGE_PREFIX = _("Usage: ")
HELP_OPTION_HELP = _("Show this message and exit.")
OPTIONS_METAVAR = _("[OPTIONS]")
SUBCOMMAND_METAVAR = _("COMMAND [ARGS]...")

# What typer.core asks gettext for in plain (click-style) help.
TYPER_GETTEXT_TEXTS = (
    _("Arguments"),
    _("Options"),
    _("Commands"),
    _("required"),
    _("default: {default}"),
    _("env var: {var}"),
    _("(dynamic)"),
)

# typer's completion options on the root command.
FRAMEWORK_HELP_TEXTS = (
    _("Install completion for the current shell."),
    _("Show completion for the current shell, to copy it or customize the installation."),
)

# click's usage errors, as the vendored click (8.3.1) and typer word them. Fields match any
# text; a matched field is translated in turn (a reason inside "Invalid value for ...").
USAGE_ERRORS = (
    _("Missing argument {name}."),
    _("Missing option {name}."),
    _("Missing parameter {name}."),
    _("Missing command."),
    _("No such option: {option} (Possible options: {options})"),
    _("No such option: {option}"),
    _("No such command {name}. Did you mean {suggestions}?"),
    _("No such command {name}."),
    _("Got unexpected extra argument(s) ({arguments})"),
    _("Got unexpected extra arguments ({arguments})"),
    _("Got unexpected extra argument ({arguments})"),
    _("Option {option} requires an argument."),
    _("Option {option} requires {count} arguments."),
    _("Option {option} does not take a value."),
    _("Argument {name} takes {count} values."),
    _("Invalid value for {name}: {reason}"),
    _("Invalid value: {reason}"),
    _("{value} is not one of {choices}."),
    _("{value} is not in the range {range}."),
    _("{value} is not a valid boolean. Recognized values: {values}"),
    _("{value} does not match the formats {formats}."),
    _("{value} is not a valid {type}."),
    _("{count} values are required, but {given} given."),
)
# Type names inside "... is not a valid {type}." and range descriptions.
TYPE_NAMES = (
    _("int"),
    _("float"),
    _("int range"),
    _("float range"),
    _("boolean"),
)


@cache
def _usage_error_patterns() -> tuple[tuple[re.Pattern[str], Message], ...]:
    patterns = []
    for template in USAGE_ERRORS:
        parts = re.split(r"\{(\w+)\}", template.template)
        # Literal text and field names alternate: [text, field, text, field, ..., text].
        expression = "".join(
            re.escape(part) if index % 2 == 0 else f"(?P<{part}>.+?)"
            for index, part in enumerate(parts)
        )
        patterns.append((re.compile(expression, re.DOTALL), template))
    return tuple(patterns)


def translate_usage_error(text: str) -> str:
    """A click usage error in the active language (the English text when no template fits)."""
    for pattern, template in _usage_error_patterns():
        match = pattern.fullmatch(text)
        if match:
            fields: dict[str, object] = {
                name: translate_usage_error(value) for name, value in match.groupdict().items()
            }
            return localize(Message(template.template, fields))
    return localize(text)


class _Localized:
    """What every command of the CLI shows through `localize`: option help, metavars, the usage
    line and the help option."""

    help: str | None
    short_help: str | None
    epilog: str | None
    options_metavar: str | None
    params: list[Any]

    def _localize_texts(self) -> None:
        if self.options_metavar == OPTIONS_METAVAR:
            self.options_metavar = localize(OPTIONS_METAVAR)
        for param in self.params:
            if getattr(param, "help", None):
                param.help = localize(param.help)

    def format_usage(self, ctx: Context, formatter: HelpFormatter) -> None:
        pieces = self.collect_usage_pieces(ctx)  # type: ignore[attr-defined]
        formatter.write_usage(ctx.command_path, " ".join(pieces), prefix=localize(USAGE_PREFIX))

    def shell_complete(self, ctx: Context, incomplete: str) -> list[Any]:
        """Completion candidates, each described on one line (`completion_help`)."""
        items: list[Any] = super().shell_complete(ctx, incomplete)  # type: ignore[misc]
        for item in items:
            if item.help:
                item.help = completion_help(item.help)
        return items

    def get_help_option(self, ctx: Context) -> TyperOption | None:
        option: TyperOption | None = super().get_help_option(ctx)  # type: ignore[misc]
        if option is not None:
            option.help = localize(HELP_OPTION_HELP)
        return option


class LocalizedCommand(_Localized, TyperCommand):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._localize_texts()


class LocalizedGroup(_Localized, TyperGroup):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._localize_texts()
        if self.subcommand_metavar == SUBCOMMAND_METAVAR:
            self.subcommand_metavar = localize(SUBCOMMAND_METAVAR)

    def get_params(self, ctx: Context) -> list[Any]:
        params: list[Any] = super().get_params(ctx)
        for param in params:  # typer adds its completion options after the group is made
            if param.name == "install_completion":
                param.callback = install_completion
        return params


# typer renders a candidate's description through rich at the terminal's width (80 columns
# when a shell asks): longer ones wrap onto lines a shell reads as candidates of their own, and
# `[limits]` is taken for markup and dropped. Shells show one line per candidate anyway.
COMPLETION_HELP_COLUMNS = 78
# Characters a shell's format escapes before rich renders the text (zsh: `:` becomes `\\:`).
SHELL_ESCAPED = frozenset(":'\"$\\`")
_MARKUP = re.compile(r"(\\*)(\[[a-z#/@][^[]*?])")


def completion_help(text: str) -> str:
    """`text` on one line that fits COMPLETION_HELP_COLUMNS ("..." where it is cut), escaped
    from rich's markup (as rich.markup.escape does; rich is imported only by the render
    package)."""
    import unicodedata

    line = " ".join(text.split())
    shown, columns = "", 0
    for character in line:
        if character in SHELL_ESCAPED:
            columns += 3
        else:
            columns += 2 if unicodedata.east_asian_width(character) in "WF" else 1
        if columns > COMPLETION_HELP_COLUMNS - 3:
            shown = shown.rstrip() + "..."
            break
        shown += character
    return _MARKUP.sub(r"\1\1\\\2", shown)


# The shells typer's `install` writes completion for.
INSTALLABLE_SHELLS = frozenset({"bash", "zsh", "fish", "powershell", "pwsh"})


def install_completion(ctx: Context, param: Any, value: Any) -> Any:
    """`--install-completion`: typer's own, saying what it did in the user's language."""
    import sys

    from typer._completion_shared import _get_shell_name, install

    if not value or ctx.resilient_parsing:
        return value
    shell = value if isinstance(value, str) else _get_shell_name()
    if shell not in INSTALLABLE_SHELLS:  # typer would say so in English
        typer.echo(localize(_("Shell {shell} is not supported.", shell=shell)), err=True)
        sys.exit(1)
    shell, path = install(shell=shell)
    typer.secho(localize(_("{shell} completion installed in {path}", shell=shell, path=path)))
    typer.echo(localize(_("Completion will take effect once you restart the terminal")))
    sys.exit(0)


def use_localized_classes(app: typer.Typer) -> None:
    """Build `app`'s groups and commands (nested ones too) from the localized classes, unless
    one asked for a class of its own (typer fills in TyperCommand and a placeholder group)."""
    if not isinstance(app.info.cls, type) or app.info.cls is TyperGroup:
        app.info.cls = LocalizedGroup
    for command in app.registered_commands:
        if command.cls is None or command.cls is TyperCommand:
            command.cls = LocalizedCommand
    for group in app.registered_groups:
        if group.typer_instance is not None:
            use_localized_classes(group.typer_instance)


def localize_help(command: Any) -> None:
    """A built command's help texts in the active language, its subcommands' too. Run after the
    help is reflowed: the catalog holds each text as `--help` shows it in English."""
    for attribute in ("help", "short_help", "epilog"):
        value = getattr(command, attribute, None)
        if value:
            setattr(command, attribute, localize(value))
    for child in getattr(command, "commands", {}).values():
        localize_help(child)


def _typer_gettext(message: str) -> str:
    return localize(message)


# typer.core's texts (looked up at each call, through this module-level name) from our catalog.
typer.core._ = _typer_gettext  # type: ignore[attr-defined]


def activate_language(argv: list[str]) -> None:
    """Choose the language before any command is built: --help and usage errors come before a
    profile is loaded, so the config file's `language` is read with the -p/--config of argv."""
    import os
    from pathlib import Path

    from wxbudget import i18n, language

    if language.normalize(os.environ.get(language.ENV_LANG)) is not None:
        chosen = language.choose(os.environ)  # the config file cannot change it: not read
    else:
        from wxbudget import config

        named = language.option_value(argv, ("--config",))
        flags = config.Flags(
            config=Path(named) if named else None,
            profile=language.option_value(argv, ("-p", "--profile")),
        )
        chosen = config.resolve_language(flags)
    i18n.activate(chosen.language)
