"""Plan files: every malformed case is refused before any request, naming line and column."""

from __future__ import annotations

import pytest

from wxbudget.errors import ExitCode
from wxbudget.models import UpdateMode
from wxbudget.plan import PlanError, parse_plan
from wxbudget.plan_export import plan_csv

HEADER = "product_coupon_id,stock_id,max_count,max_count_per_day\n"


def parse(text: str, data: bytes | None = None) -> object:
    return parse_plan(data if data is not None else text.encode(), "plan.csv")


def test_cells_become_targets() -> None:
    plan = parse_plan((HEADER + "1,11,20000,\n1,12,+500,-10%\n1,13,,\n").encode(), "plan.csv")
    first, second, third = plan.rows
    assert [(m, t.text) for m, t in first.targets] == [(UpdateMode.MAX_COUNT, "20000")]
    assert [(m, t.text) for m, t in second.targets] == [
        (UpdateMode.MAX_COUNT, "+500"),
        (UpdateMode.MAX_COUNT_PER_DAY, "-10%"),
    ]
    assert third.targets == ()
    assert plan.step_count == 3
    assert [row.line for row in plan.rows] == [2, 3, 4]


COLUMN_VALUES = {
    "product_coupon_id": "1",
    "stock_id": "11",
    "brand_id": "777",
    "max_count": "+500",
    "max_count_per_day": "-10%",
}


@pytest.mark.parametrize(
    "columns",
    [
        list(COLUMN_VALUES),
        ["stock_id", "brand_id", "max_count_per_day", "product_coupon_id", "max_count"],
        ["max_count_per_day", "max_count", "stock_id", "product_coupon_id", "brand_id"],
        list(reversed(COLUMN_VALUES)),
    ],
)
def test_optional_brand_column_bom_and_any_column_order(columns: list[str]) -> None:
    text = "\ufeff" + ",".join(columns) + "\n" + ",".join(COLUMN_VALUES[c] for c in columns) + "\n"
    (row,) = parse_plan(text.encode("utf-8"), "plan.csv").rows
    assert (row.product_coupon_id, row.stock_id, row.brand_id) == ("1", "11", "777")
    # Each cap lands in its own mode, whichever column comes first.
    assert {mode: target.text for mode, target in row.targets} == {
        UpdateMode.MAX_COUNT: "+500",
        UpdateMode.MAX_COUNT_PER_DAY: "-10%",
    }
    assert len(row.targets) == 2


def test_a_plan_without_the_brand_column_has_no_brand() -> None:
    (row,) = parse_plan((HEADER + "1,11,,5\n").encode(), "plan.csv").rows
    assert row.brand_id is None
    assert [(mode, target.text) for mode, target in row.targets] == [
        (UpdateMode.MAX_COUNT_PER_DAY, "5")
    ]


def test_same_content_same_digest() -> None:
    a = parse_plan((HEADER + "1,11,5,\n").encode(), "a")
    b = parse_plan((HEADER + "1,11,5,\n").encode(), "b")
    c = parse_plan((HEADER + "1,11,6,\n").encode(), "c")
    assert a.digest == b.digest != c.digest


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "plan.csv is empty"),
        (HEADER, "has a header but no rows"),
        (
            "product_coupon_id,stock_id,max_count\n1,2,3\n",
            "line 1: missing column 'max_count_per_day'",
        ),
        (HEADER.strip() + ",colour\n1,2,3,4,red\n", "line 1, column 5: unknown column 'colour'"),
        (
            "product_coupon_id,stock_id,max_count,max_count,max_count_per_day\n",
            "line 1, column 4: column 'max_count' appears twice",
        ),
        (HEADER + "1,2,3\n", "line 2: 3 cells for 4 columns"),
        (HEADER + "1,2,3,4,5\n", "line 2: 5 cells for 4 columns"),
        (HEADER + "1,2,3,4\n1,3,lots,4\n", "line 3, column max_count: TARGET 'lots'"),
        (HEADER + "1,2,3,1e3\n", "line 2, column max_count_per_day: TARGET '1e3'"),
        (HEADER + ",2,3,4\n", "line 2, column product_coupon_id: empty"),
        (HEADER + "1, ,3,4\n", "line 2, column stock_id: empty"),
        (HEADER + "1,2,3,\n\n1,2,4,\n", "line 4: stock 2 of coupon 1 is already planned on line 2"),
        (HEADER + '1,"2,3,4\n', "line 2"),
        # Issue 10: a cap cell is as strict as TARGET on the command line.
        (HEADER + '1,2,"5,0000",\n', "line 2, column max_count: TARGET '5,0000'"),
        (HEADER + "1,2, 100 ,\n", "line 2, column max_count: TARGET ' 100 '"),
        (HEADER + "1,2,,+١٠%\n", "line 2, column max_count_per_day: TARGET '+١٠%'"),
        (HEADER + "1,2,１００,\n", "line 2, column max_count: TARGET '１００'"),
        (HEADER + "1,2,5__0000,\n", "line 2, column max_count: TARGET '5__0000'"),
    ],
)
def test_malformed_plans(text: str, message: str) -> None:
    with pytest.raises(PlanError) as caught:
        parse(text)
    assert message in caught.value.message
    assert caught.value.exit_code is ExitCode.USAGE
    assert "\n" not in caught.value.line()


def test_a_blank_cap_cell_leaves_the_cap_and_thousands_separators_are_read() -> None:
    plan = parse_plan((HEADER + '1,2,"20,000",  \n').encode(), "plan.csv")
    (row,) = plan.rows
    assert [(mode, target.resolve(0)) for mode, target in row.targets] == [
        (UpdateMode.MAX_COUNT, 20_000)
    ]


def test_non_utf8_is_refused() -> None:
    with pytest.raises(PlanError, match="is not UTF-8 text"):
        parse("", data=HEADER.encode() + "1,2,３,4\n".encode("utf-16"))


def test_exported_plan_parses_back() -> None:
    text = plan_csv([("1", "11", None, 500, None, "777"), ("1", "12", None, 600, 60, None)])
    plan = parse_plan(text.encode(), "export.csv")
    assert [(r.stock_id, [t.text for _, t in r.targets], r.brand_id) for r in plan.rows] == [
        ("11", ["500"], "777"),
        ("12", ["600", "60"], None),
    ]
