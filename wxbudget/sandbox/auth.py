"""The gateway checks WeChat Pay makes before any endpoint runs: headers, then Authorization.

`/v3/...` takes the partner scheme (`mchid`), `/brand/...` the brand scheme (`brand_id`); the
other scheme on a path is a SIGN_ERROR like any malformed header.

Where the docs are silent, strict mode (`strict=True`) refuses an Authorization header with a
field beyond the five documented ones (lenient ignores it), and a partner `Wechatpay-Serial`
request header naming anything but this merchant's WeChat Pay public key id (or, with platform
certificates on, one of their serials) with PARAM_ERROR (the partner pages list no such header:
lenient ignores it). Brand calls must send it in both modes (the brand pages say so).
"""

from __future__ import annotations

from dataclasses import dataclass

from wxbudget import signing
from wxbudget.authorization import parse_authorization
from wxbudget.sandbox.keys import HomeKeys
from wxbudget.sandbox.replies import (
    MESSAGE_AUTH_FORMAT,
    MESSAGE_BAD_SIGNATURE,
    MESSAGE_BAD_TIMESTAMP,
    MESSAGE_BRAND_WECHATPAY_SERIAL,
    MESSAGE_CLOCK_SKEW,
    MESSAGE_CONTENT_TYPE,
    MESSAGE_MISSING_ACCEPT,
    MESSAGE_UNKNOWN_BRAND,
    MESSAGE_UNKNOWN_MCHID,
    MESSAGE_WECHATPAY_SERIAL,
    MESSAGE_WECHATPAY_SERIAL_OR_CERT,
    MESSAGE_WRONG_BRAND_SERIAL,
    MESSAGE_WRONG_SERIAL,
    SUB_CODE_HEADER,
    JsonObject,
    invalid_request,
    param_error,
    sign_error,
)
from wxbudget.sandbox.wire import Request

PARTNER = "partner"
BRAND = "brand"
BRAND_PATH_PREFIX = "/brand/"
COMMON_AUTH_FIELDS = frozenset({"nonce_str", "signature", "timestamp", "serial_no"})
_SCHEMES = {PARTNER: (signing.PARTNER_SCHEME, "mchid"), BRAND: (signing.BRAND_SCHEME, "brand_id")}
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


@dataclass(frozen=True)
class Caller:
    """Who signed a request: a partner's mchid or a brand's brand_id."""

    variant: str
    identity: str

    @property
    def key(self) -> str:
        """The caller's namespace for idempotency and rate limits; ids of the two never mix."""
        return self.identity if self.variant == PARTNER else f"{BRAND}:{self.identity}"


def variant_of(path: str) -> str:
    return BRAND if path.startswith(BRAND_PATH_PREFIX) else PARTNER


def check_headers(request: Request) -> None:
    if not request.header("Accept") or not request.header("User-Agent"):
        raise invalid_request(MESSAGE_MISSING_ACCEPT, SUB_CODE_HEADER)
    if request.method in BODY_METHODS:
        media_type = (request.header("Content-Type") or "").partition(";")[0].strip().lower()
        if media_type != "application/json":
            raise invalid_request(MESSAGE_CONTENT_TYPE, SUB_CODE_HEADER)


def authenticate(
    request: Request, keys: HomeKeys, *, variant: str, now: int, strict: bool = False
) -> Caller:
    """Check the Authorization header the path's variant requires; returns who signed."""
    scheme, identity_field = _SCHEMES[variant]
    authorization = parse_authorization(request.header("Authorization") or "")
    required = COMMON_AUTH_FIELDS | {identity_field}
    if (
        authorization is None
        or authorization.scheme != scheme
        or not required <= set(authorization.fields)
        or (strict and set(authorization.fields) != required)
        or not all(authorization.fields[name] for name in required)
    ):
        detail = None
        if authorization is not None and authorization.scheme in (
            signing.PARTNER_SCHEME,
            signing.BRAND_SCHEME,
        ):
            detail = _detail(
                "Authorization",
                authorization.scheme,
                issue=f"{request.path} 的认证类型应为 {scheme},字段 {identity_field}",
            )
        raise sign_error(MESSAGE_AUTH_FORMAT, detail)
    fields = authorization.fields
    if variant == PARTNER:
        expected_identity = keys.identity.mchid
        expected_serial = keys.identity.merchant_serial_no
        signer_key = keys.merchant_public_key
        unknown_identity, wrong_serial = MESSAGE_UNKNOWN_MCHID, MESSAGE_WRONG_SERIAL
    else:
        expected_identity = keys.brand.identity.brand_id
        expected_serial = keys.brand.identity.brand_serial_no
        signer_key = keys.brand.brand_public_key
        unknown_identity, wrong_serial = MESSAGE_UNKNOWN_BRAND, MESSAGE_WRONG_BRAND_SERIAL
    if fields[identity_field] != expected_identity:
        raise sign_error(unknown_identity, _detail(identity_field, fields[identity_field]))
    if fields["serial_no"] != expected_serial:
        raise sign_error(wrong_serial, _detail("serial_no", fields["serial_no"]))
    timestamp_text = fields["timestamp"]
    timestamp = signing.parse_unix_seconds(timestamp_text)
    if timestamp is None:
        raise sign_error(MESSAGE_BAD_TIMESTAMP, _detail("timestamp", timestamp_text))
    if abs(now - timestamp) > signing.MAX_CLOCK_SKEW_SECONDS:
        raise sign_error(MESSAGE_CLOCK_SKEW, _detail("timestamp", timestamp_text))
    message = signing.request_message(
        request.method, request.target, timestamp, fields["nonce_str"], request.body
    )
    if not signing.signature_is_valid(signer_key, message, fields["signature"]):
        detail = _detail("signature", "(elided)", issue="sign not match")
        # What WeChat Pay echoes back so a developer can diff it against their own sign string.
        detail["sign_information"] = {
            "method": request.method,
            "url": request.target,
            "timestamp": timestamp_text,
            "nonce_str": fields["nonce_str"],
            "sign_message_length": len(message),
        }
        raise sign_error(MESSAGE_BAD_SIGNATURE, detail)
    return Caller(variant=variant, identity=fields[identity_field])


def check_wechatpay_serial(
    request: Request, keys: HomeKeys, *, variant: str, strict: bool = False
) -> None:
    serial = request.header(signing.HEADER_SERIAL)
    if variant == BRAND:
        expected = keys.brand.identity.wechatpay_public_key_id
        if serial != expected:
            raise param_error(
                signing.HEADER_SERIAL,
                serial,
                f"应为 brand_id {keys.brand.identity.brand_id} 的微信支付公钥ID {expected}",
                location="header",
                message=MESSAGE_BRAND_WECHATPAY_SERIAL,
            )
        return
    public_key_id = keys.identity.wechatpay_public_key_id
    platform_serials = [entry.serial_no for entry in keys.platform]
    if not strict or serial is None or serial == public_key_id or serial in platform_serials:
        return
    if platform_serials:
        raise param_error(
            signing.HEADER_SERIAL,
            serial,
            f"应为 {public_key_id} 或平台证书序列号 {' / '.join(platform_serials)}",
            location="header",
            message=MESSAGE_WECHATPAY_SERIAL_OR_CERT,
        )
    raise param_error(
        signing.HEADER_SERIAL,
        serial,
        f"应为 {public_key_id}",
        location="header",
        message=MESSAGE_WECHATPAY_SERIAL,
    )


def _detail(field: str, value: str, *, issue: str = "") -> JsonObject:
    return {
        "field": field,
        "value": value,
        "issue": issue or f"{field} 不正确",
        "location": "authorization",
    }
