"""The embedded sandbox: a local sandbox started in-process, for a person trying wxbudget and for
scripts that ask for it.

It starts when asked (`--sandbox`, or `WXBUDGET_SANDBOX=1`), which also sets any config file
aside, or when there is no config file at all and a person is at a terminal (stdin and stderr
are terminals). An unattended run with no config file is refused (exit 3) instead: a write must
never "succeed" against a throwaway world because a CI job had another HOME.

What runs on it is marked: JSON results carry `"sandbox": true`, a notice says so on stderr, and
its writes are journaled inside the sandbox home, never in the production audit journal.

`config` only reports that there is no config file; starting a server and saying so is a
decision of the CLI, taken here. This is the one module outside the sandbox's own command that
imports `wxbudget.sandbox`.
"""

from __future__ import annotations

import atexit
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from wxbudget.i18n import _

if TYPE_CHECKING:
    from wxbudget.config import Flags
    from wxbudget.settings import Settings

ENV_SANDBOX = "WXBUDGET_SANDBOX"
SandboxOption = Annotated[
    bool | None,
    typer.Option(
        "--sandbox",
        help="Use the embedded local sandbox, not a config file (env WXBUDGET_SANDBOX=1); with "
        "no config file it starts by itself only on a terminal",
        show_default=False,
    ),
]
_YES = ("1", "true", "yes", "on")
AUDIT_LOG_NAME = "audit.jsonl"


def embedded_home(env: Mapping[str, str]) -> Path:
    data_home = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "wxbudget" / "sandbox"


def embedded_audit_log(env: Mapping[str, str]) -> Path:
    """Where the embedded sandbox's writes are journaled: inside its home."""
    return embedded_home(env) / AUDIT_LOG_NAME


def sandbox_requested(flags: Flags, env: Mapping[str, str]) -> bool:
    """Whether the run asked for the embedded sandbox (`--sandbox` or `WXBUDGET_SANDBOX=1`)."""
    return bool(flags.sandbox) or env.get(ENV_SANDBOX, "").strip().lower() in _YES


def on_a_terminal() -> bool:
    """A person is there: stdin (who answers) and stderr (where the notice goes) are terminals."""
    try:
        return sys.stdin.isatty() and sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def sandbox_config(flags: Flags, env: Mapping[str, str]) -> tuple[Path, Path | None] | None:
    """The config file of the embedded sandbox when this run uses it (started if need be), and
    the config file that was missing (None when the sandbox was asked for); None when the run
    uses its config file. Raises ConfigError (exit 3) for an unattended run with no config
    file, UsageError (exit 2) for `--sandbox` together with a config file named."""
    from wxbudget import config
    from wxbudget.errors import UsageError

    if sandbox_requested(flags, env):
        named = "--config" if flags.config is not None else None
        if named is None and env.get(config.ENV_CONFIG):
            named = config.ENV_CONFIG
        if named is not None:
            raise UsageError(
                _(
                    "--sandbox (or {env_sandbox}) and {named} name two different worlds; "
                    "drop one of them",
                    env_sandbox=ENV_SANDBOX,
                    named=named,
                )
            )
        # The notice names what asked for it, as typed: the flag wins over the variable.
        asked = "--sandbox" if flags.sandbox else f"{ENV_SANDBOX}={env.get(ENV_SANDBOX, '')}"
        return start_embedded_sandbox(env, missing_config=None, asked=asked), None
    path, named_config = config.locate(flags, env)
    if named_config or path.exists():
        return None
    require_opt_in(path)
    return start_embedded_sandbox(env, missing_config=path), path


def require_opt_in(missing_config: Path) -> None:
    """Refuse the embedded sandbox to a run nobody watches (exit 3), naming the way in."""
    from wxbudget.errors import ConfigError

    if not on_a_terminal():
        raise ConfigError(
            _(
                "no config file at {missing_config}; create a profile with 'wxbudget profile "
                "init NAME', or run against the embedded sandbox with --sandbox (or "
                "{env_sandbox}=1)",
                missing_config=missing_config,
                env_sandbox=ENV_SANDBOX,
            )
        )


def resolve_settings(flags: Flags, env: Mapping[str, str] | None = None) -> Settings:
    """`config.resolve`, or the embedded sandbox's profile when this run uses it."""
    from wxbudget import config, render

    env = os.environ if env is None else env
    found = sandbox_config(flags, env)
    if found is None:
        return config.resolve(flags, env)
    path, _missing = found
    settings = config.resolve(flags._replace(config=path, sandbox=None), env)
    render.mark_sandbox()
    return settings._replace(audit_log=embedded_audit_log(env))


def audit_log_path(flags: Flags, env: Mapping[str, str] | None = None) -> Path:
    """The journal `history` reads: the embedded sandbox's when this run would use it (asked
    for, or no config file at all), else the selected profile's."""
    from wxbudget import config, render

    env = os.environ if env is None else env
    path, named = config.locate(flags, env)
    if sandbox_requested(flags, env) or (not named and not path.exists()):
        render.mark_sandbox()
        return embedded_audit_log(env)
    return config.audit_log_path(flags, env)


def start_embedded_sandbox(
    env: Mapping[str, str], *, missing_config: Path | None, asked: str | None = None
) -> Path:
    """Start the sandbox in-process on a free loopback port; return its config file.

    `asked`: what asked for it (`--sandbox`, `WXBUDGET_SANDBOX=1`) when no config was missing.
    """
    from wxbudget import render
    from wxbudget.sandbox import start_in_background
    from wxbudget.sandbox.server import HomeInUse

    home = embedded_home(env)
    why = (
        _("no config file at {path}", path=missing_config)
        if missing_config is not None
        else (asked or "--sandbox")
    )
    try:
        running = start_in_background(home)
    except HomeInUse as busy:
        # `wxbudget sandbox serve` runs on this very home: its profiles point at it; use them.
        render.notice(
            _(
                "{why}: using the sandbox serving {home} ({holder})",
                why=why,
                home=home,
                holder=busy.holder,
            )
        )
        return home / "config.toml"
    atexit.register(running.stop)
    render.notice(
        _(
            "{why}: using the embedded sandbox ({home}), not WeChat Pay; see "
            "'wxbudget sandbox --help'",
            why=why,
            home=home,
        )
    )
    return running.config_path
