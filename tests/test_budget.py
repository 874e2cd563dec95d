"""Targets, guard rails and the planned body: pure domain rules."""

from __future__ import annotations

import math
import re
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wxbudget import budget
from wxbudget.errors import ExitCode, LocalCheckError, StaleCurrentError, UsageError
from wxbudget.models import Stock, UpdateMode


def make_stock(**overrides: Any) -> Stock:
    raw: dict[str, Any] = {
        "product_coupon_id": "1000000013",
        "stock_id": "1000000013002",
        "brand_id": "120344",
        "state": "SENDING",
        "coupon_code_mode": "WECHATPAY",
        "stock_send_rule": {"max_count": 50000, "max_count_per_day": 5000, "max_count_per_user": 1},
        "sent_count_info": {"total_count": 12000, "today_count": 800},
    }
    rule = overrides.pop("stock_send_rule", None)
    if rule is not None:
        raw["stock_send_rule"] = rule
    raw.update(overrides)
    return Stock.from_api(raw)


@pytest.mark.parametrize(
    ("text", "current", "expected"),
    [
        ("20000", 5, 20000),
        ("+500", 1000, 1500),
        ("-500", 1000, 500),
        ("+10%", 1000, 1100),
        ("-10%", 1000, 900),
        ("+10%", 5, 6),  # 5.5 rounds half away from zero
        ("-10%", 5, 4),  # the change -0.5 rounds half away from zero too
        ("+5%", 10_010, 10_511),  # +500.5 -> +501
        ("-5%", 10_010, 9_509),  # -500.5 -> -501: the same amount
        ("+0.5%", 1000, 1005),
        ("1,000", 1, 1000),
        ("+1,000,000", 1, 1_000_001),
    ],
)
def test_targets_resolve(text: str, current: int, expected: int) -> None:
    assert budget.parse_target(text).resolve(current) == expected


@pytest.mark.parametrize(
    "text",
    [
        *("", "abc", "+", "10%", "+-5", "1e5", "--5", "5-", "+5%%", "½"),
        # Issue 10: commas only between groups of three, ASCII digits only, no padding.
        *("5,0000", "5,0,0,0,0", ",50000", "50000,", "5__0000", "5_000", " 100 ", "100 "),
        *("١٠٠٠٠٠", "１００", "+١٠%", "+٥٠٠", "1.5", "+1.5", "+10.%", "+.5%", "+1,00%"),
    ],
)
def test_bad_targets_are_usage_errors(text: str) -> None:
    with pytest.raises(UsageError, match="TARGET") as caught:
        budget.parse_target(text)
    assert caught.value.exit_code is ExitCode.USAGE
    assert repr(text) in caught.value.message


@given(
    st.integers(min_value=1, max_value=100_000_000),
    st.decimals(min_value=0, max_value=100, places=3),
)
def test_plus_and_minus_a_percentage_move_the_cap_by_the_same_amount(
    current: int, percent: Decimal
) -> None:
    text = f"{percent.normalize():f}".rstrip(".")
    if "E" in text or not PERCENT_TEXT.fullmatch(text):
        return
    up = budget.parse_target(f"+{text}%").resolve(current) - current
    down = current - budget.parse_target(f"-{text}%").resolve(current)
    assert up == down
    # ... and that amount is the exact change rounded half away from zero.
    exact = Decimal(current) * Decimal(text) / 100
    assert abs(up - exact) <= Decimal("0.5")
    if abs(up - exact) == Decimal("0.5"):
        assert up > exact


PERCENT_TEXT = re.compile(r"[0-9]+(\.[0-9]+)?")


DIGITS = "0123456789"


