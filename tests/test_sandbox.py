"""The sandbox over real HTTP on loopback, with the real keys of its home folder."""

from __future__ import annotations

import http.client
import json
import os
import signal
import stat
import subprocess
import sys
import threading
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from typer.testing import CliRunner

from tests.helpers.logs import request_log
from tests.helpers.sandboxes import SANDBOX_MODES, Sandboxes, is_strict
from tests.helpers.signing_client import (
    BRAND,
    COUPONS,
    DAILY_STOCK,
    DAILY_UPDATE,
    STOCK,
    UPDATE,
    SigningClient,
    assert_error,
)
from wxbudget.cli.sandbox import sandbox_app
from wxbudget.errors import UsageError
from wxbudget.sandbox import RunningSandbox, start_in_background
from wxbudget.sandbox.demo import demo_stocks


@pytest.fixture
def running(sandboxes: Sandboxes, request: pytest.FixtureRequest) -> RunningSandbox:
    """The default (lenient) sandbox, or `--strict` under `@STRICT` / `@BOTH_MODES`."""
    return sandboxes.start("sb", use=False, strict=is_strict(request))


STRICT = pytest.mark.parametrize("running", ["strict"], indirect=True)
BOTH_MODES = pytest.mark.parametrize("running", SANDBOX_MODES, indirect=True)
GENERIC = "传入参数不符合业务规则"


@pytest.fixture
def merchant(running: RunningSandbox) -> Iterator[SigningClient]:
    client = merchant_of(running.home)
    yield client
    client.close()


def merchant_of(home: Path) -> SigningClient:
    """The partner client, its updates defaulting to the docs stock's total cap."""
    defaults = {"current_max_count": 10000000, "target_max_count": 200}
    return SigningClient.of(home, update_defaults=defaults)


# --- the home folder -------------------------------------------------------------------------


def test_first_start_creates_a_private_home_and_a_usable_profile(tmp_path: Path) -> None:
    home = tmp_path / "fresh" / "sb"
    running = start_in_background(home)
    running.stop()
    assert running.config_path == home / "config.toml"
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    for name in ("merchant_private_key.pem", "wechatpay_private_key.pem"):
        assert stat.S_IMODE((home / "keys" / name).stat().st_mode) == 0o600
    assert stat.S_IMODE(running.config_path.stat().st_mode) == 0o600
    assert (
        (home / "keys" / "merchant_private_key.pem")
        .read_bytes()
        .startswith(b"-----BEGIN PRIVATE KEY-----")
    )
    for name in ("merchant_public_key.pem", "wechatpay_public_key.pem"):
        assert (home / "keys" / name).read_bytes().startswith(b"-----BEGIN PUBLIC KEY-----")
    config = tomllib.loads(running.config_path.read_text())
    assert config["default_profile"] == "sandbox"
    profile = config["profiles"]["sandbox"]
    assert set(profile) == {
        "mchid",
        "merchant_serial_no",
        "private_key_file",
        "merchant_cert_file",
        "wechatpay_public_key_id",
        "wechatpay_public_key_file",
        "brand_id",
        "base_url",
        "timeout",
    }
    assert profile["base_url"] == running.base_url
    assert profile["brand_id"] == BRAND
    assert profile["timeout"] == 10
    assert len(profile["merchant_serial_no"]) == 40
    assert profile["merchant_serial_no"] == profile["merchant_serial_no"].upper()
    int(profile["merchant_serial_no"], 16)
    assert profile["wechatpay_public_key_id"].startswith("PUB_KEY_ID_")
    assert len(profile["wechatpay_public_key_id"].removeprefix("PUB_KEY_ID_")) == 32
    assert (home / "sandbox.db").exists()


def test_restart_keeps_keys_state_and_other_config_but_moves_base_url(
    sandboxes: Sandboxes,
) -> None:
    first = sandboxes.start("sb", use=False)
    client = merchant_of(first.home)
    assert client.update(UPDATE, target_max_count=4321).status_code == 200
    client.close()
    sandboxes.stop("sb")
    profile_before = tomllib.loads(first.config_path.read_text())["profiles"]["sandbox"]
    with first.config_path.open("a") as handle:
        handle.write('\n[profiles.prod]\nmchid = "1234567890"\n')
    second = sandboxes.start("sb", use=False)
    config = tomllib.loads(second.config_path.read_text())
    assert config["profiles"]["prod"] == {"mchid": "1234567890"}
    profile_after = config["profiles"]["sandbox"]
    assert profile_after["base_url"] == second.base_url
    assert {k: v for k, v in profile_after.items() if k != "base_url"} == {
        k: v for k, v in profile_before.items() if k != "base_url"
    }
    again = merchant_of(second.home)
    stock = again.call("GET", STOCK + "?brand_id=" + BRAND).json()
    assert stock["stock_send_rule"]["max_count"] == 4321
    again.close()


