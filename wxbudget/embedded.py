"""The embedded default: with no config file at all, commands run against a local sandbox.

This is the one library module allowed to import `wxbudget.sandbox`.
"""

from __future__ import annotations

import atexit
from collections.abc import Mapping
from pathlib import Path


def embedded_home(env: Mapping[str, str]) -> Path:
    data_home = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "wxbudget" / "sandbox"


def start_embedded_sandbox(env: Mapping[str, str], *, missing_config: Path) -> Path:
    """Start the sandbox in-process on a free loopback port; return its config file."""
    from wxbudget import render
    from wxbudget.sandbox import start_in_background

    home = embedded_home(env)
    running = start_in_background(home)
    atexit.register(running.stop)
    render.notice(
        f"no config file at {missing_config}: using the embedded sandbox ({home}); "
        "see 'wxbudget sandbox --help'"
    )
    return running.config_path
