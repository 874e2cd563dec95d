"""The emulated endpoints and their routes; each gets an authenticated call and returns a Reply.

Every product-coupon route exists twice: `/v3/...` for a partner (brand_id in the query or body)
and `/brand/...` for the brand itself (品牌API: no brand_id anywhere, the signer is the brand).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote

from wxbudget.sandbox import budget
from wxbudget.sandbox.auth import BRAND, PARTNER, Caller
from wxbudget.sandbox.certificates import certificate_listing
from wxbudget.sandbox.keys import HomeKeys
from wxbudget.sandbox.replies import (
    MESSAGE_BUNDLE_NOT_FOUND,
    MESSAGE_COUPON_NOT_FOUND,
    MESSAGE_NO_PLATFORM_CERT,
    MESSAGE_STOCK_NOT_FOUND,
    SUB_CODE_METHOD,
    SUB_CODE_NO_PLATFORM_CERT,
    ApiFailure,
    JsonObject,
    Reply,
    not_found,
    out_of_range,
    param_error,
)
from wxbudget.sandbox.seed import STOCK_STATES
from wxbudget.sandbox.store import USAGE_PROGRESSIVE_BUNDLE, Coupon, Store
from wxbudget.sandbox.wire import Request

PARTNER_COUPONS = "/v3/marketing/partner/product-coupon/product-coupons"
BRAND_COUPONS = "/brand/marketing/product-coupon/product-coupons"
CERTIFICATES = "/v3/certificates"
BRAND_LIST_PARAMETERS = ("state", "page_size", "page_token", "stock_bundle_id")
PAGE_SIZE_DEFAULT = 20
PAGE_SIZE_MAX = 50


@dataclass(frozen=True)
class Call:
    request: Request
    params: dict[str, str]
    caller: Caller

    @property
    def brand_api(self) -> bool:
        return self.caller.variant == BRAND


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    variant: str
    handler: Callable[[Call], Reply]
    pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", self.template)
        object.__setattr__(self, "pattern", re.compile(regex))

    @property
    def name(self) -> str:
        """The endpoint template, e.g. for rate-limit buckets and fault scripts."""
        return f"{self.method} {self.template}"


def match(routes: list[Route], method: str, path: str) -> tuple[Route, dict[str, str]]:
    """The route for a request, or 404 for an unknown path / 405 for a known path's wrong method."""
    allowed: list[str] = []
    for route in routes:
        found = route.pattern.fullmatch(path)
        if found is None:
            continue
        if route.method == method:
            return route, {name: unquote(value) for name, value in found.groupdict().items()}
        allowed.append(route.method)
    if allowed:
        raise ApiFailure(
            405,
            "METHOD_NOT_ALLOWED",
            f"该接口不支持 {method} 请求,请使用 {' 或 '.join(sorted(set(allowed)))}",
            SUB_CODE_METHOD,
        )
    raise not_found(f"请求的资源不存在: {path}")


