"""`set-max` and `set-daily` (and their bundle twins): one cap, read-modify-write.

The write path: plan against the verified stock, settle an interrupted earlier change of the same
cap, confirm, send, and say how it ended, a SIGINT or SIGTERM during the write included.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from typing import TYPE_CHECKING

import typer

from wxbudget.cli import before_write
from wxbudget.cli.options import GlobalOptions, with_global_options
from wxbudget.cli.stock import BundleId, ProductCouponId, StockId, open_client, print_stocks
from wxbudget.cli.write_options import (
    AgainOption,
    DryRunOption,
    ExpectCurrentOption,
    NotifyOption,
    OutRequestNoOption,
    OverrideLimitsOption,
    TargetArgument,
    YesOption,
)
from wxbudget.i18n import _

if TYPE_CHECKING:
    from wxbudget.budget import Change
    from wxbudget.client import Client
    from wxbudget.errors import WxBudgetError
    from wxbudget.journal import Journal
    from wxbudget.models import UpdateMode
    from wxbudget.operations import Outcome

# Resolved by with_global_options from this module's names.
__all__ = ["BundleId", "ProductCouponId", "StockId", "change_command", "set_daily", "set_max"]


def change_command(mode_name: str, doc: str, *, bundle: bool = False) -> Callable[..., None]:
    """set-max and set-daily (and their bundle twins) share every parameter; only the cap
    (update_mode) and what it applies to differ."""

    def command(
        product_coupon_id: ProductCouponId,
        stock_id: StockId,
        target: TargetArgument,
        yes: YesOption = False,
        dry_run: DryRunOption = False,
        expect_current: ExpectCurrentOption = None,
        out_request_no: OutRequestNoOption = None,
        again: AgainOption = False,
        override_limits: OverrideLimitsOption = False,
        notify: NotifyOption = None,
        *,
        options: GlobalOptions,
    ) -> None:
        from wxbudget.models import UpdateMode

        request = ChangeRequest(
            mode=UpdateMode(mode_name),
            product_coupon_id=product_coupon_id,
            stock_id=stock_id,
            target_text=target,
            yes=yes,
            dry_run=dry_run,
            expect_current=expect_current,
            out_request_no=out_request_no,
            bundle=bundle,
            again=again,
            override_limits=override_limits,
            notify=notify,
        )
        _change(options, request)

    if bundle:
        command.__annotations__["stock_id"] = "BundleId"  # resolved by with_global_options
    command.__doc__ = doc
    command.__name__ = mode_name.lower()
    return with_global_options(command)


set_max = change_command(
    "MAX_COUNT",
    """Set a stock's total issuing cap (MAX_COUNT).

    Examples:

      wxbudget set-max 1000000013 1000000013001 20000

      wxbudget set-max 1000000013 1000000013001 +10% --yes -o json

      wxbudget set-max 1000000013 1000000013001 -500 --dry-run
    """,
)

set_daily = change_command(
    "MAX_COUNT_PER_DAY",
    """Set a stock's daily issuing cap (MAX_COUNT_PER_DAY).

    A stock created without a daily cap cannot get one afterwards.

    Examples:

      wxbudget set-daily 1000000013 1000000013002 8000

      wxbudget set-daily 1000000013 1000000013002 -10% --yes
    """,
)


@dataclass(frozen=True)
class ChangeRequest:
    mode: UpdateMode
    product_coupon_id: str
    stock_id: str  # the stock, or the stock bundle when `bundle` is set
    target_text: str
    yes: bool
    dry_run: bool
    expect_current: int | None
    out_request_no: str | None
    bundle: bool = False
    again: bool = False
    override_limits: bool = False
    notify: str | None = None
    # An undo: what its intent records besides the change (the operation it reverts), how
    # notifications and a finishing hint name it, and its check of the planned change.
    extra: dict[str, object] | None = None
    command: str | None = None
    finish: str | None = None
    check: Callable[[Change], None] | None = None


def _change(options: GlobalOptions, request: ChangeRequest) -> None:
    from wxbudget import budget
    from wxbudget.cli import notifying
    from wxbudget.journal import Journal

    notifying.check_flag(request.notify)
    # Everything checkable without the network is checked before the first request.
    budget.parse_target(request.target_text)
    number = (
        budget.check_out_request_no(request.out_request_no)
        if request.out_request_no is not None
        else budget.new_out_request_no()
    )
    request = replace(request, out_request_no=number)
    with open_client(options) as client:
        change_with(options, request, client, Journal(client.settings.audit_log))


def change_with(
    options: GlobalOptions, request: ChangeRequest, client: Client, journal: Journal
) -> None:
    """Plan, preview, confirm and send one change (its out_request_no drawn) with a client."""
    from wxbudget import budget, operations, render
    from wxbudget import earlier as earlier_changes
    from wxbudget.cli import notifying
    from wxbudget.transport import serialize_body

    mode = request.mode
    number = str(request.out_request_no)
    target = budget.parse_target(request.target_text)
    change = operations.plan(
        client,
        request.product_coupon_id,
        request.stock_id,
        mode,
        target,
        out_request_no=number,
        expect_current=request.expect_current,
        journal=journal,
        bundle=request.bundle,
    )
    if request.check is not None:
        request.check(change)
    recorded = journal.find_intent(client.settings.identity, number)
    if recorded is not None:
        render.notice(
            _(
                "out_request_no {number} is recorded ({time}) as {label} "
                "{before} -> {after}: replaying that change",
                number=number,
                time=recorded.get("time"),
                label=mode.label,
                before=recorded.get("from"),
                after=recorded.get("to"),
            )
        )
    earlier = earlier_changes.settle_earlier(
        journal, client.settings, change, record=not request.dry_run
    )
    if change.is_noop:
        if earlier is not None and not request.dry_run:
            earlier_changes.acknowledge(journal, earlier.intent)
        render.notice(
            _(
                "{label} of {subject} is already {current:,}: nothing to do",
                label=mode.label,
                subject=change.subject,
                current=change.current,
            )
        )
        print_stocks(options, change.bundle_stocks or (change.stock,), bundle=change.bundle_id)
        return
    passed = before_write.within_limits(client, change, request.override_limits)
    if request.dry_run:
        render.plan(change)
        if earlier is not None:
            render.notice(_("note: {earlier}", earlier=earlier.describe()))
        render.notice(_("dry run: nothing sent; the request body would be:"))
        render.raw_result(serialize_body(change.body()).decode("utf-8"))
        return
    if earlier is not None:
        before_write.confirm_stacking(
            request.target_text, request.again, change, earlier, relative=target.is_relative
        )
        earlier_changes.acknowledge(journal, earlier.intent)
    render.plan(change)
    before_write.confirm(request.yes)
    url = notifying.target(request.notify, client.settings)
    extra = {**(request.extra or {}), **(passed or {})} or None
    write = partial(_write, options, request, client, journal, change, extra)
    notifying.around_write(url, client.settings, change, write, command=request.command)


def _write(
    options: GlobalOptions,
    request: ChangeRequest,
    client: Client,
    journal: Journal,
    change: Change,
    extra: dict[str, object] | None = None,
) -> Outcome:
    """Send the change. A signal during it lets the write finish and says how it ended."""
    from wxbudget import earlier as earlier_changes
    from wxbudget import operations, render
    from wxbudget.errors import OutputError, WxBudgetError, os_reason
    from wxbudget.interrupts import INTERRUPTS, Interrupted

    mode = change.mode
    identity = client.settings.identity
    finish = _finish_command(options, request, change.out_request_no)
    outcome = None
    with INTERRUPTS.writing():
        render.notice(_("out_request_no {out_request_no}", out_request_no=change.out_request_no))
        try:
            outcome = operations.execute(
                client, journal, change, target_text=request.target_text, extra=extra
            )
            if outcome.warning:
                render.notice(outcome.warning)
            cap = outcome.stock.cap(mode)
            render.notice(
                _(
                    "done: {label} of {subject} is now {number}",
                    label=mode.label,
                    subject=change.subject,
                    number=_number(cap),
                )
            )
            try:
                print_stocks(
                    options,
                    outcome.stocks,
                    bundle=change.bundle_id,
                    changed=mode,
                    before=change.current,
                )
            except OSError as failed:
                # A scheduler may retry a failed run: mark the change so a re-run asks first.
                earlier_changes.record_interruption(
                    journal, identity, change.out_request_no, cause=earlier_changes.OUTPUT_FAILED
                )
                raise OutputError(
                    _(
                        "the change was applied ({now}), but its result could not "
                        "be written to stdout: {reason}",
                        now=_now(outcome, mode),
                        reason=os_reason(failed),
                    )
                ) from failed
        except WxBudgetError as error:
            if not INTERRUPTS.received:
                raise
            render.error(error.line())
            render.notice(_interrupted_failure(error, finish))
            raise typer.Exit(INTERRUPTS.exit_code) from error
        except Interrupted as stopped:
            # The second signal: stopped at once, possibly before the answer came.
            if outcome is None:
                render.notice(
                    _(
                        "stopped at once by a second {signal}: the outcome is unknown; finish it "
                        "with: {finish}",
                        signal=str(stopped),
                        finish=finish,
                    )
                )
            else:
                earlier_changes.record_interruption(journal, identity, change.out_request_no)
                render.notice(
                    _("interrupted: the change was applied, {now}", now=_now(outcome, mode))
                )
            stopped.reported = True
            raise
    if INTERRUPTS.received:
        earlier_changes.record_interruption(journal, identity, change.out_request_no)
        render.notice(_("interrupted: the change was applied, {now}", now=_now(outcome, mode)))
        raise typer.Exit(INTERRUPTS.exit_code)
    return outcome


def _number(value: int | None) -> str:
    return _("unlimited") if value is None else f"{value:,}"


def _now(outcome: Outcome, mode: UpdateMode) -> str:
    return _("{label} now {number}", label=mode.label, number=_number(outcome.stock.cap(mode)))


def _interrupted_failure(error: WxBudgetError, finish: str) -> str:
    from wxbudget.operations import OUTCOME_UNKNOWN, NotAppliedError

    if isinstance(error, NotAppliedError):
        return _(
            "interrupted: the change was not applied; to apply it, run: {finish}", finish=finish
        )
    if not isinstance(error, OUTCOME_UNKNOWN):
        return _("interrupted: the change was not applied (see above)")
    return _("interrupted: the outcome is unknown; finish it with: {finish}", finish=finish)


def _finish_command(options: GlobalOptions, request: ChangeRequest, number: str) -> str:
    """The command that finishes this very change safely: same target, same out_request_no."""
    import shlex

    if request.finish is not None:
        return request.finish
    group = "bundle " if request.bundle else ""
    verb = "set-max" if request.mode.value == "MAX_COUNT" else "set-daily"
    words = ["wxbudget"]
    if options.profile:
        words += ["-p", options.profile]
    if options.config:
        words += ["--config", str(options.config)]
    words += [
        *f"{group}{verb}".split(),
        request.product_coupon_id,
        request.stock_id,
        request.target_text,
        "--out-request-no",
        number,
    ]
    return " ".join(shlex.quote(word) for word in words)
