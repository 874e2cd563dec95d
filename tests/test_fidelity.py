"""Right against the real WeChat Pay, whichever way it reads what its pages leave open.

The client refuses locally only what the official update-budget pages state; for the rest it
warns, sends, and decides by re-reading the stock, never by a message's wording. Every test
here runs against the default (lenient) sandbox and the strict one.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import signal
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests.helpers.certificates import new_key
from tests.helpers.cli import run, spawn
from tests.helpers.logs import posts_of, request_log
from tests.helpers.sandboxes import (
    BOTH_MODES,
    SANDBOX_MODES,
    PristineHomes,
    Sandboxes,
    is_strict,
    stock_object,
)
from tests.helpers.signing_client import SigningClient
from wxbudget import config, signing
from wxbudget.client import Client
from wxbudget.config import Flags
from wxbudget.errors import RejectedError
from wxbudget.sandbox import RunningSandbox, start_in_background

COUPON = "1000000013"
DOCS_STOCK = "1000000013001"  # SENDING, total 10,000,000, no daily cap
DAILY_STOCK = "1000000013002"  # SENDING, total 50,000, daily 5,000, sent 12,000 / 800 today
AUDITING_STOCK = "1000000013006"  # AUDITING, total 10,000
BUNDLE_COUPON = "1000000014"
BUNDLE = "712315129419284901"  # three stocks, total 30,000 and daily 3,000 each
GENERIC = "传入参数不符合业务规则"
UPDATE_PATH = "/v3/marketing/partner/product-coupon/product-coupons/{}/stocks/{}/update-budget"


def rule(stock: str, coupon: str = COUPON) -> dict[str, int]:
    found: dict[str, int] = json.loads(run("show", coupon, stock, "-o", "json").stdout)[
        "stock_send_rule"
    ]
    return found


def client_of(sandbox: RunningSandbox) -> Client:
    return Client(config.resolve(Flags(config=sandbox.config_path, profile="sandbox")))


# --- the official sample, verbatim -------------------------------------------------------------


def php_sample_body(update_mode: str) -> bytes:
    """The request of the official PHP SDK page (seed 003_...), as PHP's json_encode writes it:
    all four count fields, whatever the mode."""
    fields = {
        "brand_id": "120344",
        "out_request_no": "34657_20250101_123456",
        "update_mode": update_mode,
        "current_max_count": 1,
        "target_max_count": 1,
        "current_max_count_per_day": 1,
        "target_max_count_per_day": 1,
    }
    return json.dumps(fields, separators=(",", ":")).encode()


@pytest.fixture(params=SANDBOX_MODES)
def sample_sandbox(sandboxes: Sandboxes, request: pytest.FixtureRequest) -> RunningSandbox:
    """The sample's ids with the caps its current_* values name (1 and 1), nothing issued."""
    seed = [stock_object(COUPON, DOCS_STOCK, max_count=1, per_day=1)]
    return sandboxes.start(seed=seed, strict=is_strict(request))


@pytest.mark.parametrize("update_mode", ["MAX_COUNT", "MAX_COUNT_PER_DAY"])
def test_the_php_sample_request_is_applied_by_default_and_refused_by_strict(
    sample_sandbox: RunningSandbox, update_mode: str
) -> None:
    client = client_of(sample_sandbox)
    path = UPDATE_PATH.format(COUPON, DOCS_STOCK)
    body = php_sample_body(update_mode)
    try:
        if sample_sandbox.strict:
            with pytest.raises(RejectedError) as refused:
                client.call("POST", path, body=body)
            other = "_per_day" if update_mode == "MAX_COUNT" else ""
            assert (refused.value.status, refused.value.code) == (400, "PARAM_ERROR")
            assert refused.value.field in (
                f"/current_max_count{other}",
                f"/target_max_count{other}",
            )
            assert [entry["applied"] for entry in posts_of(sample_sandbox.home)] == [False]
        else:
            # Client.call verifies the answer's signature before returning it.
            answer = client.call("POST", path, body=body)
            assert answer.status == 200
            assert client.last_call is not None
            assert client.last_call.verified
            assert answer.data["stock_send_rule"]["max_count"] == 1
            assert [entry["applied"] for entry in posts_of(sample_sandbox.home)] == [True]
    finally:
        client.close()


