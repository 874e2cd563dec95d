"""Signed APIv3 calls over requests: sign the exact bytes sent, verify every 2xx before use.

The only importer of requests.
"""

from __future__ import annotations

import json
import platform
import random
import secrets
import string
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

import requests

from wxbudget import __version__, signing
from wxbudget.config import Settings
from wxbudget.errors import (
    ConfigError,
    NetworkError,
    ServerError,
    VerificationError,
    WxBudgetError,
    error_from_response,
)
from wxbudget.models import Stock
from wxbudget.ratelimit import RateLimiter

if TYPE_CHECKING:
    from wxbudget.certs import CachedCertificate

LIST_PAGE_SIZE = 50
BRAND_STOCKS_PATH = "/brand/marketing/product-coupon/product-coupons/{product_coupon_id}/stocks"
PARTNER_STOCKS_PATH = (
    "/v3/marketing/partner/product-coupon/product-coupons/{product_coupon_id}/stocks"
)
NONCE_ALPHABET = string.ascii_letters + string.digits
NONCE_LENGTH = 32

Trace = Callable[[str], None]
VerifyFunction = Callable[..., signing.Verification]
Settle = Callable[[], "Response | None"]


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


# The test suite pins this to 0 for in-process runs, where retries are counted, not waited
# for; backoff_seconds itself and the waits a Client asks for are tested against it.
BACKOFF_BASE_SECONDS = 1.0
BACKOFF_JITTER = 0.25


def backoff_seconds(retry: int, fraction: float) -> float:
    """Wait before retry number `retry` (1, 2, 3...): 1 s, 2 s, 4 s... each within +-25%.

    `fraction` is a uniform draw in [0, 1); passing it in keeps this pure, so tests pin it.
    """
    spread = 1 - BACKOFF_JITTER + 2 * BACKOFF_JITTER * fraction
    return BACKOFF_BASE_SECONDS * 2.0 ** (retry - 1) * spread


