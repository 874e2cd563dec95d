"""Signed APIv3 calls over requests: sign the exact bytes sent, verify every 2xx before use.

The only importer of requests.
"""

from __future__ import annotations

import json
import platform
import secrets
import string
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import requests

from wxbudget import __version__, signing
from wxbudget.config import Settings
from wxbudget.errors import NetworkError, VerificationError, error_from_response
from wxbudget.models import Stock

PARTNER_STOCKS_PATH = (
    "/v3/marketing/partner/product-coupon/product-coupons/{product_coupon_id}/stocks"
)
NONCE_ALPHABET = string.ascii_letters + string.digits
NONCE_LENGTH = 32

Trace = Callable[[str], None]


def serialize_body(body: Mapping[str, Any]) -> bytes:
    """The one serialisation of a request body: these bytes are signed and sent."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def new_nonce() -> str:
    return "".join(secrets.choice(NONCE_ALPHABET) for _ in range(NONCE_LENGTH))


def user_agent() -> str:
    return (
        f"wxbudget/{__version__} ({platform.system()}; Python {platform.python_version()}) "
        f"requests/{requests.__version__}"
    )


@dataclass(frozen=True)
class Response:
    """A verified 2xx answer: its raw body bytes and decoded JSON."""

    status: int
    body: bytes
    data: Any
    request_id: str | None


class Client:
    """Signed calls for one profile. `clock` is injectable so skew handling is testable."""

    def __init__(
        self,
        settings: Settings,
        *,
        trace: Trace | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.trace = trace
        self.clock = clock
        self.session = requests.Session()

    def close(self) -> None:
        self.session.close()

    def get_stock(
        self, product_coupon_id: str, stock_id: str, brand_id: str
    ) -> tuple[Stock, Response]:
        path = f"{self._stocks_path(product_coupon_id)}/{quote(stock_id, safe='')}"
        response = self.call("GET", path, query={"brand_id": brand_id})
        return Stock.from_api(response.data), response

    def update_budget(
        self, product_coupon_id: str, stock_id: str, body: bytes
    ) -> tuple[Stock, Response]:
        path = f"{self._stocks_path(product_coupon_id)}/{quote(stock_id, safe='')}/update-budget"
        response = self.call("POST", path, body=body)
        return Stock.from_api(response.data), response

    def _stocks_path(self, product_coupon_id: str) -> str:
        return PARTNER_STOCKS_PATH.format(product_coupon_id=quote(product_coupon_id, safe=""))

    def call(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, str] | None = None,
        body: bytes | None = None,
    ) -> Response:
        """One signed request; raises the mapped error for anything but a verified 2xx."""
        target = path + ("?" + urlencode(query) if query else "")
        payload = body if body is not None else b""
        timestamp = int(self.clock())
        nonce = new_nonce()
        message = signing.request_message(method, target, timestamp, nonce, payload)
        signature = signing.sign(self.settings.private_key, message)
        headers = {
            "Accept": "application/json",
            "User-Agent": user_agent(),
            "Wechatpay-Serial": self.settings.wechatpay_public_key_id,
            "Authorization": signing.authorization_header(
                scheme=signing.PARTNER_SCHEME,
                identity=self.settings.mchid,
                nonce=nonce,
                signature=signature,
                timestamp=timestamp,
                serial_no=self.settings.merchant_serial_no,
            ),
        }
        if body is not None:
            headers["Content-Type"] = "application/json"
        url = self.settings.base_url + target
        self._trace_request(method, url, message, headers)
        try:
            raw = self.session.request(
                method,
                url,
                data=body,
                headers=headers,
                timeout=self.settings.timeout,
                allow_redirects=False,
            )
        except requests.RequestException as error:
            raise NetworkError(f"{method} {url} failed: {_transport_reason(error)}") from error
        request_id = raw.headers.get("Request-ID")
        content = raw.content
        self._trace_response(raw.status_code, raw.headers, content)
        if not 200 <= raw.status_code < 300:
            raise error_from_response(raw.status_code, content, request_id)
        verification = signing.verify_response(
            raw.headers,
            content,
            public_keys={self.settings.wechatpay_public_key_id: self.settings.wechatpay_public_key},
            now=int(self.clock()),
        )
        self._trace(f"< verification: {'ok' if verification.ok else verification.reason}")
        if not verification.ok:
            raise VerificationError(
                f"response failed verification: {verification.reason}; its body is not believed",
                request_id=request_id,
            )
        try:
            data = json.loads(content.decode("utf-8")) if content else None
        except (UnicodeDecodeError, ValueError) as error:
            raise VerificationError(
                "signed response body is not JSON; not believed", request_id=request_id
            ) from error
        return Response(raw.status_code, content, data, request_id)

    def _trace(self, line: str) -> None:
        if self.trace is not None:
            self.trace(line)

    def _trace_request(
        self, method: str, url: str, message: bytes, headers: Mapping[str, str]
    ) -> None:
        if self.trace is None:
            return
        self._trace(f"> {method} {url}")
        self._trace("> signing message: " + json.dumps(message.decode("utf-8"), ensure_ascii=False))
        for name, value in headers.items():
            self._trace(f"> {name}: {redact_header(name, value)}")

    def _trace_response(self, status: int, headers: Mapping[str, str], body: bytes) -> None:
        if self.trace is None:
            return
        self._trace(f"< {status}")
        for name, value in headers.items():
            self._trace(f"< {name}: {redact_header(name, value)}")
        self._trace("< " + body.decode("utf-8", "replace"))


def redact_header(name: str, value: str) -> str:
    """Elide signatures: enough is shown to compare, never enough to replay."""
    lowered = name.lower()
    if lowered == "wechatpay-signature":
        return f"<elided, {len(value)} chars>"
    if lowered == "authorization":
        parsed = signing.parse_authorization(value)
        if parsed is None:
            return "<elided>"
        fields = ",".join(
            f'{key}="<elided, {len(text)} chars>"' if key == "signature" else f'{key}="{text}"'
            for key, text in parsed.fields.items()
        )
        return f"{parsed.scheme} {fields}"
    return value


def _transport_reason(error: requests.RequestException) -> str:
    if isinstance(error, requests.ConnectTimeout):
        return "connection timed out; the outcome is unknown"
    if isinstance(error, requests.ReadTimeout):
        return "no answer before the timeout; the outcome is unknown"
    if isinstance(error, requests.ConnectionError):
        return "connection failed or was reset; the outcome is unknown"
    return f"{type(error).__name__}; the outcome is unknown"
