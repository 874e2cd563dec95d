"""The sandbox's brand API, stock-bundle budget and platform certificates, over real HTTP."""

from __future__ import annotations

import copy
import json
import re
import stat
import time
import tomllib
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import requests
import tomli_w
from typer.testing import CliRunner

from tests.helpers.logs import request_log
from tests.helpers.sandboxes import SANDBOX_MODES, Sandboxes, is_strict
from tests.helpers.signing_client import (
    BRAND,
    COUPONS,
    STOCK,
    SigningClient,
    assert_error,
    load_private_key,
)
from wxbudget import platform_crypto, signing
from wxbudget.cli.sandbox import sandbox_app
from wxbudget.errors import UsageError
from wxbudget.sandbox import RunningSandbox, rotate_platform_certificate
from wxbudget.sandbox.demo import demo_stocks

BRAND_COUPONS = "/brand/marketing/product-coupon/product-coupons"
BRAND_STOCK = BRAND_COUPONS + "/1000000013/stocks/1000000013001"
BUNDLE_ID = "712315129419284901"
BUNDLE_STOCKS = ["1000000014001", "1000000014002", "1000000014003"]
# Seeded next to the demo: a bundle without daily caps whose stocks already sent coupons, a
# bundle with a stopped stock, a bundle busy today, and a stock of another brand.
LOOSE_BUNDLE_ID = "812315129419284901"
STOPPED_BUNDLE_ID = "912315129419284901"
BUSY_BUNDLE_ID = "612315129419284901"
FOREIGN_BRAND = "999999"
NO_PLATFORM_MESSAGE = "无可用的平台证书,请在商户平台-API安全申请使用微信支付公钥。"


def bundle_path(prefix: str, coupon_id: str = "1000000014", bundle_id: str = BUNDLE_ID) -> str:
    return f"{prefix}/{coupon_id}/stock-bundles/{bundle_id}/update-budget"


def bundle_seed() -> list[dict[str, Any]]:
    template = next(s for s in demo_stocks() if s["stock_id"] == BUNDLE_STOCKS[0])
    stocks = []
    for coupon_id, bundle_id, sent in (
        ("1000000015", LOOSE_BUNDLE_ID, [(5000, 100), (4000, 50), (100, 0)]),
        ("1000000016", STOPPED_BUNDLE_ID, [(0, 0)] * 3),
        ("1000000017", BUSY_BUNDLE_ID, [(900, 100), (2600, 2500), (0, 0)]),
    ):
        for index, (total, today) in enumerate(sent):
            stock = copy.deepcopy(template)
            stock["product_coupon_id"] = coupon_id
            stock["stock_id"] = f"{coupon_id}00{index + 1}"
            stock["stock_bundle_info"] = {"stock_bundle_id": bundle_id, "stock_bundle_index": index}
            stock["sent_count_info"] = {"total_count": total, "today_count": today}
            if bundle_id == LOOSE_BUNDLE_ID:
                del stock["stock_send_rule"]["max_count_per_day"]
            elif bundle_id == STOPPED_BUNDLE_ID and index == 1:
                stock["state"] = "STOPPED"
            stocks.append(stock)
    foreign = demo_stocks()[0] | {
        "product_coupon_id": "2000000001",
        "stock_id": "2000000001001",
        "brand_id": FOREIGN_BRAND,
    }
    return [*stocks, foreign]


# The demo with the bundles above: what every sandbox of this module starts with.
SEED = [*demo_stocks(), *bundle_seed()]

Launch = Callable[..., RunningSandbox]


@pytest.fixture
def launch(sandboxes: Sandboxes) -> Launch:
    """Start the module's sandbox on a fresh copy of a prepared home; again restarts it."""

    def start(**options: Any) -> RunningSandbox:
        fresh = "sb" not in sandboxes.running and not (sandboxes.root / "sb").exists()
        return sandboxes.start("sb", use=False, seed=SEED if fresh else None, **options)

    return start


@pytest.fixture
def running(launch: Launch, request: pytest.FixtureRequest) -> RunningSandbox:
    """The default (lenient) sandbox, or `--strict` under `@STRICT` / `@BOTH_MODES`."""
    return launch(strict=is_strict(request))


