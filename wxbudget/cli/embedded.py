"""The embedded default: with no config file at all, commands run against a local sandbox.

`config` only reports that there is no config file; starting a server and saying so is a
decision of the CLI, taken here. This is the one module outside the sandbox's own command that
imports `wxbudget.sandbox`.
"""

from __future__ import annotations

import atexit
import os
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wxbudget.config import Flags
    from wxbudget.settings import Settings


def embedded_home(env: Mapping[str, str]) -> Path:
    data_home = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "wxbudget" / "sandbox"


def resolve_settings(flags: Flags, env: Mapping[str, str] | None = None) -> Settings:
    """`config.resolve`, falling back to the embedded sandbox's profile when there is no config
    file at all (none named, none at the default place)."""
    from wxbudget import config

    env = os.environ if env is None else env
    try:
        return config.resolve(flags, env)
    except config.NoConfigFile as missing:
        path = start_embedded_sandbox(env, missing_config=missing.path)
    settings = config.resolve(replace(flags, config=path), env)
    return replace(settings, embedded_sandbox=True)


def start_embedded_sandbox(env: Mapping[str, str], *, missing_config: Path) -> Path:
    """Start the sandbox in-process on a free loopback port; return its config file."""
    from wxbudget import render
    from wxbudget.sandbox import start_in_background
    from wxbudget.sandbox.server import HomeInUse

    home = embedded_home(env)
    try:
        running = start_in_background(home)
    except HomeInUse as busy:
        # `wxbudget sandbox serve` runs on this very home: its profiles point at it; use them.
        render.notice(
            f"no config file at {missing_config}: using the sandbox serving {home} ({busy.holder})"
        )
        return home / "config.toml"
    atexit.register(running.stop)
    render.notice(
        f"no config file at {missing_config}: using the embedded sandbox ({home}); "
        "see 'wxbudget sandbox --help'"
    )
    return running.config_path
