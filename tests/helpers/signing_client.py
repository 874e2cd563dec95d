"""A raw APIv3 client for the sandbox's own tests: signs like a merchant or a brand would,
verifies answers like one, and lets a test bend any part of a request on purpose.

It is written from the wire contract, not with wxbudget.client, so a bug there cannot hide one
in the sandbox (or the other way round).
"""

from __future__ import annotations

import functools
import json
import secrets
import time
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from cryptography.hazmat.primitives.asymmetric import rsa

from wxbudget import signing

BRAND = "120344"
DEFAULT_TIMEOUT_SECONDS = 10.0


@functools.lru_cache
def load_private_key(pem: bytes) -> rsa.RSAPrivateKey:
    # Parsing validates the key, which is slow; the copied homes all hold the same few keys.
    return signing.load_private_key(pem)


@dataclass
class SigningClient:
    """Signs like a real partner (mchid) or brand (brand_id) client; `call` verifies answers."""

    base_url: str
    scheme: str
    identity: str
    serial_no: str
    private_key: rsa.RSAPrivateKey
    trusted: dict[str, rsa.RSAPublicKey]
    # Sent as Wechatpay-Serial: the brand API needs its public key id there.
    wechatpay_serial: str | None = None
    # Fields every `update` body starts from (after out_request_no, update_mode, brand_id).
    update_defaults: dict[str, Any] = field(default_factory=dict)
    session: requests.Session = field(default_factory=requests.Session)

    @classmethod
    def of(cls, home: Path, profile_name: str = "sandbox", **options: Any) -> SigningClient:
        """The client of a profile in the sandbox home's config.toml (paths relative to it)."""
        profile = tomllib.loads((home / "config.toml").read_text())["profiles"][profile_name]
        brand = profile.get("kind") == "brand"
        client = cls(
            base_url=profile["base_url"],
            scheme=signing.BRAND_SCHEME if brand else signing.PARTNER_SCHEME,
            identity=profile["brand_id"] if brand else profile["mchid"],
            serial_no=profile["brand_serial_no"] if brand else profile["merchant_serial_no"],
            private_key=load_private_key((home / profile["private_key_file"]).read_bytes()),
            trusted={},
            **options,
        )
        # No proxy or netrc of the machine running the tests may touch a loopback request.
        client.session.trust_env = False
        if "wechatpay_public_key_id" in profile:
            key_id = profile["wechatpay_public_key_id"]
            client.trusted[key_id] = signing.load_public_key(
                (home / profile["wechatpay_public_key_file"]).read_bytes()
            )
            if brand:
                client.wechatpay_serial = key_id
        return client

    @property
    def is_brand(self) -> bool:
        return self.scheme == signing.BRAND_SCHEME

    @property
    def public_key_id(self) -> str:
        """The one WeChat Pay public key id this client trusts."""
        (key_id,) = self.trusted
        return key_id

    def close(self) -> None:
        self.session.close()

    def authorization(
        self,
        method: str,
        target: str,
        body: bytes,
        *,
        timestamp: int | None = None,
        scheme: str | None = None,
        order: tuple[str, ...] | None = None,
        **overrides: str,
    ) -> str:
        """The Authorization header, fields in `order` (wire names), any field overridden."""
        scheme = scheme or self.scheme
        identity_field = "brand_id" if scheme == signing.BRAND_SCHEME else "mchid"
        stamp = int(time.time()) if timestamp is None else timestamp
        nonce = secrets.token_hex(16)
        message = signing.request_message(method, target, stamp, nonce, body)
        fields = {
            identity_field: self.identity,
            "nonce_str": nonce,
            "signature": signing.sign(self.private_key, message),
            "timestamp": str(stamp),
            "serial_no": self.serial_no,
        } | overrides
        names = order or (identity_field, "nonce_str", "signature", "timestamp", "serial_no")
        return scheme + " " + ",".join(f'{name}="{fields[name]}"' for name in names)

    def send(
        self,
        method: str,
        target: str,
        body: Any = None,
        *,
        headers: Mapping[str, str | None] | None = None,
        timeout: Any = DEFAULT_TIMEOUT_SECONDS,
        **auth: Any,
    ) -> requests.Response:
        """Sign and send; nothing verified. `headers` add or replace (None removes) headers;
        `auth` goes to `authorization` (timestamp, scheme, order, field overrides)."""
        raw = body if isinstance(body, bytes) else b""
        if body is not None and not isinstance(body, bytes):
            raw = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        sent: dict[str, str | None] = {
            "Authorization": self.authorization(method, target, raw, **auth),
            "Accept": "application/json",
            "User-Agent": "wxbudget-tests",
            signing.HEADER_SERIAL: self.wechatpay_serial,
        }
        if method == "POST":
            sent["Content-Type"] = "application/json"
        sent |= headers or {}
        return self.session.request(
            method,
            self.base_url + target,
            data=raw,
            headers={name: value for name, value in sent.items() if value is not None},
            timeout=timeout,
        )

    def verify(self, response: requests.Response, now: int | None = None) -> signing.Verification:
        return signing.verify_response(
            response.headers,
            response.content,
            public_keys=self.trusted,
            now=int(time.time()) if now is None else now,
        )

    def call(self, method: str, target: str, body: Any = None, **options: Any) -> requests.Response:
        """`send`, then assert the answer verifies and names this client's scheme."""
        response = self.send(method, target, body, **options)
        verification = self.verify(response)
        assert verification.ok, verification.reason
        assert response.headers[signing.HEADER_SIGNATURE_TYPE] == self.scheme
        return response

    def update(self, target: str, **fields: Any) -> requests.Response:
        """A verified update-budget POST; a field given as None is left out of the body."""
        body: dict[str, Any] = {
            "out_request_no": "req_" + secrets.token_hex(8),
            "update_mode": "MAX_COUNT",
        }
        if not self.is_brand:
            body["brand_id"] = BRAND
        body |= self.update_defaults | fields
        return self.call("POST", target, {k: v for k, v in body.items() if v is not None})


# The demo stocks' paths on the partner API (see wxbudget.sandbox.demo).
COUPONS = "/v3/marketing/partner/product-coupon/product-coupons"
STOCK = COUPONS + "/1000000013/stocks/1000000013001"
DAILY_STOCK = COUPONS + "/1000000013/stocks/1000000013002"
UPDATE = STOCK + "/update-budget"
DAILY_UPDATE = DAILY_STOCK + "/update-budget"


def assert_error(
    response: requests.Response, status: int, code: str, message: str | None = None
) -> dict[str, Any]:
    """The answer is the API error `status`/`code` (with `message` in it); returns its body."""
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["code"] == code
    if message is not None:
        assert message in body["message"]
    assert response.headers["Request-ID"].rsplit("-", 1)[1] != "0"
    return body
