"""`check`: thresholds on what stocks have left, exit 9 when one is crossed, `--watch`."""

from __future__ import annotations

import json

import pytest

from tests.helpers.cli import converse, run, script, table_rows
from tests.helpers.logs import request_log
from tests.helpers.sandboxes import BOTH_MODES
from wxbudget.errors import ExitCode
from wxbudget.sandbox import RunningSandbox

COUPON = "1000000013"
DOCS_STOCK = "1000000013001"  # SENDING, 10,000,000 left, no daily cap
DAILY_STOCK = "1000000013002"  # SENDING, 38,000 left, 4,200 left today (daily cap 5,000)
PAUSED_STOCK = "1000000013003"
STOPPED_STOCK = "1000000013004"
ALMOST_GONE = "1000000013007"  # SENDING, 10 left, 5 left today (daily cap 1,000)
THRESHOLD = int(ExitCode.THRESHOLD)


@BOTH_MODES
def test_a_crossed_threshold_lists_the_stock_and_exits_9(sandbox: RunningSandbox) -> None:
    result = script("check", COUPON, "--min-remaining", "1000", expect=THRESHOLD)
    assert table_rows(result.stdout) == [
        [
            ALMOST_GONE,
            "SENDING",
            "10",
            "5",
            "[#########-] 99%",
            "[#########-] 99%",
            "10 left in all, below 1,000",
        ]
    ]
    assert "1 of 5 stocks of coupon 1000000013 below a threshold" in result.stdout


@BOTH_MODES
def test_nothing_crossed_prints_nothing_and_exits_0(sandbox: RunningSandbox) -> None:
    result = script("check", COUPON, DAILY_STOCK, DOCS_STOCK, "--min-remaining", "1000")
    assert (result.stdout, result.stderr) == ("", "")  # cron mails nothing


def test_a_percentage_is_of_the_cap_it_is_counted_against(sandbox: RunningSandbox) -> None:
    # 4,200 left today of a 5,000 daily cap is 84%: below 90%, not below 80%.
    run("check", COUPON, DAILY_STOCK, "--min-remaining-today", "80%")
    crossed = run("check", COUPON, DAILY_STOCK, "--min-remaining-today", "90%", expect=THRESHOLD)
    assert "4,200 left today, below 90% of 5,000 (4,500)" in crossed.stdout
    # A stock without a daily cap has no percentage of one to fall below; a count still applies.
    run("check", COUPON, DOCS_STOCK, "--min-remaining-today", "100%")
    run("check", COUPON, DOCS_STOCK, "--min-remaining-today", "20000000", expect=THRESHOLD)


def test_state_and_ended_stocks(sandbox: RunningSandbox) -> None:
    found = json.loads(
        run("check", COUPON, "--state", "SENDING", "-o", "json", expect=THRESHOLD).stdout
    )
    # The coupon's every stock: STOPPED and DEACTIVATED ones are left out (and counted).
    assert (found["checked"], found["ended_not_checked"]) == (5, 2)
    assert [(a["stock_id"], a["state"]) for a in found["alerts"]] == [
        (PAUSED_STOCK, "PAUSED"),
        ("1000000013006", "AUDITING"),
    ]
    # Named stocks are always checked, ended or not; several states may be allowed.
    named = run("check", COUPON, STOPPED_STOCK, "--state", "SENDING,PAUSED", expect=THRESHOLD)
    assert "state STOPPED, not SENDING or PAUSED" in named.stdout
    run("check", COUPON, PAUSED_STOCK, "--state", "SENDING", "--state", "paused")


def test_json_is_the_whole_verdict(sandbox: RunningSandbox) -> None:
    ok = json.loads(run("check", COUPON, DAILY_STOCK, "--min-remaining", "5%", "-o", "json").stdout)
    assert ok == {
        "product_coupon_id": COUPON,
        "thresholds": {"min_remaining": "5%", "min_remaining_today": None, "state": []},
        "checked": 1,
        "ended_not_checked": 0,
        "crossed": False,
        "alerts": [],
    }
    alert = json.loads(
        script(
            "check",
            COUPON,
            ALMOST_GONE,
            "--min-remaining-today",
            "10",
            "-o",
            "json",
            expect=THRESHOLD,
        ).stdout
    )["alerts"][0]
    assert alert["remaining_today"] == 5
    assert alert["crossed"] == [
        {"threshold": "min_remaining_today", "message": "5 left today, below 10"}
    ]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ([], "no threshold to check"),
        (["--min-remaining", "ten"], "--min-remaining 'ten' is not a threshold"),
        (["--min-remaining-today", "150%"], "--min-remaining-today '150%' is not a threshold"),
        (["--state", "SENT"], "--state 'SENT' is not a state"),
        (["--state", "SENDING", "--watch", "1"], "--watch needs a terminal"),
        (["--state", "SENDING", "--watch", "1", "-o", "json"], "it takes no -o json"),
        (["--state", "SENDING", "--watch", "0"], "--watch"),
        (["--state", "SENDING", "-o", "csv"], "-o csv (a plan file) is only for"),
    ],
)
def test_bad_thresholds_are_refused_before_anything_is_read(
    sandbox: RunningSandbox, arguments: list[str], message: str
) -> None:
    assert message in run("check", COUPON, *arguments, expect=2).stderr
    assert request_log(sandbox.home) == []


def test_a_named_stock_that_is_not_there_fails_the_check(sandbox: RunningSandbox) -> None:
    result = run("check", COUPON, DAILY_STOCK, "1000000013099", "--min-remaining", "1", expect=4)
    assert "stocks not found: 1000000013099" in result.stderr


def test_watch_redraws_a_live_table_until_ctrl_c(sandbox: RunningSandbox) -> None:
    """On a terminal the table is checked again each period; a change in between shows on the
    next check; Ctrl-C (typed on the terminal) ends the watch with one line and exit 130."""

    def spend_the_budget() -> bytes:
        # 12,500 - 12,000 issued leaves 500: below the threshold from the next check on.
        run("set-max", COUPON, DAILY_STOCK, "12500", "--yes")
        return b""

    status, output = converse(
        ["check", COUPON, DAILY_STOCK, "--min-remaining", "1000", "--watch", "1"],
        [
            (b"Ctrl-C to stop", spend_the_budget),
            (b"500 left in all, below 1,000", b"\x03"),
        ],
        controlling=True,
    )
    assert status == 130, output
    first, _, rest = output.partition("check 1 at")
    assert "0 of 1 stocks of coupon 1000000013 below a threshold" in first
    assert "ok" in first
    assert "1 of 1 stocks of coupon 1000000013 below a threshold" in rest
    assert "stopped watching after" in rest
    assert "the last one found 1 of 1 stocks below a threshold" in rest
    assert "Traceback" not in output
