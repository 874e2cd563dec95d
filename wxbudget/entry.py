"""The console script. `wxbudget --version` is answered before the CLI framework loads:
scripts and monitoring call it often, and it needs nothing but the version."""

from __future__ import annotations

import sys


def main() -> None:
    if sys.argv[1:] == ["--version"]:
        from wxbudget.version import __version__

        sys.stdout.write(f"wxbudget {__version__}\n")
        return
    from wxbudget.cli import main as run_cli

    run_cli()
