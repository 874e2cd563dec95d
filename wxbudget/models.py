"""Frozen views of the API's objects; counts are ints, and `raw` keeps the object as received."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from wxbudget.errors import VerificationError
from wxbudget.i18n import _
from wxbudget.ids import is_id

# [OFF-UB] 前置条件 "批次未失效或过期": STOPPED (已停止, 已到达结束时间) and DEACTIVATED (已失效).
EXPIRED_STATES = frozenset({"STOPPED", "DEACTIVATED"})
# A state as people read it: the code (what --state takes, what JSON says) and, in Chinese,
# the name the merchant platform and the list-stocks enum give it (wechatpay-api.md 3).
STATE_NAMES = {
    "AUDITING": _("AUDITING"),
    "SENDING": _("SENDING"),
    "PAUSED": _("PAUSED"),
    "STOPPED": _("STOPPED"),
    "DEACTIVATED": _("DEACTIVATED"),
    "EFFECTIVE": _("EFFECTIVE"),
}


def state_name(state: str) -> str:
    """A state code shown to a person (its str is the code itself, in every language)."""
    return STATE_NAMES.get(state, state)


class UpdateMode(StrEnum):
    """`update_mode` of update-budget: one cap per call."""

    MAX_COUNT = "MAX_COUNT"
    MAX_COUNT_PER_DAY = "MAX_COUNT_PER_DAY"

    @property
    def current_field(self) -> str:
        return "current_max_count" if self is UpdateMode.MAX_COUNT else "current_max_count_per_day"

    @property
    def target_field(self) -> str:
        return "target_max_count" if self is UpdateMode.MAX_COUNT else "target_max_count_per_day"

    @property
    def label(self) -> str:
        return _("total cap") if self is UpdateMode.MAX_COUNT else _("daily cap")


@dataclass(frozen=True, slots=True)
class Stock:
    """One stock (批次) of a product coupon, as the stock endpoints return it."""

    product_coupon_id: str
    stock_id: str
    state: str
    max_count: int
    max_count_per_day: int | None
    max_count_per_user: int | None
    sent_total: int
    sent_today: int
    coupon_code_mode: str | None
    brand_id: str | None
    bundle_id: str | None
    raw: dict[str, Any] = field(repr=False, compare=False)
    bundle_index: int = 0  # the stock's place in its bundle (stock_bundle_index)
    # What one coupon of the stock is: `normal_coupon`, `discount_coupon`, `exchange_coupon`,
    # `sequential_usage_rule` (legacy) or None when the object names no kind; and, for a
    # normal_coupon, its discount_amount in fen (None when that is not a whole number).
    coupon_kind: str | None = None
    discount_fen: int | None = None

    @classmethod
    def from_api(cls, data: Any, *, keep_raw: bool = True) -> Stock:
        """Build from a decoded (and verified) response body; a malformed one is not believed.

        `keep_raw=False` drops the full object (batches of thousands only need the counts).
        """
        try:
            if not isinstance(data, dict):
                raise TypeError("not a JSON object")
            rule = data["stock_send_rule"]
            sent = data["sent_count_info"]
            bundle = data.get("stock_bundle_info")
            return cls(
                product_coupon_id=_id(data["product_coupon_id"]),
                stock_id=_id(data["stock_id"]),
                state=_text(data["state"]),
                max_count=_count(rule["max_count"]),
                max_count_per_day=_optional_count(rule.get("max_count_per_day")),
                max_count_per_user=_optional_count(rule.get("max_count_per_user")),
                sent_total=_count(sent["total_count"]),
                sent_today=_count(sent["today_count"]),
                coupon_code_mode=data.get("coupon_code_mode"),
                brand_id=_optional_id(data.get("brand_id")),
                bundle_id=_id(bundle["stock_bundle_id"]) if isinstance(bundle, dict) else None,
                raw=data if keep_raw else {},
                bundle_index=_bundle_index(bundle),
                **_coupon(data),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise VerificationError(
                _(
                    "the stock object in the response is malformed ({error}); not believed",
                    error=error,
                )
            ) from error

    def cap(self, mode: UpdateMode) -> int | None:
        return self.max_count if mode is UpdateMode.MAX_COUNT else self.max_count_per_day

    @property
    def remaining_total(self) -> int:
        return max(self.max_count - self.sent_total, 0)

    @property
    def remaining_today(self) -> int:
        """What can still be issued today: bounded by the daily cap and by the total left."""
        if self.max_count_per_day is None:
            return self.remaining_total
        return max(min(self.max_count_per_day - self.sent_today, self.remaining_total), 0)


COUPON_KINDS = ("normal_coupon", "discount_coupon", "exchange_coupon")


def _coupon(data: dict[str, Any]) -> dict[str, Any]:
    """The coupon kind and the discount in fen, from the usage rule (wechatpay-api.md section
    3: single_usage_rule, or progressive_bundle_usage_rule in a bundle). Money is shown, never
    acted on, so an odd rule is "not known" here rather than a reason to disbelieve the stock."""
    for name in ("single_usage_rule", "progressive_bundle_usage_rule"):
        rule = data.get(name)
        if not isinstance(rule, dict):
            continue
        for kind in COUPON_KINDS:
            coupon = rule.get(kind)
            if isinstance(coupon, dict):
                amount = coupon.get("discount_amount")
                whole = isinstance(amount, int) and not isinstance(amount, bool) and amount >= 0
                return {"coupon_kind": kind, "discount_fen": amount if whole else None}
    if isinstance(data.get("sequential_usage_rule"), dict):
        return {"coupon_kind": "sequential_usage_rule", "discount_fen": None}
    return {"coupon_kind": None, "discount_fen": None}


def _bundle_index(bundle: Any) -> int:
    index = bundle.get("stock_bundle_index") if isinstance(bundle, dict) else None
    return index if isinstance(index, int) and not isinstance(index, bool) else 0


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {value!r}")
    return value


def _id(value: Any) -> str:
    # Checked like an argument: an id that is not digits could be a formula for `list -o csv`.
    if not is_id(value):
        raise ValueError(f"expected an id of digits, got {value!r}")
    text: str = value
    return text


def _optional_id(value: Any) -> str | None:
    return None if value is None else _id(value)


def _count(value: Any) -> int:
    # JSON booleans are ints in Python; a cap of `true` is not a count.
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected an integer count, got {value!r}")
    return value


def _optional_count(value: Any) -> int | None:
    return None if value is None else _count(value)