def test_a_folder_of_somebody_else_is_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(UsageError, match="not empty"):
        start_in_background(tmp_path)


# --- reading stocks ---------------------------------------------------------------------------


def test_get_stock_answers_the_docs_example(merchant: SigningClient) -> None:
    response = merchant.call("GET", STOCK + "?brand_id=" + BRAND)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Wechatpay-Serial"] == merchant.public_key_id
    assert response.headers["Wechatpay-Signature-Type"] == "WECHATPAY2-SHA256-RSA2048"
    assert len(response.headers["Wechatpay-Nonce"]) == 32
    assert "Date" in response.headers
    assert response.json() == demo_stocks()[0]


def test_list_pages_through_stocks_in_order(merchant: SigningClient) -> None:
    base = COUPONS + "/1000000013/stocks?brand_id=" + BRAND
    everything = merchant.call("GET", base).json()
    assert everything["total_count"] == 7
    assert "next_page_token" not in everything
    expected = [stock["stock_id"] for stock in everything["stock_list"]]
    assert expected == sorted(expected)
    seen: list[str] = []
    page = merchant.call("GET", base + "&page_size=3").json()
    assert page["total_count"] == 7
    while True:
        seen += [stock["stock_id"] for stock in page["stock_list"]]
        if "next_page_token" not in page:
            break
        page = merchant.call("GET", f"{base}&page_size=3&page_token={page['next_page_token']}")
        page = page.json()
        assert "total_count" not in page
    assert seen == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("&state=SENDING", ["1000000013001", "1000000013002", "1000000013007"]),
        ("&state=DEACTIVATED", ["1000000013005"]),
        ("&stock_bundle_id=712315129419284901", []),
    ],
)
def test_list_filters(merchant: SigningClient, query: str, expected: list[str]) -> None:
    page = merchant.call("GET", COUPONS + "/1000000013/stocks?brand_id=" + BRAND + query).json()
    assert [stock["stock_id"] for stock in page["stock_list"]] == expected
    assert page["total_count"] == len(expected)


def test_list_filters_by_stock_bundle(merchant: SigningClient) -> None:
    target = COUPONS + "/1000000014/stocks?brand_id=120344&stock_bundle_id=712315129419284901"
    page = merchant.call("GET", target).json()
    assert [stock["stock_bundle_info"]["stock_bundle_index"] for stock in page["stock_list"]] == [
        0,
        1,
        2,
    ]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("&page_size=ten", "page_size"),
        ("&page_size=%C2%B2", "page_size"),
        ("&page_token=bm9wZQ==", "page_token"),
        ("&page_token=not-a-token", "page_token"),
        ("&state=RUNNING", "state"),
    ],
)
def test_list_refuses_bad_query_parameters(merchant: SigningClient, query: str, field: str) -> None:
    response = merchant.call("GET", COUPONS + "/1000000013/stocks?brand_id=" + BRAND + query)
    body = assert_error(response, 400, "PARAM_ERROR")
    assert body["detail"]["field"] == field
    assert body["detail"]["location"] == "query"


@STRICT
@pytest.mark.parametrize("size", ["51", "0"])
def test_strict_list_refuses_a_page_size_outside_1_to_50(
    merchant: SigningClient, size: str
) -> None:
    query = f"?brand_id={BRAND}&page_size={size}"
    response = merchant.call("GET", COUPONS + "/1000000013/stocks" + query)
    assert assert_error(response, 400, "PARAM_ERROR")["detail"]["field"] == "page_size"


# --- gateway checks ---------------------------------------------------------------------------


def test_authorization_fields_may_come_in_any_order(merchant: SigningClient) -> None:
    order = ("serial_no", "timestamp", "signature", "mchid", "nonce_str")
    assert merchant.call("GET", STOCK + "?brand_id=" + BRAND, order=order).status_code == 200


