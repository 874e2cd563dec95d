"""Nothing from outside reaches a terminal as an escape or as markup: control characters are
stripped from messages, fields, Request-IDs and cells, and cells are shown literally."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.helpers.cli import run
from tests.helpers.hostile import Answer, WechatPayKey
from wxbudget.printable import json_escaped, one_line, printable

COUPON = "1000000013"
STOCK = "1000000013002"
# A window title, a screen clear, a hyperlink (OSC 8), an 8-bit CSI and a bidi override.
ESCAPES = "\x1b]0;pwned\x07\x1b[2J\x1b]8;;http://evil.example\x1b\\click\x1b]8;;\x1b\\\x9b31m\u202e"
CONTROLS = ("\x1b", "\x07", "\x9b", "\u202e")


def stock_object(**changes: Any) -> dict[str, Any]:
    return {
        "product_coupon_id": COUPON,
        "stock_id": STOCK,
        "state": "SENDING",
        "stock_send_rule": {"max_count": 50000, "max_count_per_day": 5000},
        "sent_count_info": {"total_count": 12000, "today_count": 800},
        "brand_id": "120344",
    } | changes


def assert_no_controls(text: str) -> None:
    for control in CONTROLS:
        assert control not in text, repr(text)


def test_printable_keeps_text_and_drops_controls() -> None:
    assert (
        printable(f"a{ESCAPES}b\n商品券\tc")
        == "a]0;pwned[2J]8;;http://evil.example\\click]8;;\\31mb\n商品券 c"
    )
    assert one_line("a\nb\r\nc") == "a b c"
    assert (
        json.loads(json_escaped(json.dumps("x\x9by\u202e", ensure_ascii=False))) == "x\x9by\u202e"
    )
    assert "\x9b" not in json_escaped(json.dumps("x\x9by", ensure_ascii=False))


def test_an_error_answer_full_of_escapes_is_one_clean_line(hostile: Any) -> None:
    body = json.dumps(
        {
            "code": "PARAM_ERROR",
            "message": f"bad{ESCAPES}\nok: applied",
            "detail": {"field": f"stock_id{ESCAPES}", "issue": f"x{ESCAPES}"},
        }
    ).encode()
    headers = {"Content-Type": "application/json", "Request-ID": "REQ\x1b[2J-1"}
    _, config = hostile(lambda _: Answer(status=400, body=body, headers=headers))
    result = run("--config", config, "show", COUPON, STOCK, expect=4)
    assert result.stderr.count("\n") == 1, result.stderr
    assert_no_controls(result.stdout + result.stderr)
    assert "PARAM_ERROR" in result.stderr
    assert "(Request-ID REQ[2J-1)" in result.stderr


@pytest.mark.parametrize(
    "state", [f"SENDING{ESCAPES}", "[link=http://evil.example]x[/link]", "markup[/]x", "[bold]"]
)
def test_a_signed_stock_with_hostile_text_is_shown_literally(
    hostile: Any, key: WechatPayKey, state: str
) -> None:
    body = json.dumps(stock_object(state=state)).encode()
    listing = json.dumps({"stock_list": [stock_object(state=state)]}).encode()
    _, config = hostile(
        lambda request: key.signed(listing if "page_size" in request.target else body)
    )
    shown = run("--config", config, "show", COUPON, STOCK)
    assert_no_controls(shown.stdout + shown.stderr)
    assert printable(state) in shown.stdout  # literally, brackets and all
    as_json = run("--config", config, "show", COUPON, STOCK, "-o", "json")
    assert_no_controls(as_json.stdout)
    assert json.loads(as_json.stdout)["state"] == state  # the value itself is kept, escaped
    listed = run("--config", config, "list", COUPON)  # a table of columns, not of pairs
    assert_no_controls(listed.stdout + listed.stderr)
    assert printable(state) in listed.stdout
