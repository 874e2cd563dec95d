"""The demo data set a fresh sandbox starts with: one stock per situation a user can meet.

The first stock is the official doc's example (修改商品券批次发放预算, doc 4015781561) before
its sample call, so the doc's request works against it verbatim.
"""

from __future__ import annotations

import copy
from typing import Any

from wxbudget.sandbox.replies import JsonObject

DEMO_BRAND_ID = "120344"
DEMO_COUPON_ID = "1000000013"
DEMO_BUNDLE_COUPON_ID = "1000000014"
DEMO_STOCK_BUNDLE_ID = "712315129419284901"

_AVAILABLE_PERIOD: JsonObject = {
    "available_begin_time": "2025-08-01T00:00:00+08:00",
    "available_end_time": "2025-08-31T23:59:59+08:00",
    "available_days": 30,
    "weekly_available_period": {
        "day_list": ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY"],
    },
}

_DOCS_EXAMPLE: JsonObject = {
    "product_coupon_id": DEMO_COUPON_ID,
    "stock_id": "1000000013001",
    "remark": "8月工作日有效批次",
    "coupon_code_mode": "UPLOAD",
    "coupon_code_count_info": {"total_count": 0, "available_count": 0},
    "stock_send_rule": {"max_count": 10000000, "max_count_per_user": 1},
    "single_usage_rule": {"coupon_available_period": _AVAILABLE_PERIOD},
    "usage_rule_display_info": {
        "coupon_usage_method_list": ["OFFLINE", "MINI_PROGRAM", "PAYMENT_CODE"],
        "mini_program_appid": "wx1234567890",
        "mini_program_path": "/pages/index/product",
        "usage_description": "工作日可用",
        "coupon_available_store_info": {
            "description": "所有门店可用,可使用小程序查看门店列表",
            "mini_program_appid": "wx1234567890",
            "mini_program_path": "/pages/index/store-list",
        },
    },
    "coupon_display_info": {
        "code_display_mode": "QRCODE",
        "background_color": "Color010",
        "entrance_mini_program": {
            "appid": "wx1234567890",
            "path": "/pages/index/product",
            "entrance_wording": "欢迎选购",
            "guidance_wording": "获取更多优惠",
        },
        "entrance_official_account": {"appid": "wx1234567890"},
        "entrance_finder": {
            "finder_id": "gh_12345678",
            "finder_video_id": "UDFsdf24df34dD456Hdf34",
            "finder_video_cover_image_url": "https://wxpaylogo.qpic.cn/wxpaylogo/xxxxx/xxx",
        },
    },
    "notify_config": {"notify_appid": "wx4fd12345678"},
    "store_scope": "ALL",
    "sent_count_info": {"total_count": 0, "today_count": 0},
    "state": "SENDING",
    "brand_id": DEMO_BRAND_ID,
}


def _variant(
    stock_id: str,
    *,
    remark: str,
    send_rule: JsonObject,
    sent: tuple[int, int],
    state: str = "SENDING",
    coupon: tuple[str, JsonObject] | None = None,
    **extra: Any,
) -> JsonObject:
    stock = copy.deepcopy(_DOCS_EXAMPLE)
    if coupon is not None:
        # What one coupon is worth (wechatpay-api.md section 3): `show` prints the money at stake.
        stock["single_usage_rule"][coupon[0]] = coupon[1]
    stock["stock_id"] = stock_id
    stock["product_coupon_id"] = stock_id[:10]
    stock["remark"] = remark
    stock["coupon_code_mode"] = "WECHATPAY"
    del stock["coupon_code_count_info"]
    stock["stock_send_rule"] = send_rule
    stock["sent_count_info"] = {"total_count": sent[0], "today_count": sent[1]}
    stock["state"] = state
    # Keep the API's field order: the state-dependent fields come after `state`, brand_id last.
    brand_id = stock.pop("brand_id")
    stock.update(extra)
    stock["brand_id"] = brand_id
    return stock


def _bundle_stock(index: int) -> JsonObject:
    stock = _variant(
        f"{DEMO_BUNDLE_COUPON_ID}00{index + 1}",
        remark=f"多次优惠第{index + 1}张",
        send_rule={"max_count": 30000, "max_count_per_day": 3000, "max_count_per_user": 1},
        sent=(0, 0),
    )
    usage_rule = stock.pop("single_usage_rule")
    usage_rule["normal_coupon"] = {"threshold": 10000, "discount_amount": 1000 * (index + 1)}
    rebuilt: JsonObject = {}
    for key, value in stock.items():
        rebuilt[key] = value
        if key == "stock_send_rule":
            rebuilt["progressive_bundle_usage_rule"] = usage_rule
            rebuilt["stock_bundle_info"] = {
                "stock_bundle_id": DEMO_STOCK_BUNDLE_ID,
                "stock_bundle_index": index,
            }
    return rebuilt


def demo_stocks() -> list[JsonObject]:
    """The stocks a fresh sandbox holds (brand 120344), as API stock objects."""
    return [
        copy.deepcopy(_DOCS_EXAMPLE),
        _variant(
            "1000000013002",
            remark="日限额批次",
            send_rule={"max_count": 50000, "max_count_per_day": 5000, "max_count_per_user": 1},
            sent=(12000, 800),
            coupon=("normal_coupon", {"threshold": 10000, "discount_amount": 500}),
        ),
        _variant(
            "1000000013003",
            remark="已暂停批次",
            send_rule={"max_count": 20000, "max_count_per_day": 2000, "max_count_per_user": 1},
            sent=(3000, 0),
            state="PAUSED",
            coupon=("discount_coupon", {"threshold": 10000, "percent_off": 20}),
        ),
        _variant(
            "1000000013004",
            remark="已过期批次",
            send_rule={"max_count": 10000, "max_count_per_day": 1000, "max_count_per_user": 1},
            sent=(6500, 0),
            state="STOPPED",
        ),
        _variant(
            "1000000013005",
            remark="已失效批次",
            send_rule={"max_count": 10000, "max_count_per_day": 1000, "max_count_per_user": 1},
            sent=(1200, 0),
            state="DEACTIVATED",
            deactivate_request_no="deactivate_34657_20250815_000001",
            deactivate_time="2025-08-15T10:00:00+08:00",
            deactivate_reason="活动提前结束",
        ),
        _variant(
            "1000000013006",
            remark="审批中批次",
            send_rule={"max_count": 10000, "max_count_per_day": 1000, "max_count_per_user": 1},
            sent=(0, 0),
            state="AUDITING",
            coupon=("exchange_coupon", {"threshold": 10000, "exchange_price": 100}),
        ),
        _variant(
            "1000000013007",
            remark="即将发完批次",
            send_rule={"max_count": 10000, "max_count_per_day": 1000, "max_count_per_user": 1},
            sent=(9990, 995),
            coupon=("normal_coupon", {"threshold": 5000, "discount_amount": 1000}),
        ),
        *(_bundle_stock(index) for index in range(3)),
    ]
