"""Reading a change's target again: a bundle's stocks, the stock after a write, and the re-read
that tells a conflict from a refusal when update-budget answers INVALID_REQUEST."""

from __future__ import annotations

from wxbudget.budget import NO_DAILY_CAP_CURRENT, Change
from wxbudget.client import Client
from wxbudget.errors import RejectedError, StaleCurrentError, WxBudgetError
from wxbudget.i18n import _
from wxbudget.models import Stock, UpdateMode

INVALID_REQUEST = "INVALID_REQUEST"


def fetch_bundle(
    client: Client, product_coupon_id: str, stock_bundle_id: str, brand_id: str | None = None
) -> list[Stock]:
    """Every stock of a bundle (the list endpoint's stock_bundle_id filter), in bundle order.

    `brand_id` is the partner's brand to ask for (default: the profile's).
    """
    listed = client.list_stocks(
        product_coupon_id,
        brand_id if brand_id is not None else client.settings.body_brand_id(),
        stock_bundle_id=stock_bundle_id,
    )
    # The filter is the server's; a stock of another bundle must never join this plan.
    stocks = [stock for stock in listed if stock.bundle_id == stock_bundle_id]
    return sorted(stocks, key=lambda stock: stock.bundle_index)


def read_again(client: Client, change: Change) -> list[Stock]:
    """The current state of what the change targets: its stock, or every stock of its bundle."""
    coupon = change.stock.product_coupon_id
    if change.bundle_id is not None:
        return fetch_bundle(client, coupon, change.bundle_id)
    return [client.fetch_stock(coupon, change.stock.stock_id)]


def decide_refusal(client: Client, change: Change, error: RejectedError) -> WxBudgetError:
    """After a 400 INVALID_REQUEST, the stock decides: a conflict or a refusal of the request.

    The update-budget page answers a stale `current_*`, a target below the issued count and
    every other business rule with the same 传入参数不符合业务规则, so the message can never
    tell them apart. A cap that moved since it was read means someone else changed it
    (exit 5, with both values, so nobody re-applies a relative change on top); an unchanged one
    means WeChat Pay refused the request itself (exit 4, its message and Request-ID).
    """
    try:
        now = read_again(client, change)
    except WxBudgetError as reread:
        error.message = _(
            "{message}; re-reading {subject} to tell a conflict from a refusal failed too "
            "({problem})",
            message=error.message,
            subject=change.subject,
            problem=reread.message,
        )
        return error
    read = {stock.stock_id: _sent_current(stock, change.mode) for stock in _planned(change)}
    moved = {stock.stock_id: _sent_current(stock, change.mode) for stock in now} != read
    found = ", ".join(sorted({_shown_cap(stock, change.mode) for stock in now}))
    if moved:
        return StaleCurrentError(
            _(
                "the {label} of {subject} changed underneath: read {current}, now {found}; "
                "nothing was applied (WeChat Pay answered {status} {code}: {api_message}); "
                "re-run to plan against the new value",
                label=change.mode.label,
                subject=change.subject,
                current=change.current,
                found=found,
                status=error.status,
                code=error.code,
                api_message=error.api_message,
            ),
            request_id=error.request_id,
        )
    error.message = _(
        "{message}; re-reading {subject} shows its {label} unchanged",
        message=error.message,
        subject=change.subject,
        label=change.mode.label,
    )
    return error


def _planned(change: Change) -> tuple[Stock, ...]:
    return change.bundle_stocks or (change.stock,)


def _sent_current(stock: Stock, mode: UpdateMode) -> int:
    """The value `current_*` carried for this stock's cap (a missing daily cap is sent as 0)."""
    cap = stock.cap(mode)
    return NO_DAILY_CAP_CURRENT if cap is None else cap


def _shown_cap(stock: Stock, mode: UpdateMode) -> str:
    cap = stock.cap(mode)
    return "unlimited" if cap is None else str(cap)
