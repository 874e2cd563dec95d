"""The request pipeline in WeChat Pay's order, signing, rate limit and journal; no socket.

Pipeline: route -> headers -> Authorization (partner or brand, by path) -> Wechatpay-Serial ->
rate limit -> hooks' `before_processing` -> endpoint -> sign -> hooks' `before_sending` ->
journal -> write.
The two hook points are where fault injection (faults.py) plugs in.
"""

from __future__ import annotations

import json
import secrets
import string
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from wxbudget import signing
from wxbudget.sandbox.auth import (
    BRAND,
    Caller,
    authenticate,
    check_headers,
    check_wechatpay_serial,
    variant_of,
)
from wxbudget.sandbox.endpoints import Call, Endpoints, Route, match
from wxbudget.sandbox.keys import HomeKeys
from wxbudget.sandbox.replies import (
    MESSAGE_RATE_LIMIT,
    MESSAGE_SYSTEM,
    SUB_CODE_RATE_LIMIT,
    SUB_CODE_SYSTEM,
    ApiFailure,
    Reply,
    encode,
)
from wxbudget.sandbox.store import Store
from wxbudget.sandbox.wire import Intervention, Outgoing, Request

NONCE_ALPHABET = string.ascii_letters + string.digits


class Hook(Protocol):
    """Something that may answer instead of an endpoint, label a request, or alter an answer.

    `before_processing` runs only for requests that passed every gateway check; the first hook
    returning an Intervention decides. `before_sending` runs for every answer.
    """

    def before_processing(self, request: Request, route: Route) -> Intervention | None: ...

    def before_sending(self, request: Request, reply: Reply, outgoing: Outgoing) -> Outgoing: ...


class RateLimiter:
    """At most `per_second` requests in any sliding one-second window, per key; 0 = unlimited."""

    def __init__(self, per_second: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_second = per_second
        self._clock = clock
        self._hits: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: tuple[str, str]) -> bool:
        if self.per_second <= 0:
            return True
        with self._lock:
            now = self._clock()
            hits = self._hits.setdefault(key, deque())
            while hits and now - hits[0] >= 1.0:
                hits.popleft()
            if len(hits) >= self.per_second:
                return False
            hits.append(now)
            return True


class Journal:
    """requests.jsonl: one line per answered request, appended under a lock and flushed."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def record(self, request: Request, reply: Reply, outgoing: Outgoing) -> None:
        entry: dict[str, Any] = {
            "time": datetime.now().astimezone().isoformat(timespec="milliseconds"),
            "method": request.method,
            "path": request.target,
            "status": outgoing.status,
            "code": reply.code,
            "request_id": outgoing.headers.get("Request-ID"),
            "out_request_no": request.out_request_no(),
            "applied": reply.applied,
            "replay": reply.replay,
            "fault": reply.fault,
        }
        line = json.dumps(entry, ensure_ascii=False) + "\n"
        with self._lock, self.path.open("a", encoding="utf-8") as handle:
            handle.write(line)
            handle.flush()


@dataclass(frozen=True)
class Signer:
    """The key an answer is signed with and the headers that name it."""

    private_key: signing.PrivateKey
    serial: str
    signature_type: str


class SandboxApp:
    """Everything but the socket: turns a Request into a signed Outgoing."""

    def __init__(
        self,
        keys: HomeKeys,
        store: Store,
        journal: Journal,
        limiter: RateLimiter,
        clock: Callable[[], float] = time.time,
        *,
        strict: bool = False,
    ) -> None:
        self.keys = keys
        self.store = store
        self.journal = journal
        self.limiter = limiter
        self.clock = clock
        self.strict = strict
        self.routes = Endpoints(store, keys, strict=strict).routes()
        self.hooks: list[Hook] = []

    def handle(self, request: Request, *, refused: ApiFailure | None = None) -> Outgoing:
        # Kept outside the try: a fault chosen up front still applies when the endpoint fails.
        intervention = Intervention()
        try:
            if refused is not None:
                raise refused
            route, params, caller = self._admit(request)
            intervention = self._intervention(request, route)
            reply = intervention.reply
            if reply is None:
                reply = route.handler(Call(request=request, params=params, caller=caller))
        except ApiFailure as failure:
            reply = failure.reply()
        except Exception:
            traceback.print_exc(file=sys.stderr)
            reply = ApiFailure(500, "SYSTEM_ERROR", MESSAGE_SYSTEM, SUB_CODE_SYSTEM).reply()
        reply.fault = intervention.fault
        outgoing = self.sign(reply, self.signer_for(request))
        for hook in self.hooks:
            outgoing = hook.before_sending(request, reply, outgoing)
        self.journal.record(request, reply, outgoing)
        return outgoing

    def _admit(self, request: Request) -> tuple[Route, dict[str, str], Caller]:
        """The gateway checks; returns the route, its path parameters and who signed."""
        route, params = match(self.routes, request.method, request.path)
        check_headers(request)
        caller = authenticate(
            request, self.keys, variant=route.variant, now=int(self.clock()), strict=self.strict
        )
        check_wechatpay_serial(request, self.keys, variant=route.variant, strict=self.strict)
        if not self.limiter.allow((caller.key, route.name)):
            raise ApiFailure(429, "RATELIMIT_EXCEEDED", MESSAGE_RATE_LIMIT, SUB_CODE_RATE_LIMIT)
        return route, params, caller

    def _intervention(self, request: Request, route: Route) -> Intervention:
        for hook in self.hooks:
            intervention = hook.before_processing(request, route)
            if intervention is not None:
                return intervention
        return Intervention()

    def signer_for(self, request: Request) -> Signer:
        """The key WeChat Pay answers this request with, decided by the path and header alone.

        So even a refused request gets an answer its client can verify. The brand API has its
        own key. With platform certificates on, the request's `Wechatpay-Serial` picks the key
        (the documented migration rule): the public key id gets the public key, anything else
        or nothing the newest platform certificate.
        """
        if variant_of(request.path) == BRAND:
            brand = self.keys.brand
            return Signer(
                brand.wechatpay_private_key,
                brand.identity.wechatpay_public_key_id,
                signing.BRAND_SCHEME,
            )
        public_key_id = self.keys.identity.wechatpay_public_key_id
        if not self.keys.platform or request.header(signing.HEADER_SERIAL) == public_key_id:
            return Signer(self.keys.wechatpay_private_key, public_key_id, signing.PARTNER_SCHEME)
        newest = self.keys.platform[-1]
        return Signer(newest.private_key, newest.serial_no, signing.PARTNER_SCHEME)

    def sign(self, reply: Reply, signer: Signer) -> Outgoing:
        """Serialise once and sign those exact bytes with the signer's private key."""
        body = encode(reply.body)
        timestamp = str(int(self.clock()))
        nonce = "".join(secrets.choice(NONCE_ALPHABET) for _ in range(32))
        message = signing.response_message(timestamp, nonce, body)
        headers = {
            "Content-Type": "application/json",
            "Content-Length": str(len(body)),
            "Request-ID": f"{secrets.token_hex(20).upper()}-{reply.sub_code}",
            signing.HEADER_TIMESTAMP: timestamp,
            signing.HEADER_NONCE: nonce,
            signing.HEADER_SIGNATURE: signing.sign(signer.private_key, message),
            signing.HEADER_SERIAL: signer.serial,
            signing.HEADER_SIGNATURE_TYPE: signer.signature_type,
        }
        headers.update(reply.extra_headers or {})
        return Outgoing(
            status=reply.status, headers=headers, body=body, signing_key=signer.private_key
        )