STRICT = pytest.mark.parametrize("running", ["strict"], indirect=True)
BOTH_MODES = pytest.mark.parametrize("running", SANDBOX_MODES, indirect=True)
GENERIC = "传入参数不符合业务规则"


@pytest.fixture
def partner(running: RunningSandbox) -> Iterator[SigningClient]:
    client = partner_of(running.home)
    yield client
    client.close()


@pytest.fixture
def brand(running: RunningSandbox) -> Iterator[SigningClient]:
    client = brand_of(running.home)
    yield client
    client.close()


def partner_of(home: Path, profile: str = "sandbox") -> SigningClient:
    """The partner client, its updates defaulting to a bundle's caps."""
    defaults = {"current_max_count": 30000, "target_max_count": 40000}
    return SigningClient.of(home, profile, update_defaults=defaults)


def brand_of(home: Path) -> SigningClient:
    return partner_of(home, "sandbox-brand")


def without_brand_id(stock: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in stock.items() if key != "brand_id"}


# --- the home: profiles, keys and the merchant certificate ------------------------------------


def test_config_has_a_brand_profile_and_the_merchant_certificate(running: RunningSandbox) -> None:
    home = running.home
    config = tomllib.loads(running.config_path.read_text())
    profile = config["profiles"]["sandbox-brand"]
    assert set(profile) == {
        "kind",
        "brand_id",
        "brand_serial_no",
        "private_key_file",
        "wechatpay_public_key_id",
        "wechatpay_public_key_file",
        "base_url",
        "timeout",
    }
    assert (profile["kind"], profile["brand_id"]) == ("brand", BRAND)
    assert profile["base_url"] == running.base_url
    assert re.fullmatch(r"[0-9A-F]{40}", profile["brand_serial_no"])
    partner = config["profiles"]["sandbox"]
    # Not shared with the APIv3 ones: its own key id, key and serial.
    assert profile["wechatpay_public_key_id"].startswith("PUB_KEY_ID_")
    assert profile["wechatpay_public_key_id"] != partner["wechatpay_public_key_id"]
    assert profile["brand_serial_no"] != partner["merchant_serial_no"]
    assert profile["private_key_file"] != partner["private_key_file"]
    assert "sandbox-cert" not in config["profiles"]
    for name in (profile["private_key_file"], profile["wechatpay_public_key_file"], "brand.json"):
        assert stat.S_IMODE((home / name).stat().st_mode) == 0o600
    certificate = platform_crypto.load_certificate(
        (home / partner["merchant_cert_file"]).read_bytes()
    )
    assert certificate.serial_no == partner["merchant_serial_no"]
    merchant_key = load_private_key((home / partner["private_key_file"]).read_bytes())
    assert platform_crypto.certificate_public_key_matches(certificate, merchant_key)
    brand_key = load_private_key((home / profile["private_key_file"]).read_bytes())
    assert not platform_crypto.certificate_public_key_matches(certificate, brand_key)
    assert certificate.not_before < datetime.now().astimezone() < certificate.not_after
    assert not (home / "keys" / "apiv3_key.txt").exists()


def test_an_old_home_is_upgraded_keeping_its_merchant_keys(
    launch: Launch, sandboxes: Sandboxes
) -> None:
    home = launch().home
    sandboxes.stop("sb")
    for path in [home / "brand.json", home / "keys/merchant_cert.pem", *home.glob("keys/brand_*")]:
        path.unlink()
    # Older versions drew serials an X.509 certificate cannot carry (160 bits).
    identity = json.loads((home / "identity.json").read_text())
    identity["merchant_serial_no"] = "F" + identity["merchant_serial_no"][1:]
    (home / "identity.json").write_text(json.dumps(identity))
    config = tomllib.loads((home / "config.toml").read_text())
    del config["profiles"]["sandbox-brand"]
    del config["profiles"]["sandbox"]["merchant_cert_file"]
    (home / "config.toml").write_text(tomli_w.dumps(config))
    merchant_key = (home / "keys" / "merchant_private_key.pem").read_bytes()
    wechatpay_key = (home / "keys" / "wechatpay_private_key.pem").read_bytes()

    sandbox = launch()
    assert (home / "keys" / "merchant_private_key.pem").read_bytes() == merchant_key
    assert (home / "keys" / "wechatpay_private_key.pem").read_bytes() == wechatpay_key
    profiles = tomllib.loads(sandbox.config_path.read_text())["profiles"]
    assert profiles["sandbox-brand"]["kind"] == "brand"
    serial = profiles["sandbox"]["merchant_serial_no"]
    assert serial != identity["merchant_serial_no"]
    certificate = platform_crypto.load_certificate(
        (home / "keys" / "merchant_cert.pem").read_bytes()
    )
    assert certificate.serial_no == serial
    for profile_name, target in (
        ("sandbox", STOCK + "?brand_id=" + BRAND),
        ("sandbox-brand", BRAND_STOCK),
    ):
        client = partner_of(home, profile_name)
        assert client.call("GET", target).status_code == 200
        client.close()


