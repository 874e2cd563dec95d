"""update-budget of a stock or a stock bundle: the body's rules, then the business rules.

All pure functions, each taking `strict`. Both modes enforce what the official update-budget and
bundle pages state. Where the pages are silent, the default (lenient) mode accepts what the
official samples send and what the pages do not forbid; strict mode holds the strictest
plausible reading (README "The sandbox" lists every such point with both readings):

- the other mode's fields ("其他模式下不应填写"): ignored / PARAM_ERROR;
- unknown body fields: ignored / PARAM_ERROR;
- a target outside 1..100000000 (the create-stock limits): accepted / PARAM_ERROR;
- AUDITING stocks: changed / refused;
- a daily cap on a single stock created without one: added / refused;
- a daily target below today's issued count: accepted / refused;
- a bundle whose stocks have different caps: `current_*` must equal one of them / all of them.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from typing import Any

from wxbudget.sandbox.replies import (
    ISSUE_BELOW_SENT,
    ISSUE_BELOW_TODAY,
    ISSUE_BUNDLE_DAILY_UNLIMITED,
    ISSUE_BUNDLE_STATE,
    ISSUE_DAILY_UNLIMITED,
    ISSUE_STALE_CURRENT,
    ISSUE_STOCK_AUDITING,
    ISSUE_STOCK_DEACTIVATED,
    ISSUE_STOCK_IN_BUNDLE,
    MESSAGE_BUSINESS_RULE,
    MESSAGE_EXPIRED,
    SUB_CODE_BELOW_SENT,
    SUB_CODE_BELOW_TODAY,
    SUB_CODE_DAILY_UNLIMITED,
    SUB_CODE_PARAM,
    SUB_CODE_STALE_CURRENT,
    SUB_CODE_STOCK_AUDITING,
    SUB_CODE_STOCK_DEACTIVATED,
    SUB_CODE_STOCK_IN_BUNDLE,
    SUB_CODE_STOCK_STOPPED,
    ApiFailure,
    JsonObject,
    business_refusal,
    out_of_range,
    param_error,
)
from wxbudget.sandbox.store import USAGE_PROGRESSIVE_BUNDLE

MODE_MAX_COUNT = "MAX_COUNT"
MODE_MAX_COUNT_PER_DAY = "MAX_COUNT_PER_DAY"
# Strict: the create-stock limits (wechatpay-api.md section 3), never stated for update-budget.
TARGET_MIN = 1
TARGET_MAX = 100_000_000
# Lenient: anything a count can be; beyond a signed 64-bit integer no server could store it.
LENIENT_TARGET_MAX = 2**63 - 1
# The current value of a daily cap the stock never had: there is nothing to read, so a client
# can only send 0 (the lenient sandbox's reading; the strict one refuses adding a cap at all).
NO_DAILY_CAP_CURRENT = 0
OUT_REQUEST_NO = re.compile(r"[0-9A-Za-z_-]{6,40}")

# update_mode -> (its current field, its target field, the stock_send_rule field it changes)
_MODE_FIELDS = {
    MODE_MAX_COUNT: ("current_max_count", "target_max_count", "max_count"),
    MODE_MAX_COUNT_PER_DAY: (
        "current_max_count_per_day",
        "target_max_count_per_day",
        "max_count_per_day",
    ),
}
BODY_FIELDS = frozenset(
    {"out_request_no", "update_mode", "brand_id"}
    | {name for fields in _MODE_FIELDS.values() for name in fields[:2]}
)
# 品牌API: the brand is the signer, so a brand_id in the body is an unknown field.
BRAND_BODY_FIELDS = BODY_FIELDS - {"brand_id"}

# Documented: "批次未失效或过期" (precondition 2), and the table's 已过期的批次不可修改发放预算.
_EXPIRED_STATES = {
    "STOPPED": (MESSAGE_EXPIRED, SUB_CODE_STOCK_STOPPED),
    "DEACTIVATED": (ISSUE_STOCK_DEACTIVATED, SUB_CODE_STOCK_DEACTIVATED),
}


@dataclass(frozen=True)
class BudgetChange:
    out_request_no: str
    update_mode: str
    current: int
    target: int
    brand_id: str | None  # None on the brand API

    @property
    def rule_field(self) -> str:
        return _MODE_FIELDS[self.update_mode][2]

    @property
    def current_field(self) -> str:
        return _MODE_FIELDS[self.update_mode][0]

    @property
    def target_field(self) -> str:
        return _MODE_FIELDS[self.update_mode][1]


def decode_body(raw: bytes) -> JsonObject:
    """The body as a JSON object, or PARAM_ERROR."""
    try:
        decoded: Any = json.loads(raw.decode("utf-8"))
    except RecursionError as error:
        raise ApiFailure(
            400,
            "PARAM_ERROR",
            "请求体不是合法的JSON",
            SUB_CODE_PARAM,
            {"location": "body", "issue": "nested too deeply"},
        ) from error
    except (UnicodeDecodeError, ValueError) as error:
        raise ApiFailure(
            400,
            "PARAM_ERROR",
            "请求体不是合法的JSON",
            SUB_CODE_PARAM,
            {"location": "body", "issue": str(error)},
        ) from error
    if not isinstance(decoded, dict):
        raise ApiFailure(
            400,
            "PARAM_ERROR",
            "请求体必须是JSON对象",
            SUB_CODE_PARAM,
            {"location": "body", "issue": f"expected an object, found {type(decoded).__name__}"},
        )
    return decoded


def parse_change(body: JsonObject, *, brand_api: bool = False, strict: bool) -> BudgetChange:
    """Apply the field rules of the official page, in the order a reader meets them."""
    known = BRAND_BODY_FIELDS if brand_api else BODY_FIELDS
    if strict:
        for name in body:
            if name not in known:
                raise param_error(f"/{name}", body[name], f"请求体中含有未定义的字段 {name}")
    out_request_no = body.get("out_request_no")
    if not isinstance(out_request_no, str) or not OUT_REQUEST_NO.fullmatch(out_request_no):
        raise param_error(
            "/out_request_no",
            out_request_no,
            "out_request_no 必填,只能由数字、大小写字母、下划线_、短横线- 组成,长度6-40个字符",
        )
    update_mode = body.get("update_mode")
    if update_mode not in _MODE_FIELDS:
        raise param_error(
            "/update_mode",
            update_mode,
            "update_mode 必填,取值为 MAX_COUNT 或 MAX_COUNT_PER_DAY",
        )
    current_name, target_name, _ = _MODE_FIELDS[update_mode]
    if strict:
        # "其他模式下不应填写": strict reads "should not" as "must not"; the official PHP sample
        # fills all four fields, which the lenient sandbox accepts (the others are ignored).
        for other_mode, other_fields in _MODE_FIELDS.items():
            if other_mode == update_mode:
                continue
            for name in other_fields[:2]:
                if name in body:
                    raise param_error(
                        f"/{name}", body[name], f"update_mode 为 {update_mode} 时不应填写 {name}"
                    )
    values: dict[str, int] = {}
    for name in (current_name, target_name):
        value = body.get(name)
        if not isinstance(value, int) or isinstance(value, bool):
            raise param_error(
                f"/{name}", value, f"update_mode 为 {update_mode} 时 {name} 必填,且为整数"
            )
        values[name] = value
    brand_id = body.get("brand_id")
    if not brand_api and (not isinstance(brand_id, str) or not brand_id):
        raise param_error("/brand_id", brand_id, "brand_id 必填,且为字符串")
    target = values[target_name]
    low, high = (TARGET_MIN, TARGET_MAX) if strict else (0, LENIENT_TARGET_MAX)
    if not low <= target <= high:
        raise out_of_range(f"/{target_name}", target, f"{target_name} 取值范围为{low}-{high}")
    return BudgetChange(
        out_request_no=out_request_no,
        update_mode=update_mode,
        current=values[current_name],
        target=target,
        brand_id=brand_id if not brand_api else None,
    )


def apply_change(
    stock: JsonObject, change: BudgetChange, *, usage_mode: str, strict: bool
) -> JsonObject:
    """The stock with its new cap, or INVALID_REQUEST for the business rule it breaks."""
    _check_state(stock, strict=strict)
    if usage_mode == USAGE_PROGRESSIVE_BUNDLE or stock.get("stock_bundle_info") is not None:
        # Documented: precondition 3 of the update-budget page.
        raise business_refusal(ISSUE_STOCK_IN_BUNDLE, SUB_CODE_STOCK_IN_BUNDLE, strict=strict)
    current = stock["stock_send_rule"].get(change.rule_field)
    if change.update_mode == MODE_MAX_COUNT_PER_DAY and current is None:
        # Documented for bundles only; strict applies it to single stocks too. It must come
        # first: an unlimited daily cap has no current value to compare.
        if strict:
            raise business_refusal(ISSUE_DAILY_UNLIMITED, SUB_CODE_DAILY_UNLIMITED, strict=True)
        current = NO_DAILY_CAP_CURRENT
    if change.current != current:
        raise _stale(change, current, strict=strict)
    _check_sent(change, [stock], strict=strict)
    updated = copy.deepcopy(stock)
    updated["stock_send_rule"][change.rule_field] = change.target
    return updated


def apply_bundle_change(
    stocks: list[JsonObject], change: BudgetChange, *, strict: bool
) -> list[JsonObject]:
    """Every stock of a bundle with its new cap, or the first rule one of them breaks.

    All or nothing: the rules are checked on every stock before any is changed.
    """
    for stock in stocks:
        _check_state(stock, strict=strict, bundled=True)
    caps = [stock["stock_send_rule"].get(change.rule_field) for stock in stocks]
    if change.update_mode == MODE_MAX_COUNT_PER_DAY and None in caps:
        # Documented on the bundle page (doc 4016280642): in both modes.
        raise business_refusal(
            ISSUE_BUNDLE_DAILY_UNLIMITED, SUB_CODE_DAILY_UNLIMITED, strict=strict
        )
    matches = [change.current == cap for cap in caps]
    if not (all(matches) if strict else any(matches)):
        raise _stale(change, caps[0], strict=strict)
    _check_sent(change, stocks, strict=strict)
    updated = copy.deepcopy(stocks)
    for stock in updated:
        stock["stock_send_rule"][change.rule_field] = change.target
    return updated


def _check_state(stock: JsonObject, *, strict: bool, bundled: bool = False) -> None:
    state = stock["state"]
    expired = _EXPIRED_STATES.get(state)
    if expired is not None:
        issue, sub_code = expired
        if bundled:
            issue = ISSUE_BUNDLE_STATE.format(stock_id=stock["stock_id"], state=state)
        # The page's own message for an expired stock; a deactivated one is "失效", for which
        # the table has no message, so it gets the generic one.
        message = MESSAGE_EXPIRED if state == "STOPPED" else MESSAGE_BUSINESS_RULE
        raise business_refusal(issue, sub_code, strict=strict, message=message)
    if state == "AUDITING" and strict:
        # The partner page's precondition is only 批次未失效或过期; one copy of the brand page
        # says SENDING 或 PAUSED, which strict follows.
        issue = ISSUE_STOCK_AUDITING
        if bundled:
            issue = ISSUE_BUNDLE_STATE.format(stock_id=stock["stock_id"], state=state)
        raise business_refusal(issue, SUB_CODE_STOCK_AUDITING, strict=True)


def _stale(change: BudgetChange, current: object, *, strict: bool) -> ApiFailure:
    """A stale current_*: the page has no message of its own for it, so the generic one."""
    return business_refusal(
        ISSUE_STALE_CURRENT.format(field=change.current_field, current=current),
        SUB_CODE_STALE_CURRENT,
        strict=strict,
        field=f"/{change.current_field}",
        value=change.current,
    )


def _check_sent(change: BudgetChange, stocks: list[JsonObject], *, strict: bool) -> None:
    if change.update_mode == MODE_MAX_COUNT:
        # Documented: "不得小于当前已发放总次数".
        if any(change.target < stock["sent_count_info"]["total_count"] for stock in stocks):
            raise business_refusal(
                ISSUE_BELOW_SENT,
                SUB_CODE_BELOW_SENT,
                strict=strict,
                field=f"/{change.target_field}",
                value=change.target,
            )
        return
    # The page states no lower bound for the daily target; strict reads one in anyway.
    if strict and any(change.target < stock["sent_count_info"]["today_count"] for stock in stocks):
        raise business_refusal(ISSUE_BELOW_TODAY, SUB_CODE_BELOW_TODAY, strict=True)
