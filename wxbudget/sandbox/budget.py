"""update-budget of a stock or a stock bundle: the body's rules, then the business rules.

All pure functions.

Where the docs are silent the sandbox is strict on purpose, so a client that passes here does
not meet a surprise in production: every unknown body field is refused, and a daily target
below today's sent count is refused like a total target below the total sent count.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from typing import Any

from wxbudget.sandbox.replies import (
    MESSAGE_BELOW_SENT,
    MESSAGE_BELOW_TODAY,
    MESSAGE_BUNDLE_DAILY_UNLIMITED,
    MESSAGE_BUNDLE_STATE,
    MESSAGE_DAILY_UNLIMITED,
    MESSAGE_STALE_CURRENT,
    MESSAGE_STOCK_AUDITING,
    MESSAGE_STOCK_DEACTIVATED,
    MESSAGE_STOCK_IN_BUNDLE,
    MESSAGE_STOCK_STOPPED,
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
    invalid_request,
    out_of_range,
    param_error,
)
from wxbudget.sandbox.store import USAGE_PROGRESSIVE_BUNDLE

MODE_MAX_COUNT = "MAX_COUNT"
MODE_MAX_COUNT_PER_DAY = "MAX_COUNT_PER_DAY"
TARGET_MIN = 1
TARGET_MAX = 100_000_000
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

_BUNDLE_STATES = frozenset({"SENDING", "PAUSED"})
_BLOCKED_STATES = {
    "STOPPED": (MESSAGE_STOCK_STOPPED, SUB_CODE_STOCK_STOPPED),
    "DEACTIVATED": (MESSAGE_STOCK_DEACTIVATED, SUB_CODE_STOCK_DEACTIVATED),
    "AUDITING": (MESSAGE_STOCK_AUDITING, SUB_CODE_STOCK_AUDITING),
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


def parse_change(body: JsonObject, *, brand_api: bool = False) -> BudgetChange:
    """Apply the field rules of the official page, in the order a reader meets them."""
    known = BRAND_BODY_FIELDS if brand_api else BODY_FIELDS
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
    if not TARGET_MIN <= target <= TARGET_MAX:
        raise out_of_range(
            f"/{target_name}", target, f"{target_name} 取值范围为{TARGET_MIN}-{TARGET_MAX}"
        )
    return BudgetChange(
        out_request_no=out_request_no,
        update_mode=update_mode,
        current=values[current_name],
        target=target,
        brand_id=brand_id,
    )


def apply_change(stock: JsonObject, change: BudgetChange, *, usage_mode: str) -> JsonObject:
    """The stock with its new cap, or INVALID_REQUEST naming the business rule it breaks."""
    blocked = _BLOCKED_STATES.get(stock["state"])
    if blocked is not None:
        raise invalid_request(*blocked)
    if usage_mode == USAGE_PROGRESSIVE_BUNDLE or stock.get("stock_bundle_info") is not None:
        raise invalid_request(MESSAGE_STOCK_IN_BUNDLE, SUB_CODE_STOCK_IN_BUNDLE)
    send_rule = stock["stock_send_rule"]
    current = send_rule.get(change.rule_field)
    # An unlimited daily cap has no current value to compare, so this rule must come first.
    if change.update_mode == MODE_MAX_COUNT_PER_DAY and current is None:
        raise invalid_request(MESSAGE_DAILY_UNLIMITED, SUB_CODE_DAILY_UNLIMITED)
    if change.current != current:
        raise invalid_request(MESSAGE_STALE_CURRENT, SUB_CODE_STALE_CURRENT)
    sent = stock["sent_count_info"]
    if change.update_mode == MODE_MAX_COUNT and change.target < sent["total_count"]:
        raise invalid_request(MESSAGE_BELOW_SENT, SUB_CODE_BELOW_SENT)
    if change.update_mode == MODE_MAX_COUNT_PER_DAY and change.target < sent["today_count"]:
        raise invalid_request(MESSAGE_BELOW_TODAY, SUB_CODE_BELOW_TODAY)
    updated = copy.deepcopy(stock)
    updated["stock_send_rule"][change.rule_field] = change.target
    return updated


def apply_bundle_change(stocks: list[JsonObject], change: BudgetChange) -> list[JsonObject]:
    """Every stock of a bundle with its new cap, or the first rule one of them breaks.

    All or nothing: the rules are checked on every stock before any is changed.
    """
    for stock in stocks:
        if stock["state"] not in _BUNDLE_STATES:
            _, sub_code = _BLOCKED_STATES.get(stock["state"], (None, SUB_CODE_PARAM))
            raise invalid_request(
                MESSAGE_BUNDLE_STATE.format(stock_id=stock["stock_id"], state=stock["state"]),
                sub_code,
            )
    caps = [stock["stock_send_rule"].get(change.rule_field) for stock in stocks]
    if change.update_mode == MODE_MAX_COUNT_PER_DAY and None in caps:
        raise invalid_request(MESSAGE_BUNDLE_DAILY_UNLIMITED, SUB_CODE_DAILY_UNLIMITED)
    if any(change.current != cap for cap in caps):
        raise invalid_request(MESSAGE_STALE_CURRENT, SUB_CODE_STALE_CURRENT)
    sent_field = "total_count" if change.update_mode == MODE_MAX_COUNT else "today_count"
    if any(change.target < stock["sent_count_info"][sent_field] for stock in stocks):
        if change.update_mode == MODE_MAX_COUNT:
            raise invalid_request(MESSAGE_BELOW_SENT, SUB_CODE_BELOW_SENT)
        raise invalid_request(MESSAGE_BELOW_TODAY, SUB_CODE_BELOW_TODAY)
    updated = copy.deepcopy(stocks)
    for stock in updated:
        stock["stock_send_rule"][change.rule_field] = change.target
    return updated