# --- the brand API ----------------------------------------------------------------------------


def test_brand_get_is_signed_with_the_brand_key_and_has_no_brand_id(
    brand: SigningClient, partner: SigningClient
) -> None:
    response = brand.call("GET", BRAND_STOCK)
    assert response.status_code == 200
    assert response.headers["Wechatpay-Serial"] == brand.wechatpay_serial
    assert response.headers["Wechatpay-Signature-Type"] == "WECHATPAY-BRAND-SHA256-RSA2048"
    assert response.json() == without_brand_id(demo_stocks()[0])
    # The brand's WeChat Pay key is its own: the APIv3 public key does not verify it.
    assert not signing.verify_response(
        response.headers,
        response.content,
        public_keys={response.headers["Wechatpay-Serial"]: next(iter(partner.trusted.values()))},
        now=int(time.time()),
    ).ok


def test_brand_list_pages_and_filters_without_brand_id(brand: SigningClient) -> None:
    base = BRAND_COUPONS + "/1000000013/stocks"
    first = brand.call("GET", base + "?page_size=5").json()
    assert first["total_count"] == 7
    rest = brand.call("GET", f"{base}?page_size=5&page_token={first['next_page_token']}").json()
    assert "total_count" not in rest
    stocks = first["stock_list"] + rest["stock_list"]
    assert [stock["stock_id"] for stock in stocks] == [f"100000001300{n}" for n in range(1, 8)]
    assert all("brand_id" not in stock for stock in stocks)
    paused = brand.call("GET", base + "?state=PAUSED").json()
    assert [stock["stock_id"] for stock in paused["stock_list"]] == ["1000000013003"]
    bundle = brand.call("GET", f"{BRAND_COUPONS}/1000000014/stocks?stock_bundle_id={BUNDLE_ID}")
    assert [stock["stock_id"] for stock in bundle.json()["stock_list"]] == BUNDLE_STOCKS


def test_brand_and_partner_see_one_stock_state(
    running: RunningSandbox, brand: SigningClient, partner: SigningClient
) -> None:
    by_brand = brand.update(
        BRAND_STOCK + "/update-budget", current_max_count=10000000, target_max_count=4321
    )
    assert by_brand.status_code == 200
    assert "brand_id" not in by_brand.json()
    seen_by_partner = partner.call("GET", STOCK + "?brand_id=" + BRAND).json()
    assert seen_by_partner["stock_send_rule"]["max_count"] == 4321
    assert without_brand_id(seen_by_partner) == by_brand.json()
    by_partner = partner.update(
        STOCK + "/update-budget", current_max_count=4321, target_max_count=5000
    )
    assert by_partner.json()["brand_id"] == BRAND
    assert brand.call("GET", BRAND_STOCK).json()["stock_send_rule"]["max_count"] == 5000
    entries = request_log(running.home)
    assert [(e["path"], e["status"], e["applied"]) for e in entries if e["method"] == "POST"] == [
        (BRAND_STOCK + "/update-budget", 200, True),
        (STOCK + "/update-budget", 200, True),
    ]


