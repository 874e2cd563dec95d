"""Signing against a vector made by openssl (an independent implementation), and verification."""

from __future__ import annotations

from pathlib import Path

import pytest

from wxbudget import authorization, signing

DATA = Path(__file__).parent / "data"
PRIVATE_KEY = signing.load_private_key((DATA / "golden_private_key.pem").read_bytes())
PUBLIC_KEY = signing.load_public_key((DATA / "golden_public_key.pem").read_bytes())
SERIAL = "PUB_KEY_ID_0000000000000024101100397200000006"
BODY = (
    b'{"out_request_no":"34657_20250101_123456","update_mode":"MAX_COUNT",'
    b'"current_max_count":10000000,"target_max_count":200,"brand_id":"120344"}'
)
TARGET = (
    "/v3/marketing/partner/product-coupon/product-coupons/1000000013/stocks/1000000013001"
    "/update-budget"
)
NOW = 1_554_208_460


def test_request_message_matches_the_documented_five_lines() -> None:
    message = signing.request_message("post", TARGET, NOW, "593BEC0C930BF1AFEB40B4A08C8FB242", BODY)
    assert message == (DATA / "golden_message.txt").read_bytes()
    assert message.endswith(b"}\n")
    assert message.count(b"\n") == 5


def test_get_signs_an_empty_body_line() -> None:
    message = signing.request_message("GET", "/v3/x?brand_id=1", 1, "n", b"")
    assert message == b"GET\n/v3/x?brand_id=1\n1\nn\n\n"


def test_signature_equals_openssl_golden_vector() -> None:
    message = (DATA / "golden_message.txt").read_bytes()
    expected = (DATA / "golden_signature.txt").read_text().strip()
    assert signing.sign(PRIVATE_KEY, message) == expected


def test_authorization_header_has_the_partner_format() -> None:
    header = signing.authorization_header(
        scheme=signing.PARTNER_SCHEME,
        identity="1900000001",
        nonce="abc",
        signature="c2ln",
        timestamp=NOW,
        serial_no="1DDE55AD98ED71D6EDD4A4A16996DE7B47773A8C",
    )
    assert header == (
        'WECHATPAY2-SHA256-RSA2048 mchid="1900000001",nonce_str="abc",signature="c2ln",'
        f'timestamp="{NOW}",serial_no="1DDE55AD98ED71D6EDD4A4A16996DE7B47773A8C"'
    )


def test_parse_authorization_accepts_any_field_order() -> None:
    header = (
        'WECHATPAY2-SHA256-RSA2048 serial_no="S", timestamp="1",nonce_str="n",'
        'signature="a+b/c=",mchid="m"'
    )
    parsed = authorization.parse_authorization(header)
    assert parsed is not None
    assert parsed.scheme == signing.PARTNER_SCHEME
    assert parsed.fields == {
        "serial_no": "S",
        "timestamp": "1",
        "nonce_str": "n",
        "signature": "a+b/c=",
        "mchid": "m",
    }


@pytest.mark.parametrize(
    "header",
    ["", "WECHATPAY2-SHA256-RSA2048", "WECHATPAY2-SHA256-RSA2048 mchid=1", 'X a="1",a="2"'],
)
def test_parse_authorization_rejects_malformed(header: str) -> None:
    assert authorization.parse_authorization(header) is None


def signed_headers(body: bytes, *, timestamp: int = NOW, nonce: str = "N" * 32) -> dict[str, str]:
    signature = signing.sign(PRIVATE_KEY, signing.response_message(str(timestamp), nonce, body))
    return {
        "Wechatpay-Timestamp": str(timestamp),
        "Wechatpay-Nonce": nonce,
        "Wechatpay-Signature": signature,
        "Wechatpay-Serial": SERIAL,
    }


def verify(headers: dict[str, str], body: bytes = BODY, now: int = NOW) -> signing.Verification:
    return signing.verify_response(headers, body, public_keys={SERIAL: PUBLIC_KEY}, now=now)


def test_round_trip_verifies() -> None:
    assert verify(signed_headers(BODY)) == signing.Verification.passed()


def test_empty_body_round_trip() -> None:
    assert verify(signed_headers(b""), body=b"").ok


@pytest.mark.parametrize("missing", signing.REQUIRED_RESPONSE_HEADERS)
def test_each_missing_header_is_named(missing: str) -> None:
    headers = signed_headers(BODY)
    del headers[missing]
    result = verify(headers)
    assert not result.ok
    assert f"header {missing} is missing" in result.reason


def test_unsigned_response_names_all_missing_headers() -> None:
    result = verify({})
    assert result.reason.startswith("response is unsigned: header Wechatpay-Timestamp is missing")


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        (
            lambda h, b: (h | {"Wechatpay-Serial": "PUB_KEY_ID_OTHER"}, b),
            f"unknown serial PUB_KEY_ID_OTHER (expected {SERIAL})",
        ),
        (lambda h, b: (h, b.replace(b"200", b"201")), "signature invalid"),
        (lambda h, b: (h | {"Wechatpay-Nonce": "M" * 32}, b), "signature invalid"),
        (lambda h, b: (h | {"Wechatpay-Timestamp": str(NOW + 1)}, b), "signature invalid"),
        (lambda h, b: (h | {"Wechatpay-Signature": "not base64!"}, b), "is not base64"),
        (
            lambda h, b: (h | {"Wechatpay-Signature": "WECHATPAY/SIGNTEST/abc"}, b),
            "probe signature",
        ),
        (lambda h, b: (h | {"Wechatpay-Timestamp": "12.5"}, b), "is not Unix seconds"),
        (lambda h, b: (h, b + b" "), "signature invalid"),
    ],
)
def test_tamper_matrix(tamper, reason: str) -> None:  # type: ignore[no-untyped-def]
    headers, body = tamper(signed_headers(BODY), BODY)
    result = verify(headers, body)
    assert not result.ok
    assert reason in result.reason


@pytest.mark.parametrize(("offset", "ok"), [(300, True), (-300, True), (301, False), (-301, False)])
def test_clock_skew_window_is_300_seconds(offset: int, ok: bool) -> None:
    result = verify(signed_headers(BODY), now=NOW + offset)
    assert result.ok is ok
    if not ok:
        assert "clock skew of 301 s" in result.reason


def test_key_loaders_refuse_garbage() -> None:
    with pytest.raises(ValueError, match=r"\w"):
        signing.load_private_key(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    with pytest.raises(ValueError, match=r"\w"):
        signing.load_public_key(b"nonsense")


def test_the_key_loaders_are_cryptographys_public_ones() -> None:
    # signing takes the PEM loaders from where cryptography's `serialization` takes them, to
    # skip importing its SSH support at every start; this pins that they are the same functions.
    from cryptography.hazmat.primitives import serialization

    assert signing._pem_loaders() == (
        serialization.load_pem_private_key,
        serialization.load_pem_public_key,
    )
