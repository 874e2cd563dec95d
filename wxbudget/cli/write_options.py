"""Options of the commands that write (set-max, set-daily, the bundle twins, apply, undo)."""

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
TargetArgument = Annotated[
    str,
    typer.Argument(
        help="New cap: absolute (20000) or relative to the current cap (+500, -500, +10%, -10%)",
        show_default=False,
    ),
]
YesOption = Annotated[
    bool, typer.Option("--yes", "-y", help="Change without asking (for cron and CI)")
]
DryRunOption = Annotated[
    bool, typer.Option("--dry-run", help="Print the plan and the exact JSON body; send nothing")
]
ExpectCurrentOption = Annotated[
    int | None,
    typer.Option(
        "--expect-current",
        help="Refuse (exit 5) unless the current cap is exactly N",
        metavar="N",
        show_default=False,
    ),
]
AgainOption = Annotated[
    bool,
    typer.Option(
        "--again",
        help="Apply a relative change even though an interrupted earlier change of this cap "
        "is in place (without it: asked on a terminal, refused with exit 5 otherwise)",
    ),
]
OutRequestNoOption = Annotated[
    str | None,
    typer.Option(
        "--out-request-no",
        help="Use this request number (6-40 of 0-9A-Za-z_-) instead of a generated one",
        show_default=False,
    ),
]