# --- a stale current_* is found by re-reading, whatever the message says -----------------------


@pytest.fixture(params=SANDBOX_MODES)
def racing(sandboxes: Sandboxes, request: pytest.FixtureRequest) -> RunningSandbox:
    """A sandbox where someone else adds 1 to the cap between wxbudget's read and its write."""
    return sandboxes.start(faults=["race=1"], fault_limit=1, strict=is_strict(request))


def test_a_cap_changed_underneath_exits_5_with_both_values(racing: RunningSandbox) -> None:
    result = run("set-max", COUPON, DAILY_STOCK, "+500", "--yes", expect=5)
    lines = result.stderr.strip().splitlines()
    assert "read 50000, now 50001; nothing was applied" in lines[-1]
    # Only the page's generic message came back; strict adds no hint at all.
    assert f"400 INVALID_REQUEST: {GENERIC}" in lines[-1]
    assert "Request-ID" in lines[-1]
    assert rule(DAILY_STOCK)["max_count"] == 50001
    assert [entry["applied"] for entry in posts_of(racing.home)] == [False]
    history = json.loads(run("history", "-o", "json").stdout)
    outcomes = [(entry["outcome"]["result"], entry["outcome"]["exit_code"]) for entry in history]
    assert outcomes == [("conflict", 5)]


def test_a_bundle_cap_changed_underneath_exits_5_with_both_values(racing: RunningSandbox) -> None:
    result = run("bundle", "set-max", BUNDLE_COUPON, BUNDLE, "+1000", "--yes", expect=5)
    assert "read 30000, now 30001; nothing was applied" in result.stderr
    assert GENERIC in result.stderr


@BOTH_MODES
def test_a_refusal_with_the_cap_unchanged_exits_4_with_wechat_pays_message(
    sandbox: RunningSandbox,
) -> None:
    # Below today's issued count: a rule only the strict sandbox holds. The client warns,
    # sends, and lets the answer decide.
    result = run(
        "set-daily", COUPON, DAILY_STOCK, "700", "--yes", expect=4 if sandbox.strict else 0
    )
    assert "warning: target daily cap 700 is below the 800 coupons issued today" in result.stderr
    if sandbox.strict:
        last = result.stderr.strip().splitlines()[-1]
        assert f"WeChat Pay answered 400 INVALID_REQUEST: {GENERIC}" in last
        assert "daily cap unchanged" in last
        assert "(Request-ID " in last
        assert rule(DAILY_STOCK)["max_count_per_day"] == 5000
    else:
        assert rule(DAILY_STOCK)["max_count_per_day"] == 700
    assert len(posts_of(sandbox.home)) == 1


# --- rules no page states: warned about, sent, and WeChat Pay decides -------------------------


@BOTH_MODES
@pytest.mark.parametrize(
    ("command", "stock", "target", "warning", "field", "applied"),
    [
        ("set-max", AUDITING_STOCK, "+1", "is AUDITING", "max_count", 10001),
        ("set-daily", DOCS_STOCK, "100", "has no daily cap", "max_count_per_day", 100),
        ("set-max", DAILY_STOCK, "100000001", "outside 1..100000000", "max_count", 100000001),
    ],
)
def test_undocumented_rules_are_warnings_and_the_answer_decides(
    sandbox: RunningSandbox,
    command: str,
    stock: str,
    target: str,
    warning: str,
    field: str,
    applied: int,
) -> None:
    before = rule(stock).get(field)
    result = run(command, COUPON, stock, target, "--yes", expect=4 if sandbox.strict else 0)
    assert f"warning: stock {stock}" in result.stderr or "warning: target" in result.stderr
    assert warning in result.stderr
    assert len(posts_of(sandbox.home)) == 1
    if sandbox.strict:
        assert "WeChat Pay answered 400" in result.stderr
        assert rule(stock).get(field) == before
    else:
        assert rule(stock)[field] == applied


