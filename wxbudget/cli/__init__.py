"""The `wxbudget` command: a Typer app whose commands parse, make one library call, render."""

from __future__ import annotations

import sys

import typer

from wxbudget.cli.embedded import SandboxOption
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
from wxbudget.i18n import _

app = typer.Typer(
    # Plain (click) help: it wraps between words at any width, where rich panels cut words.
    rich_markup_mode=None,
    cls=WxBudgetGroup,
    name="wxbudget",
    help=_(
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
        from wxbudget.version import __version__

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
    sandbox: SandboxOption = None,
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help=_("Print the version and exit")
    ),
) -> None:
    _start_collecting()
    ctx.obj = GlobalOptions(
        profile=profile,
        config=config,
        brand_id=brand_id,
        output=output,
        verbose=verbose,
        debug=debug,
        timeout=timeout,
        max_retries=max_retries,
        sandbox=sandbox,
    )


def _start_collecting() -> None:
    """The command is parsed and about to run: what start-up made lives as long as the process
    (`entry.main` turned the collector off for it), so it is frozen out of every collection,
    and the collector runs as usual for the command's own work (a batch, a watch, a server)."""
    import gc

    if not gc.isenabled():
        gc.freeze()
        gc.enable()


# Commands are built on first use: a run imports and builds only the command it runs, and the
# root --help lists them from the summaries below (a test keeps them equal to the docstrings).
# Name -> (module, attribute, click context settings, summary).
# A TARGET like -500 or -10% must reach set-max/set-daily as an argument, not an unknown option.
_NEGATIVE_TARGETS = {"ignore_unknown_options": True}
COMMANDS: dict[str, tuple[str, str, dict[str, bool], str]] = {
    "show": (
        "wxbudget.cli.show",
        "show",
        {},
        _("Show a stock's state and budget: caps, issued counts, what remains."),
    ),
    "set-max": (
        "wxbudget.cli.change",
        "set_max",
        _NEGATIVE_TARGETS,
        _("Set a stock's total issuing cap (MAX_COUNT)."),
    ),
    "set-daily": (
        "wxbudget.cli.change",
        "set_daily",
        _NEGATIVE_TARGETS,
        _("Set a stock's daily issuing cap (MAX_COUNT_PER_DAY)."),
    ),
    "list": (
        "wxbudget.cli.batch",
        "list_stocks",
        {},
        _("List every stock of a product coupon with its caps (all pages)."),
    ),
    "apply": (
        "wxbudget.cli.apply",
        "apply",
        {},
        _("Apply a plan file: every cap of every row, at the rate limit, exactly once."),
    ),
    "check": (
        "wxbudget.cli.check",
        "check",
        {},
        "Alert on stocks below a threshold: exit 9 when any is, 0 when none is (for cron and CI).",
    ),
    "undo": (
        "wxbudget.cli.undo",
        "undo",
        {},
        _('Take a change back: set the cap to its recorded "from", if it is still at its "to".'),
    ),
    "history": (
        "wxbudget.cli.history",
        "history",
        {},
        _("Show every budget change wxbudget made from this machine, with its outcome."),
    ),
    "bundle": (
        "wxbudget.cli.bundle",
        "bundle_app",
        {},
        _("Stock bundles (批次组) of progressive-bundle coupons: every stock changes together."),
    ),
    "doctor": (
        "wxbudget.cli.doctor",
        "doctor",
        {},
        _("Check a profile: config, key files and permissions, keys, hosts, clock, a signed call."),
    ),
    "profile": (
        "wxbudget.cli.profile",
        "profile_app",
        {},
        _("Create, list, inspect and remove profiles in the config file."),
    ),
    "certs": (
        "wxbudget.cli.certs",
        "certs_app",
        {},
        _("Platform certificates (平台证书) for profiles that verify with them."),
    ),
    "sandbox": (
        "wxbudget.cli.sandbox",
        "sandbox_app",
        {},
        _("Run a faithful local emulator of the WeChat Pay product-coupon API."),
    ),
}
WxBudgetGroup.lazy_commands = COMMANDS


def main() -> None:
    from wxbudget.cli.localized import activate_language

    # Before the commands are built: their help and usage errors are shown in this language.
    activate_language(sys.argv[1:])
    app()
