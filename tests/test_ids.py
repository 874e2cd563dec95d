"""Ids: one parser for arguments, plan files and answers; what it accepts is what is used."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.cli import run
from tests.helpers.hostile import Answer, HostileServer, Received, WechatPayKey, profile_for
from tests.helpers.logs import audit_path, posts_of, request_log
from wxbudget.errors import UsageError
from wxbudget.ids import parse_id
from wxbudget.sandbox import RunningSandbox

COUPON = "1000000013"
DAILY_STOCK = "1000000013002"  # SENDING, total 50,000


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("1000000013 ", "1000000013"),
        ("1000000013\n", "1000000013"),
        ("\t1000000013\u3000", "1000000013"),  # a paste from a chat brings an ideographic space
        ("1000000013\u00a0", "1000000013"),
    ],
)
def test_a_pasted_id_loses_the_whitespace_around_it(typed: str, meant: str) -> None:
    assert parse_id(typed, "stock id") == meant


@pytest.mark.parametrize(
    "typed",
    ["", " ", "abc", "1000 0013", "１０００", "١٠٠٠", "-1", "+1", "1e5", "=HYPERLINK(1)", "1" * 33],
)
def test_anything_but_digits_is_not_an_id(typed: str) -> None:
    with pytest.raises(UsageError, match="is not a WeChat Pay id"):
        parse_id(typed, "stock id")


def test_a_pasted_id_changes_the_stock_once(
    sandbox: RunningSandbox, isolated_environment: Path
) -> None:
    run("set-max", f"{COUPON} ", f"{DAILY_STOCK}\n", "+1", "--yes")
    [post] = posts_of(sandbox.home)
    assert post["applied"] is True
    assert f"/{COUPON}/stocks/{DAILY_STOCK}/update-budget" in post["path"]
    intent = json.loads(audit_path(isolated_environment).read_text().splitlines()[0])
    assert (intent["product_coupon_id"], intent["stock_id"]) == (COUPON, DAILY_STOCK)
    # The same paste again is the same stock: history finds it.
    assert "+1" in run("history", f" {COUPON}", f"{DAILY_STOCK} ").stdout


@pytest.mark.parametrize(
    "args",
    [
        ("show", "abc", DAILY_STOCK),
        ("show", COUPON, ""),
        ("show", COUPON, "１０００"),
        ("set-max", COUPON, "1000 0013002", "+1", "--yes"),
        ("bundle", "set-max", COUPON, "x7123", "+1", "--yes"),
        ("list", "=HYPERLINK(1)"),
        ("history", "abc"),
        ("doctor", "--stock", COUPON, "abc"),
    ],
)
def test_a_bad_id_is_refused_before_anything_is_sent(
    sandbox: RunningSandbox, args: tuple[str, ...]
) -> None:
    result = run(*args, expect=2)
    assert result.stderr.count("\n") == 1
    assert "is not a WeChat Pay id" in result.stderr
    assert request_log(sandbox.home) == []


def test_a_plan_with_a_formula_for_an_id_is_refused(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    plan = tmp_path / "plan.csv"
    plan.write_text(
        "product_coupon_id,stock_id,max_count,max_count_per_day\n"
        f'{COUPON},"=HYPERLINK(""http://evil.example"",""x"")",+1,\n'
    )
    result = run("apply", str(plan), "--yes", expect=2)
    assert "line 2, column stock_id" in result.stderr
    assert request_log(sandbox.home) == []


@pytest.fixture
def forging_server(sandbox: RunningSandbox) -> Iterator[HostileServer]:
    """Answers every read with stocks whose ids are spreadsheet formulas, properly signed."""
    key = WechatPayKey.of(sandbox)
    formula = '=HYPERLINK("http://evil.example","x")'
    stock = {
        "product_coupon_id": COUPON,
        "stock_id": formula,
        "state": "SENDING",
        "stock_send_rule": {"max_count": 10, "max_count_per_day": 1},
        "sent_count_info": {"total_count": 0, "today_count": 0},
        "brand_id": "120344",
    }

    def respond(request: Received) -> Answer:
        if "/stocks/" in request.target:
            return key.signed(json.dumps(stock).encode())
        return key.signed(json.dumps({"stock_list": [stock], "total_count": 1}).encode())

    server = HostileServer(respond)
    yield server
    server.stop()


def test_an_answer_with_a_formula_for_an_id_is_not_believed(
    sandbox: RunningSandbox, forging_server: HostileServer, tmp_path: Path
) -> None:
    config = str(profile_for(sandbox, tmp_path, forging_server.base_url))
    listed = run("--config", config, "list", COUPON, "-o", "csv", expect=6)
    assert listed.stdout == ""
    assert "HYPERLINK" in listed.stderr
    assert "not believed" in listed.stderr
    shown = run("--config", config, "show", COUPON, DAILY_STOCK, "-o", "json", expect=6)
    assert shown.stdout == ""