def test_brand_idempotency_is_the_brands_own(brand: SigningClient, partner: SigningClient) -> None:
    number = "shared_number_001"
    assert partner.update(
        STOCK + "/update-budget", out_request_no=number, current_max_count=10000000
    ).ok
    target = BRAND_COUPONS + "/1000000013/stocks/1000000013002/update-budget"
    fields = {"out_request_no": number, "current_max_count": 50000, "target_max_count": 60000}
    first = brand.update(target, **fields)
    assert first.status_code == 200
    again = brand.update(target, **fields)
    assert (again.status_code, again.content) == (200, first.content)
    changed = brand.update(target, **(fields | {"target_max_count": 70000}))
    assert_error(changed, 400, "INVALID_REQUEST", "相同单号但请求数据不一致")


@pytest.mark.parametrize(
    ("profile", "target", "scheme"),
    [
        ("sandbox", BRAND_STOCK, signing.PARTNER_SCHEME),
        ("sandbox-brand", STOCK + "?brand_id=" + BRAND, signing.BRAND_SCHEME),
        ("sandbox-brand", BRAND_STOCK, signing.PARTNER_SCHEME),
        ("sandbox", STOCK + "?brand_id=" + BRAND, signing.BRAND_SCHEME),
    ],
)
def test_a_scheme_on_the_wrong_api_is_a_sign_error(
    running: RunningSandbox, profile: str, target: str, scheme: str
) -> None:
    client = partner_of(running.home, profile)
    response = client.send("GET", target, scheme=scheme)
    body = assert_error(response, 401, "SIGN_ERROR", "Authorization值格式错误")
    assert body["detail"]["field"] == "Authorization"
    client.close()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"brand_id": FOREIGN_BRAND}, "brand_id不存在"),
        ({"serial_no": "1" * 40}, "serial_no"),
        ({"signature": "c2lnbmF0dXJl"}, "签名错误"),
    ],
)
def test_bad_brand_authorization_is_a_sign_error(
    brand: SigningClient, overrides: dict[str, Any], message: str
) -> None:
    response = brand.send("GET", BRAND_STOCK, **overrides)
    assert brand.verify(response).ok
    assert_error(response, 401, "SIGN_ERROR", message)


def test_a_brand_request_signed_with_the_merchant_key_fails(
    brand: SigningClient, partner: SigningClient
) -> None:
    brand.private_key = partner.private_key
    assert_error(brand.call("GET", BRAND_STOCK), 401, "SIGN_ERROR", "签名错误")


@pytest.mark.parametrize("serial", [None, "partner", "PUB_KEY_ID_0"])
def test_brand_calls_need_the_brand_public_key_id(
    brand: SigningClient, partner: SigningClient, serial: str | None
) -> None:
    brand.wechatpay_serial = next(iter(partner.trusted)) if serial == "partner" else serial
    response = brand.send("GET", BRAND_STOCK)
    body = assert_error(response, 400, "PARAM_ERROR")
    assert body["message"] == "请传入brand_id对应的微信支付公钥ID"
    assert (body["detail"]["field"], body["detail"]["location"]) == ("Wechatpay-Serial", "header")
    assert brand.verify(response).ok


@STRICT
@pytest.mark.parametrize(
    ("method", "target", "field_name", "location"),
    [
        ("GET", BRAND_STOCK + "?brand_id=" + BRAND, "brand_id", "query"),
        ("GET", BRAND_COUPONS + "/1000000013/stocks?brand_id=" + BRAND, "brand_id", "query"),
        ("GET", BRAND_STOCK + "?page_size=5", "page_size", "query"),
        ("POST", BRAND_STOCK + "/update-budget", "/brand_id", "body"),
        ("POST", bundle_path(BRAND_COUPONS), "/brand_id", "body"),
    ],
)
def test_the_brand_api_takes_no_brand_id(
    brand: SigningClient, method: str, target: str, field_name: str, location: str
) -> None:
    if method == "GET":
        response = brand.call("GET", target)
    else:
        response = brand.update(target, current_max_count=10000000, brand_id=BRAND)
    body = assert_error(response, 400, "PARAM_ERROR")
    assert (body["detail"]["field"], body["detail"]["location"]) == (field_name, location)


@pytest.mark.parametrize(
    ("target", "message"),
    [
        (BRAND_COUPONS + "/2000000001/stocks/2000000001001", "stock_id"),
        (BRAND_COUPONS + "/2000000001/stocks", "product_coupon_id"),
        (BRAND_COUPONS + "/1000000013/stocks/1000000013999", "stock_id"),
    ],
)
def test_a_brand_sees_only_its_own_stocks(brand: SigningClient, target: str, message: str) -> None:
    assert_error(brand.call("GET", target), 404, "NOT_FOUND", message)


