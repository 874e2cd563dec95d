"""What happens before a change is sent: the profile's limits, the confirmation on a terminal
(or --yes), and the question when a relative change would stack on an interrupted one."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import typer

from wxbudget import i18n
from wxbudget.i18n import _

if TYPE_CHECKING:
    from wxbudget.budget import Change
    from wxbudget.client import Client
    from wxbudget.earlier import EarlierChange


def within_limits(client: Client, change: Change, override: bool) -> dict[str, object] | None:
    """The profile's limits: a change beyond them is refused (exit 4) before anything is sent,
    unless `override`; then what the audit journal records of it."""
    from wxbudget import render

    limits = client.settings.limits
    breaches = limits.breaches(change)
    if not breaches:
        return None
    if not override:
        raise limits.refusal(change.subject, breaches)
    render.notice(
        _(
            "warning: beyond the limits of profile '{profile}' ({breaches}): "
            "--override-limits given, recorded in the audit journal",
            profile=limits.profile,
            breaches=i18n.join("; ", breaches),
        )
    )
    return {"limits_overridden": list(breaches)}


def confirm(yes: bool) -> None:
    """Ask once on a terminal; without one, only --yes lets the write go."""
    from wxbudget import render
    from wxbudget.errors import UsageError

    if yes:
        return
    if not sys.stdin.isatty():
        raise UsageError(
            _(
                "refusing to change the budget without confirmation: stdin is not a terminal; "
                "pass --yes (or --dry-run to preview)"
            )
        )
    if not render.confirm(_("Apply this change?")):
        render.notice(_("cancelled: nothing was sent"))
        raise typer.Exit(2)


def confirm_stacking(
    target_text: str, again_flag: bool, change: Change, earlier: EarlierChange, *, relative: bool
) -> None:
    """An interrupted earlier change is in place: a relative change would stack on it."""
    from wxbudget import render
    from wxbudget.errors import StaleCurrentError

    again = _(
        "{target_text} again ({current:,} -> {target:,})",
        target_text=target_text,
        current=change.current,
        target=change.target,
    )
    if not relative or again_flag or sys.stdin.isatty():
        render.notice(earlier.describe())
    if not relative or again_flag:
        return
    if sys.stdin.isatty():
        if render.confirm(_("Apply {again}?", again=again)):
            return
        render.notice(_("cancelled: nothing was sent"))
        raise typer.Exit(2)
    raise StaleCurrentError(
        _(
            "{earlier}; refusing to apply {again} on top of it without a terminal to "
            "ask: pass --again to apply another one, or give an absolute target; nothing was sent",
            earlier=earlier.describe(),
            again=again,
        )
    )
