"""The domain: parse a target (`20000`, `+500`, `-10%`), guard rails, plan one cap change.

The fidelity rule: a guard rail refuses locally (exit 4) only what the official update-budget
page (doc 4015781561, `[OFF-UB]`) or bundle update-budget page (doc 4016280642, `[OFF-BUB]`)
states; each check cites its source. Rules no official page states become warnings: the
request is sent and WeChat Pay decides (README "Exit codes", the exit-4 list).
"""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal

from wxbudget.errors import LocalCheckError, StaleCurrentError, UsageError
from wxbudget.i18n import _
from wxbudget.models import EXPIRED_STATES, Stock, UpdateMode, state_name

# The create-stock limits (wechatpay-api.md section 3); never stated for update-budget, so a
# target outside them is a warning, not a refusal.
MIN_CAP = 1
MAX_CAP = 100_000_000
# What `current_max_count_per_day` carries for a stock created without a daily cap: the page
# gives no value for "unlimited", and the field is required in MAX_COUNT_PER_DAY mode.
NO_DAILY_CAP_CURRENT = 0
OUT_REQUEST_NO_PATTERN = re.compile(r"[0-9A-Za-z_-]{6,40}")

# ASCII digits only (str.isdigit and \d accept other scripts' digits); commas only between
# groups of three; a fraction only in a percentage.
_NUMBER = r"(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)"
_TARGET = re.compile(rf"(?P<sign>[+-]?)(?P<number>{_NUMBER})(?P<fraction>\.[0-9]+)?(?P<percent>%?)")
TARGET_HELP = _(
    "use ASCII digits with an optional leading + or -, an optional %, and commas only "
    "between groups of three digits: 20000, 20,000, +500, -500, +10%, -2.5%"
)


@dataclass(frozen=True)
class Target:
    """A parsed TARGET: absolute, a delta, or a percentage of the current cap."""

    text: str
    kind: str  # "absolute" | "delta" | "percent"
    amount: Decimal

    @property
    def is_relative(self) -> bool:
        return self.kind != "absolute"

    def resolve(self, current: int) -> int:
        """The absolute cap this target means.

        A percentage's *change* is rounded half away from zero (ROUND_HALF_UP on a Decimal),
        so +p% and -p% move the cap by the same amount: on 10,010, +5% and -5% are both 501.
        """
        if self.kind == "absolute":
            return int(self.amount)
        if self.kind == "delta":
            return current + int(self.amount)
        change = Decimal(current) * self.amount / Decimal(100)
        return current + int(change.to_integral_value(rounding=ROUND_HALF_UP))


def gives(target: Target, before: object, after: object) -> bool:
    """Whether a recorded change (read back from a journal) is what `target` makes of its
    recorded `before`: both whole counts, and `after` exactly the target resolved from it."""
    if isinstance(before, bool) or not isinstance(before, int) or before < 0:
        return False
    whole = isinstance(after, int) and not isinstance(after, bool)
    return whole and target.resolve(before) == after


# More digits than any cap could need: refused as input before arithmetic on them.
MAX_TARGET_DIGITS = 12


def parse_target(text: str) -> Target:
    """TARGET as typed or as a plan cell, strictly: `20000`, `20,000`, `+500`, `-10%`, `+2.5%`."""
    digits = sum(char in "0123456789" for char in text)
    if digits > MAX_TARGET_DIGITS:
        shown = text if len(text) <= 24 else text[:20] + "..."
        raise UsageError(
            _(
                "TARGET {shown!r} has too many digits: caps run from {min_cap} to {max_cap}",
                shown=shown,
                min_cap=MIN_CAP,
                max_cap=MAX_CAP,
            )
        )
    match = _TARGET.fullmatch(text)
    if match is None or (match["fraction"] and not match["percent"]):
        raise UsageError(
            _(
                "TARGET {text!r} is not understood; {target_help}",
                text=text,
                target_help=TARGET_HELP,
            )
        )
    sign, percent = match["sign"], match["percent"]
    number = match["number"].replace(",", "") + (match["fraction"] or "")
    if percent and not sign:
        raise UsageError(
            _(
                "TARGET {text!r} is a percentage without a sign: write +{text} or -{text} for a "
                "change relative to the current cap, or an absolute number",
                text=text,
            )
        )
    if percent:
        return Target(text, "percent", Decimal(sign + number))
    if sign:
        return Target(text, "delta", Decimal(sign + number))
    return Target(text, "absolute", Decimal(number))


def check_out_request_no(value: str) -> str:
    if not OUT_REQUEST_NO_PATTERN.fullmatch(value):
        raise UsageError(
            _(
                "--out-request-no {value!r} is invalid: use 6-40 characters of 0-9, A-Z, a-z, _ "
                "and -",
                value=value,
            )
        )
    return value