def test_brand_rate_limit_is_per_brand_and_endpoint(launch: Launch) -> None:
    sandbox = launch(rate_limit=2, rate_limit_clock=lambda: 0.0)  # one window, however slow
    brand, partner = brand_of(sandbox.home), partner_of(sandbox.home)
    statuses = [brand.call("GET", BRAND_STOCK).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    assert partner.call("GET", STOCK + "?brand_id=" + BRAND).status_code == 200
    assert brand.call("GET", BRAND_COUPONS + "/1000000013/stocks").status_code == 200
    brand.close()
    partner.close()


def test_faults_apply_to_brand_answers_as_the_brand_signer(launch: Launch) -> None:
    sandbox = launch(faults=["skew=1"], fault_seed=1)
    brand = brand_of(sandbox.home)
    response = brand.send("GET", BRAND_STOCK)
    assert response.status_code == 200
    assert "clock skew" in brand.verify(response).reason
    stamp = int(response.headers["Wechatpay-Timestamp"])
    assert signing.verify_response(
        response.headers, response.content, public_keys=brand.trusted, now=stamp
    ).ok
    assert request_log(sandbox.home)[-1]["fault"] == "skew"
    brand.close()


# --- stock bundles ----------------------------------------------------------------------------


@pytest.mark.parametrize("api", ["partner", "brand"])
def test_a_bundle_update_changes_every_stock_at_once(
    running: RunningSandbox, partner: SigningClient, brand: SigningClient, api: str
) -> None:
    client, prefix = (partner, COUPONS) if api == "partner" else (brand, BRAND_COUPONS)
    fields = {"out_request_no": f"bundle_{api}_0001", "target_max_count": 25000}
    response = client.update(bundle_path(prefix), **fields)
    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["stock_bundle_id", "stock_list"]
    assert body["stock_bundle_id"] == BUNDLE_ID
    assert [stock["stock_id"] for stock in body["stock_list"]] == BUNDLE_STOCKS
    assert [s["stock_bundle_info"]["stock_bundle_index"] for s in body["stock_list"]] == [0, 1, 2]
    assert all(s["stock_send_rule"]["max_count"] == 25000 for s in body["stock_list"])
    assert all(("brand_id" in s) == (api == "partner") for s in body["stock_list"])
    listed = partner.call("GET", f"{COUPONS}/1000000014/stocks?brand_id={BRAND}").json()
    assert [s["stock_send_rule"]["max_count"] for s in listed["stock_list"]] == [25000] * 3
    replay = client.update(bundle_path(prefix), **fields)
    assert (replay.status_code, replay.content) == (200, response.content)
    assert [(e["applied"], e["replay"]) for e in request_log(running.home)[-3::2]] == [
        (True, False),
        (False, True),
    ]


def test_a_bundle_daily_update(partner: SigningClient) -> None:
    response = partner.update(
        bundle_path(COUPONS),
        update_mode="MAX_COUNT_PER_DAY",
        current_max_count=None,
        target_max_count=None,
        current_max_count_per_day=3000,
        target_max_count_per_day=2500,
    )
    assert response.status_code == 200
    rules = [stock["stock_send_rule"] for stock in response.json()["stock_list"]]
    assert rules == [{"max_count": 30000, "max_count_per_day": 2500, "max_count_per_user": 1}] * 3


DAILY = {"update_mode": "MAX_COUNT_PER_DAY", "current_max_count": None, "target_max_count": None}


# Refusals the pages state, in both modes: the page's messages; lenient names the rule in detail.
@BOTH_MODES
@pytest.mark.parametrize(
    ("coupon_id", "bundle_id", "fields", "status", "message"),
    [
        ("1000000014", BUNDLE_ID, {"current_max_count": 29999}, 400, "current_max_count"),
        ("1000000014", "712315129419284999", {}, 404, "未找到 stock_bundle_id 对应的批次组"),
        ("1000000013", BUNDLE_ID, {}, 404, "未找到 stock_bundle_id 对应的批次组"),
        ("1000000099", BUNDLE_ID, {}, 404, "product_coupon_id"),
        (
            "1000000015",
            LOOSE_BUNDLE_ID,
            {"target_max_count": 4999},
            400,
            "目标发放次数总上限不得小于当前已发放总次数",
        ),
        (
            "1000000015",
            LOOSE_BUNDLE_ID,
            DAILY | {"current_max_count_per_day": 3000, "target_max_count_per_day": 2000},
            400,
            "如果批次当前未限制每日发放次数(创建时未传入),则无法修改为限制次数",
        ),
        (
            "1000000014",
            BUNDLE_ID,
            DAILY | {"current_max_count_per_day": 2999, "target_max_count_per_day": 2000},
            400,
            "current_max_count_per_day",
        ),
        ("1000000016", STOPPED_BUNDLE_ID, {}, 400, "1000000016002 的状态为 STOPPED"),
    ],
)
def test_bundle_rules(
    running: RunningSandbox,
    partner: SigningClient,
    brand: SigningClient,
    coupon_id: str,
    bundle_id: str,
    fields: dict[str, Any],
    status: int,
    message: str,
) -> None:
    code = "NOT_FOUND" if status == 404 else "INVALID_REQUEST"
    before = partner.call("GET", f"{COUPONS}/{coupon_id}/stocks?brand_id={BRAND}")
    for client, prefix in ((partner, COUPONS), (brand, BRAND_COUPONS)):
        response = client.update(bundle_path(prefix, coupon_id, bundle_id), **fields)
        if status == 404:
            assert_error(response, status, code, message)
            continue
        refusal = assert_error(response, status, code)
        assert refusal["message"] in (GENERIC, "已过期的批次不可修改发放预算")
        if running.strict:
            assert "detail" not in refusal
        else:
            assert message in refusal["detail"]["issue"]
    after = partner.call("GET", f"{COUPONS}/{coupon_id}/stocks?brand_id={BRAND}")
    assert after.content == before.content


@STRICT
def test_strict_bundle_refuses_a_daily_target_below_today(partner: SigningClient) -> None:
    fields = DAILY | {"current_max_count_per_day": 3000, "target_max_count_per_day": 2499}
    response = partner.update(bundle_path(COUPONS, "1000000017", BUSY_BUNDLE_ID), **fields)
    assert assert_error(response, 400, "INVALID_REQUEST") == {
        "code": "INVALID_REQUEST",
        "message": GENERIC,
    }


def test_a_bundle_target_may_go_down_to_the_largest_sent_count(partner: SigningClient) -> None:
    response = partner.update(
        bundle_path(COUPONS, "1000000015", LOOSE_BUNDLE_ID),
        current_max_count=30000,
        target_max_count=5000,
    )
    assert response.status_code == 200
    counts = [stock["sent_count_info"]["total_count"] for stock in response.json()["stock_list"]]
    assert counts == [5000, 4000, 100]


def test_a_foreign_partner_brand_cannot_update_a_bundle(partner: SigningClient) -> None:
    response = partner.update(bundle_path(COUPONS), brand_id=FOREIGN_BRAND)
    assert_error(response, 404, "NOT_FOUND", "未找到 stock_bundle_id 对应的批次组")


@pytest.mark.parametrize("api", ["partner", "brand"])
def test_the_stock_endpoint_still_refuses_a_bundled_stock(
    partner: SigningClient, brand: SigningClient, api: str
) -> None:
    client, prefix = (partner, COUPONS) if api == "partner" else (brand, BRAND_COUPONS)
    target = f"{prefix}/1000000014/stocks/1000000014001/update-budget"
    body = assert_error(client.update(target), 400, "INVALID_REQUEST", GENERIC)
    assert "批次组内的批次不可使用本接口" in body["detail"]["issue"]


# --- platform certificates --------------------------------------------------------------------


def test_without_platform_certificates_the_download_is_not_found(partner: SigningClient) -> None:
    response = partner.call("GET", "/v3/certificates")
    body = assert_error(response, 404, "RESOURCE_NOT_EXISTS")
    assert body["message"] == NO_PLATFORM_MESSAGE


def decrypt_listing(
    response: requests.Response, home: Path
) -> dict[str, platform_crypto.Certificate]:
    """A GET /v3/certificates answer, each certificate decrypted and parsed, keyed by serial."""
    assert response.status_code == 200, response.text
    apiv3_key = (home / "keys" / "apiv3_key.txt").read_bytes()
    found: dict[str, platform_crypto.Certificate] = {}
    for entry in response.json()["data"]:
        sealed = entry["encrypt_certificate"]
        assert sealed["algorithm"] == "AEAD_AES_256_GCM"
        assert sealed["associated_data"] == "certificate"
        assert re.fullmatch(r"[A-Za-z0-9]{12}", sealed["nonce"])
        pem = platform_crypto.aead_decrypt(
            apiv3_key, sealed["nonce"], sealed["associated_data"], sealed["ciphertext"]
        )
        certificate = platform_crypto.load_certificate(pem)
        # Listed with all 20 bytes, leading zeros kept: the string WeChat Pay compares.
        assert re.fullmatch(r"[0-9A-F]{40}", entry["serial_no"])
        assert int(entry["serial_no"], 16) == certificate.serial_number
        assert entry["effective_time"].endswith("+08:00")
        assert entry["expire_time"].endswith("+08:00")
        assert datetime.fromisoformat(entry["effective_time"]) == certificate.not_before
        assert datetime.fromisoformat(entry["expire_time"]) == certificate.not_after
        found[entry["serial_no"]] = certificate
    return found


@pytest.fixture
def cert_sandbox(launch: Launch) -> RunningSandbox:
    return launch(platform_cert=True)


def test_platform_certificates_download_decrypt_and_verify(cert_sandbox: RunningSandbox) -> None:
    home = cert_sandbox.home
    client = partner_of(home, "sandbox-cert")
    assert client.trusted == {}
    # The first download cannot be verified before it is decrypted: how every SDK bootstraps.
    response = client.send("GET", "/v3/certificates")
    found = decrypt_listing(response, home)
    serial = response.headers["Wechatpay-Serial"]
    assert list(found) == [serial]
    # The first certificate's serial starts with a zero byte, which its number does not keep.
    assert re.fullmatch(r"00[0-9A-F]{38}", serial)
    assert found[serial].serial_no != serial
    client.trusted = {serial: found[serial].public_key}
    assert client.verify(response).ok
    certificate = found[serial]
    assert certificate.not_before < datetime.now().astimezone() < certificate.not_after
    assert (certificate.not_after - certificate.not_before).days == 5 * 365
    assert client.call("GET", STOCK + "?brand_id=" + BRAND).status_code == 200
    key_path = home / "keys" / "apiv3_key.txt"
    assert re.fullmatch(rb"[A-Za-z0-9]{32}", key_path.read_bytes())
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert stat.S_IMODE((home / "platform").stat().st_mode) == 0o700
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in (home / "platform").iterdir())
    config = tomllib.loads((home / "config.toml").read_text())
    partner = config["profiles"]["sandbox"]
    assert config["profiles"]["sandbox-cert"] == {
        "mchid": partner["mchid"],
        "merchant_serial_no": partner["merchant_serial_no"],
        "private_key_file": "keys/merchant_private_key.pem",
        "apiv3_key_file": "keys/apiv3_key.txt",
        "platform_cert_dir": "platform-certs",
        "brand_id": BRAND,
        "base_url": cert_sandbox.base_url,
        "timeout": 10,
    }
    assert stat.S_IMODE((home / "config.toml").stat().st_mode) == 0o600
    assert not (home / "platform-certs").exists()


