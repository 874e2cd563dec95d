"""`show` with several stocks or `--all`: one table, a JSON array, the plan CSV of `list`."""

from __future__ import annotations

import csv
import io
import json
from urllib.parse import urlsplit

from tests.helpers.cli import run, script
from tests.helpers.logs import request_log
from tests.helpers.sandboxes import BOTH_MODES, Sandboxes, edit_profile
from wxbudget.sandbox import RunningSandbox

COUPON = "1000000013"
DOCS_STOCK = "1000000013001"
DAILY_STOCK = "1000000013002"
PAUSED_STOCK = "1000000013003"
ALMOST_GONE = "1000000013007"
DEMO_STOCKS_OF_COUPON = 7


def reads(sandbox: RunningSandbox) -> list[str]:
    """The paths of the GETs the sandbox answered, without their query."""
    return [urlsplit(e["path"]).path for e in request_log(sandbox.home) if e["method"] == "GET"]


@BOTH_MODES
def test_several_stocks_are_one_table_in_the_order_named(sandbox: RunningSandbox) -> None:
    result = script("show", COUPON, ALMOST_GONE, DAILY_STOCK, PAUSED_STOCK)
    assert "3 stocks of coupon 1000000013" in result.stdout
    rows = [line for line in result.stdout.splitlines() if "10000000130" in line]
    assert [row.split("│")[1].strip() for row in rows] == [ALMOST_GONE, DAILY_STOCK, PAUSED_STOCK]
    # A few named stocks: one GET each (in parallel), no list call.
    assert sorted(reads(sandbox)) == sorted(
        f"/v3/marketing/partner/product-coupon/product-coupons/{COUPON}/stocks/{stock}"
        for stock in (ALMOST_GONE, DAILY_STOCK, PAUSED_STOCK)
    )


@BOTH_MODES
def test_json_is_an_array_of_the_stock_objects(sandbox: RunningSandbox) -> None:
    many = json.loads(script("show", COUPON, DAILY_STOCK, DOCS_STOCK, "-o", "json").stdout)
    assert [stock["stock_id"] for stock in many] == [DAILY_STOCK, DOCS_STOCK]
    single = json.loads(run("show", COUPON, DOCS_STOCK, "-o", "json").stdout)
    assert many[1] == single  # one stock keeps its object; several are an array of them


@BOTH_MODES
def test_all_matches_list_in_every_format(sandbox: RunningSandbox) -> None:
    for output in ("json", "csv"):
        shown = script("show", COUPON, "--all", "-o", output).stdout
        assert shown == run("list", COUPON, "-o", output).stdout
    table = run("show", COUPON, "--all").stdout
    assert f"{DEMO_STOCKS_OF_COUPON} stocks of coupon {COUPON}" in table


def test_csv_of_named_stocks_is_a_plan_with_the_columns_of_list(sandbox: RunningSandbox) -> None:
    listed = list(csv.reader(io.StringIO(run("list", COUPON, "-o", "csv").stdout)))
    shown = list(csv.reader(io.StringIO(run("show", COUPON, DAILY_STOCK, "-o", "csv").stdout)))
    assert shown[0] == listed[0]
    assert shown[1:] == [row for row in listed[1:] if row[1] == DAILY_STOCK]
    pair = run("show", COUPON, DAILY_STOCK, ALMOST_GONE, "-o", "csv").stdout
    assert [row[1] for row in csv.reader(io.StringIO(pair))][1:] == [DAILY_STOCK, ALMOST_GONE]


def test_many_named_stocks_are_read_through_the_list_endpoint(sandbox: RunningSandbox) -> None:
    stocks = [f"100000001300{index}" for index in range(1, 8)]
    shown = json.loads(run("show", COUPON, *reversed(stocks), "-o", "json").stdout)
    assert [stock["stock_id"] for stock in shown] == list(reversed(stocks))
    assert reads(sandbox) == [
        f"/v3/marketing/partner/product-coupon/product-coupons/{COUPON}/stocks"
    ]


def test_stocks_not_found_are_named_after_the_others_are_shown(sandbox: RunningSandbox) -> None:
    result = script("show", COUPON, DAILY_STOCK, "1000000013099", expect=4)
    assert DAILY_STOCK in result.stdout
    assert "1 of 2 stocks not found: 1000000013099" in result.stderr
    assert "Traceback" not in result.stderr
    many = [DAILY_STOCK, "1000000013098", *(f"100000001300{i}" for i in range(3, 8))]
    listed = run("show", COUPON, *many, "-o", "json", expect=4)
    assert len(json.loads(listed.stdout)) == len(many) - 1
    assert "1000000013098: stock 1000000013098 is not in coupon 1000000013" in listed.stderr


def test_a_stock_named_twice_is_shown_once(sandbox: RunningSandbox) -> None:
    shown = json.loads(
        run("show", COUPON, DAILY_STOCK, DOCS_STOCK, DAILY_STOCK, "-o", "json").stdout
    )
    assert [stock["stock_id"] for stock in shown] == [DAILY_STOCK, DOCS_STOCK]


def test_stock_ids_or_all_but_not_both_nor_neither(sandbox: RunningSandbox) -> None:
    assert "pass --all" in run("show", COUPON, expect=2).stderr
    assert "not both" in run("show", COUPON, DAILY_STOCK, "--all", expect=2).stderr
    bad = run("show", COUPON, DAILY_STOCK, "12x", expect=2).stderr
    assert "stock id" in bad
    assert reads(sandbox) == []


def test_parallel_reads_stay_within_the_rate_limit(sandboxes: Sandboxes) -> None:
    """Three reads on three threads, at a profile rate limit of 1/s, reach a sandbox that
    refuses the second request of any second: none is refused (no retries to hide one)."""
    running = sandboxes.start(rate_limit=1)
    edit_profile(running, rate_limit=1)
    shown = run("show", COUPON, DOCS_STOCK, DAILY_STOCK, PAUSED_STOCK, "--max-retries", "0")
    assert "3 stocks of coupon" in shown.stdout
    assert [entry["status"] for entry in request_log(running.home)] == [200, 200, 200]