@pytest.mark.parametrize(
    ("auth", "message"),
    [
        ({"signature": "c2lnbmF0dXJl"}, "signature"),
        ({"mchid": "1900009999"}, "mchid"),
        ({"serial_no": "0" * 40}, "serial_no"),
        ({"timestamp": "1700000000x"}, "timestamp"),
        ({"order": ("mchid", "nonce_str", "signature", "timestamp")}, "值格式错误"),
    ],
)
def test_bad_authorization_is_a_sign_error(
    merchant: SigningClient, auth: dict[str, Any], message: str
) -> None:
    response = merchant.call("GET", STOCK + "?brand_id=" + BRAND, **auth)
    assert_error(response, 401, "SIGN_ERROR", message)


def stopped_clock(running: RunningSandbox) -> int:
    """Stop the sandbox's clock at the current second and return it: a request stamped
    relative to it is exactly that far off, however long it takes to arrive."""
    now = int(time.time())
    running._server.app.clock = lambda: now
    return now


@pytest.mark.parametrize("offset", [-301, 301])
def test_a_timestamp_more_than_five_minutes_off_is_refused(
    running: RunningSandbox, merchant: SigningClient, offset: int
) -> None:
    now = stopped_clock(running)
    response = merchant.call("GET", STOCK + "?brand_id=" + BRAND, timestamp=now + offset)
    assert_error(response, 401, "SIGN_ERROR", "不得超过5分钟")


@pytest.mark.parametrize("offset", [-300, 300])
def test_a_timestamp_within_five_minutes_is_accepted(
    running: RunningSandbox, merchant: SigningClient, offset: int
) -> None:
    now = stopped_clock(running)
    response = merchant.call("GET", STOCK + "?brand_id=" + BRAND, timestamp=now + offset)
    assert response.status_code == 200


@pytest.mark.parametrize(
    "authorization",
    [
        "",
        "WECHATPAY2-SHA256-RSA2048",
        'WECHATPAY-BRAND-SHA256-RSA2048 brand_id="120344",nonce_str="a",signature="b",'
        'timestamp="1",serial_no="c"',
    ],
)
def test_malformed_or_foreign_scheme_authorization(
    merchant: SigningClient, authorization: str
) -> None:
    response = merchant.call(
        "GET", STOCK + "?brand_id=" + BRAND, headers={"Authorization": authorization}
    )
    assert_error(response, 401, "SIGN_ERROR", "Authorization值格式错误")


@pytest.mark.parametrize("header", ["Accept", "User-Agent"])
def test_missing_accept_or_user_agent(merchant: SigningClient, header: str) -> None:
    # http.client, because requests and urllib3 add their own Accept and User-Agent.
    target = STOCK + "?brand_id=" + BRAND
    headers = {
        "Authorization": merchant.authorization("GET", target, b""),
        "Accept": "application/json",
        "User-Agent": "wxbudget-tests",
    }
    del headers[header]
    connection = http.client.HTTPConnection(merchant.base_url.removeprefix("http://"))
    try:
        connection.request("GET", target, headers=headers)
        answer = connection.getresponse()
        status, body = answer.status, json.loads(answer.read())
    finally:
        connection.close()
    assert (status, body["code"]) == (400, "INVALID_REQUEST")
    assert body["message"] == "Http头缺少Accept或User-Agent"


def test_post_needs_a_json_content_type(merchant: SigningClient) -> None:
    response = merchant.call(
        "POST", UPDATE, {"brand_id": BRAND}, headers={"Content-Type": "text/plain"}
    )
    assert_error(response, 400, "INVALID_REQUEST", "Content-Type")


@STRICT
def test_wechatpay_serial_header_must_name_the_sandbox_key(merchant: SigningClient) -> None:
    good = merchant.call(
        "GET", STOCK + "?brand_id=" + BRAND, headers={"Wechatpay-Serial": merchant.public_key_id}
    )
    assert good.status_code == 200
    bad = merchant.call(
        "GET", STOCK + "?brand_id=" + BRAND, headers={"Wechatpay-Serial": "PUB_KEY_ID_0"}
    )
    body = assert_error(bad, 400, "PARAM_ERROR")
    assert body["detail"]["field"] == "Wechatpay-Serial"