@pytest.mark.parametrize("header", ["platform serial", "none", "public key id"])
def test_the_request_serial_picks_the_answer_key(cert_sandbox: RunningSandbox, header: str) -> None:
    client = partner_of(cert_sandbox.home)
    public_key_id = next(iter(client.trusted))
    listing = client.send("GET", "/v3/certificates", headers={"Wechatpay-Serial": public_key_id})
    assert listing.headers["Wechatpay-Serial"] == public_key_id
    certificates = decrypt_listing(listing, cert_sandbox.home)
    (platform_serial,) = certificates
    client.wechatpay_serial = {
        "platform serial": platform_serial,
        "public key id": public_key_id,
    }.get(header)
    response = client.send("GET", STOCK + "?brand_id=" + BRAND)
    assert response.status_code == 200
    expected = public_key_id if header == "public key id" else platform_serial
    assert response.headers["Wechatpay-Serial"] == expected
    assert response.headers["Wechatpay-Signature-Type"] == signing.PARTNER_SCHEME
    keys = {public_key_id: client.trusted[public_key_id]} | {
        platform_serial: certificates[platform_serial].public_key
    }
    assert signing.verify_response(
        response.headers,
        response.content,
        public_keys={expected: keys[expected]},
        now=int(time.time()),
    ).ok
    client.close()