def new_out_request_no(now: float | None = None) -> str:
    """A fresh, unique out_request_no: sortable by time, 128 bits of randomness."""
    stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime(time.time() if now is None else now))
    return f"wxb-{stamp}-{secrets.token_hex(8)}"


@dataclass(frozen=True)
class Change:
    """One planned update-budget call: which cap, from what, to what."""

    stock: Stock
    mode: UpdateMode
    current: int
    target: int
    out_request_no: str
    brand_id: str | None
    # Set for a stock bundle (批次组): the call goes to the bundle endpoint and changes them all.
    bundle_id: str | None = None
    bundle_stocks: tuple[Stock, ...] = ()
    # Rules no official page states that this change may break: shown, then sent anyway.
    warnings: tuple[str, ...] = ()

    @property
    def subject(self) -> str:
        if self.bundle_id is not None:
            return _("stock bundle {bundle_id}", bundle_id=self.bundle_id)
        return _("stock {stock_id}", stock_id=self.stock.stock_id)

    @property
    def is_noop(self) -> bool:
        return self.current == self.target

    def body(self) -> dict[str, object]:
        """The request body, fields in the documented order; brand_id only in partner mode."""
        body: dict[str, object] = {
            "out_request_no": self.out_request_no,
            "update_mode": self.mode.value,
            self.mode.current_field: self.current,
            self.mode.target_field: self.target,
        }
        if self.brand_id is not None:
            body["brand_id"] = self.brand_id
        return body


def plan_change(
    stock: Stock,
    mode: UpdateMode,
    target: Target,
    *,
    out_request_no: str,
    brand_id: str | None,
    expect_current: int | None = None,
) -> Change:
    """Check the stock against the documented rules and build the change (with warnings for
    the undocumented ones).

    Raises LocalCheckError (nothing is sent) or StaleCurrentError for --expect-current.
    """
    where = _("stock {stock_id}", stock_id=stock.stock_id)
    warnings: list[str] = []
    cap = stock.cap(mode)
    if cap is None:
        # Adding a daily cap is refused by [OFF-BUB] for bundles only; [OFF-UB] is silent.
        warnings.append(
            _(
                "{where} has no daily cap; adding one is documented as impossible only for stock "
                "bundles, so it is sent (current_max_count_per_day {no_daily_cap_current}) and "
                "WeChat Pay decides",
                where=where,
                no_daily_cap_current=NO_DAILY_CAP_CURRENT,
            )
        )
    current = _current(where, cap, mode, expect_current)
    if cap is None and target.is_relative:
        raise UsageError(
            _(
                "{where} has no daily cap for {text!r} to be relative to; give an absolute "
                "daily cap",
                where=where,
                text=target.text,
            )
        )
    change = Change(
        stock=stock,
        mode=mode,
        current=current,
        target=target.resolve(current),
        out_request_no=out_request_no,
        brand_id=brand_id,
    )
    if change.is_noop and cap is not None:
        # Nothing will be sent, so there is nothing to refuse (an exported plan keeps the caps
        # of stopped or bundled stocks as they are).
        return change
    _check_state(where, stock, warnings)
    if stock.bundle_id is not None:
        # [OFF-UB] 前置条件 3: a stock in a bundle changes through the bundle endpoint only.
        command = "set-max" if mode is UpdateMode.MAX_COUNT else "set-daily"
        raise LocalCheckError(
            _(
                "{where} belongs to stock bundle {bundle_id}, whose stocks change together: "
                "wxbudget bundle {command} {product_coupon_id} {bundle_id} {text}",
                where=where,
                bundle_id=stock.bundle_id,
                command=command,
                product_coupon_id=stock.product_coupon_id,
                text=target.text,
            )
        )
    _check_target(mode, change.target, [stock], warnings)
    return replace(change, warnings=tuple(warnings))


