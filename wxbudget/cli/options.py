"""Options every command takes, before or after the subcommand, and the CLI's error boundary."""

from __future__ import annotations

import functools
import inspect
import os
import sys
import typing
from collections.abc import Callable, Sequence
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NamedTuple, TypeVar

import typer

from wxbudget.cli import failures, localized
from wxbudget.cli.embedded import SandboxOption
from wxbudget.i18n import _, localize

if TYPE_CHECKING:
    from wxbudget.config import Flags


class OutputFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


class GlobalOptions(NamedTuple):
    """The options shared by every command; None means "not given"."""

    profile: str | None = None
    config: Path | None = None
    brand_id: str | None = None
    output: OutputFormat | None = None
    verbose: bool | None = None
    debug: bool | None = None
    timeout: float | None = None
    max_retries: int | None = None
    sandbox: bool | None = None

    def merged(self, later: GlobalOptions) -> GlobalOptions:
        """Values given after the subcommand win over those given before it."""
        given = {name: value for name, value in later._asdict().items() if value is not None}
        return self._replace(**given)

    @property
    def json(self) -> bool:
        return self.output is OutputFormat.json

    def refuse_csv(self, command: str) -> None:
        """Only the commands that list stocks write CSV (a plan file); elsewhere say so
        instead of ignoring it."""
        if self.output is OutputFormat.csv:
            from wxbudget.errors import UsageError

            raise UsageError(
                _(
                    "-o csv (a plan file) is only for 'wxbudget list', 'wxbudget show' and "
                    "'wxbudget bundle show'; use -o table or -o json with {command}",
                    command=command,
                )
            )

    def flags(self) -> Flags:
        from wxbudget.config import Flags

        return Flags(
            config=self.config,
            profile=self.profile,
            brand_id=self.brand_id,
            timeout=self.timeout,
            max_retries=self.max_retries,
            sandbox=self.sandbox,
        )


ProfileOption = Annotated[
    str | None,
    typer.Option(
        "--profile",
        "-p",
        help="Profile name (env WXBUDGET_PROFILE; default: default_profile)",
        show_default=False,
    ),
]
ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help="Config file (env WXBUDGET_CONFIG; default: $XDG_CONFIG_HOME/wxbudget/config.toml)",
        show_default=False,
    ),
]
BrandOption = Annotated[
    str | None,
    typer.Option(
        "--brand-id", help="Brand id; overrides the profile's brand_id", show_default=False
    ),
]
OutputOption = Annotated[
    OutputFormat | None,
    typer.Option(
        "--output",
        "-o",
        help="table (default), json, or csv (list, show, bundle show: a ready plan file) on stdout",
        show_default=False,
    ),
]
VerboseOption = Annotated[
    bool | None,
    typer.Option(
        "--verbose", "-v", help="Trace HTTP on stderr (signatures elided)", show_default=False
    ),
]
DebugOption = Annotated[
    bool | None,
    typer.Option("--debug", help="Show tracebacks for internal errors", show_default=False),
]

TimeoutOption = Annotated[
    float | None,
    typer.Option(
        "--timeout",
        help="Seconds to wait for an answer, 0.001-600 (profile: timeout; default 10)",
        metavar="S",
        show_default=False,
    ),
]
MaxRetriesOption = Annotated[
    int | None,
    typer.Option(
        "--max-retries",
        help="Retries after a network error, 429 or 5xx, 0-10 (profile: max_retries; default 3)",
        metavar="N",
        show_default=False,
    ),
]

_GLOBAL_PARAMETERS = [
    inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=annotation)
    for name, annotation in (
        ("profile", ProfileOption),
        ("config", ConfigOption),
        ("brand_id", BrandOption),
        ("output", OutputOption),
        ("verbose", VerboseOption),
        ("debug", DebugOption),
        ("timeout", TimeoutOption),
        ("max_retries", MaxRetriesOption),
        ("sandbox", SandboxOption),
    )
]

# The commands that write a plan file with -o csv, by module and function name.
CSV_COMMANDS = frozenset(
    {"wxbudget.cli.batch.list_stocks", "wxbudget.cli.show.show", "wxbudget.cli.bundle.show"}
)

# Typer injects the click context into a parameter annotated typer.Context.
_CONTEXT_PARAMETER = inspect.Parameter(
    "wxbudget_context", inspect.Parameter.KEYWORD_ONLY, annotation=typer.Context
)

F = TypeVar("F", bound=Callable[..., Any])


def with_global_options(command: F) -> F:
    """Add the global options to a command; it receives them merged as `options`.

    Typer reads the signature, so the wrapper advertises the command's own parameters (minus
    `options`) followed by the global ones.
    """
    signature = inspect.signature(command)
    # Annotations are strings (postponed evaluation) resolvable only in the command's module.
    hints = typing.get_type_hints(command, include_extras=True)
    own = [
        p.replace(annotation=hints.get(p.name, p.annotation))
        for p in signature.parameters.values()
        if p.name != "options"
    ]

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        local = GlobalOptions(**{p.name: kwargs.pop(p.name) for p in _GLOBAL_PARAMETERS})
        context: typer.Context = kwargs.pop(_CONTEXT_PARAMETER.name)
        before = context.find_object(GlobalOptions) or GlobalOptions()
        options = before.merged(local)
        if f"{command.__module__}.{command.__name__}" not in CSV_COMMANDS:
            options.refuse_csv(context.command_path)
        return command(*args, options=options, **kwargs)

    del wrapper.__wrapped__
    parameters = [*own, *_GLOBAL_PARAMETERS, _CONTEXT_PARAMETER]
    wrapper.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=parameters, return_annotation=None
    )
    wrapper.__annotations__ = {p.name: p.annotation for p in parameters} | {"return": None}
    return wrapper  # type: ignore[return-value]


