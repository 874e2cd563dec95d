"""`wxbudget sandbox ...`: run the local emulator of the WeChat Pay product-coupon API."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

sandbox_app = typer.Typer(
    help="Run a faithful local emulator of the WeChat Pay product-coupon API.",
    no_args_is_help=True,
)


@sandbox_app.callback()
def _group() -> None:
    # A callback keeps `serve` a named subcommand even while it is the group's only command.
    pass


def default_home() -> Path:
    """`$XDG_DATA_HOME/wxbudget/sandbox`, i.e. `~/.local/share/wxbudget/sandbox` by default."""
    data_home = os.environ.get("XDG_DATA_HOME", "")
    base = Path(data_home) if os.path.isabs(data_home) else Path.home() / ".local" / "share"
    return base / "wxbudget" / "sandbox"


@sandbox_app.command("serve")
def serve_command(
    home: Annotated[
        Path | None,
        typer.Option(
            "--home",
            metavar="DIR",
            help="Sandbox folder (keys, database, config.toml, requests.jsonl), created on "
            "first start; default $XDG_DATA_HOME/wxbudget/sandbox "
            "(~/.local/share/wxbudget/sandbox).",
            file_okay=False,
        ),
    ] = None,
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="Port on 127.0.0.1; 0 picks a free one.")
    ] = 0,
    seed: Annotated[
        Path | None,
        typer.Option(
            "--seed",
            metavar="FILE",
            help="JSON array of API stock objects, upserted at every start.",
            dir_okay=False,
        ),
    ] = None,
    rate_limit: Annotated[
        int,
        typer.Option(
            "--rate-limit", min=0, help="Requests per second per endpoint; 0 = unlimited."
        ),
    ] = 20,
) -> None:
    """Serve the sandbox in the foreground until Ctrl-C.

    Once ready it prints `listening on http://127.0.0.1:PORT`.

    Every start points the sandbox profile of DIR/config.toml at the port in use.

    Example:

        wxbudget sandbox serve --home ./sb --port 8080
    """
    from wxbudget.sandbox import serve

    serve(home or default_home(), port=port, seed=seed, rate_limit=rate_limit)
