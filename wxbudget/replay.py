"""Replays: an out_request_no already in the audit journal names a change made before.

The recorded change is planned again by its absolute target, so a re-run after a crash never
applies a relative target twice, and only if the line is what its own target gives. A re-run
that finds an interrupted write already in place records its outcome.
"""

from __future__ import annotations

from typing import Any

from wxbudget.budget import Change, Target, gives, parse_target
from wxbudget.earlier import settle_interrupted
from wxbudget.errors import LocalCheckError, StaleCurrentError
from wxbudget.i18n import _
from wxbudget.journal import Journal
from wxbudget.models import Stock, UpdateMode


def settle_replay(journal: Journal | None, recorded: dict[str, Any] | None, change: Change) -> None:
    """A re-run that finds an interrupted write already in place records its outcome, so
    `history` stops flagging it."""
    if journal is not None and recorded is not None and change.is_noop:
        settle_interrupted(journal, recorded)


def replayed_target(
    recorded: dict[str, Any],
    stock: Stock,
    mode: UpdateMode,
    target: Target,
    number: str,
    stock_bundle_id: str | None = None,
) -> Target:
    same_change = (
        recorded.get("product_coupon_id") == stock.product_coupon_id
        and recorded.get("stock_bundle_id") == stock_bundle_id
        and (stock_bundle_id is not None or recorded.get("stock_id") == stock.stock_id)
        and recorded.get("update_mode") == mode.value
        and recorded.get("target") == target.text
    )
    if not same_change:
        # WeChat Pay refuses a number re-used with other data (268578927 相同单号但请求数据不一致,
        # wechatpay-api.md 5.4); refused here first, saying what the number was used for.
        raise LocalCheckError(
            _(
                "out_request_no {number} was already used on {time} for "
                "{recorded_subject} {update_mode} {target} "
                "({before} -> {after}); a different change needs a new "
                "number (omit --out-request-no to generate one)",
                number=number,
                time=recorded.get("time"),
                recorded_subject=_recorded_subject(recorded),
                update_mode=recorded.get("update_mode"),
                target=recorded.get("target"),
                before=recorded.get("from"),
                after=recorded.get("to"),
            )
        )
    before, after = recorded.get("from"), recorded.get("to")
    _check_recorded_change(recorded, target, number)
    current = stock.cap(mode)
    if current not in (before, after):
        raise StaleCurrentError(
            _(
                "out_request_no {number} was recorded as {label} {before} -> {after}, but the "
                "stock now has {current}: someone else changed it; nothing was sent",
                number=number,
                label=mode.label,
                before=before,
                after=after,
                current=current,
            )
        )
    return parse_target(str(after))


def _check_recorded_change(recorded: dict[str, Any], target: Target, number: str) -> None:
    """A recorded change is replayed only if it is what its own target gives: a journal line
    whose `to` was edited (or planted) must never become the cap sent."""
    before, after = recorded.get("from"), recorded.get("to")
    if gives(target, before, after):
        return
    raise StaleCurrentError(
        _(
            "out_request_no {number}: the audit journal records {recorded_subject} "
            "{update_mode} {target} as {before!r} -> {after!r}, "
            "but {text} from {before!r} does not give {after!r}: that line is not one "
            "wxbudget wrote, so nothing was sent (check the journal, or use a new "
            "--out-request-no)",
            number=number,
            recorded_subject=_recorded_subject(recorded),
            update_mode=recorded.get("update_mode"),
            target=recorded.get("target"),
            before=before,
            after=after,
            text=target.text,
        )
    )


def _recorded_subject(recorded: dict[str, Any]) -> str:
    if recorded.get("stock_bundle_id"):
        return _("stock bundle {stock_bundle_id}", stock_bundle_id=recorded.get("stock_bundle_id"))
    return _("stock {stock_id}", stock_id=recorded.get("stock_id"))