class WxBudgetGroup(localized.LocalizedGroup):
    """The root group: lazily built commands, and the error boundary (one stderr line and a
    documented exit code for every failure)."""

    lazy_commands: typing.ClassVar[dict[str, tuple[str, str, dict[str, bool], str]]] = {}
    _listing = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.help = localize(self.help) if self.help else self.help

    def format_help(self, ctx: typer.Context, formatter: Any) -> None:  # type: ignore[override]
        # The root help only lists commands: their summaries, not the commands themselves.
        from wxbudget.cli.helptext import keep_words_whole

        keep_words_whole()
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False

    def list_commands(self, ctx: typer.Context) -> list[str]:  # type: ignore[override]
        return [*super().list_commands(ctx), *self.lazy_commands]

    def get_command(self, ctx: typer.Context, name: str) -> Any:  # type: ignore[override]
        if name in self.commands or name not in self.lazy_commands:
            return super().get_command(ctx, name)
        import importlib

        import typer.main

        module, attribute, settings, summary = self.lazy_commands[name]
        if self._listing:
            return localized.LocalizedCommand(name=name, help=localize(summary))
        target = getattr(importlib.import_module(module), attribute)
        if isinstance(target, typer.Typer):
            target._add_completion = False  # completion belongs to the root command only
            localized.use_localized_classes(target)
            command = typer.main.get_command(target)
        else:
            single = typer.Typer(add_completion=False, rich_markup_mode=None)
            single.command(name, cls=localized.LocalizedCommand, context_settings=settings)(target)
            command = typer.main.get_command(single)
        command.name = name
        from wxbudget.cli.helptext import keep_words_whole, reflow_command

        keep_words_whole()
        reflow_command(command)
        localized.localize_help(command)
        self.commands[name] = command
        return command

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        debug = "--debug" in argv
        if sys.stdout is None:
            # Started with stdout closed (`>&-`): results would go nowhere; nothing is sent.
            failures.fail(
                _(
                    "stdout is closed: results have nowhere to go; nothing was read or sent (run "
                    "with stdout open, e.g. > /dev/null to discard the results)"
                ),
                2,
            )
        from wxbudget.interrupts import INTERRUPTS, Interrupted
        from wxbudget.render.console import reset

        reset()
        INTERRUPTS.install(notify=failures.urgent_notice)
        try:
            result = self._main(argv, prog_name, complete_var, debug, **extra)
        except Interrupted as stopped:
            if not stopped.reported:
                failures.print_error(INTERRUPTS.stopped_line(str(stopped)))
            if stopped.forced:
                # Stop at once: do not wait for worker threads still holding a request.
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(stopped.exit_code)
            sys.exit(stopped.exit_code)
        finally:
            INTERRUPTS.restore()
        if INTERRUPTS.received:
            sys.exit(INTERRUPTS.exit_code)
        sys.exit(result if isinstance(result, int) else 0)

    def _main(
        self,
        argv: list[str],
        prog_name: str | None,
        complete_var: str | None,
        debug: bool,
        **extra: Any,
    ) -> Any:
        from wxbudget.interrupts import Interrupted

        try:
            return super().main(
                args=argv,
                prog_name=prog_name,
                complete_var=complete_var,
                standalone_mode=False,
                **extra,
            )
        except Interrupted:
            raise
        except typer.Abort:
            failures.fail(_("aborted"), 130)
        except typer.TyperException as error:
            # typer's (vendored click's) usage errors: bad option, missing argument, ...
            context = getattr(error, "ctx", None)
            if type(error).__name__ == "NoArgsIsHelpError" and context is not None:
                typer.echo(context.get_help(), err=True)
                sys.exit(2)
            command = context.command_path if context is not None else "wxbudget"
            message = error.format_message() if hasattr(error, "format_message") else str(error)
            message = localized.translate_usage_error(message)
            see = _("{message} (see '{command} --help')", message=message, command=command)
            failures.fail(see, getattr(error, "exit_code", 2))
        except KeyboardInterrupt:
            failures.fail(_("interrupted"), 130)
        except BrokenPipeError:
            # The reader went away (`| head`); nothing useful can be printed.
            os._exit(0)
        except OSError as error:
            if error.errno not in failures.OUTPUT_ERRORS:
                raise
            # A result that cannot be written (/dev/full, a full disk): one line, and no
            # retried flush at exit (it would fail again, loudly).
            failures.discard_stdout()
            from wxbudget.errors import os_reason

            reason = os_reason(error)
            failures.fail(_("cannot write the result to stdout: {reason}", reason=reason), 2)
        except Exception as error:
            from wxbudget.errors import WxBudgetError

            if isinstance(error, WxBudgetError):
                if debug:
                    import traceback

                    traceback.print_exc()
                failures.fail(error.line(), int(error.exit_code))
            if debug:
                raise
            failures.fail(
                _(
                    "internal error: {kind}: {error} (rerun with --debug for the traceback, "
                    "and please report it)",
                    kind=type(error).__name__,
                    error=str(error),
                ),
                1,
            )
        return None
