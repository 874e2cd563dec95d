"""After a write command: the summary the team is told (`notify_url`, `--notify URL`).

Only commands that sent a write notify (a dry run, a refusal before sending, a cancelled prompt
send nothing, so they say nothing). A failed notification is one warning line on stderr: the
exit code and the audit journal are already decided and stay as they are.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from wxbudget.i18n import _

if TYPE_CHECKING:
    from collections.abc import Callable

    from wxbudget.batch import Step
    from wxbudget.budget import Change
    from wxbudget.notify import Line, Summary
    from wxbudget.operations import Outcome
    from wxbudget.settings import Settings


def check_flag(url: str | None) -> None:
    """`--notify URL` checked before anything is read or sent (exit 2)."""
    if url is None:
        return
    from wxbudget.errors import ConfigError, UsageError
    from wxbudget.settings import check_notify_url

    try:
        check_notify_url(url, "--notify", _("the command line"))
    except ConfigError as error:
        raise UsageError(error.message) from None
    from urllib.parse import urlsplit

    if urlsplit(url).query:
        # A WeCom robot's key is its URL's query: on a command line, `ps` shows it to everyone.
        from wxbudget import render

        render.notice(
            _(
                "warning: --notify's URL holds a key that other users of this machine can read "
                "in the process list; keep it in the profile's notify_url (a 0600 file) instead"
            )
        )


def target(flag: str | None, settings: Settings) -> str | None:
    """The flag wins over the profile's notify_url."""
    return flag if flag is not None else settings.notify_url


def around_write(
    url: str | None,
    settings: Settings,
    change: Change,
    write: Callable[[], Outcome | None],
    *,
    command: str | None = None,
) -> None:
    """Run the write, then tell how it ended (an error is told, then raised on unchanged)."""
    from wxbudget.interrupts import Interrupted

    try:
        outcome = write()
    except BaseException as failure:
        # A second signal means "stop at once": no time for a courtesy.
        if not (isinstance(failure, Interrupted) and failure.forced):
            after_change(url, settings, change, outcome=None, failure=failure, command=command)
        raise
    after_change(url, settings, change, outcome=outcome, failure=None, command=command)


def after_change(
    url: str | None,
    settings: Settings,
    change: Change,
    *,
    outcome: Outcome | None,
    failure: BaseException | None,
    command: str | None = None,
) -> None:
    """One change (a stock or a bundle): applied, or how it ended otherwise."""
    if url is None:
        return
    from wxbudget import exposure
    from wxbudget.models import UpdateMode

    if command is None:
        verb = "set-max" if change.mode is UpdateMode.MAX_COUNT else "set-daily"
        command = f"bundle {verb}" if change.bundle_id else verb

    if outcome is not None and failure is None:
        result, code, note = "applied", 0, None
        after = outcome.stock.cap(change.mode)
    else:
        result, code, note = _failure(failure)
        after = change.target
    money = exposure.of_change(change)
    stake = _("at stake {amount}", amount=money.explained(signed=True))
    line = _line(change, result, after, note or stake)
    at_stake = money.text(signed=True) if result == "applied" and money.known else None
    _deliver(url, _summary(settings, command, result, code, (line,), at_stake=at_stake))


def around_report(
    url: str | None,
    settings: Settings,
    command: str,
    steps: list[Step],
    report: Callable[[], None],
) -> None:
    """Report how a batch that sent writes ended (its exit code decided), then tell the team."""
    from wxbudget.errors import WxBudgetError

    try:
        report()
    except (typer.Exit, WxBudgetError) as ended:
        after_batch(url, settings, command, steps, int(ended.exit_code))
        raise
    after_batch(url, settings, command, steps, 0)


