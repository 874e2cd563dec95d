"""The typed endpoints: stocks (get, list, update-budget), stock bundles and platform
certificates, each a path, a query and the meaning of its answer.

Signing, sending, retries, failover and verification are the transport's (`transport.py`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING
from urllib.parse import quote

from wxbudget import signing
from wxbudget.errors import ConfigError, VerificationError
from wxbudget.i18n import _
from wxbudget.models import Stock
from wxbudget.transport import Response, Settle, Transport

if TYPE_CHECKING:
    from wxbudget.certs import CachedCertificate

LIST_PAGE_SIZE = 50
BRAND_STOCKS_PATH = "/brand/marketing/product-coupon/product-coupons/{product_coupon_id}/stocks"
PARTNER_STOCKS_PATH = (
    "/v3/marketing/partner/product-coupon/product-coupons/{product_coupon_id}/stocks"
)


class Client(Transport):
    """The typed endpoints of the product-coupon API, over one profile's signed transport."""

    def sibling(self) -> Client:
        """Another client for another thread (requests sessions are not shared across
        threads): the same profile, trace, rate limiter and stop flag."""
        return Client(self.settings, trace=self.trace, limiter=self.limiter, stop=self.stop)

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
        stock, _response = self.get_stock(
            product_coupon_id, stock_id, self.settings.body_brand_id()
        )
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
                    _("stock_list in the list answer is not an array; not believed"),
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
                _("the bundle answer has no stock_list; not believed"),
                request_id=response.request_id,
            )
        return [Stock.from_api(item) for item in items], response

    def download_certificates(self) -> list[CachedCertificate]:
        """GET /v3/certificates, decrypt each with the APIv3 key, verify, and cache them."""
        from wxbudget import certs

        folder = self.settings.platform_cert_dir
        if folder is None or self.settings.is_brand:
            raise ConfigError(
                _(
                    "profile '{profile}' has no platform certificates: set "
                    "apiv3_key_file and platform_cert_dir (partner profiles only)",
                    profile=self.settings.profile,
                )
            )
        apiv3_key = self.settings.read_apiv3_key()
        listed: list[CachedCertificate] = []

        def verify(headers: Mapping[str, str], body: bytes, *, now: int) -> signing.Verification:
            # The listing is decrypted (AES-GCM authenticates it with the APIv3 key) before its
            # signature is checked, with the keys it brings as well as the ones already known.
            try:
                data = json.loads(body.decode("utf-8"))
            except (UnicodeDecodeError, ValueError, RecursionError):
                return signing.Verification.failed(_("the certificate listing is not JSON"))
            listed[:] = certs.decrypt_listing(data, apiv3_key, certs.utc_now(now))
            keys = self.verifier.keys(now) | certs.keys_by_serial(listed, certs.utc_now(now))
            return signing.verify_response(headers, body, public_keys=keys, now=now)

        self.call("GET", certs.CERTIFICATES_PATH, endpoint="certificates", verify=verify)
        certs.save_cache(folder, listed)
        self.verifier.certificates = certs.load_cache(folder, apiv3_key)
        return listed

    def refresh_certificates(self) -> None:
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