def plan_bundle_change(
    stocks: list[Stock],
    bundle_id: str,
    mode: UpdateMode,
    target: Target,
    *,
    out_request_no: str,
    brand_id: str | None,
    expect_current: int | None = None,
) -> Change:
    """The same rules for a stock bundle, on every stock, plus the bundle page's own rule:
    a daily cap cannot switch between limited and unlimited.

    The bundle's stocks share one `current_*`; `stocks` come in bundle order.
    """
    where = _("stock bundle {bundle_id}", bundle_id=bundle_id)
    if not stocks:
        # [OFF-LIST] the stock_bundle_id filter lists a bundle's stocks: none, no such bundle
        # (the bundle endpoint answers 404 未找到 stock_bundle_id 对应的批次组).
        raise LocalCheckError(
            _("{where} has no stocks in this coupon (or does not exist)", where=where)
        )
    warnings: list[str] = []
    caps = [cap for cap in (stock.cap(mode) for stock in stocks) if cap is not None]
    if len(caps) < len(stocks):
        # [OFF-BUB] "如果批次当前未限制每日发放次数(创建时未传入),则无法修改为限制次数".
        unlimited = ", ".join(s.stock_id for s in stocks if s.max_count_per_day is None)
        raise LocalCheckError(
            _(
                "{where} has stocks without a daily cap ({unlimited}): a bundle's daily cap "
                "cannot switch between unlimited and limited (修改商品券批次组发放预算)",
                where=where,
                unlimited=unlimited,
            )
        )
    head = caps[0]
    if len(set(caps)) > 1:
        listed = ", ".join(f"{stock.stock_id}: {stock.cap(mode)}" for stock in stocks)
        # [OFF-BUB] takes one current_* for the whole bundle and says nothing of stocks whose
        # caps differ: send the first stock's and let WeChat Pay decide.
        warnings.append(
            _(
                "the stocks of {where} have different {label}s ({listed}); sending the first "
                "stock's {head} as the current value and WeChat Pay decides",
                where=where,
                label=mode.label,
                listed=listed,
                head=head,
            )
        )
    current = _current(where, head, mode, expect_current)
    change = Change(
        stock=stocks[0],
        mode=mode,
        current=current,
        target=target.resolve(current),
        out_request_no=out_request_no,
        brand_id=brand_id,
        bundle_id=bundle_id,
        bundle_stocks=tuple(stocks),
    )
    if change.is_noop and not warnings:
        return change
    for stock in stocks:
        _check_state(
            _("{where}: stock {stock_id}", where=where, stock_id=stock.stock_id), stock, warnings
        )
    _check_target(mode, change.target, stocks, warnings)
    return replace(change, warnings=tuple(warnings))


def _current(where: str, current: int | None, mode: UpdateMode, expected: int | None) -> int:
    if expected is not None and expected != current:
        shown = "unlimited" if current is None else str(current)
        raise StaleCurrentError(
            _(
                "{where}'s {label} is {shown}, not {expected} as --expect-current said; "
                "nothing was sent",
                where=where,
                label=mode.label,
                shown=shown,
                expected=expected,
            )
        )
    return NO_DAILY_CAP_CURRENT if current is None else current


def _check_state(where: str, stock: Stock, warnings: list[str]) -> None:
    if stock.state in EXPIRED_STATES:
        # [OFF-UB] 前置条件 2 "批次未失效或过期" and its error 已过期的批次不可修改发放预算;
        # [OFF-BUB] "批次组内批次未失效或过期".
        raise LocalCheckError(
            _(
                "{where} is {state}: an expired or deactivated stock cannot change its "
                "budget (批次未失效或过期)",
                where=where,
                state=state_name(stock.state),
            )
        )
    if stock.state == "AUDITING":
        # [OFF-UB] states only 未失效或过期; one copy of the brand page says SENDING 或 PAUSED.
        warnings.append(
            _(
                "{where} is AUDITING; the update-budget page does not say whether such a stock "
                "can change its budget: sent, and WeChat Pay decides",
                where=where,
            )
        )


def _check_target(mode: UpdateMode, value: int, stocks: list[Stock], warnings: list[str]) -> None:
    if mode is UpdateMode.MAX_COUNT:
        sent = max(stock.sent_total for stock in stocks)
        if value < sent:
            # [OFF-UB][OFF-BUB] target_max_count "不得小于当前已发放总次数".
            raise LocalCheckError(
                _(
                    "target total cap {value} is below the {sent} coupons already issued "
                    "(不得小于当前已发放总次数)",
                    value=value,
                    sent=sent,
                )
            )
    elif value < 0:
        # [OFF-UB] target_max_count_per_day is a number of issues (发放次数上限): never negative.
        raise LocalCheckError(
            _("target daily cap {value} is negative: it is a number of coupons", value=value)
        )
    else:
        today = max(stock.sent_today for stock in stocks)
        if value < today:
            # [OFF-UB] states no lower bound for target_max_count_per_day.
            warnings.append(
                _(
                    "target daily cap {value} is below the {today} coupons issued today; the "
                    "update-budget page sets no such limit: sent, and WeChat Pay decides",
                    value=value,
                    today=today,
                )
            )
    if not MIN_CAP <= value <= MAX_CAP:
        warnings.append(
            _(
                "target {label} {value} is outside {min_cap}..{max_cap}, the limits for "
                "creating a stock; the update-budget page states none: sent, and WeChat Pay "
                "decides",
                label=mode.label,
                value=value,
                min_cap=MIN_CAP,
                max_cap=MAX_CAP,
            )
        )