def after_batch(
    url: str | None, settings: Settings, command: str, steps: list[Step], exit_code: int
) -> None:
    """A batch: how many steps ended which way, the ones that did not apply named first."""
    if url is None:
        return
    from collections import Counter

    from wxbudget import exposure

    found = Counter(step.status for step in steps)
    # The order of a batch summary: what happened, then what did not.
    counts = {
        status: found[status]
        for status in sorted(found, key=lambda status: _STATUS_ORDER.get(status, 9))
    }
    notable = [s for s in steps if s.status in ("failed", "refused", "not-started")]
    applied = [s for s in steps if s.status == "applied"]
    lines = tuple(_step_line(step) for step in notable + applied)
    money = [exposure.of_change(s.change) for s in applied if s.change is not None]
    known = [m for m in money if m.fen is not None]
    at_stake = None
    if known:
        total = exposure.Exposure(sum(m.fen or 0 for m in known))
        at_stake = total.text(signed=True)
        if any(m.per_day for m in known):
            at_stake = _("{amount} (daily caps per day)", amount=at_stake)
    if exit_code == 0:
        result = "applied"
    elif applied:
        result = "partly applied"
    else:
        result = "interrupted" if exit_code >= 128 else "failed"
    summary = _summary(
        settings,
        command,
        result,
        exit_code,
        lines,
        counts=counts,
        at_stake=at_stake,
    )
    _deliver(url, summary)


_STATUS_ORDER = {
    "applied": 0,
    "done": 1,
    "noop": 2,
    "failed": 3,
    "refused": 4,
    "not-started": 5,
    "change": 6,
    "pending": 7,
}


def _failure(error: BaseException | None) -> tuple[str, int, str | None]:
    from wxbudget.errors import WxBudgetError
    from wxbudget.interrupts import Interrupted

    if isinstance(error, WxBudgetError):
        return "failed", int(error.exit_code), error.line()
    if isinstance(error, Interrupted):
        return "interrupted", error.exit_code, _("interrupted by {signal}", signal=str(error))
    code = getattr(error, "exit_code", 1)
    return ("interrupted" if code >= 128 else "failed"), code, None


def _line(change: Change, result: str, after: int | None, note: str | None) -> Line:
    from wxbudget.notify import Line

    stock = change.stock
    ids = {
        "product_coupon_id": stock.product_coupon_id,
        "stock_id": None if change.bundle_id else stock.stock_id,
        "stock_bundle_id": change.bundle_id,
        "update_mode": change.mode.value,
        "out_request_no": change.out_request_no,
    }
    subject = _(
        "{subject} of coupon {product_coupon_id}",
        subject=change.subject,
        product_coupon_id=stock.product_coupon_id,
    )
    before = stock.cap(change.mode)
    return Line(subject, change.mode.label, before, after, result, note, ids)


def _step_line(step: Step) -> Line:
    from wxbudget.notify import Line

    if step.change is not None:
        return _line(step.change, step.status, step.to, step.reason)
    row = step.row
    ids = {
        "product_coupon_id": row.product_coupon_id,
        "stock_id": row.stock_id or None,
        "stock_bundle_id": row.stock_bundle_id,
        "update_mode": step.mode.value,
        "out_request_no": step.out_request_no,
    }
    subject = _(
        "{subject} of coupon {product_coupon_id}",
        subject=row.subject,
        product_coupon_id=row.product_coupon_id,
    )
    return Line(subject, step.mode.label, step.current, step.to, step.status, step.reason, ids)


def _summary(
    settings: Settings,
    command: str,
    result: str,
    code: int,
    lines: tuple[Line, ...],
    *,
    counts: dict[str, int] | None = None,
    at_stake: str | None = None,
) -> Summary:
    import os

    from wxbudget.earlier import host_of
    from wxbudget.journal import actor, ci_job
    from wxbudget.notify import Summary

    return Summary(
        command=command,
        result=result,
        exit_code=code,
        actor=actor(),
        profile=settings.profile,
        host=host_of(settings),
        lines=lines,
        counts=counts or {},
        ci_job=ci_job(os.environ),
        at_stake=at_stake,
    )


def _deliver(url: str, summary: Summary) -> None:
    from wxbudget import notify, render

    reason = notify.send(url, summary)
    if reason is not None:
        render.notice(
            _(
                "warning: the notification to {shown_url} failed ({reason}); the "
                "exit code and the audit journal are as they would be without it",
                shown_url=notify.shown_url(url),
                reason=reason,
            )
        )
