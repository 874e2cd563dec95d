"""The money at stake: the worst case a stock's remaining coupons (or a change of a cap) can cost.

Only a `normal_coupon` has a fixed value, its `discount_amount` in fen (wechatpay-api.md section
3); the worst case is every coupon issued and used: remaining x discount. A percent-off or an
exchange coupon is worth what the order or the product is, so its exposure is "n/a" with that
reason. Amounts are whole fen, shown in yuan; no floating point anywhere.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from wxbudget.i18n import _
from wxbudget.models import EXPIRED_STATES, Stock, UpdateMode

if TYPE_CHECKING:
    from wxbudget.budget import Change

FEN_PER_YUAN = 100

_NO_FIXED_VALUE = {
    "discount_coupon": _("discount_coupon: a percent-off coupon is worth a share of each order"),
    "exchange_coupon": _("exchange_coupon: an exchange coupon is worth its product's price"),
    "sequential_usage_rule": _("sequential_usage_rule: several discounts a coupon, one per use"),
    None: _("no coupon kind in the stock's usage rule"),
    "normal_coupon": _("normal_coupon without a discount_amount in fen"),
}


class Exposure(NamedTuple):
    """An amount of money (fen), or why there is none; `per_day` for a daily cap's change."""

    fen: int | None
    reason: str | None = None
    per_day: bool = False

    @property
    def known(self) -> bool:
        return self.fen is not None

    def text(self, *, signed: bool = False) -> str:
        """¥1,234.50 (or +¥1,234.50 / -¥1,234.50 with `signed`; "/day" per day), or n/a."""
        if self.fen is None:
            return _("n/a")
        sign = ("+" if self.fen >= 0 else "-") if signed else ("-" if self.fen < 0 else "")
        shown = f"{sign}{yuan(abs(self.fen))}"
        return _("{amount}/day", amount=shown) if self.per_day else shown

    def explained(self, *, signed: bool = False) -> str:
        """The amount, or `n/a (why)`."""
        return self.text(signed=signed) if self.known else _("n/a ({reason})", reason=self.reason)

    def yuan_text(self) -> str | None:
        """The amount in yuan for JSON, as an exact decimal string ("-1234.50")."""
        if self.fen is None:
            return None
        sign = "-" if self.fen < 0 else ""
        whole, cents = divmod(abs(self.fen), FEN_PER_YUAN)
        return f"{sign}{whole}.{cents:02d}"


def yuan(fen: int) -> str:
    whole, cents = divmod(fen, FEN_PER_YUAN)
    return f"¥{whole:,}.{cents:02d}"


def why_not(stock: Stock) -> str | None:
    """Why a stock has no fixed amount at stake; None when it has one."""
    if stock.discount_fen is not None and stock.coupon_kind == "normal_coupon":
        return None
    return _NO_FIXED_VALUE.get(stock.coupon_kind, _NO_FIXED_VALUE[None])


def at_stake(stock: Stock) -> Exposure:
    """What the coupons a stock can still issue would cost if all were used (nothing, once it
    has ended: a STOPPED or DEACTIVATED stock issues no more)."""
    if stock.state in EXPIRED_STATES:
        return Exposure(0)
    reason = why_not(stock)
    if reason is not None or stock.discount_fen is None:
        return Exposure(None, reason)
    return Exposure(stock.remaining_total * stock.discount_fen)


def of_change(change: Change) -> Exposure:
    """How a change moves the money at stake: each stock's delta x its discount, summed over a
    bundle's stocks; per day for a daily cap. n/a when a stock has no fixed value, or when a
    daily cap is set on a stock that had none (from unlimited, there is no delta)."""
    per_day = change.mode is UpdateMode.MAX_COUNT_PER_DAY
    total = 0
    for stock in change.bundle_stocks or (change.stock,):
        reason = why_not(stock)
        if reason is not None or stock.discount_fen is None:
            return Exposure(
                None,
                _("stock {stock_id}: {reason}", stock_id=stock.stock_id, reason=reason),
                per_day,
            )
        cap = stock.cap(change.mode)
        if cap is None:
            return Exposure(None, _("the stock has no daily cap to change from"), per_day)
        total += (change.target - cap) * stock.discount_fen
    return Exposure(total, per_day=per_day)
