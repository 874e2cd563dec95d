"""The money at stake (normal_coupon discount x coupons) and the profile's own guard rails."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.cli import run, script, table_fields
from tests.helpers.logs import audit_entries, posts_of
from tests.helpers.sandboxes import BOTH_MODES, edit_profile
from wxbudget.errors import ExitCode
from wxbudget.sandbox import RunningSandbox

COUPON = "1000000013"
DOCS_STOCK = "1000000013001"  # no coupon kind in its usage rule
DAILY_STOCK = "1000000013002"  # normal_coupon ¥5.00; 38,000 left; caps 50,000 / 5,000 a day
PAUSED_STOCK = "1000000013003"  # discount_coupon (percent off)
STOPPED_STOCK = "1000000013004"
ALMOST_GONE = "1000000013007"  # normal_coupon ¥10.00; 10 left; caps 10,000 / 1,000 a day
BUNDLE_COUPON = "1000000014"
BUNDLE = "712315129419284901"  # three stocks, ¥10, ¥20 and ¥30 off; caps 30,000 / 3,000
REJECTED = int(ExitCode.REJECTED)


def stake(stock: str) -> str:
    """The at-stake row of `show`, and why it is n/a when it is (the caption under it)."""
    shown = run("show", COUPON, stock).stdout
    value = table_fields(shown)["at stake (left x discount)"]
    why = " ".join(shown.split()).partition("at stake n/a: ")[2]
    return f"{value} ({why})" if why else value


def intents(home: Path) -> list[dict[str, Any]]:
    return [entry for entry in audit_entries(home) if entry["type"] == "intent"]


# --- the money at stake ------------------------------------------------------------------------


@BOTH_MODES
def test_show_adds_the_remaining_exposure_or_says_why_not(sandbox: RunningSandbox) -> None:
    assert stake(DAILY_STOCK) == "¥190,000.00"  # 38,000 left x ¥5.00
    assert stake(ALMOST_GONE) == "¥100.00"
    assert stake(STOPPED_STOCK) == "¥0.00"  # an ended stock issues no more
    assert stake(PAUSED_STOCK) == (
        "n/a (discount_coupon: a percent-off coupon is worth a share of each order (1))"
    )
    assert stake(DOCS_STOCK) == "n/a (no coupon kind in the stock's usage rule (1))"
    listed = run("list", COUPON).stdout
    assert "¥190,000.00" in listed
    assert "at stake n/a: no coupon kind in the stock's usage rule (1)" in " ".join(listed.split())


@BOTH_MODES
def test_previews_add_the_change_in_exposure(sandbox: RunningSandbox) -> None:
    total = run("set-max", COUPON, DAILY_STOCK, "+1000", "--dry-run").stderr
    assert "total cap 50,000 -> 51,000 (+1,000, +2.0%); at stake +¥5,000.00" in total
    daily = run("set-daily", COUPON, DAILY_STOCK, "-10%", "--dry-run").stderr
    assert "daily cap 5,000 -> 4,500 (-500, -10.0%); at stake -¥2,500.00/day" in daily
    # A bundle: every stock's delta times its own discount, summed (100 x ¥60).
    bundle = run("bundle", "set-max", BUNDLE_COUPON, BUNDLE, "+100", "--dry-run").stderr
    assert "at stake +¥6,000.00" in bundle
    other = run("set-max", COUPON, PAUSED_STOCK, "+1", "--dry-run").stderr
    assert "at stake n/a (stock 1000000013003: discount_coupon: a percent-off" in other


def test_plans_add_the_change_in_exposure(sandbox: RunningSandbox, tmp_path: Path) -> None:
    plan = tmp_path / "plan.csv"
    plan.write_text(
        "product_coupon_id,stock_id,max_count,max_count_per_day\n"
        f"{COUPON},{DAILY_STOCK},+1000,+100\n"
        f"{COUPON},{DOCS_STOCK},+1,\n"
    )
    steps = json.loads(run("apply", str(plan), "--dry-run", "-o", "json").stdout)
    assert [(s["exposure_change_yuan"], s["exposure_per_day"]) for s in steps] == [
        ("5000.00", False),
        ("500.00", True),
        (None, False),
    ]
    assert (
        steps[2]["exposure_note"] == "stock 1000000013001: no coupon kind in the stock's usage rule"
    )
    table = run("apply", str(plan), "--dry-run").stdout
    assert "+¥5,000.00" in table
    assert "+¥500.00/day" in table


# --- limits ------------------------------------------------------------------------------------


def test_a_change_beyond_a_limit_is_refused_before_anything_is_sent(
    sandbox: RunningSandbox,
) -> None:
    edit_profile(sandbox, limits={"max_increase": 500})
    refused = script("set-max", COUPON, DAILY_STOCK, "+1000", "--yes", expect=REJECTED)
    assert (
        "stock 1000000013002: beyond the limits of profile 'sandbox' (max_increase 500: it adds "
        "1,000); nothing was sent; pass --override-limits" in refused.stderr
    )
    assert posts_of(sandbox.home) == []
    # A dry run is refused the same way: it predicts the real command.
    run("set-max", COUPON, DAILY_STOCK, "+1000", "--dry-run", expect=REJECTED)
    # Within the limit, and any decrease, pass.
    run("set-max", COUPON, DAILY_STOCK, "+500", "--yes")
    run("set-max", COUPON, DAILY_STOCK, "-5000", "--yes")
    assert len(posts_of(sandbox.home)) == 2


def test_override_limits_sends_it_and_the_journal_records_it(
    sandbox: RunningSandbox, isolated_environment: Path
) -> None:
    edit_profile(sandbox, limits={"max_total_cap": 55000, "max_increase_percent": 5})
    result = run("set-max", COUPON, DAILY_STOCK, "60000", "--yes", "--override-limits")
    assert "--override-limits given, recorded in the audit journal" in result.stderr
    (intent,) = intents(isolated_environment)
    assert intent["limits_overridden"] == [
        "max_total_cap 55,000: the target is 60,000",
        "max_increase_percent 5: it adds 20.0%",
    ]
    assert [entry["applied"] for entry in posts_of(sandbox.home)] == [True]


@pytest.mark.parametrize(
    ("limits", "arguments", "named"),
    [
        ({"max_daily_cap": 5000}, ["set-daily", COUPON, DAILY_STOCK, "5001"], "max_daily_cap"),
        ({"max_increase_percent": 10}, ["set-max", COUPON, DAILY_STOCK, "+11%"], "percent 10"),
        # ¥5.00 x 401 coupons is ¥2,005.00, over ¥2,000.
        ({"max_exposure_increase": 2000}, ["set-max", COUPON, DAILY_STOCK, "+401"], "¥2,000"),
        ({"max_exposure_increase": 500.5}, ["set-daily", COUPON, DAILY_STOCK, "+101"], "¥500.5"),
        ({"max_increase": 10}, ["bundle", "set-max", BUNDLE_COUPON, BUNDLE, "+11"], "bundle"),
    ],
)
def test_every_limit_key_refuses(
    sandbox: RunningSandbox, limits: dict[str, Any], arguments: list[str], named: str
) -> None:
    edit_profile(sandbox, limits=limits)
    assert named in run(*arguments, "--yes", expect=REJECTED).stderr
    assert posts_of(sandbox.home) == []


def test_limits_that_cannot_judge_a_change_let_it_pass(sandbox: RunningSandbox) -> None:
    # No fixed value: the money limit cannot apply. A daily cap on a stock without one is
    # never an increase.
    edit_profile(sandbox, limits={"max_exposure_increase": 1, "max_daily_cap": 10})
    run("set-max", COUPON, PAUSED_STOCK, "+1000", "--yes")
    run("set-daily", COUPON, DOCS_STOCK, "5000", "--yes")


def test_apply_marks_the_rows_beyond_a_limit_and_sends_the_others(
    sandbox: RunningSandbox, tmp_path: Path, isolated_environment: Path
) -> None:
    edit_profile(sandbox, limits={"max_increase": 100})
    plan = tmp_path / "plan.csv"
    plan.write_text(
        "product_coupon_id,stock_id,max_count,max_count_per_day\n"
        f"{COUPON},{DAILY_STOCK},+1000,\n"
        f"{COUPON},{ALMOST_GONE},+50,\n"
    )
    dry = run("apply", str(plan), "--dry-run", "-o", "json")
    steps = json.loads(dry.stdout)
    assert [step["outcome"] for step in steps] == ["refused", "change"]
    assert "beyond the limits of profile 'sandbox' (max_increase 100" in steps[0]["reason"]
    result = run("apply", str(plan), "--yes", expect=int(ExitCode.PARTIAL))
    assert "--override-limits sends it" in result.stdout
    assert [e["stock_id"] for e in intents(isolated_environment)] == [ALMOST_GONE]
    # The batch is finished; run again with the override: the refused row goes, recorded.
    plan.write_text(plan.read_text().replace("+50,", ","))
    run("apply", str(plan), "--yes", "--override-limits")
    last = intents(isolated_environment)[-1]
    assert (last["stock_id"], last["limits_overridden"]) == (
        DAILY_STOCK,
        ["max_increase 100: it adds 1,000"],
    )


def test_max_rows_refuses_the_whole_batch(
    sandbox: RunningSandbox, tmp_path: Path, isolated_environment: Path
) -> None:
    edit_profile(sandbox, limits={"max_rows": 1})
    plan = tmp_path / "plan.csv"
    plan.write_text(
        "product_coupon_id,stock_id,max_count,max_count_per_day\n"
        f"{COUPON},{DAILY_STOCK},+1,+1\n"
        f"{COUPON},{ALMOST_GONE},+1,\n"
        f"{COUPON},{DOCS_STOCK},10000000,\n"  # in place already: not a row that changes
    )
    dry = run("apply", str(plan), "--dry-run")
    assert "apply would refuse this plan" in dry.stderr
    assert "max_rows 1: the plan changes 2 rows" in dry.stderr
    refused = run("apply", str(plan), "--yes", expect=REJECTED)
    assert "this plan: beyond the limits of profile 'sandbox' (max_rows 1" in refused.stderr
    assert posts_of(sandbox.home) == []
    run("apply", str(plan), "--yes", "--override-limits")
    assert {tuple(e["limits_overridden"]) for e in intents(isolated_environment)} == {
        ("max_rows 1: the plan changes 2 rows",)
    }


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        ({"max_rise": 1}, "unknown key 'max_rise' in the limits of profile 'sandbox'"),
        ({"max_rows": 1.5}, "limits.max_rows in profile 'sandbox'"),
        ({"max_increase_percent": -1}, "limits.max_increase_percent in profile 'sandbox'"),
        ({"max_exposure_increase": "lots"}, "must be a number >= 0"),
    ],
)
def test_malformed_limits_are_a_config_error(
    sandbox: RunningSandbox, limits: dict[str, Any], message: str
) -> None:
    edit_profile(sandbox, limits=limits)
    assert message in run("show", COUPON, DAILY_STOCK, expect=int(ExitCode.CONFIG)).stderr


def test_profile_init_writes_limits_and_doctor_shows_them(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    values = tomllib.loads(sandbox.config_path.read_text())["profiles"]["sandbox"]
    config = tmp_path / "config.toml"
    flags = [
        "--mchid",
        values["mchid"],
        "--merchant-serial-no",
        values["merchant_serial_no"],
        "--private-key-file",
        str(sandbox.home / "keys" / "merchant_private_key.pem"),
        "--wechatpay-public-key-id",
        values["wechatpay_public_key_id"],
        "--wechatpay-public-key-file",
        str(sandbox.home / "keys" / "wechatpay_public_key.pem"),
        "--brand-id",
        "120344",
        "--base-url",
        sandbox.base_url,
    ]
    bad = run(
        "profile", "init", "p", "--config", str(config), *flags, "--limit", "max_rise=1", expect=2
    )
    assert "--limit 'max_rise=1': unknown key 'max_rise'" in bad.stderr
    run(
        "profile", "init", "p", "--config", str(config), *flags,
        "--limit", "max_increase=5,000", "--limit", "max_exposure_increase=99.5",
    )  # fmt: skip
    written = tomllib.loads(config.read_text())["profiles"]["p"]["limits"]
    assert written == {"max_increase": 5000, "max_exposure_increase": 99.5}
    report = json.loads(run("doctor", "--config", str(config), "-o", "json").stdout)
    (limits,) = [check for check in report["checks"] if check["name"] == "limits"]
    assert (limits["status"], limits["detail"]) == (
        "pass",
        "max_increase 5,000; max_exposure_increase 99.5",
    )
    refused = run(
        "--config", str(config), "set-max", COUPON, DAILY_STOCK, "+5001", "--yes", expect=REJECTED
    )
    assert "beyond the limits of profile 'p' (max_increase 5,000" in refused.stderr
