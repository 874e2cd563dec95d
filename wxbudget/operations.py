"""Read-modify-write of one cap: plan against the stock, journal, send, verify, reconcile.

A change is never lost or doubled: every attempt reuses one out_request_no and body; a write
that ends without a verified answer is settled by re-reading the stock; the audit journal holds
an intent before the first attempt and an outcome after the last.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from wxbudget.budget import (
    Change,
    Target,
    plan_bundle_change,
    plan_change,
)
from wxbudget.client import Client
from wxbudget.earlier import host_of, note_interruption, record_interruption
from wxbudget.errors import (
    ApiError,
    ExitCode,
    NetworkError,
    ProtocolError,
    RejectedError,
    ServerError,
    StaleCurrentError,
    VerificationError,
    WxBudgetError,
)
from wxbudget.i18n import _
from wxbudget.interrupts import Interrupted
from wxbudget.journal import Journal, actor, ci_job, new_operation_id, now_text, process_token
from wxbudget.models import Stock, UpdateMode
from wxbudget.replay import replayed_target, settle_replay
from wxbudget.rereads import INVALID_REQUEST, decide_refusal, fetch_bundle, read_again
from wxbudget.transport import Response, serialize_body

# Failures after which the write may or may not have happened.
OUTCOME_UNKNOWN = (NetworkError, ServerError, VerificationError, ProtocolError)


@dataclass(frozen=True)
class Outcome:
    """A write that is known to have landed; `warning` says why it needed reconciling.

    `stocks` is every stock the write changed: one, or all of a bundle's.
    """

    stocks: tuple[Stock, ...]
    reconciled: bool = False
    warning: str | None = None

    @property
    def stock(self) -> Stock:
        return self.stocks[0]


def plan(
    client: Client,
    product_coupon_id: str,
    stock_id: str,
    mode: UpdateMode,
    target: Target,
    *,
    out_request_no: str,
    expect_current: int | None = None,
    journal: Journal | None = None,
    bundle: bool = False,
) -> Change:
    """Read the stock (or with `bundle`, every stock of bundle `stock_id`), verified, and plan
    the change against its current cap.

    An out_request_no already in the journal is a replay: the recorded change is planned again
    (its absolute target), so a re-run after a crash never applies a relative target twice.
    """
    if bundle:
        stocks = fetch_bundle(client, product_coupon_id, stock_id)
    else:
        stocks = [client.fetch_stock(product_coupon_id, stock_id)]
    bundle_id = stock_id if bundle else None
    recorded = journal.find_intent(client.settings.identity, out_request_no) if journal else None
    if recorded is not None and stocks:
        target = replayed_target(recorded, stocks[0], mode, target, out_request_no, bundle_id)
    brand_id = client.settings.body_brand_id()
    if bundle_id is not None:
        change = plan_bundle_change(
            stocks,
            bundle_id,
            mode,
            target,
            out_request_no=out_request_no,
            brand_id=brand_id,
            expect_current=expect_current,
        )
    else:
        change = plan_change(
            stocks[0],
            mode,
            target,
            out_request_no=out_request_no,
            brand_id=brand_id,
            expect_current=expect_current,
        )
    settle_replay(journal, recorded, change)
    return change


def execute(
    client: Client,
    journal: Journal,
    change: Change,
    *,
    target_text: str,
    retry: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Outcome:
    """Send the planned change once (with retries), journaling intent and outcome.

    `extra` adds to the intent what else the journal must say of this write (the limits it
    was allowed beyond, the operation it undoes).

    Re-sending the change of an interrupted run (same out_request_no, no outcome on record)
    continues that run's operation, so history shows one operation, not a dangling intent.
    """
    settings = client.settings
    earlier = journal.find_intent(settings.identity, change.out_request_no)
    if earlier is not None and not journal.has_outcome(str(earlier.get("operation"))):
        operation = str(earlier["operation"])
    else:
        operation = new_operation_id()
    journal.append(
        {
            "type": "intent",
            "operation": operation,
            "time": now_text(),
            "actor": actor(),
            "process": process_token(),
            "ci_job": ci_job(os.environ),
            "profile": settings.profile,
            "mchid": settings.identity,
            "host": host_of(settings),
            "kind": settings.kind,
            "brand_id": settings.brand_id,
            "product_coupon_id": change.stock.product_coupon_id,
            "stock_id": None if change.bundle_id else change.stock.stock_id,
            "stock_bundle_id": change.bundle_id,
            "update_mode": change.mode.value,
            "target": target_text,
            "from": change.current,
            "to": change.target,
            "out_request_no": change.out_request_no,
            **(extra or {}),
        }
    )
    reconciled = False
    try:
        try:
            stocks = apply(client, change)
        except OUTCOME_UNKNOWN as unknown:
            reconciled = True
            outcome = reconcile(client, change, unknown, retry=retry)
        except (StaleCurrentError, ApiError) as refused:
            # A refusal after an attempt whose answer was lost may be that attempt's own doing
            # (it applied, so current_* is now "stale"): only the stock can tell.
            if client.last_write is None or client.last_write.attempts < 2:
                raise
            reconciled = True
            outcome = reconcile(client, change, refused, retry=retry)
        else:
            write = client.last_write
            if write is not None and write.settled:
                reconciled = True
                outcome = Outcome(
                    tuple(stocks),
                    reconciled=True,
                    warning=_(
                        "{problem}; applied (confirmed by re-reading the stock)",
                        problem=write.lost_answer,
                    ),
                )
            else:
                outcome = Outcome(tuple(stocks))
    except WxBudgetError as error:
        _record_outcome(journal, client, change, operation, error=error, reconciled=reconciled)
        note_interruption(journal, settings.identity, change)
        raise
    except Interrupted as stopped:
        # A second signal stopped the write mid-flight: no outcome, but say what stopped it.
        number = change.out_request_no
        record_interruption(journal, settings.identity, number, forced=stopped.forced)
        raise
    except Exception as bug:
        # Even a bug must not leave the intent without an outcome: the write's fate is unknown.
        internal = WxBudgetError(
            _("internal error ({kind}); the outcome is unknown", kind=type(bug).__name__)
        )
        _record_outcome(journal, client, change, operation, error=internal, reconciled=reconciled)
        raise
    _record_outcome(journal, client, change, operation, error=None, reconciled=outcome.reconciled)
    note_interruption(journal, settings.identity, change)
    return outcome


def _record_outcome(
    journal: Journal,
    client: Client,
    change: Change,
    operation: str,
    *,
    error: WxBudgetError | None,
    reconciled: bool,
) -> None:
    call = client.last_write
    journal.append(
        {
            "type": "outcome",
            "operation": operation,
            "time": now_text(),
            "out_request_no": change.out_request_no,
            "result": "applied" if error is None else _result_name(error),
            "attempts": call.attempts if call else 0,
            "http_status": call.status if call else None,
            "code": call.code if call else None,
            "request_id": call.request_id if call else None,
            "verified": call.verified if call else False,
            "reconciled": reconciled,
            "exit_code": 0 if error is None else int(error.exit_code),
            "message": None if error is None else error.line(),
        }
    )


def _result_name(error: WxBudgetError) -> str:
    if isinstance(error, NotAppliedError):
        return "not_applied"
    if error.exit_code is ExitCode.CONFLICT:
        return "conflict"
    if isinstance(error, OUTCOME_UNKNOWN) or error.exit_code is ExitCode.INTERNAL:
        return "unknown"
    return "rejected"


class NotAppliedError(WxBudgetError):
    """Re-reading the stock after an unanswered write showed the old cap: nothing happened."""

    def __init__(self, message: str, *, exit_code: ExitCode, request_id: str | None) -> None:
        super().__init__(message, request_id=request_id)
        self.exit_code = exit_code


def apply(client: Client, change: Change) -> list[Stock]:
    """POST update-budget with the planned body; return the stock(s) WeChat Pay answered with."""
    body = serialize_body(change.body())
    coupon = change.stock.product_coupon_id

    def settle() -> Response | None:
        """After a lost answer: if the stock already shows the target, that is the answer."""
        now = read_again(client, change)
        if not now or {stock.cap(change.mode) for stock in now} != {change.target}:
            return None
        if change.bundle_id is not None:
            data: Any = {"stock_bundle_id": change.bundle_id, "stock_list": [s.raw for s in now]}
        else:
            data = now[0].raw
        return Response(200, b"", data, None)

    try:
        if change.bundle_id is not None:
            stocks, _response = client.update_bundle_budget(
                coupon, change.bundle_id, body, settle=settle
            )
        else:
            stock, _response = client.update_budget(
                coupon, change.stock.stock_id, body, settle=settle
            )
            stocks = [stock]
    except WxBudgetError as error:
        # Recorded before any re-read below, which is a call of its own.
        client.last_write = client.last_call
        if isinstance(error, RejectedError) and error.code == INVALID_REQUEST:
            raise decide_refusal(client, change, error) from error
        raise
    client.last_write = client.last_call
    return stocks


def reconcile(
    client: Client, change: Change, unknown: WxBudgetError, *, retry: str | None = None
) -> Outcome:
    """Settle a write that ended without a verified answer by reading the stock again.

    `retry` says how to retry it safely where it was sent from (a batch resumes its plan);
    by default, the same command with the same --out-request-no.
    """
    number = change.out_request_no
    where = change.subject
    retry = retry or _("re-run with --out-request-no {number}", number=number)
    try:
        now = read_again(client, change)
    except WxBudgetError as error:
        unknown.message = _(
            "{message}; re-reading {where} failed too ({problem}), so the outcome is unknown: "
            "{retry} to finish it safely",
            message=unknown.message,
            where=where,
            problem=error.message,
            retry=retry,
        )
        raise unknown from error
    found = {stock.cap(change.mode) for stock in now}
    if found == {change.target}:
        return Outcome(
            tuple(now),
            reconciled=True,
            warning=_(
                "{problem}; applied (confirmed by re-reading the stock)", problem=unknown.line()
            ),
        )
    shown = ", ".join(str(value) for value in sorted(found, key=str))
    if found == {change.current}:
        raise NotAppliedError(
            _(
                "{message}; not applied: {where} still has {label} {shown}; {retry} to try again",
                message=unknown.message,
                where=where,
                label=change.mode.label,
                shown=shown,
                retry=retry,
            ),
            exit_code=unknown.exit_code,
            request_id=unknown.request_id,
        ) from unknown
    raise StaleCurrentError(
        _(
            "{message}; {where} now has {label} {shown}, neither the {current} read before nor "
            "the target {target}: someone else changed it",
            message=unknown.message,
            where=where,
            label=change.mode.label,
            shown=shown,
            current=change.current,
            target=change.target,
        ),
        request_id=unknown.request_id,
    ) from unknown
