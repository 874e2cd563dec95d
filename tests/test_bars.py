"""How much of each cap is used, drawn in `show`, `list` and `check` tables: coloured bars on a
colour terminal, plain ASCII under NO_COLOR and when piped, never in JSON or CSV."""

from __future__ import annotations

import re

import pytest

from tests.helpers.cli import converse, run, script, table_rows
from wxbudget.render.bars import colour, plain
from wxbudget.sandbox import RunningSandbox

COUPON = "1000000013"
DOCS_STOCK = "1000000013001"  # 0 of 10,000,000 issued; no daily cap
DAILY_STOCK = "1000000013002"  # 12,000 of 50,000 (24%); 800 of 5,000 today (16%)
ALMOST_GONE = "1000000013007"  # 9,990 of 10,000 (99%); 995 of 1,000 today (99%)
ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


def test_piped_output_has_plain_ascii_bars(sandbox: RunningSandbox) -> None:
    listed = {row[0]: row for row in table_rows(script("list", COUPON).stdout)}
    assert listed[DAILY_STOCK][6:8] == ["[##--------] 24%", "[#---------] 16%"]
    assert listed[ALMOST_GONE][6:8] == ["[#########-] 99%", "[#########-] 99%"]
    # No daily cap: "unlimited", never an empty bar.
    assert listed[DOCS_STOCK][6:8] == ["[----------] 0%", "unlimited"]
    assert not ESCAPE.search(script("list", COUPON).stdout)


def test_a_colour_terminal_gets_coloured_bars_by_closeness_to_the_cap(
    sandbox: RunningSandbox,
) -> None:
    status, output = converse(["show", COUPON, DAILY_STOCK, ALMOST_GONE], [], env={"NO_COLOR": ""})
    assert status == 0, output
    assert "[##--" not in output  # not the ASCII bar
    # Green for a quarter used, red for a stock that has nearly run out.
    styled = {
        match.group(2): match.group(1)
        for match in re.finditer(
            r"\x1b\[([0-9;]+)m━+\x1b\[0m(?:\x1b\[[0-9;]+m━*\x1b\[0m)?\x1b\[[0-9;]+m (\d+%)", output
        )
    }
    assert styled["24%"] == "32"  # green
    assert styled["99%"] == "31"  # red


def test_no_color_on_a_terminal_gets_the_ascii_bar_and_no_escape(
    sandbox: RunningSandbox,
) -> None:
    status, output = converse(["show", COUPON, DAILY_STOCK], [], env={"NO_COLOR": "1"})
    assert status == 0, output
    assert "[##--------] 24%" in output
    assert not ESCAPE.search(output.replace("\x1b[?25l", "").replace("\x1b[?25h", ""))


def test_check_tables_have_bars_and_json_and_csv_never_do(sandbox: RunningSandbox) -> None:
    alerts = run("check", COUPON, "--min-remaining", "1000", expect=9).stdout
    assert "[#########-] 99%" in alerts
    for output in (
        run("show", COUPON, DAILY_STOCK, "-o", "json").stdout,
        run("list", COUPON, "-o", "json").stdout,
        run("list", COUPON, "-o", "csv").stdout,
        run("check", COUPON, "--min-remaining", "1000", "-o", "json", expect=9).stdout,
    ):
        assert "#---" not in output
        assert "━" not in output
        assert "used" not in output


def test_a_narrow_terminal_folds_the_bars_with_their_rows(sandbox: RunningSandbox) -> None:
    status, output = converse(["list", COUPON], [], env={"COLUMNS": "60", "NO_COLOR": "1"})
    assert status == 0, output
    assert "used: [##--------] 24%" in output
    assert "used today: unlimited" in output


@pytest.mark.parametrize(
    ("used", "cap", "bar"),
    [
        (0, 10, "[----------] 0%"),
        (999, 1000, "[#########-] 99%"),  # 99.9% is not full
        (1000, 1000, "[##########] 100%"),
        (1200, 1000, "[##########] 120%"),  # a cap lowered below what was issued
        (0, 0, "[##########] 100%"),  # a cap of 0 leaves no room
        (5, None, "unlimited"),
    ],
)
def test_plain_bars(used: int, cap: int | None, bar: str) -> None:
    assert plain(used, cap) == bar


@pytest.mark.parametrize(("percent", "name"), [(74, "green"), (75, "yellow"), (90, "red")])
def test_colour_by_closeness(percent: int, name: str) -> None:
    assert colour(percent) == name