def test_the_dry_run_shows_the_warning_and_the_body_for_a_missing_daily_cap(
    sandbox: RunningSandbox,
) -> None:
    result = run("set-daily", COUPON, DOCS_STOCK, "100", "--dry-run")
    assert "daily cap unlimited -> 100" in result.stderr
    assert "warning: stock 1000000013001 has no daily cap" in result.stderr
    body = json.loads(result.stdout)
    assert (body["current_max_count_per_day"], body["target_max_count_per_day"]) == (0, 100)
    assert "current_max_count" not in body


# --- the lenient sandbox's readings of the other open points ----------------------------------


def test_lenient_sandbox_ignores_unknown_fields_and_serves_at_most_50(
    sandbox: RunningSandbox,
) -> None:
    client = client_of(sandbox)
    try:
        body = {
            "out_request_no": "lenient_fields_01",
            "update_mode": "MAX_COUNT",
            "current_max_count": 10000000,
            "target_max_count": 10000001,
            "brand_id": "120344",
            "surprise": True,
        }
        path = UPDATE_PATH.format(COUPON, DOCS_STOCK)
        answer = client.call("POST", path, body=json.dumps(body).encode())
        assert answer.data["stock_send_rule"]["max_count"] == 10000001
        listing = client.call(
            "GET",
            f"/v3/marketing/partner/product-coupon/product-coupons/{COUPON}/stocks",
            query={"brand_id": "120344", "page_size": "500"},
        )
        assert len(listing.data["stock_list"]) == 7
    finally:
        client.close()


# --- malformed Wechatpay-* headers: exit 6 naming the header, on both sides -------------------

ANSWER_HEADERS = {
    "Wechatpay-Timestamp": "1700000000",
    "Wechatpay-Nonce": "N" * 32,
    "Wechatpay-Signature": "c2lnbmF0dXJl",
    "Wechatpay-Serial": "PUB_KEY_ID_0000000000000024101100397200000006",
    "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
}
# What a well-formed value of each header looks like; anything else is malformed.
WELL_FORMED = {
    "Wechatpay-Timestamp": re.compile(r"[0-9]{1,12}"),
    "Wechatpay-Nonce": re.compile(r"[\x21-\x7e]{1,128}"),
    "Wechatpay-Serial": re.compile(r"PUB_KEY_ID_0000000000000024101100397200000006"),
    "Wechatpay-Signature-Type": re.compile(r"WECHATPAY2-SHA256-RSA2048|"),
}


@functools.cache
def answer_key() -> rsa.RSAPublicKey:
    return new_key().public_key()


@settings(max_examples=300, deadline=None)
@given(name=st.sampled_from(sorted(ANSWER_HEADERS)), value=st.text(max_size=60))
def test_any_answer_header_value_is_a_verification_failure_naming_it(name: str, value: str) -> None:
    pattern = WELL_FORMED.get(name)
    assume(pattern is None or not pattern.fullmatch(value))
    verdict = signing.verify_response(
        ANSWER_HEADERS | {name: value},
        b"{}",
        public_keys={ANSWER_HEADERS["Wechatpay-Serial"]: answer_key()},
        now=1700000000,
    )
    assert not verdict.ok
    assert name in verdict.reason


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_malformed_timestamp_answer_is_exit_6_and_the_write_is_settled(
    sandboxes: Sandboxes, method: str
) -> None:
    sandboxes.start(faults=[f"badheader=1:{method}"])
    if method == "GET":
        result = run("show", COUPON, DAILY_STOCK, expect=6)
        assert "Wechatpay-Timestamp '1²' is not Unix seconds" in result.stderr
        return
    # GETs answer well, so the re-read settles the write whose answer was not believed.
    result = run("set-max", COUPON, DAILY_STOCK, "+1", "--yes")
    assert "Wechatpay-Timestamp '1²' is not Unix seconds" in result.stderr
    assert "applied (confirmed by re-reading the stock)" in result.stderr
    history = json.loads(run("history", "-o", "json").stdout)
    assert [entry["outcome"]["result"] for entry in history] == ["applied"]


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, SigningClient]]:
    """The strict sandbox's request pipeline without a socket, and a partner that signs."""
    from wxbudget.sandbox.server import build_server

    home = tmp_path_factory.mktemp("gateway") / "sb"
    server = build_server(home, port=0, seed=None, rate_limit=0, strict=True)
    partner = SigningClient.of(home)
    yield server.app, partner
    partner.close()
    server.server_close()