def test_rate_limit_per_endpoint(sandboxes: Sandboxes) -> None:
    # The limiter's clock stands still unless the test moves it: a slow machine cannot spread
    # the requests over two windows.
    now = [0.0]
    sandbox = sandboxes.start("sb", use=False, rate_limit=3, rate_limit_clock=lambda: now[0])
    client = merchant_of(sandbox.home)

    def get_stock() -> int:
        return client.call("GET", STOCK + "?brand_id=" + BRAND).status_code

    statuses = [get_stock() for _ in range(5)]
    other_endpoint = client.call("GET", COUPONS + "/1000000013/stocks?brand_id=" + BRAND)
    now[0] = 0.999  # the same window...
    still_limited = get_stock()
    now[0] = 1.0  # ...and the next one: the first three arrivals are a second old
    next_window = [get_stock() for _ in range(4)]
    client.close()
    assert statuses == [200, 200, 200, 429, 429]
    assert other_endpoint.status_code == 200
    assert still_limited == 429
    assert next_window == [200, 200, 200, 429]
    limited = [entry for entry in request_log(sandbox.home) if entry["status"] == 429]
    assert limited
    assert all(entry["code"] == "RATELIMIT_EXCEEDED" for entry in limited)
    assert all(entry["request_id"].endswith("-270924289") for entry in limited)


# --- ids and routes ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "message"),
    [
        (COUPONS + "/1000000099/stocks/1000000099001?brand_id=120344", "product_coupon_id"),
        (COUPONS + "/1000000013/stocks/1000000013999?brand_id=120344", "stock_id"),
        (COUPONS + "/1000000013/stocks/1000000014001?brand_id=120344", "stock_id"),
        (COUPONS + "/1000000013/stocks/1000000013001?brand_id=999999", "stock_id"),
        (COUPONS + "/1000000099/stocks?brand_id=120344", "product_coupon_id"),
        (COUPONS + "/1000000013/stocks?brand_id=999999", "product_coupon_id"),
        ("/v3/marketing/partner/product-coupon/nothing-here", "不存在"),
    ],
)
def test_unknown_ids_are_not_found(merchant: SigningClient, target: str, message: str) -> None:
    response = merchant.call("GET", target)
    assert_error(response, 404, "NOT_FOUND", message)
    assert response.headers["Request-ID"].endswith("-268578608")


def test_unknown_stock_and_foreign_brand_look_the_same(merchant: SigningClient) -> None:
    unknown = merchant.call("GET", COUPONS + "/1000000013/stocks/1000000013999?brand_id=120344")
    foreign = merchant.call("GET", STOCK + "?brand_id=999999")
    assert unknown.json() == foreign.json()


@pytest.mark.parametrize("target", [STOCK, COUPONS + "/1000000013/stocks"])
def test_brand_id_is_required_in_the_query(merchant: SigningClient, target: str) -> None:
    body = assert_error(merchant.call("GET", target), 400, "PARAM_ERROR")
    assert body["detail"]["field"] == "brand_id"


def test_wrong_method_on_a_known_path(merchant: SigningClient) -> None:
    assert_error(merchant.call("GET", UPDATE), 405, "METHOD_NOT_ALLOWED")


# --- update-budget: body checks ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"out_request_no": None}, "/out_request_no"),
        ({"out_request_no": "short"}, "/out_request_no"),
        ({"out_request_no": "x" * 41}, "/out_request_no"),
        ({"out_request_no": "has space 123"}, "/out_request_no"),
        ({"update_mode": "MAX_COUNT_PER_USER"}, "/update_mode"),
        ({"update_mode": None}, "/update_mode"),
        ({"current_max_count": None}, "/current_max_count"),
        ({"target_max_count": "200"}, "/target_max_count"),
        ({"target_max_count": True}, "/target_max_count"),
        ({"target_max_count": 2.5}, "/target_max_count"),
        ({"target_max_count": -1}, "/target_max_count"),
        ({"brand_id": None}, "/brand_id"),
        ({"brand_id": 120344}, "/brand_id"),
    ],
)
def test_update_body_param_errors(
    merchant: SigningClient, fields: dict[str, Any], field: str
) -> None:
    body = assert_error(merchant.update(UPDATE, **fields), 400, "PARAM_ERROR")
    assert body["detail"]["field"] == field
    assert body["detail"]["location"] == "body"


@STRICT
@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"surprise": 1}, "/surprise"),
        ({"target_max_count_per_day": 5}, "/target_max_count_per_day"),
        ({"target_max_count": 0}, "/target_max_count"),
        ({"target_max_count": 100_000_001}, "/target_max_count"),
    ],
)
def test_strict_update_body_param_errors(
    merchant: SigningClient, fields: dict[str, Any], field: str
) -> None:
    body = assert_error(merchant.update(UPDATE, **fields), 400, "PARAM_ERROR")
    assert body["detail"]["field"] == field


