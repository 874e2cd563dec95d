"""The console script. `wxbudget --version` is answered before the CLI framework loads:
scripts and monitoring call it often, and it needs nothing but the version."""

from __future__ import annotations

import sys


def main() -> None:
    if sys.argv[1:] == ["--version"]:
        from wxbudget.version import __version__

        sys.stdout.write(f"wxbudget {__version__}\n")
        return
    import gc

    # Start-up makes tens of thousands of objects that live as long as the process (modules,
    # classes, the command's parser), and the collector would walk them again and again while
    # they are made: ~3% of `show` (bench/startup.py). It is off until the command's own work
    # begins, where `cli.root` freezes what exists by then and turns it back on.
    gc.disable()
    from wxbudget.cli import main as run_cli

    run_cli()