class Endpoints:
    """`strict`: the strict reading of every point the official pages leave open."""

    def __init__(self, store: Store, keys: HomeKeys, *, strict: bool = False) -> None:
        self.store = store
        self.keys = keys
        self.strict = strict

    def routes(self) -> list[Route]:
        routes = [Route("GET", CERTIFICATES, PARTNER, self.certificates)]
        for prefix, variant in ((PARTNER_COUPONS, PARTNER), (BRAND_COUPONS, BRAND)):
            coupon = prefix + "/{product_coupon_id}"
            stock = coupon + "/stocks/{stock_id}"
            bundle = coupon + "/stock-bundles/{stock_bundle_id}"
            routes += [
                Route("GET", stock, variant, self.get_stock),
                Route("GET", coupon + "/stocks", variant, self.list_stocks),
                Route("POST", stock + "/update-budget", variant, self.update_budget),
                Route("POST", bundle + "/update-budget", variant, self.update_bundle_budget),
            ]
        return routes

    def get_stock(self, call: Call) -> Reply:
        _, stock = self._stock(call)
        if call.brand_api:
            if self.strict:
                _refuse_query(call.request, allowed=())
            _check_owner(call.caller.identity, stock["brand_id"], MESSAGE_STOCK_NOT_FOUND)
        else:
            _check_brand(
                call.request.query.get("brand_id"),
                "brand_id",
                "query",
                stock["brand_id"],
                MESSAGE_STOCK_NOT_FOUND,
            )
        return Reply(status=200, body=_present(stock, call))

    def list_stocks(self, call: Call) -> Reply:
        coupon = self._coupon(call)
        query = call.request.query
        if call.brand_api:
            if self.strict:
                _refuse_query(call.request, allowed=BRAND_LIST_PARAMETERS)
            _check_owner(call.caller.identity, coupon.brand_id, MESSAGE_COUPON_NOT_FOUND)
        else:
            brand_id = query.get("brand_id")
            if brand_id is None:
                raise param_error("brand_id", None, "brand_id 必填", location="query")
            if brand_id != coupon.brand_id:
                raise not_found(MESSAGE_COUPON_NOT_FOUND)
        state = query.get("state")
        if state is not None and state not in STOCK_STATES:
            raise param_error(
                "state", state, f"state 取值为 {', '.join(STOCK_STATES)}", location="query"
            )
        page_size = _page_size(query.get("page_size"), strict=self.strict)
        page_token = query.get("page_token")
        offset = 0 if page_token is None else decode_page_token(page_token)
        stocks = self.store.stocks(
            coupon.product_coupon_id, state=state, stock_bundle_id=query.get("stock_bundle_id")
        )
        body: JsonObject = {}
        if page_token is None:
            body["total_count"] = len(stocks)
        body["stock_list"] = [
            _present(stock, call) for stock in stocks[offset : offset + page_size]
        ]
        if offset + page_size < len(stocks):
            body["next_page_token"] = encode_page_token(offset + page_size)
        return Reply(status=200, body=body)

    def update_budget(self, call: Call) -> Reply:
        coupon, stock = self._stock(call)
        if call.brand_api:
            _check_owner(call.caller.identity, stock["brand_id"], MESSAGE_STOCK_NOT_FOUND)
        # An undecodable body cannot name its brand, so its PARAM_ERROR comes before the brand's.
        body = budget.decode_body(call.request.body)
        if not call.brand_api:
            _check_brand(
                body.get("brand_id"),
                "/brand_id",
                "body",
                stock["brand_id"],
                MESSAGE_STOCK_NOT_FOUND,
            )
        change = budget.parse_change(body, brand_api=call.brand_api, strict=self.strict)
        reply = self.store.apply_once(
            mchid=call.caller.key,
            out_request_no=change.out_request_no,
            fingerprint=_fingerprint(call, body),
            product_coupon_id=coupon.product_coupon_id,
            stock_id=stock["stock_id"],
            change=lambda current: budget.apply_change(
                current, change, usage_mode=coupon.usage_mode, strict=self.strict
            ),
        )
        if reply.status == 200:
            reply.body = _present(reply.body, call)
        return reply

    def update_bundle_budget(self, call: Call) -> Reply:
        coupon = self._coupon(call)
        bundle_id = call.params["stock_bundle_id"]
        if call.brand_api:
            _check_owner(call.caller.identity, coupon.brand_id, MESSAGE_BUNDLE_NOT_FOUND)
        if coupon.usage_mode != USAGE_PROGRESSIVE_BUNDLE or not self.store.bundle_stocks(
            coupon.product_coupon_id, bundle_id
        ):
            raise not_found(MESSAGE_BUNDLE_NOT_FOUND)
        body = budget.decode_body(call.request.body)
        if not call.brand_api:
            _check_brand(
                body.get("brand_id"), "/brand_id", "body", coupon.brand_id, MESSAGE_BUNDLE_NOT_FOUND
            )
        change = budget.parse_change(body, brand_api=call.brand_api, strict=self.strict)
        reply = self.store.apply_bundle_once(
            mchid=call.caller.key,
            out_request_no=change.out_request_no,
            fingerprint=_fingerprint(call, body),
            product_coupon_id=coupon.product_coupon_id,
            stock_bundle_id=bundle_id,
            change=lambda stocks: budget.apply_bundle_change(stocks, change, strict=self.strict),
        )
        if reply.status == 200:
            reply.body = reply.body | {
                "stock_list": [_present(stock, call) for stock in reply.body["stock_list"]]
            }
        return reply

    def certificates(self, call: Call) -> Reply:
        if not self.keys.platform or self.keys.apiv3_key is None:
            raise ApiFailure(
                404, "RESOURCE_NOT_EXISTS", MESSAGE_NO_PLATFORM_CERT, SUB_CODE_NO_PLATFORM_CERT
            )
        return Reply(status=200, body=certificate_listing(self.keys.platform, self.keys.apiv3_key))

    def _coupon(self, call: Call) -> Coupon:
        coupon = self.store.coupon(call.params["product_coupon_id"])
        if coupon is None:
            raise not_found(MESSAGE_COUPON_NOT_FOUND)
        return coupon

    def _stock(self, call: Call) -> tuple[Coupon, JsonObject]:
        coupon = self._coupon(call)
        stock = self.store.stock(coupon.product_coupon_id, call.params["stock_id"])
        if stock is None:
            raise not_found(MESSAGE_STOCK_NOT_FOUND)
        return coupon, stock