def test_per_day_mode_requires_its_own_fields(merchant: SigningClient) -> None:
    response = merchant.update(
        DAILY_UPDATE,
        update_mode="MAX_COUNT_PER_DAY",
        current_max_count=None,
        target_max_count=None,
        current_max_count_per_day=5000,
    )
    body = assert_error(response, 400, "PARAM_ERROR")
    assert body["detail"]["field"] == "/target_max_count_per_day"


@STRICT
def test_out_of_range_target_says_so(merchant: SigningClient) -> None:
    assert_error(
        merchant.update(UPDATE, target_max_count=0), 400, "PARAM_ERROR", "参数超出取值范围"
    )


@pytest.mark.parametrize("raw", [b"not json", b"[1, 2]", b'"text"'])
def test_update_body_must_be_a_json_object(merchant: SigningClient, raw: bytes) -> None:
    assert_error(merchant.call("POST", UPDATE, raw), 400, "PARAM_ERROR")


# --- update-budget: business rules ------------------------------------------------------------


def stock_path(stock_id: str) -> str:
    return f"{COUPONS}/{stock_id[:10]}/stocks/{stock_id}/update-budget"


DAILY_FIELDS = {"update_mode": "MAX_COUNT_PER_DAY", "current_max_count": None}
DAILY_FIELDS |= {"target_max_count": None}


# The page's refusals, in both modes: only its two messages; lenient names the rule in detail.
@BOTH_MODES
@pytest.mark.parametrize(
    ("stock_id", "fields", "message", "issue"),
    [
        ("1000000013004", {"current_max_count": 10000}, "已过期的批次不可修改发放预算", "已过期"),
        ("1000000013005", {"current_max_count": 10000}, GENERIC, "已失效的批次不可修改发放预算"),
        ("1000000014001", {"current_max_count": 30000}, GENERIC, "批次组内的批次不可使用本接口"),
        ("1000000013001", {"current_max_count": 9999999}, GENERIC, "current_max_count"),
        (
            "1000000013002",
            {"current_max_count": 50000, "target_max_count": 11999},
            GENERIC,
            "目标发放次数总上限不得小于当前已发放总次数",
        ),
        (
            "1000000013002",
            DAILY_FIELDS | {"current_max_count_per_day": 4999, "target_max_count_per_day": 6000},
            GENERIC,
            "current_max_count_per_day",
        ),
    ],
)
def test_business_rules(
    running: RunningSandbox,
    merchant: SigningClient,
    stock_id: str,
    fields: dict[str, Any],
    message: str,
    issue: str,
) -> None:
    response = merchant.update(stock_path(stock_id), **fields)
    body = assert_error(response, 400, "INVALID_REQUEST")
    assert body["message"] == message
    if running.strict:
        assert "detail" not in body
    else:
        assert issue in body["detail"]["issue"]


# Rules the page does not state: only the strict sandbox holds them (test_fidelity.py shows the
# lenient one applying each).
@STRICT
@pytest.mark.parametrize(
    ("stock_id", "fields"),
    [
        ("1000000013006", {"current_max_count": 10000}),
        (
            "1000000013001",
            DAILY_FIELDS | {"current_max_count_per_day": 0, "target_max_count_per_day": 2000},
        ),
        (
            "1000000013007",
            DAILY_FIELDS | {"current_max_count_per_day": 1000, "target_max_count_per_day": 994},
        ),
    ],
)
def test_strict_business_rules(
    merchant: SigningClient, stock_id: str, fields: dict[str, Any]
) -> None:
    body = assert_error(merchant.update(stock_path(stock_id), **fields), 400, "INVALID_REQUEST")
    assert body == {"code": "INVALID_REQUEST", "message": GENERIC}


def test_paused_stock_and_lower_target_down_to_sent_count_are_allowed(
    merchant: SigningClient,
) -> None:
    paused = merchant.update(
        stock_path("1000000013003"), current_max_count=20000, target_max_count=25000
    )
    assert paused.status_code == 200
    exact = merchant.update(DAILY_UPDATE, current_max_count=50000, target_max_count=12000)
    assert exact.json()["stock_send_rule"]["max_count"] == 12000