def with_timestamp(authorization: str, value: str) -> str:
    """The Authorization header with its (signed) timestamp field replaced by `value`."""
    return re.sub(r'timestamp="[0-9]+"', lambda _: f'timestamp="{value}"', authorization)


LATIN_1 = st.text(alphabet=st.characters(max_codepoint=0xFF), max_size=80)
STOCK_TARGET = f"/v3/marketing/partner/product-coupon/product-coupons/{COUPON}/stocks/{DAILY_STOCK}"
GET_TARGET = STOCK_TARGET + "?brand_id=120344"
HEADERS = {"accept": "application/json", "user-agent": "t"}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=LATIN_1)
def test_the_sandbox_answers_any_authorization_with_401(gateway: Any, value: str) -> None:
    from wxbudget.sandbox.wire import Request

    app, _ = gateway
    answer = app.handle(Request("GET", GET_TARGET, HEADERS | {"authorization": value}, b""))
    assert answer.status == 401


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(field=st.sampled_from(["timestamp", "nonce_str", "serial_no", "mchid"]), value=LATIN_1)
def test_the_sandbox_answers_any_authorization_field_with_401(
    gateway: Any, field: str, value: str
) -> None:
    from wxbudget.sandbox.wire import Request

    app, partner = gateway
    value = value.replace('"', "")
    if field == "timestamp":
        authorization = with_timestamp(partner.authorization("GET", GET_TARGET, b""), value)
    else:
        authorization = partner.authorization("GET", GET_TARGET, b"", **{field: value})
    answer = app.handle(Request("GET", GET_TARGET, HEADERS | {"authorization": authorization}, b""))
    # Any other value of a signed field breaks the signature or names someone else.
    assert answer.status == 401


def test_the_sandbox_answers_a_superscript_timestamp_with_401_over_http(
    sandbox: RunningSandbox,
) -> None:
    partner = SigningClient.of(sandbox.home)
    try:
        authorization = with_timestamp(partner.authorization("GET", GET_TARGET, b""), "1²")
        answer = partner.send("GET", GET_TARGET, headers={"Authorization": authorization})
    finally:
        partner.close()
    assert (answer.status_code, answer.json()["code"]) == (401, "SIGN_ERROR")
    assert answer.json()["detail"]["field"] == "timestamp"


# --- platform certificate serials as the listing writes them ----------------------------------


