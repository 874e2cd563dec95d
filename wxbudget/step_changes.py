"""The change of one planned step: a new one, or what an earlier run of the same plan recorded
(done, refused because the cap moved since, or resumed with its recorded out_request_no)."""

from __future__ import annotations

from typing import Any

from wxbudget.batch import CONFIRMED_EARLIER, Step
from wxbudget.budget import (
    Change,
    Target,
    gives,
    new_out_request_no,
    parse_target,
    plan_bundle_change,
    plan_change,
)
from wxbudget.errors import LocalCheckError
from wxbudget.i18n import _
from wxbudget.models import Stock


def plan_applied_before(step: Step, recorded: dict[str, Any]) -> None:
    """A step an earlier run applied: done, unless the cap moved since (then refuse, loudly)."""
    step.out_request_no = recorded.get("out_request_no")
    step.aimed = _count(recorded.get("to"))
    if step.current == recorded.get("to"):
        step.status, step.reason = "done", _("done in an earlier run")
        return
    step.status = "refused"
    step.reason = _(
        "an earlier run applied {before} -> {after} "
        "({out_request_no}) but the cap is now {current}: it changed since; "
        "write a new plan for a new change",
        before=recorded.get("from"),
        after=recorded.get("to"),
        out_request_no=step.out_request_no,
        current=step.current,
    )


def head(found: Stock | list[Stock]) -> Stock:
    """The stock whose cap a row's change starts from: its own, or its bundle's first."""
    return found[0] if isinstance(found, list) else found


def _change_for(
    step: Step, found: Stock | list[Stock], target: Target, number: str, brand_id: str | None
) -> Change:
    """The change of a stock row, or of a bundle row (one call for all of its stocks)."""
    if isinstance(found, list):
        bundle_id = step.row.stock_bundle_id
        if bundle_id is None:  # only bundle rows are read as a bundle
            raise RuntimeError(f"row {step.row.line} read as a bundle")
        return plan_bundle_change(
            found, bundle_id, step.mode, target, out_request_no=number, brand_id=brand_id
        )
    return plan_change(found, step.mode, target, out_request_no=number, brand_id=brand_id)


def plan_new(step: Step, stock: Stock | list[Stock], brand_id: str | None) -> None:
    try:
        change = _change_for(step, stock, step.target, new_out_request_no(), brand_id)
    except LocalCheckError as error:
        step.status, step.reason = "refused", error.message
        if step.current is not None:
            step.aimed = step.target.resolve(step.current)
        return
    step.change = change
    step.status = "noop" if change.is_noop else "change"
    step.out_request_no = None if change.is_noop else change.out_request_no


def plan_recorded(
    step: Step, stock: Stock | list[Stock], recorded: dict[str, Any], brand_id: str | None
) -> None:
    """An unfinished step of an earlier run: its recorded change, never a new one."""
    before, after = recorded.get("from"), recorded.get("to")
    number = str(recorded.get("out_request_no"))
    step.out_request_no = number
    step.aimed = _count(after)
    if not gives(step.target, before, after):
        # The plan row is the command given: a recorded `to` it does not give from the recorded
        # `from` was not written by wxbudget, and is never sent.
        step.status = "refused"
        step.reason = _(
            "the batch journal records {before!r} -> {after!r} ({number}), but "
            "{text} from {before!r} does not give {after!r}; not sent (check "
            "the journal)",
            before=before,
            after=after,
            number=number,
            text=step.target.text,
        )
        return
    if step.current == after:
        step.status, step.reason = "done", CONFIRMED_EARLIER
        return
    if step.current != before:
        step.status = "refused"
        step.reason = _(
            "an earlier run recorded {before} -> {after} ({number}) but the cap is now "
            "{current}: someone else changed it",
            before=before,
            after=after,
            number=number,
            current=step.current,
        )
        return
    try:
        step.change = _change_for(step, stock, parse_target(str(after)), number, brand_id)
    except LocalCheckError as error:
        step.status = "refused"
        step.reason = _("{message} (unfinished since an earlier run)", message=error.message)
        return
    step.status = "change"
    step.reason = _("resumed with its recorded out_request_no")


def _count(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
