"""Shared helpers for batch tests: seeded sandboxes and request-log readers."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

BRAND = "120344"


def stock_object(
    coupon: str,
    stock: str,
    *,
    max_count: int = 10_000,
    per_day: int | None = 1_000,
    sent: int = 0,
    state: str = "SENDING",
) -> dict[str, Any]:
    rule: dict[str, int] = {"max_count": max_count, "max_count_per_user": 1}
    if per_day is not None:
        rule["max_count_per_day"] = per_day
    return {
        "product_coupon_id": coupon,
        "stock_id": stock,
        "brand_id": BRAND,
        "coupon_code_mode": "WECHATPAY",
        "stock_send_rule": rule,
        "sent_count_info": {"total_count": sent, "today_count": 0},
        "state": state,
    }


def write_seed(path: Path, counts: dict[str, int]) -> list[tuple[str, str]]:
    """Seed `counts[coupon]` stocks per coupon; returns the (coupon, stock) ids."""
    stocks = [
        stock_object(coupon, f"{coupon}{index:04d}")
        for coupon, count in counts.items()
        for index in range(1, count + 1)
    ]
    path.write_text(json.dumps(stocks))
    return [(s["product_coupon_id"], s["stock_id"]) for s in stocks]


def request_log(home: Path) -> list[dict[str, Any]]:
    path = home / "requests.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def applied_counts(home: Path) -> Counter[str]:
    """How many times each out_request_no changed state (must never exceed 1)."""
    return Counter(
        entry["out_request_no"]
        for entry in request_log(home)
        if entry["method"] == "POST" and entry["applied"]
    )
