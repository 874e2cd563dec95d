"""Plans that name stock bundles: export (`bundle show -o csv`, `list -o csv`), edit, apply."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.helpers.cli import run, script
from tests.helpers.logs import audit_entries, posts_of
from tests.helpers.sandboxes import BOTH_MODES, Sandboxes
from wxbudget.errors import ExitCode
from wxbudget.plan import EXPORT_COLUMNS, PlanError, parse_plan
from wxbudget.sandbox import RunningSandbox

BUNDLE_COUPON = "1000000014"
BUNDLE = "712315129419284901"
BUNDLE_STOCKS = ("1000000014001", "1000000014002", "1000000014003")
COUPON = "1000000013"
DAILY_STOCK = "1000000013002"


def caps(coupon: str = BUNDLE_COUPON) -> dict[str, tuple[int, int | None]]:
    listed = json.loads(run("list", coupon, "-o", "json").stdout)
    return {
        s["stock_id"]: (
            s["stock_send_rule"]["max_count"],
            s["stock_send_rule"].get("max_count_per_day"),
        )
        for s in listed
    }


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


@BOTH_MODES
def test_bundle_show_csv_is_a_one_row_plan_naming_the_bundle(sandbox: RunningSandbox) -> None:
    exported = script("bundle", "show", BUNDLE_COUPON, BUNDLE, "-o", "csv").stdout
    assert exported.splitlines() == [
        ",".join(EXPORT_COLUMNS),
        f"{BUNDLE_COUPON},,{BUNDLE},30000,3000,120344",
    ]
    # list -o csv writes the bundle's stocks as that same one row.
    assert run("list", BUNDLE_COUPON, "-o", "csv").stdout == exported


@BOTH_MODES
def test_an_edited_bundle_export_applies_through_the_bundle_endpoint_once(
    sandbox: RunningSandbox, tmp_path: Path, isolated_environment: Path
) -> None:
    exported = run("bundle", "show", BUNDLE_COUPON, BUNDLE, "-o", "csv").stdout
    plan = tmp_path / "plan.csv"
    plan.write_text(exported.replace(",30000,3000,", ",+1000,-10%,"))
    result = script("apply", str(plan), "--yes")
    assert "2 applied" in result.stdout
    assert caps() == {stock: (31000, 2700) for stock in BUNDLE_STOCKS}
    paths = {urlsplit(entry["path"]).path for entry in posts_of(sandbox.home)}
    assert paths == {
        f"/v3/marketing/partner/product-coupon/product-coupons/{BUNDLE_COUPON}"
        f"/stock-bundles/{BUNDLE}/update-budget"
    }
    intents = [e for e in audit_entries(isolated_environment) if e["type"] == "intent"]
    assert sorted((e["stock_bundle_id"], e["stock_id"], e["from"], e["to"]) for e in intents) == [
        (BUNDLE, None, 3000, 2700),
        (BUNDLE, None, 30000, 31000),
    ]


@BOTH_MODES
def test_dry_run_shows_bundle_rows_beside_stock_rows(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    plan = tmp_path / "mixed.csv"
    plan.write_text(
        "product_coupon_id,stock_id,stock_bundle_id,max_count,max_count_per_day\n"
        f"{COUPON},{DAILY_STOCK},,+5,\n"
        f"{BUNDLE_COUPON},,{BUNDLE},35000,\n"
    )
    steps = json.loads(run("apply", str(plan), "--dry-run", "-o", "json").stdout)
    assert [(s["stock_id"], s["stock_bundle_id"], s["from"], s["to"]) for s in steps] == [
        (DAILY_STOCK, None, 50000, 50005),
        (None, BUNDLE, 30000, 35000),
    ]
    table = run("apply", str(plan), "--dry-run").stdout
    assert f"bundle {BUNDLE}" in table
    assert posts_of(sandbox.home) == []


def test_a_failed_bundle_row_is_finished_by_a_rerun_with_its_recorded_number(
    sandboxes: Sandboxes, tmp_path: Path
) -> None:
    running = sandboxes.start(faults=["500=1:POST"], fault_limit=1)
    plan = tmp_path / "plan.csv"
    plan.write_text(
        f"product_coupon_id,stock_bundle_id,max_count,max_count_per_day\n{BUNDLE_COUPON},"
        f"{BUNDLE},+1000,\n"
    )
    failed = run("apply", str(plan), "--yes", "--max-retries", "0", expect=int(ExitCode.PARTIAL))
    assert "failed" in failed.stdout
    assert caps()[BUNDLE_STOCKS[0]] == (30000, 3000)
    (first,) = posts_of(running.home)
    run("apply", str(plan), "--yes")
    numbers = [entry["out_request_no"] for entry in posts_of(running.home)]
    assert numbers == [first["out_request_no"]] * 2  # resumed with its recorded number
    assert caps() == {stock: (31000, 3000) for stock in BUNDLE_STOCKS}


def test_a_bundle_that_is_not_there_is_refused_and_the_rest_applied(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    plan = tmp_path / "plan.csv"
    plan.write_text(
        "product_coupon_id,stock_bundle_id,max_count,max_count_per_day\n"
        f"{BUNDLE_COUPON},712315129419284999,+1,\n"
        f"{BUNDLE_COUPON},{BUNDLE},+1,\n"
    )
    result = run("apply", str(plan), "--yes", expect=int(ExitCode.PARTIAL))
    assert "712315129419284999 has no stocks in coupon 1000000014" in result.stdout
    assert caps()[BUNDLE_STOCKS[0]] == (30001, 3000)


def test_a_bundled_stock_in_a_stock_row_names_the_bundle_row_to_write(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    plan = tmp_path / "plan.csv"
    plan.write_text(
        f"product_coupon_id,stock_id,max_count,max_count_per_day\n{BUNDLE_COUPON},"
        f"{BUNDLE_STOCKS[1]},+1,\n"
    )
    result = run("apply", str(plan), "--dry-run")
    assert f"belongs to stock bundle {BUNDLE}" in result.stdout


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "product_coupon_id,stock_id,stock_bundle_id,max_count,max_count_per_day\n1,2,3,4,\n",
            "line 2: a row names a stock_id or a stock_bundle_id, not both",
        ),
        (
            "product_coupon_id,stock_id,stock_bundle_id,max_count,max_count_per_day\n1,,,4,\n",
            "line 2, column stock_id: empty (give a stock_id or a stock_bundle_id)",
        ),
        (
            "product_coupon_id,stock_bundle_id,max_count,max_count_per_day\n1,7,4,\n1,7,5,\n",
            "line 3: stock bundle 7 of coupon 1 is already planned on line 2",
        ),
        (
            "product_coupon_id,stock_bundle_id,max_count,max_count_per_day\n1,7x,4,\n",
            "line 2, column stock_bundle_id",
        ),
    ],
)
def test_malformed_bundle_rows_are_refused_before_anything_is_read(text: str, message: str) -> None:
    with pytest.raises(PlanError) as caught:
        parse_plan(text.encode(), "plan.csv")
    assert message in caught.value.message


def test_a_stock_and_a_bundle_with_the_same_digits_are_different_rows() -> None:
    plan = parse_plan(
        b"product_coupon_id,stock_id,stock_bundle_id,max_count,max_count_per_day\n"
        b"1,7,,4,\n1,,7,5,\n",
        "plan.csv",
    )
    assert [(row.stock_id, row.stock_bundle_id) for row in plan.rows] == [("7", None), ("", "7")]
