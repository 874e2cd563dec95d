"""The domain: parse a target (`20000`, `+500`, `-10%`), guard rails, plan one cap change."""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from wxbudget.errors import LocalCheckError, StaleCurrentError, UsageError
from wxbudget.models import CHANGEABLE_STATES, Stock, UpdateMode

MIN_CAP = 1
MAX_CAP = 100_000_000
OUT_REQUEST_NO_PATTERN = re.compile(r"[0-9A-Za-z_-]{6,40}")

_ABSOLUTE = re.compile(r"\d+")
_DELTA = re.compile(r"[+-]\d+")
_PERCENT = re.compile(r"[+-]\d+(?:\.\d+)?%")
TARGET_HELP = "use an absolute number (20000) or a change (+500, -500, +10%, -10%)"


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
        """The absolute cap this target means, rounded half away from zero."""
        if self.kind == "absolute":
            return int(self.amount)
        if self.kind == "delta":
            return current + int(self.amount)
        value = Decimal(current) * (Decimal(100) + self.amount) / Decimal(100)
        return int(value.to_integral_value(rounding=ROUND_HALF_UP))


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
    cleaned = text.strip().replace(",", "").replace("_", "")
    if sum(char.isdigit() for char in cleaned) > MAX_TARGET_DIGITS:
        shown = text if len(text) <= 24 else text[:20] + "..."
        raise UsageError(
            f"TARGET {shown!r} has too many digits: caps run from {MIN_CAP} to {MAX_CAP}"
        )
    if _ABSOLUTE.fullmatch(cleaned):
        return Target(text, "absolute", Decimal(cleaned))
    if _DELTA.fullmatch(cleaned):
        return Target(text, "delta", Decimal(cleaned))
    if _PERCENT.fullmatch(cleaned):
        return Target(text, "percent", Decimal(cleaned[:-1]))
    raise UsageError(f"TARGET {text!r} is not understood; {TARGET_HELP}")


def check_out_request_no(value: str) -> str:
    if not OUT_REQUEST_NO_PATTERN.fullmatch(value):
        raise UsageError(
            f"--out-request-no {value!r} is invalid: use 6-40 characters of 0-9, A-Z, a-z, _ and -"
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

    @property
    def subject(self) -> str:
        if self.bundle_id is not None:
            return f"stock bundle {self.bundle_id}"
        return f"stock {self.stock.stock_id}"

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
    """Check the stock against every rule WeChat Pay enforces and build the change.

    Raises LocalCheckError (nothing is sent) or StaleCurrentError for --expect-current.
    """
    where = f"stock {stock.stock_id}"
    current = _current(where, stock.cap(mode), mode, expect_current)
    change = Change(
        stock=stock,
        mode=mode,
        current=current,
        target=target.resolve(current),
        out_request_no=out_request_no,
        brand_id=brand_id,
    )
    if change.is_noop:
        # Nothing will be sent, so there is nothing to refuse (an exported plan keeps the caps
        # of stopped or bundled stocks as they are).
        return change
    _check_state(where, stock)
    if stock.bundle_id is not None:
        command = "set-max" if mode is UpdateMode.MAX_COUNT else "set-daily"
        raise LocalCheckError(
            f"{where} belongs to stock bundle {stock.bundle_id}, whose stocks change together: "
            f"wxbudget bundle {command} {stock.product_coupon_id} {stock.bundle_id} {target.text}"
        )
    _check_target(mode, change.target, [stock])
    return change


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
    """The same rules for a stock bundle: every stock must allow the change.

    A bundle's daily cap cannot switch between limited and unlimited (documented for the bundle
    endpoint), and its stocks share one cap, sent as `current_*`.
    """
    where = f"stock bundle {bundle_id}"
    if not stocks:
        raise LocalCheckError(f"{where} has no stocks in this coupon (or does not exist)")
    caps = {stock.cap(mode) for stock in stocks}
    if len(caps) > 1:
        listed = ", ".join(f"{stock.stock_id}: {stock.cap(mode)}" for stock in stocks)
        raise LocalCheckError(f"the stocks of {where} have different {mode.label}s ({listed})")
    current = _current(where, caps.pop(), mode, expect_current)
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
    if change.is_noop:
        return change
    for stock in stocks:
        _check_state(f"{where}: stock {stock.stock_id}", stock)
    _check_target(mode, change.target, stocks)
    return change


def _current(where: str, current: int | None, mode: UpdateMode, expected: int | None) -> int:
    if current is None:
        raise LocalCheckError(
            f"{where} has no daily cap: a daily cap cannot be added after the stock was created"
        )
    if expected is not None and expected != current:
        raise StaleCurrentError(
            f"{where}'s {mode.label} is {current}, not {expected} as --expect-current said; "
            "nothing was sent"
        )
    return current


def _check_state(where: str, stock: Stock) -> None:
    if stock.state not in CHANGEABLE_STATES:
        raise LocalCheckError(
            f"{where} is {stock.state}: only SENDING or PAUSED stocks can change their budget"
        )


def _check_target(mode: UpdateMode, value: int, stocks: list[Stock]) -> None:
    if not MIN_CAP <= value <= MAX_CAP:
        raise LocalCheckError(
            f"target {mode.label} {value} is outside {MIN_CAP}..{MAX_CAP:,}".replace(",", "")
        )
    if mode is UpdateMode.MAX_COUNT:
        sent = max(stock.sent_total for stock in stocks)
        if value < sent:
            raise LocalCheckError(
                f"target total cap {value} is below the {sent} coupons already issued"
            )
    else:
        today = max(stock.sent_today for stock in stocks)
        if value < today:
            raise LocalCheckError(
                f"target daily cap {value} is below the {today} coupons issued today"
            )