def documented_target(text: str, current: int) -> int | None:
    """The README's TARGET rule, written independently of budget.py: the cap `text` means for
    `current`, or None when `text` is not a TARGET.

    ASCII digits with an optional leading `+`/`-` and an optional `%`; commas only between
    groups of three digits; a fraction only in a percentage; nothing else (no blanks, no other
    separators, no other scripts' digits). A percentage's change is rounded half away from
    zero; more than 12 digits is never a cap.
    """
    if sum(char in DIGITS for char in text) > 12:
        return None
    sign, unsigned = (text[0], text[1:]) if text[:1] in ("+", "-") else ("", text)
    percent = unsigned.endswith("%")
    number = unsigned.removesuffix("%")
    whole, dot, fraction = number.partition(".")
    if dot and not (percent and fraction and all(char in DIGITS for char in fraction)):
        return None
    groups = whole.split(",")
    if not all(group and all(char in DIGITS for char in group) for group in groups):
        return None
    if len(groups) > 1 and (len(groups[0]) > 3 or any(len(g) != 3 for g in groups[1:])):
        return None
    digits = "".join(groups)
    if not sign:
        return None if percent else int(digits)
    direction = 1 if sign == "+" else -1
    if not percent:
        return current + direction * int(digits)
    share = Fraction(int(digits + fraction), 10 ** len(fraction))
    change = Fraction(current) * share / 100
    return current + direction * math.floor(change + Fraction(1, 2))


@st.composite
def target_texts(draw: st.DrawFn) -> str:
    """Texts shaped like TARGETs: signs, separators, fractions and blanks in any mix."""
    sign = draw(st.sampled_from(["", "+", "-"]))
    whole = draw(st.integers(0, 10**9))
    digits = draw(st.sampled_from([f"{whole}", f"{whole:,}", f"{whole:_}"]))
    fraction = draw(st.sampled_from(["", ".5", ".25", ".05", ".999", ".0", "."]))
    percent = draw(st.sampled_from(["", "%"]))
    blanks = draw(st.sampled_from(["", " ", "\t"]))
    return blanks + sign + digits + fraction + percent + blanks


@given(text=st.one_of(target_texts(), st.text(max_size=30)), current=st.integers(0, 10**8))
def test_any_target_text_resolves_as_documented_or_is_a_usage_error(
    text: str, current: int
) -> None:
    expected = documented_target(text, current)
    if expected is None:
        with pytest.raises(UsageError) as caught:
            budget.parse_target(text)
        assert "\n" not in caught.value.line()
    else:
        assert budget.parse_target(text).resolve(current) == expected, text


def plan(stock: Stock, mode: UpdateMode, text: str, **kwargs: Any) -> budget.Change:
    return budget.plan_change(
        stock,
        mode,
        budget.parse_target(text),
        out_request_no="req-000001",
        brand_id="120344",
        **kwargs,
    )


def test_plan_body_has_only_the_mode_fields() -> None:
    change = plan(make_stock(), UpdateMode.MAX_COUNT, "+500")
    assert change.body() == {
        "out_request_no": "req-000001",
        "update_mode": "MAX_COUNT",
        "current_max_count": 50000,
        "target_max_count": 50500,
        "brand_id": "120344",
    }
    daily = plan(make_stock(), UpdateMode.MAX_COUNT_PER_DAY, "-10%")
    assert daily.body() == {
        "out_request_no": "req-000001",
        "update_mode": "MAX_COUNT_PER_DAY",
        "current_max_count_per_day": 5000,
        "target_max_count_per_day": 4500,
        "brand_id": "120344",
    }


def test_noop_is_detected() -> None:
    assert plan(make_stock(), UpdateMode.MAX_COUNT, "50000").is_noop
    assert plan(make_stock(), UpdateMode.MAX_COUNT, "+0%").is_noop


# Refused locally: only what the official update-budget pages state.
@pytest.mark.parametrize(
    ("stock_overrides", "mode", "text", "message"),
    [
        ({"state": "STOPPED"}, UpdateMode.MAX_COUNT, "+1", "is STOPPED"),
        ({"state": "DEACTIVATED"}, UpdateMode.MAX_COUNT, "+1", "is DEACTIVATED"),
        (
            {
                "stock_bundle_info": {
                    "stock_bundle_id": "712315129419284901",
                    "stock_bundle_index": 0,
                }
            },
            UpdateMode.MAX_COUNT,
            "+1",
            "belongs to stock bundle 712315129419284901",
        ),
        ({}, UpdateMode.MAX_COUNT, "11999", "below the 12000 coupons already issued"),
        ({}, UpdateMode.MAX_COUNT, "0", "below the 12000 coupons already issued"),
        ({}, UpdateMode.MAX_COUNT_PER_DAY, "-101%", "is negative"),
    ],
)
def test_local_checks_refuse_with_their_reason(
    stock_overrides: dict[str, Any], mode: UpdateMode, text: str, message: str
) -> None:
    with pytest.raises(LocalCheckError, match=message) as caught:
        plan(make_stock(**stock_overrides), mode, text)
    assert caught.value.exit_code is ExitCode.REJECTED


