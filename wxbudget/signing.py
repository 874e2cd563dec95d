"""Pure APIv3 signing and verification (wechatpay-api.md section 6).

No I/O, no clock and no randomness of its own: the caller passes the timestamp, the nonce and
the key objects, so every function here is deterministic and testable with golden vectors.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from typing import Any, NamedTuple

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from wxbudget.i18n import _

# Key types, re-exported so other modules can annotate without importing cryptography.
PrivateKey = rsa.RSAPrivateKey
PublicKey = rsa.RSAPublicKey

PARTNER_SCHEME = "WECHATPAY2-SHA256-RSA2048"
BRAND_SCHEME = "WECHATPAY-BRAND-SHA256-RSA2048"

# Five lines for a request, three for a response, each terminated by "\n" including the last.
REQUEST_MESSAGE_FORMAT = "{method}\n{target}\n{timestamp}\n{nonce}\n"
RESPONSE_MESSAGE_FORMAT = "{timestamp}\n{nonce}\n"

PROBE_SIGNATURE_PREFIX = "WECHATPAY/SIGNTEST/"
MAX_CLOCK_SKEW_SECONDS = 300

HEADER_TIMESTAMP = "Wechatpay-Timestamp"
HEADER_NONCE = "Wechatpay-Nonce"
HEADER_SIGNATURE = "Wechatpay-Signature"
HEADER_SERIAL = "Wechatpay-Serial"
HEADER_SIGNATURE_TYPE = "Wechatpay-Signature-Type"
REQUIRED_RESPONSE_HEADERS = (HEADER_TIMESTAMP, HEADER_NONCE, HEADER_SIGNATURE, HEADER_SERIAL)

# Unix seconds in ASCII digits. str.isdigit() is no test: it accepts "1²", which int() refuses.
_UNIX_SECONDS = re.compile(r"[0-9]{1,12}")
# What a nonce may hold: printable ASCII (SDKs send 32 of [0-9A-Za-z]).
_NONCE = re.compile(r"[\x21-\x7e]{1,128}")


def parse_unix_seconds(text: str) -> int | None:
    """A timestamp header or field as Unix seconds, or None when it is not plain digits."""
    return int(text) if _UNIX_SECONDS.fullmatch(text) else None


def request_message(method: str, target: str, timestamp: int, nonce: str, body: bytes) -> bytes:
    """The bytes a request signature covers; `target` is the path plus `?query` exactly as sent."""
    head = REQUEST_MESSAGE_FORMAT.format(
        method=method.upper(), target=target, timestamp=timestamp, nonce=nonce
    )
    return head.encode() + body + b"\n"


def response_message(timestamp: str, nonce: str, body: bytes) -> bytes:
    """The bytes a response signature covers: the raw body, never a re-serialisation."""
    return RESPONSE_MESSAGE_FORMAT.format(timestamp=timestamp, nonce=nonce).encode() + body + b"\n"


def sign(private_key: rsa.RSAPrivateKey, message: bytes) -> str:
    """SHA256withRSA (PKCS#1 v1.5), standard base64. Deterministic for a given key and message."""
    signature = private_key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(signature).decode("ascii")


def signature_is_valid(public_key: rsa.RSAPublicKey, message: bytes, signature_b64: str) -> bool:
    signature = _decoded_signature(signature_b64)
    if signature is None:
        return False
    try:
        public_key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True


def _decoded_signature(signature_b64: str) -> bytes | None:
    try:
        return base64.b64decode(signature_b64, validate=True)
    except (binascii.Error, ValueError):  # ValueError: non-ASCII text
        return None


def authorization_header(
    *,
    scheme: str,
    identity: str,
    nonce: str,
    signature: str,
    timestamp: int,
    serial_no: str,
) -> str:
    """`scheme mchid="..",nonce_str="..",signature="..",timestamp="..",serial_no=".."`.

    The brand scheme names its identity field `brand_id`, the partner scheme `mchid`.
    """
    identity_field = "brand_id" if scheme == BRAND_SCHEME else "mchid"
    fields = (
        (identity_field, identity),
        ("nonce_str", nonce),
        ("signature", signature),
        ("timestamp", str(timestamp)),
        ("serial_no", serial_no),
    )
    return scheme + " " + ",".join(f'{name}="{value}"' for name, value in fields)


class Verification(NamedTuple):
    """The outcome of checking a response signature; `reason` says why it failed."""

    ok: bool
    reason: str = ""

    @classmethod
    def passed(cls) -> Verification:
        return cls(ok=True)

    @classmethod
    def failed(cls, reason: str) -> Verification:
        return cls(ok=False, reason=reason)


def check_response_headers(headers: Mapping[str, str], *, now: int) -> Verification:
    """Everything about a response's `Wechatpay-*` headers that can be checked without its
    body: all present, well formed, the timestamp within the allowed skew, not a probe. Done
    before a body is read, so an answer that cannot verify is never read at all."""
    missing = [name for name in REQUIRED_RESPONSE_HEADERS if not headers.get(name)]
    if missing:
        return Verification.failed(
            _("response is unsigned: header {missing} is missing", missing=missing[0])
            if len(missing) == 1
            else _(
                "response is unsigned: header {missing} is missing (also {others})",
                missing=missing[0],
                others=", ".join(missing[1:]),
            )
        )
    timestamp_text = headers[HEADER_TIMESTAMP]
    timestamp = parse_unix_seconds(timestamp_text)
    if timestamp is None:
        return Verification.failed(
            _(
                "Wechatpay-Timestamp {timestamp_text!r} is not Unix seconds",
                timestamp_text=timestamp_text,
            )
        )
    nonce = headers[HEADER_NONCE]
    if not _NONCE.fullmatch(nonce):
        return Verification.failed(
            _("Wechatpay-Nonce {nonce!r} is not a printable ASCII nonce", nonce=nonce)
        )
    signature_type = headers.get(HEADER_SIGNATURE_TYPE)
    if signature_type and signature_type not in (PARTNER_SCHEME, BRAND_SCHEME):
        return Verification.failed(
            _(
                "Wechatpay-Signature-Type {signature_type!r} is not WECHATPAY2-SHA256-RSA2048 or "
                "WECHATPAY-BRAND-SHA256-RSA2048",
                signature_type=signature_type,
            )
        )
    skew = now - timestamp
    if abs(skew) > MAX_CLOCK_SKEW_SECONDS:
        direction = _("behind") if skew > 0 else _("ahead of")
        message = _(
            "clock skew of {seconds} s: the response timestamp is {direction} this machine's "
            "clock by more than {limit} s; check the system time (NTP)",
            seconds=abs(skew),
            direction=direction,
            limit=MAX_CLOCK_SKEW_SECONDS,
        )
        return Verification.failed(message)
    signature = headers[HEADER_SIGNATURE]
    if signature.startswith(PROBE_SIGNATURE_PREFIX):
        return Verification.failed(
            _(
                "probe signature (WECHATPAY/SIGNTEST/...) in Wechatpay-Signature: WeChat Pay's "
                "signature test traffic, deliberately invalid",
            )
        )
    if _decoded_signature(signature) is None:
        return Verification.failed(_("Wechatpay-Signature is not base64"))
    return Verification.passed()


def verify_response(
    headers: Mapping[str, str], body: bytes, *, public_keys: Mapping[str, PublicKey], now: int
) -> Verification:
    """Check a response's `Wechatpay-*` headers and signature against the trusted keys.

    `headers` must look names up case-insensitively (requests' headers do). `public_keys` maps
    each accepted `Wechatpay-Serial` to its key; `now` is the caller's clock in Unix seconds.
    """
    serial = headers.get(HEADER_SERIAL) or ""
    key = key_for_serial(public_keys, serial)
    if key is None and all(headers.get(name) for name in REQUIRED_RESPONSE_HEADERS):
        expected = " or ".join(sorted(public_keys)) or _("none configured")
        return Verification.failed(
            _(
                "Wechatpay-Serial: unknown serial {serial} (expected {expected})",
                serial=serial,
                expected=expected,
            )
        )
    checked = check_response_headers(headers, now=now)  # first of all, names what is missing
    if not checked.ok or key is None:
        return checked
    message = response_message(headers[HEADER_TIMESTAMP], headers[HEADER_NONCE], body)
    if not signature_is_valid(key, message, headers[HEADER_SIGNATURE]):
        return Verification.failed(
            _(
                "signature invalid (Wechatpay-Signature): the body or headers were altered, or the "
                "key for {serial} is wrong",
                serial=serial,
            )
        )
    return Verification.passed()


def key_for_serial(
    public_keys: Mapping[str, rsa.RSAPublicKey], serial: str
) -> rsa.RSAPublicKey | None:
    """The key a serial names. Certificate serials are hex numbers, and WeChat Pay may write
    them with leading zeros that a parsed certificate's number does not keep: compare values."""
    if serial in public_keys:
        return public_keys[serial]
    wanted = _hex_value(serial)
    if wanted is None:
        return None
    for name, key in public_keys.items():
        if _hex_value(name) == wanted:
            return key
    return None


def same_serial(first: str, second: str) -> bool:
    """Whether two hex serials name the same number (leading zeros aside)."""
    value = _hex_value(first)
    return value is not None and value == _hex_value(second)


# Plain hex digits only: int(text, 16) alone also takes "0x", "_", signs and whitespace.
_HEX_SERIAL = re.compile(r"[0-9A-Fa-f]{1,64}")


def _hex_value(text: str) -> int | None:
    return int(text, 16) if _HEX_SERIAL.fullmatch(text) else None


def _pem_loaders() -> tuple[Any, Any]:
    """cryptography's PEM key loaders, taken from where its `serialization` package takes them.

    Importing `serialization` also loads its SSH key support (ciphers, bcrypt): ~10 ms of every
    start, for a format wxbudget never reads. `serialization.load_pem_private_key` *is*
    `rust_openssl.keys.load_pem_private_key` in every release we allow (44.0.1 and later);
    tests/test_signing.py checks that identity, and should a release move them, the public names
    are used.
    """
    try:
        from cryptography.hazmat.bindings._rust import openssl

        return openssl.keys.load_pem_private_key, openssl.keys.load_pem_public_key
    except (ImportError, AttributeError):  # pragma: no cover - a release that moved them
        from cryptography.hazmat.primitives import serialization

        return serialization.load_pem_private_key, serialization.load_pem_public_key


def load_private_key(pem: bytes) -> rsa.RSAPrivateKey:
    """Parse a PEM RSA private key; raises ValueError with a reason otherwise."""
    try:
        # The key is the user's own file, not attacker input, and a broken key shows up at once
        # as a 401 SIGN_ERROR; skipping the consistency check saves ~40 ms of every start.
        key = _pem_loaders()[0](pem, password=None, unsafe_skip_rsa_key_validation=True)
    except (TypeError, UnsupportedAlgorithm) as error:
        # TypeError: the key is encrypted; UnsupportedAlgorithm: not a key type we can use.
        raise ValueError(str(error)) from error
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("not an RSA private key")
    return key


def load_public_key(pem: bytes) -> rsa.RSAPublicKey:
    """Parse a PEM RSA public key (SubjectPublicKeyInfo or PKCS#1); raises ValueError otherwise."""
    try:
        key = _pem_loaders()[1](pem)
    except UnsupportedAlgorithm as error:
        raise ValueError(str(error)) from error
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("not an RSA public key")
    return key