@dataclass
class CallRecord:
    """What one logical call did, for the audit journal: attempts and the last answer seen."""

    method: str
    target: str
    attempts: int = 0
    status: int | None = None
    code: str | None = None
    request_id: str | None = None
    verified: bool = False
    # The last answer's headers and when it arrived (this machine's clock): doctor reads the
    # server's clock from them, errors included.
    headers: dict[str, str] | None = None
    received_at: float | None = None
    # A write whose answer was lost (why: `lost_answer`) but whose effect a verified read
    # confirmed.
    settled: bool = False
    lost_answer: str | None = None


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
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.settings = settings
        self.trace = trace
        self.clock = clock
        self.sleep = sleep
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not a secret
        self.limiter = limiter
        self.verifier = Verifier(settings, clock)
        self.verifier.refresh = self._refresh_certificates
        self.session = requests.Session()
        self.last_call: CallRecord | None = None
        self.last_write: CallRecord | None = None

    def close(self) -> None:
        self.session.close()

    def get_stock(
        self, product_coupon_id: str, stock_id: str, brand_id: str | None
    ) -> tuple[Stock, Response]:
        """One stock. `brand_id` is the partner's query parameter; brands send none."""
        path = f"{self._stocks_path(product_coupon_id)}/{quote(stock_id, safe='')}"
        query = self._brand_query(brand_id)
        response = self.call("GET", path, query=query, endpoint="get-stock")
        return Stock.from_api(response.data), response

    def fetch_stock(self, product_coupon_id: str, stock_id: str) -> Stock:
        """One stock of this profile's brand (the partner's default brand, or the brand itself)."""
        stock, _ = self.get_stock(product_coupon_id, stock_id, self.settings.body_brand_id())
        return stock

    def list_stocks(
        self,
        product_coupon_id: str,
        brand_id: str | None,
        *,
        state: str | None = None,
        stock_bundle_id: str | None = None,
        page_size: int = LIST_PAGE_SIZE,
        keep_raw: bool = True,
    ) -> Iterator[Stock]:
        """Every stock of a coupon, page by page (each page verified before it is believed)."""
        query = self._brand_query(brand_id) | {"page_size": str(page_size)}
        if state:
            query["state"] = state
        if stock_bundle_id:
            query["stock_bundle_id"] = stock_bundle_id
        path = self._stocks_path(product_coupon_id)
        while True:
            response = self.call("GET", path, query=query, endpoint="list-stocks")
            data = response.data if isinstance(response.data, dict) else {}
            stocks = data.get("stock_list") or []
            if not isinstance(stocks, list):
                raise VerificationError(
                    "stock_list in the list answer is not an array; not believed",
                    request_id=response.request_id,
                )
            for item in stocks:
                yield Stock.from_api(item, keep_raw=keep_raw)
            token = data.get("next_page_token")
            if not token or not stocks:
                return
            query["page_token"] = str(token)

    def update_budget(
        self, product_coupon_id: str, stock_id: str, body: bytes, *, settle: Settle | None = None
    ) -> tuple[Stock, Response]:
        path = f"{self._stocks_path(product_coupon_id)}/{quote(stock_id, safe='')}/update-budget"
        response = self.call("POST", path, body=body, endpoint="update-budget", settle=settle)
        return Stock.from_api(response.data), response

    def update_bundle_budget(
        self,
        product_coupon_id: str,
        stock_bundle_id: str,
        body: bytes,
        *,
        settle: Settle | None = None,
    ) -> tuple[list[Stock], Response]:
        """POST the stock-bundle update-budget; the answer lists every stock of the bundle."""
        base = self._stocks_path(product_coupon_id).removesuffix("/stocks")
        path = f"{base}/stock-bundles/{quote(stock_bundle_id, safe='')}/update-budget"
        response = self.call(
            "POST", path, body=body, endpoint="update-bundle-budget", settle=settle
        )
        data = response.data if isinstance(response.data, dict) else {}
        items = data.get("stock_list")
        if not isinstance(items, list) or not items:
            raise VerificationError(
                "the bundle answer has no stock_list; not believed", request_id=response.request_id
            )
        return [Stock.from_api(item) for item in items], response

    def download_certificates(self) -> list[CachedCertificate]:
        """GET /v3/certificates, decrypt each with the APIv3 key, verify, and cache them."""
        from wxbudget import certs

        folder = self.settings.platform_cert_dir
        if folder is None or self.settings.is_brand:
            raise ConfigError(
                f"profile '{self.settings.profile}' has no platform certificates: set "
                "apiv3_key_file and platform_cert_dir (partner profiles only)"
            )
        apiv3_key = self.settings.read_apiv3_key()
        listed: list[CachedCertificate] = []

        def verify(headers: Mapping[str, str], body: bytes, *, now: int) -> signing.Verification:
            # The listing is decrypted (AES-GCM authenticates it with the APIv3 key) before its
            # signature is checked, with the keys it brings as well as the ones already known.
            try:
                data = json.loads(body.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                return signing.Verification.failed("the certificate listing is not JSON")
            listed[:] = certs.decrypt_listing(data, apiv3_key, certs.utc_now(now))
            keys = self.verifier.keys(now) | certs.keys_by_serial(listed, certs.utc_now(now))
            return signing.verify_response(headers, body, public_keys=keys, now=now)

        self.call("GET", certs.CERTIFICATES_PATH, endpoint="certificates", verify=verify)
        certs.save_cache(folder, listed)
        self.verifier.certificates = certs.load_cache(folder)
        return listed

    def _refresh_certificates(self) -> None:
        # The refresh is a call of its own: keep the record of the call being verified.
        outer = self.last_call
        try:
            self.download_certificates()
        finally:
            self.last_call = outer

    def _stocks_path(self, product_coupon_id: str) -> str:
        template = BRAND_STOCKS_PATH if self.settings.is_brand else PARTNER_STOCKS_PATH
        return template.format(product_coupon_id=quote(product_coupon_id, safe=""))

    def _brand_query(self, brand_id: str | None) -> dict[str, str]:
        if self.settings.is_brand or brand_id is None:
            return {}
        return {"brand_id": brand_id}

    def call(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, str] | None = None,
        body: bytes | None = None,
        endpoint: str = "other",
        verify: VerifyFunction | None = None,
        settle: Settle | None = None,
    ) -> Response:
        """A signed request with retries; raises the mapped error unless a verified 2xx comes.

        Transport errors, 429 and 5xx are retried (at most `max_retries` times, backing off);
        every attempt sends the same bytes, freshly signed. After a transport error the next
        attempt goes to the other host (primary <-> backup) when a backup is configured.

        `settle`, for writes: after a transport error the write may have landed. `settle()`
        looks (a verified read, on the read endpoint's own rate quota) and returns the answer to
        use when it did; otherwise the write is sent again as usual.
        """
        target = path + ("?" + urlencode(query) if query else "")
        hosts = [self.settings.base_url]
        if self.settings.backup_base_url and self.settings.backup_base_url != hosts[0]:
            hosts.append(self.settings.backup_base_url)
        record = CallRecord(method=method, target=target)
        self.last_call = record
        host = 0
        retries = self.settings.max_retries
        for retry in range(retries + 1):
            record.attempts += 1
            if self.limiter is not None:
                self.limiter.acquire(endpoint)
            try:
                return self._attempt(hosts[host], method, target, body, record, verify)
            except NetworkError as error:
                last_error: WxBudgetError = error
                if len(hosts) > 1:
                    host = 1 - host
                settled = self._settle(settle, record)
                if settled is not None:
                    record.lost_answer = error.message
                    return settled
            except ServerError as error:
                last_error = error
            if retry == retries:
                break
            delay = backoff_seconds(retry + 1, self.rng.random())
            self._trace(f"  retry {retry + 1} of {retries} in {delay:.2f} s ({last_error.message})")
            self.sleep(delay)
        if record.attempts > 1:
            last_error.message += f" (after {record.attempts} attempts)"
        raise last_error

    def _settle(self, settle: Settle | None, record: CallRecord) -> Response | None:
        if settle is None:
            return None
        self._trace("  the answer was lost: reading the current state before sending again")
        try:
            found = settle()
        except WxBudgetError as error:
            self._trace(f"  reading failed ({error.message}): sending again")
            found = None
        finally:
            self.last_call = record  # the read was a call of its own
        if found is not None:
            record.settled = True
            self._trace("  the write is in place (confirmed by reading): not sent again")
        return found

    def _attempt(
        self,
        base_url: str,
        method: str,
        target: str,
        body: bytes | None,
        record: CallRecord,
        verify: VerifyFunction | None,
    ) -> Response:
        payload = body if body is not None else b""
        timestamp = int(self.clock())
        nonce = new_nonce()
        message = signing.request_message(method, target, timestamp, nonce, payload)
        signature = signing.sign(self.settings.private_key, message)
        headers = {
            "Accept": "application/json",
            "User-Agent": user_agent(),
            "Authorization": signing.authorization_header(
                scheme=signing.BRAND_SCHEME if self.settings.is_brand else signing.PARTNER_SCHEME,
                identity=self.settings.identity,
                nonce=nonce,
                signature=signature,
                timestamp=timestamp,
                serial_no=self.settings.serial_no,
            ),
        }
        # The request's Wechatpay-Serial selects the key WeChat Pay answers with.
        answer_key_id = self.verifier.preferred_serial()
        if answer_key_id:
            headers["Wechatpay-Serial"] = answer_key_id
        if body is not None:
            headers["Content-Type"] = "application/json"
        url = base_url + target
        # The record describes the last attempt only: nothing of an earlier one may linger.
        record.status = record.code = record.request_id = None
        record.verified = False
        record.headers = record.received_at = None
        self._trace(f"attempt {record.attempts}:")
        self._trace_request(method, url, message, headers)
        try:
            raw = self.session.request(
                method,
                url,
                data=body,
                headers=headers,
                timeout=(self.settings.connect_timeout, self.settings.timeout),
                allow_redirects=False,
            )
        except requests.RequestException as error:
            record.status = None
            self._trace(f"< no answer: {_transport_reason(error)}")
            raise NetworkError(f"{method} {url} failed: {_transport_reason(error)}") from error
        request_id = raw.headers.get("Request-ID")
        content = raw.content
        record.status = raw.status_code
        record.request_id = request_id
        record.headers = {name.lower(): value for name, value in raw.headers.items()}
        record.received_at = self.clock()
        self._trace_response(raw.status_code, raw.headers, content)
        if not 200 <= raw.status_code < 300:
            api_error = error_from_response(raw.status_code, content, request_id)
            record.code = api_error.code
            raise api_error
        check = verify or self.verifier.verify
        verification = check(raw.headers, content, now=int(self.clock()))
        record.verified = verification.ok
        self._trace(f"< verification: {'ok' if verification.ok else verification.reason}")
        if not verification.ok:
            raise VerificationError(
                f"response failed verification: {verification.reason}; its body is not believed",
                request_id=request_id,
            )
        try:
            data = json.loads(content.decode("utf-8")) if content else None
        except (UnicodeDecodeError, ValueError) as error:
            record.verified = False
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


