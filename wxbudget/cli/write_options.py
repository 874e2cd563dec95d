"""Options every command that writes takes besides `--yes` and `--dry-run`."""

from __future__ import annotations

from typing import Annotated

import typer

NotifyOption = Annotated[
    str | None,
    typer.Option(
        "--notify",
        metavar="URL",
        help="After the write, post a summary here: a WeCom group robot's webhook URL, or any "
        "URL (a JSON document); overrides the profile's notify_url",
        show_default=False,
    ),
]
OverrideLimitsOption = Annotated[
    bool,
    typer.Option(
        "--override-limits",
        help="Go beyond the profile's [limits] (each limit passed is recorded in the audit "
        "journal)",
    ),
]