@pytest.fixture(params=SANDBOX_MODES)
def cert_sandbox(
    sandboxes: Sandboxes, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> RunningSandbox:
    monkeypatch.setenv("WXBUDGET_PROFILE", "sandbox-cert")
    return sandboxes.start(platform_cert=True, strict=is_strict(request))


def test_a_serial_with_a_leading_zero_byte_is_used_as_listed(cert_sandbox: RunningSandbox) -> None:
    # The sandbox's first platform certificate is listed as 00XX...: its number drops the 00.
    rule(DAILY_STOCK)  # downloads the certificates on first use
    (cached,) = (cert_sandbox.home / "platform-certs").glob("*.json")
    assert re.fullmatch(r"00[0-9A-F]{38}", cached.stem)
    listed = json.loads(run("certs", "list", "-o", "json").stdout)["certificates"]
    assert [entry["serial_no"] for entry in listed] == [cached.stem]
    # The request's Wechatpay-Serial is that string: the strict sandbox refuses any other.
    run("set-max", COUPON, DAILY_STOCK, "+1", "--yes")
    assert rule(DAILY_STOCK)["max_count"] == 50001
    assert all(entry["status"] == 200 for entry in request_log(cert_sandbox.home))


# --- an independent client: wechatpayv3 (its own signing and verification) ---------------------


@BOTH_MODES
def test_wechatpayv3_reads_a_stock_and_updates_a_budget(sandbox: RunningSandbox) -> None:
    from wechatpayv3 import WeChatPay, WeChatPayType
    from wechatpayv3.type import RequestType

    profile = tomllib.loads(sandbox.config_path.read_text())["profiles"]["sandbox"]
    keys = sandbox.config_path.parent
    wxpay = WeChatPay(
        wechatpay_type=WeChatPayType.NATIVE,
        mchid=profile["mchid"],
        private_key=(keys / profile["private_key_file"]).read_text(),
        cert_serial_no=profile["merchant_serial_no"],
        appid="wx1234567890",
        apiv3_key="0" * 32,
        public_key=(keys / profile["wechatpay_public_key_file"]).read_text(),
        public_key_id=profile["wechatpay_public_key_id"],
    )
    # The library has no product-coupon calls and a fixed host: point its core at the sandbox
    # and use its generic signed request, which verifies every 2xx answer itself.
    core = wxpay._core
    core._gate_way = sandbox.base_url
    stock_path = (
        f"/v3/marketing/partner/product-coupon/product-coupons/{COUPON}/stocks/{DAILY_STOCK}"
    )
    code, text = core.request(stock_path + "?brand_id=120344")
    assert code == 200
    assert json.loads(text)["stock_send_rule"]["max_count"] == 50000
    code, text = core.request(
        stock_path + "/update-budget",
        method=RequestType.POST,
        data={
            "out_request_no": "wechatpayv3_interop_01",
            "update_mode": "MAX_COUNT",
            "current_max_count": 50000,
            "target_max_count": 60000,
            "brand_id": "120344",
        },
    )
    assert code == 200, text
    assert json.loads(text)["stock_send_rule"]["max_count"] == 60000
    assert rule(DAILY_STOCK)["max_count"] == 60000
    # A tampered answer is refused by the library's own verification, not only by ours: a
    # second server on a copy of the home (same keys) signs its answers with a stranger's key.
    copy = shutil.copytree(sandbox.home, sandbox.home.parent / "copy")
    with start_in_background(copy, faults=["badsig=1:GET"]) as faulty:
        core._gate_way = faulty.base_url
        with pytest.raises(Exception, match="failed to verify the signature"):
            core.request(stock_path + "?brand_id=120344")


@pytest.mark.slow
def test_sandbox_serve_strict_holds_the_strict_reading(
    pristine_homes: PristineHomes, tmp_path: Path
) -> None:
    home = pristine_homes.copy(tmp_path / "sb")
    arguments = ("sandbox", "serve", "--strict", "--home", str(home), "--port", "0")
    with spawn(*arguments, env=os.environ | {"PYTHONUNBUFFERED": "1"}) as process:
        assert process.stdout is not None
        assert process.stdout.readline().startswith("listening on http://127.0.0.1:")
        # Below today's issued count: applied by the default sandbox, refused by this one.
        config_file = str(home / "config.toml")
        args = ("--config", config_file, "set-daily", COUPON, DAILY_STOCK, "700", "--yes")
        assert GENERIC in run(*args, expect=4).stderr
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
        assert process.returncode == 0
        assert "strict mode" in stderr