class Verifier:
    """The keys that may sign answers: the WeChat Pay public key and/or platform certificates.

    With both configured (the migration period) either serial is accepted. An answer signed by
    a platform certificate that is not cached triggers one refresh of the cache.
    """

    def __init__(self, settings: Settings, clock: Callable[[], float]) -> None:
        self.settings = settings
        self.clock = clock
        self.public_keys: dict[str, signing.PublicKey] = {}
        if settings.wechatpay_public_key_id and settings.wechatpay_public_key:
            self.public_keys[settings.wechatpay_public_key_id] = settings.wechatpay_public_key
        self.certificates: list[CachedCertificate] = []
        if settings.platform_cert_dir is not None:
            from wxbudget import certs

            self.certificates = certs.load_cache(settings.platform_cert_dir)
        self.refresh: Callable[[], object] | None = None
        self.refreshed = False

    def keys(self, now: int) -> dict[str, signing.PublicKey]:
        if not self.certificates:
            return self.public_keys
        from wxbudget import certs

        return self.public_keys | certs.keys_by_serial(self.certificates, certs.utc_now(now))

    def preferred_serial(self) -> str | None:
        """The Wechatpay-Serial to send: WeChat Pay answers with the key it names."""
        if self.settings.wechatpay_public_key_id or not self.certificates:
            return self.settings.wechatpay_public_key_id
        from wxbudget import certs

        valid = [c for c in self.certificates if c.valid_at(certs.utc_now(self.clock()))]
        return valid[-1].serial_no if valid else None

    def verify(self, headers: Mapping[str, str], body: bytes, *, now: int) -> signing.Verification:
        result = signing.verify_response(headers, body, public_keys=self.keys(now), now=now)
        serial = headers.get(signing.HEADER_SERIAL, "")
        if (
            not result.ok
            and serial
            and signing.key_for_serial(self.keys(now), serial) is None
            and self.settings.platform_cert_dir is not None
            and self.refresh is not None
            and not self.refreshed
        ):
            self.refreshed = True  # once per client: a bad serial must not loop downloads
            try:
                self.refresh()
            except WxBudgetError as error:
                return signing.Verification.failed(
                    f"{result.reason}; refreshing the platform certificates failed: {error.line()}"
                )
            result = signing.verify_response(headers, body, public_keys=self.keys(now), now=now)
        return result


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
