"""Shared helpers for batch tests: seeded sandboxes and request-log readers."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

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


SCRIPT = str(Path(sys.executable).parent / "wxbudget")


def posts_of(home: Path, out_request_no: str | None = None) -> list[dict[str, Any]]:
    """The update-budget requests the sandbox answered, optionally of one out_request_no."""
    return [
        entry
        for entry in request_log(home)
        if entry["method"] == "POST"
        and (out_request_no is None or entry["out_request_no"] == out_request_no)
    ]


def fault_counts(home: Path) -> Counter[str]:
    """Faults the sandbox injected, by kind."""
    return Counter(entry["fault"] for entry in request_log(home) if entry["fault"])


def audit_entries(isolated_home: Path) -> list[dict[str, Any]]:
    """The audit journal at its default place ($XDG_STATE_HOME of the isolated environment)."""
    path = isolated_home / ".local" / "state" / "wxbudget" / "audit.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def outcome_of(entries: list[dict[str, Any]], out_request_no: str) -> dict[str, Any]:
    """The one outcome line the journal holds for `out_request_no`."""
    (outcome,) = [
        entry
        for entry in entries
        if entry["type"] == "outcome" and entry["out_request_no"] == out_request_no
    ]
    return outcome


def wait_for_log(
    home: Path,
    condition: Callable[[list[dict[str, Any]]], bool],
    process: subprocess.Popen[Any],
    *,
    polls: int = 600,
) -> None:
    """Poll requests.jsonl until `condition` holds; fail if the process ends first."""
    for _ in range(polls):
        if condition(request_log(home)):
            return
        if process.poll() is not None:
            pytest.fail(f"the process ended (exit {process.returncode}) before the sandbox saw it")
        time.sleep(0.05)
    pytest.fail("the sandbox never logged what the test waited for")