def test_strict_with_platform_certificates_another_serial_is_still_refused(
    launch: Launch,
) -> None:
    cert_sandbox = launch(platform_cert=True, strict=True)
    client = partner_of(cert_sandbox.home)
    client.wechatpay_serial = "1" * 40
    body = assert_error(client.send("GET", STOCK + "?brand_id=" + BRAND), 400, "PARAM_ERROR")
    assert "平台证书序列号" in body["message"]
    client.close()


def test_rotation_lists_both_and_the_next_start_signs_with_the_new(
    launch: Launch,
) -> None:
    sandbox = launch(platform_cert=True)
    client = partner_of(sandbox.home, "sandbox-cert")
    (old,) = decrypt_listing(client.send("GET", "/v3/certificates"), sandbox.home)
    new = rotate_platform_certificate(sandbox.home)
    assert new != old
    # A running sandbox keeps its certificates until restarted.
    assert client.send("GET", "/v3/certificates").headers["Wechatpay-Serial"] == old
    client.close()

    sandbox = launch(platform_cert=True)
    client = partner_of(sandbox.home, "sandbox-cert")
    response = client.send("GET", "/v3/certificates")
    certificates = decrypt_listing(response, sandbox.home)
    assert list(certificates) == [old, new]
    assert response.headers["Wechatpay-Serial"] == new
    client.trusted = {new: certificates[new].public_key}
    client.wechatpay_serial = old
    assert client.call("GET", STOCK + "?brand_id=" + BRAND).headers["Wechatpay-Serial"] == new
    client.close()


