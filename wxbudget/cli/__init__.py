"""The `wxbudget` command: a Typer app whose commands parse, make one library call, render."""

from __future__ import annotations

import typer

from wxbudget.cli.options import (
    BrandOption,
    ConfigOption,
    DebugOption,
    GlobalOptions,
    MaxRetriesOption,
    OutputOption,
    ProfileOption,
    TimeoutOption,
    VerboseOption,
    WxBudgetGroup,
)

app = typer.Typer(
    cls=WxBudgetGroup,
    name="wxbudget",
    help=(
        "Change WeChat Pay product-coupon stock budgets (total and daily issuing caps) safely.\n\n"
        "Examples:\n\n"
        "  wxbudget show 1000000013 1000000013001\n\n"
        "  wxbudget set-max 1000000013 1000000013001 +500 --yes\n\n"
        "  wxbudget set-daily 1000000013 1000000013002 -10% --dry-run\n\n"
        "With no config file, commands run against an embedded local sandbox."
    ),
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        from wxbudget import __version__

        typer.echo(f"wxbudget {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    profile: ProfileOption = None,
    config: ConfigOption = None,
    brand_id: BrandOption = None,
    output: OutputOption = None,
    verbose: VerboseOption = None,
    debug: DebugOption = None,
    timeout: TimeoutOption = None,
    max_retries: MaxRetriesOption = None,
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit"
    ),
) -> None:
    ctx.obj = GlobalOptions(
        profile=profile,
        config=config,
        brand_id=brand_id,
        output=output,
        verbose=verbose,
        debug=debug,
        timeout=timeout,
        max_retries=max_retries,
    )


# Commands are built on first use: a run imports and builds only the command it runs (the root
# --help lists them all). Name -> (module, attribute, click context settings).
# A TARGET like -500 or -10% must reach set-max/set-daily as an argument, not an unknown option.
_NEGATIVE_TARGETS = {"ignore_unknown_options": True}
COMMANDS: dict[str, tuple[str, str, dict[str, bool]]] = {
    "show": ("wxbudget.cli.stock", "show", {}),
    "set-max": ("wxbudget.cli.stock", "set_max", _NEGATIVE_TARGETS),
    "set-daily": ("wxbudget.cli.stock", "set_daily", _NEGATIVE_TARGETS),
    "list": ("wxbudget.cli.batch", "list_stocks", {}),
    "apply": ("wxbudget.cli.batch", "apply", {}),
    "history": ("wxbudget.cli.history", "history", {}),
    "bundle": ("wxbudget.cli.bundle", "bundle_app", {}),
    "doctor": ("wxbudget.cli.doctor", "doctor", {}),
    "profile": ("wxbudget.cli.profile", "profile_app", {}),
    "certs": ("wxbudget.cli.certs", "certs_app", {}),
    "sandbox": ("wxbudget.cli.sandbox", "sandbox_app", {}),
}
WxBudgetGroup.lazy_commands = COMMANDS


def main() -> None:
    app()
