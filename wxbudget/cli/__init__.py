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


def _register() -> None:
    from wxbudget.cli import batch, bundle, certs, doctor, history, profile, sandbox, stock

    app.command("show")(stock.show)
    # A TARGET like -500 or -10% must reach the command as an argument, not an unknown option.
    negative_targets = {"ignore_unknown_options": True}
    app.command("set-max", context_settings=negative_targets)(stock.set_max)
    app.command("set-daily", context_settings=negative_targets)(stock.set_daily)
    app.command("list")(batch.list_stocks)
    app.command("apply")(batch.apply)
    app.command("history")(history.history)
    app.add_typer(sandbox.sandbox_app, name="sandbox")
    app.add_typer(bundle.bundle_app, name="bundle")
    app.add_typer(certs.certs_app, name="certs")
    app.add_typer(profile.profile_app, name="profile")
    app.command("doctor")(doctor.doctor)


_register()


def main() -> None:
    app()