def test_successful_update_is_visible_and_journaled(
    running: RunningSandbox, merchant: SigningClient
) -> None:
    response = merchant.update(
        DAILY_UPDATE,
        out_request_no="daily_20250101_0001",
        update_mode="MAX_COUNT_PER_DAY",
        current_max_count=None,
        target_max_count=None,
        current_max_count_per_day=5000,
        target_max_count_per_day=800,
    )
    assert response.status_code == 200
    assert response.headers["Request-ID"].endswith("-0")
    expected_rule = {"max_count": 50000, "max_count_per_day": 800, "max_count_per_user": 1}
    assert response.json()["stock_send_rule"] == expected_rule
    fetched = merchant.call("GET", DAILY_STOCK + "?brand_id=" + BRAND).json()
    assert fetched == response.json()
    entry = request_log(running.home)[0]
    assert entry["method"] == "POST"
    assert entry["path"] == DAILY_UPDATE
    assert entry["status"] == 200
    assert entry["code"] is None
    assert entry["out_request_no"] == "daily_20250101_0001"
    assert entry["applied"] is True
    assert entry["replay"] is False
    assert entry["request_id"] == response.headers["Request-ID"]


# --- idempotency ------------------------------------------------------------------------------


def test_a_repeat_replays_the_first_outcome_and_applies_once(
    running: RunningSandbox, merchant: SigningClient
) -> None:
    first = merchant.update(UPDATE, out_request_no="once_only_001", target_max_count=300)
    # Same data in another key order and spacing is the same request.
    raw = json.dumps(
        {
            "brand_id": BRAND,
            "target_max_count": 300,
            "current_max_count": 10000000,
            "update_mode": "MAX_COUNT",
            "out_request_no": "once_only_001",
        },
        indent=2,
    ).encode()
    second = merchant.call("POST", UPDATE, raw)
    assert (second.status_code, second.content) == (first.status_code, first.content)
    assert [(e["applied"], e["replay"]) for e in request_log(running.home)] == [
        (True, False),
        (False, True),
    ]


def test_a_repeated_business_failure_replays_too(
    running: RunningSandbox, merchant: SigningClient
) -> None:
    stale: dict[str, Any] = {"out_request_no": "stale_repeat_01", "current_max_count": 1}
    first = merchant.update(UPDATE, **stale)
    assert_error(first, 400, "INVALID_REQUEST", GENERIC)
    second = merchant.update(UPDATE, **stale)
    assert (second.status_code, second.content) == (first.status_code, first.content)
    assert request_log(running.home)[1]["replay"] is True


def test_same_number_with_different_data_is_refused(merchant: SigningClient) -> None:
    assert merchant.update(UPDATE, out_request_no="reused_number_1", target_max_count=300).ok
    again = merchant.update(
        UPDATE, out_request_no="reused_number_1", current_max_count=300, target_max_count=400
    )
    assert_error(again, 400, "INVALID_REQUEST", "相同单号但请求数据不一致")
    assert again.headers["Request-ID"].endswith("-268578927")
    other_stock = merchant.update(
        DAILY_UPDATE, out_request_no="reused_number_1", target_max_count=300
    )
    assert_error(other_stock, 400, "INVALID_REQUEST", "相同单号但请求数据不一致")


def test_refused_requests_do_not_claim_their_number(
    running: RunningSandbox, merchant: SigningClient
) -> None:
    number = "claimed_later_01"
    assert_error(
        merchant.update(UPDATE, out_request_no=number, target_max_count="1"), 400, "PARAM_ERROR"
    )
    assert_error(
        merchant.update(UPDATE, out_request_no=number, brand_id="999999"), 404, "NOT_FOUND"
    )
    body = {
        "out_request_no": number,
        "update_mode": "MAX_COUNT",
        "current_max_count": 10000000,
        "target_max_count": 200,
        "brand_id": BRAND,
    }
    assert_error(merchant.call("POST", UPDATE, body, signature="c2ln"), 401, "SIGN_ERROR")
    response = merchant.call("POST", UPDATE, body)
    assert response.status_code == 200
    assert request_log(running.home)[-1]["applied"] is True


