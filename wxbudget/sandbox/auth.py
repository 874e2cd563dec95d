"""The gateway checks WeChat Pay makes before any endpoint runs: headers, then Authorization.

Strict choices where the docs are silent: an Authorization header with a field beyond the five
documented ones is malformed, and a `Wechatpay-Serial` request header naming anything but this
merchant's WeChat Pay public key id is a PARAM_ERROR (the official samples always send it).
"""

from __future__ import annotations

from wxbudget import signing
from wxbudget.sandbox.keys import HomeKeys
from wxbudget.sandbox.replies import (
    MESSAGE_AUTH_FORMAT,
    MESSAGE_BAD_SIGNATURE,
    MESSAGE_BAD_TIMESTAMP,
    MESSAGE_CLOCK_SKEW,
    MESSAGE_CONTENT_TYPE,
    MESSAGE_MISSING_ACCEPT,
    MESSAGE_UNKNOWN_MCHID,
    MESSAGE_WECHATPAY_SERIAL,
    MESSAGE_WRONG_SERIAL,
    SUB_CODE_HEADER,
    JsonObject,
    invalid_request,
    param_error,
    sign_error,
)
from wxbudget.sandbox.wire import Request

PARTNER_AUTH_FIELDS = frozenset({"mchid", "nonce_str", "signature", "timestamp", "serial_no"})
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def check_headers(request: Request) -> None:
    if not request.header("Accept") or not request.header("User-Agent"):
        raise invalid_request(MESSAGE_MISSING_ACCEPT, SUB_CODE_HEADER)
    if request.method in BODY_METHODS:
        media_type = (request.header("Content-Type") or "").partition(";")[0].strip().lower()
        if media_type != "application/json":
            raise invalid_request(MESSAGE_CONTENT_TYPE, SUB_CODE_HEADER)


def authenticate_partner(request: Request, keys: HomeKeys, *, now: int) -> str:
    """Check the `WECHATPAY2-SHA256-RSA2048` Authorization header; returns the mchid."""
    authorization = signing.parse_authorization(request.header("Authorization") or "")
    if (
        authorization is None
        or authorization.scheme != signing.PARTNER_SCHEME
        or set(authorization.fields) != PARTNER_AUTH_FIELDS
        or not all(authorization.fields.values())
    ):
        raise sign_error(MESSAGE_AUTH_FORMAT)
    fields = authorization.fields
    identity = keys.identity
    if fields["mchid"] != identity.mchid:
        raise sign_error(MESSAGE_UNKNOWN_MCHID, _detail("mchid", fields["mchid"]))
    if fields["serial_no"] != identity.merchant_serial_no:
        raise sign_error(MESSAGE_WRONG_SERIAL, _detail("serial_no", fields["serial_no"]))
    timestamp_text = fields["timestamp"]
    if not timestamp_text.isdigit():
        raise sign_error(MESSAGE_BAD_TIMESTAMP, _detail("timestamp", timestamp_text))
    timestamp = int(timestamp_text)
    if abs(now - timestamp) > signing.MAX_CLOCK_SKEW_SECONDS:
        raise sign_error(MESSAGE_CLOCK_SKEW, _detail("timestamp", timestamp_text))
    message = signing.request_message(
        request.method, request.target, timestamp, fields["nonce_str"], request.body
    )
    if not signing.signature_is_valid(keys.merchant_public_key, message, fields["signature"]):
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
    return fields["mchid"]


def check_wechatpay_serial(request: Request, keys: HomeKeys) -> None:
    serial = request.header(signing.HEADER_SERIAL)
    if serial is not None and serial != keys.identity.wechatpay_public_key_id:
        raise param_error(
            signing.HEADER_SERIAL,
            serial,
            f"应为 {keys.identity.wechatpay_public_key_id}",
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
