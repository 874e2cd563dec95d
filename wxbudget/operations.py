"""Read-modify-write of one cap: fetch the stock, plan against it, send, verify."""

from __future__ import annotations

from wxbudget.budget import Change, Target, plan_change
from wxbudget.client import Client, serialize_body
from wxbudget.errors import ApiError, ExitCode, StaleCurrentError, VerificationError, WxBudgetError
from wxbudget.models import Stock, UpdateMode


def fetch_stock(client: Client, product_coupon_id: str, stock_id: str) -> Stock:
    brand_id = client.settings.require_brand_id()
    stock, _ = client.get_stock(product_coupon_id, stock_id, brand_id)
    return stock


def plan(
    client: Client,
    product_coupon_id: str,
    stock_id: str,
    mode: UpdateMode,
    target: Target,
    *,
    out_request_no: str,
    expect_current: int | None = None,
) -> Change:
    """GET the stock (verified) and plan the change against its current cap."""
    stock = fetch_stock(client, product_coupon_id, stock_id)
    return plan_change(
        stock,
        mode,
        target,
        out_request_no=out_request_no,
        brand_id=client.settings.require_brand_id(),
        expect_current=expect_current,
    )


def apply(client: Client, change: Change) -> Stock:
    """POST update-budget with the planned body; return the stock WeChat Pay answered with."""
    body = serialize_body(change.body())
    stock_id = change.stock.stock_id
    try:
        stock, _ = client.update_budget(change.stock.product_coupon_id, stock_id, body)
    except ApiError as error:
        if error.exit_code is ExitCode.CONFLICT:
            raise _stale(client, change, error) from error
        raise
    except VerificationError as error:
        raise VerificationError(
            f"{error.message}; the change may or may not have been applied (out_request_no "
            f"{change.out_request_no}): check with 'wxbudget show "
            f"{change.stock.product_coupon_id} {stock_id}'",
            request_id=error.request_id,
        ) from error
    return stock


def _stale(client: Client, change: Change, error: ApiError) -> WxBudgetError:
    """Say what the cap is now, so nobody re-applies a relative change on top of another's."""
    try:
        now = fetch_stock(client, change.stock.product_coupon_id, change.stock.stock_id)
    except WxBudgetError:
        found = "unknown (re-reading the stock failed)"
    else:
        found = str(now.cap(change.mode))
    return StaleCurrentError(
        f"the {change.mode.label} of stock {change.stock.stock_id} changed underneath: read "
        f"{change.current}, now {found}; nothing was applied, re-run to plan against the new value",
        request_id=error.request_id,
    )