def test_a_restart_without_the_flag_keeps_the_profile_but_not_the_certificates(
    launch: Launch,
) -> None:
    launch(platform_cert=True)
    sandbox = launch()
    profiles = tomllib.loads(sandbox.config_path.read_text())["profiles"]
    assert profiles["sandbox-cert"]["base_url"] == sandbox.base_url
    client = partner_of(sandbox.home)
    response = client.call("GET", "/v3/certificates")
    assert_error(response, 404, "RESOURCE_NOT_EXISTS", NO_PLATFORM_MESSAGE)
    client.close()


def test_rotation_needs_a_sandbox_home(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="not a sandbox home"):
        rotate_platform_certificate(tmp_path)


# --- the pure helpers in signing.py -----------------------------------------------------------


def test_aead_round_trip_and_its_refusals() -> None:
    key = b"k" * 32
    sealed = platform_crypto.aead_encrypt(key, "abcdefghijkl", "certificate", b"pem bytes")
    assert platform_crypto.aead_decrypt(key, "abcdefghijkl", "certificate", sealed) == b"pem bytes"
    for args, reason in [
        ((b"x" * 32, "abcdefghijkl", "certificate", sealed), "wrong APIv3 key"),
        ((key, "abcdefghijkX", "certificate", sealed), "nonce"),
        ((key, "abcdefghijkl", "other", sealed), "associated_data"),
        ((key, "abcdefghijkl", "certificate", "not base64!"), "base64"),
        ((b"short", "abcdefghijkl", "certificate", sealed), "32 bytes"),
    ]:
        with pytest.raises(ValueError, match=reason):
            platform_crypto.aead_decrypt(*args)
    with pytest.raises(ValueError, match=r"X\.509"):
        platform_crypto.load_certificate(
            b"-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n"
        )


def test_cli_help_documents_the_platform_flag() -> None:
    result = CliRunner().invoke(sandbox_app, ["serve", "--help"])
    assert result.exit_code == 0
    assert "--platform-cert" in result.stdout