def _fingerprint(call: Call, body: JsonObject) -> str:
    # Key order must not matter, whitespace must not matter: compare canonical JSON.
    return call.request.path + "\n" + json.dumps(body, sort_keys=True)


def _present(stock: JsonObject, call: Call) -> JsonObject:
    """A stock as the caller's API shows it: the brand API's objects carry no brand_id."""
    if not call.brand_api:
        return stock
    return {key: value for key, value in stock.items() if key != "brand_id"}


def _refuse_query(request: Request, *, allowed: tuple[str, ...]) -> None:
    # Strict mode, where the brand docs are silent: their query string lists no brand_id (the
    # brand is the signer) and nothing else, so anything unlisted is refused, not ignored.
    for name, value in parse_qsl(request.target.partition("?")[2], keep_blank_values=True):
        if name not in allowed:
            issue = (
                "品牌API的 brand_id 来自 Authorization,查询参数中不应填写"
                if name == "brand_id"
                else f"该接口不接受查询参数 {name}"
            )
            raise param_error(name, value, issue, location="query")


def _check_owner(caller_brand_id: str, owner: str, message: str) -> None:
    if caller_brand_id != owner:
        # A brand sees only its own coupons; another's look exactly like unknown ids.
        raise not_found(message)


def _check_brand(
    brand_id: object, field_name: str, location: str, owner: str, message: str
) -> None:
    if brand_id is None or brand_id == "":
        raise param_error(field_name, brand_id, "brand_id 必填", location=location)
    if not isinstance(brand_id, str):
        raise param_error(field_name, brand_id, "brand_id 必须是字符串", location=location)
    if brand_id != owner:
        # Same answer as an unknown id: a partner must not learn which ids exist elsewhere.
        raise not_found(message)


def _page_size(raw: str | None, *, strict: bool) -> int:
    if raw is None:
        return PAGE_SIZE_DEFAULT
    if not raw.isascii() or not raw.isdigit():
        raise param_error("page_size", raw, "page_size 必须是整数", location="query")
    size = int(raw)
    if not strict:
        # "最大值50" says what is served, not that more is refused: lenient serves at most 50.
        return min(max(size, 1), PAGE_SIZE_MAX)
    if not 1 <= size <= PAGE_SIZE_MAX:
        raise out_of_range(
            "page_size", size, f"page_size 取值范围为1-{PAGE_SIZE_MAX}", location="query"
        )
    return size


def encode_page_token(offset: int) -> str:
    return base64.b64encode(f"{offset}\n".encode()).decode("ascii")


def decode_page_token(token: str) -> int:
    """The offset inside an opaque page token; PARAM_ERROR for anything this server never made."""
    try:
        text = base64.b64decode(token, validate=True).decode("ascii")
    except (binascii.Error, ValueError):
        text = ""
    digits = text.removesuffix("\n")
    if not digits.isdigit() or int(digits) < 1 or encode_page_token(int(digits)) != token:
        raise param_error(
            "page_token",
            token,
            "page_token 无效,请传入上一次调用返回的 next_page_token",
            location="query",
        )
    return int(digits)
