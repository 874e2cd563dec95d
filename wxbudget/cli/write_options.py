"""Options every command that writes takes besides `--yes` and `--dry-run`."""

from __future__ import annotations

from typing import Annotated

import typer

OverrideLimitsOption = Annotated[
    bool,
    typer.Option(
        "--override-limits",
        help="Go beyond the profile's [limits] (each limit passed is recorded in the audit "
        "journal)",
    ),
]