# Rules no official page states: the change is planned with a warning, and sent.
@pytest.mark.parametrize(
    ("stock_overrides", "mode", "text", "target", "warning"),
    [
        ({"state": "AUDITING"}, UpdateMode.MAX_COUNT, "+1", 50001, "is AUDITING"),
        (
            {"stock_send_rule": {"max_count": 100}},
            UpdateMode.MAX_COUNT_PER_DAY,
            "5",
            5,
            "has no daily cap",
        ),
        ({}, UpdateMode.MAX_COUNT_PER_DAY, "799", 799, "below the 800 coupons issued today"),
        ({}, UpdateMode.MAX_COUNT, "100000001", 100000001, "outside 1..100000000"),
        ({}, UpdateMode.MAX_COUNT_PER_DAY, "-100%", 0, "outside 1..100000000"),
    ],
)
def test_undocumented_rules_only_warn(
    stock_overrides: dict[str, Any], mode: UpdateMode, text: str, target: int, warning: str
) -> None:
    change = plan(make_stock(**stock_overrides), mode, text)
    assert change.target == target
    assert any(warning in text for text in change.warnings), change.warnings


def test_a_missing_daily_cap_is_sent_as_current_zero_and_never_relative() -> None:
    stock = make_stock(stock_send_rule={"max_count": 100})
    change = plan(stock, UpdateMode.MAX_COUNT_PER_DAY, "500")
    assert change.body()["current_max_count_per_day"] == 0
    with pytest.raises(UsageError, match="no daily cap"):
        plan(stock, UpdateMode.MAX_COUNT_PER_DAY, "+10%")


def test_paused_stock_can_change() -> None:
    assert plan(make_stock(state="PAUSED"), UpdateMode.MAX_COUNT, "+1").target == 50001


def test_expect_current_mismatch_is_a_conflict() -> None:
    with pytest.raises(StaleCurrentError, match="is 50000, not 49999") as caught:
        plan(make_stock(), UpdateMode.MAX_COUNT, "+1", expect_current=49999)
    assert caught.value.exit_code is ExitCode.CONFLICT
    assert plan(make_stock(), UpdateMode.MAX_COUNT, "+1", expect_current=50000).target == 50001


@pytest.mark.parametrize("value", ["abcdef", "A_b-9" + "x" * 35, "123456"])
def test_valid_out_request_numbers(value: str) -> None:
    assert budget.check_out_request_no(value) == value


@pytest.mark.parametrize("value", ["abcde", "x" * 41, "has space", "中文编号abcdef", "a.b.c.d.e"])
def test_invalid_out_request_numbers(value: str) -> None:
    with pytest.raises(UsageError, match="--out-request-no"):
        budget.check_out_request_no(value)


def test_generated_out_request_numbers_are_valid_and_unique() -> None:
    numbers = {budget.new_out_request_no() for _ in range(1000)}
    assert len(numbers) == 1000
    assert all(budget.OUT_REQUEST_NO_PATTERN.fullmatch(n) for n in numbers)


def test_remaining_counts() -> None:
    stock = make_stock()
    assert stock.remaining_total == 38000
    assert stock.remaining_today == 4200
    nearly = make_stock(
        stock_send_rule={"max_count": 10000, "max_count_per_day": 1000},
        sent_count_info={"total_count": 9990, "today_count": 995},
    )
    assert nearly.remaining_total == 10
    assert nearly.remaining_today == 5