def test_concurrent_identical_requests_apply_once(
    running: RunningSandbox, merchant: SigningClient
) -> None:
    barrier = threading.Barrier(8)
    responses: list[requests.Response] = []
    lock = threading.Lock()

    def send() -> None:
        client = merchant_of(running.home)
        barrier.wait()
        response = client.update(UPDATE, out_request_no="concurrent_0001", target_max_count=777)
        client.close()
        with lock:
            responses.append(response)

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {(r.status_code, r.content) for r in responses} == {(200, responses[0].content)}
    entries = request_log(running.home)
    assert sum(entry["applied"] for entry in entries) == 1
    assert sum(entry["replay"] for entry in entries) == 7


def test_concurrent_different_numbers_with_one_current_value_win_once(
    running: RunningSandbox,
) -> None:
    barrier = threading.Barrier(6)
    statuses: list[int] = []
    lock = threading.Lock()

    def send(index: int) -> None:
        client = merchant_of(running.home)
        barrier.wait()
        response = client.update(
            UPDATE, out_request_no=f"racer_{index:04d}", target_max_count=1000 + index
        )
        client.close()
        with lock:
            statuses.append(response.status_code)

    threads = [threading.Thread(target=send, args=(index,)) for index in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200, 400, 400, 400, 400, 400]


# --- seeds ------------------------------------------------------------------------------------


def test_seed_is_upserted_instead_of_the_demo(tmp_path: Path) -> None:
    stock = demo_stocks()[1] | {"product_coupon_id": "2000000001", "stock_id": "2000000001001"}
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps([stock]))
    with start_in_background(tmp_path / "sb", seed=seed) as sandbox:
        client = merchant_of(sandbox.home)
        seeded = client.call("GET", COUPONS + "/2000000001/stocks?brand_id=" + BRAND)
        demo = client.call("GET", STOCK + "?brand_id=" + BRAND)
        client.close()
    assert seeded.json()["total_count"] == 1
    assert demo.status_code == 404


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "not found"),
        ("[", "invalid JSON"),
        ("{}", "JSON array"),
        ("[1]", "element 0"),
        ('[{"product_coupon_id": "1"}]', "element 0: stock_id"),
    ],
)
def test_bad_seed_files_are_usage_errors(tmp_path: Path, content: str | None, problem: str) -> None:
    seed = tmp_path / "seed.json"
    if content is not None:
        seed.write_text(content)
    with pytest.raises(UsageError, match=problem) as caught:
        start_in_background(tmp_path / "sb", seed=seed)
    assert str(seed) in caught.value.message
    assert "\n" not in caught.value.message
    assert not (tmp_path / "sb").exists()


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"brand_id": None}, "brand_id"),
        ({"stock_send_rule": {"max_count_per_day": 5}}, "stock_send_rule.max_count"),
        ({"stock_send_rule": {"max_count": "5"}}, "stock_send_rule.max_count"),
        ({"sent_count_info": None}, "sent_count_info"),
        ({"state": "RUNNING"}, "state"),
    ],
)
def test_seed_elements_name_their_problem(
    tmp_path: Path, change: dict[str, Any], problem: str
) -> None:
    good = demo_stocks()[0]
    bad = {key: value for key, value in (good | change).items() if value is not None}
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps([good, bad]))
    with pytest.raises(UsageError, match=f"element 1: {problem}"):
        start_in_background(tmp_path / "sb", seed=seed)


# --- the foreground server and the CLI --------------------------------------------------------


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_serve_prints_its_address_and_stops_cleanly(tmp_path: Path, stop_signal: int) -> None:
    code = (
        "import sys; from pathlib import Path; from wxbudget.sandbox import serve; "
        "serve(Path(sys.argv[1]))"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code, str(tmp_path / "sb")],
        stdout=subprocess.PIPE,
        text=True,
        env=os.environ | {"PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("listening on http://127.0.0.1:")
        base_url = line.split()[-1]
        config = tomllib.loads((tmp_path / "sb" / "config.toml").read_text())
        assert config["profiles"]["sandbox"]["base_url"] == base_url
        client = merchant_of(tmp_path / "sb")
        assert client.call("GET", STOCK + "?brand_id=" + BRAND).status_code == 200
        client.close()
        process.send_signal(stop_signal)
        assert process.wait(timeout=30) == 0
        assert process.stdout.read() == ""
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


def test_cli_help_documents_serve() -> None:
    result = CliRunner().invoke(sandbox_app, ["serve", "--help"])
    assert result.exit_code == 0
    for option in ("--home", "--port", "--seed", "--rate-limit", "Example"):
        assert option in result.stdout
