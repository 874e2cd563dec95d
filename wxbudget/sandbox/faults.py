"""Fault injection: a sandbox that misbehaves on purpose, so retry and verification code paths
(ours and a user's own integration) can be exercised against real HTTP.

A fault is configured as `KIND=PROBABILITY[:METHOD]`, e.g. `500=0.1:POST` or `drop=0.05`.
Without METHOD a fault applies to every GET endpoint and to update-budget POSTs.

Draw rule, kept exact so a seed reproduces a run:
one `random.Random(seed)` guarded by one lock. For each request that reached processing (it passed
the header, Authorization, Wechatpay-Serial and rate-limit checks, so a 400/401/429 of the
gateway and an unknown route are never faulted) the configured faults whose method matches are
tried in the order given, one `rng.random()` draw each, and the first whose draw is below its
probability is injected; at most one fault per request. Faults not matching the method consume
no draw. Once `limit` faults were injected, nothing is drawn any more.

Kinds:
- `500`, `429`, `403`: answer 500 SYSTEM_ERROR / 429 RATELIMIT_EXCEEDED / 403 NO_AUTH instead
  of running the endpoint, so nothing is applied and nothing is recorded for idempotency.
- `drop`: run the endpoint (a write is applied and recorded), then close the connection without
  writing a byte.
- `delay`: run the endpoint, then hold the normal signed answer for `delay_seconds`.
- `badsig`: sign the answer with a key that is not the WeChat Pay key; `Wechatpay-Serial` stays.
- `unsigned`: strip every `Wechatpay-*` header (Request-ID stays).
- `skew`: sign the answer over a `Wechatpay-Timestamp` SKEW_SECONDS in the past.
- `probe`: replace the signature by a `WECHATPAY/SIGNTEST/` probe value.
- `badheader`: a `Wechatpay-Timestamp` that is not Unix seconds (`1²`: Python's isdigit()
  accepts it, int() does not), the rest of the answer intact.
- `race` (update-budget only, so it is drawn for POSTs only): another writer adds 1 to the cap
  the request changes (every stock's, for a bundle) just before the endpoint runs, so the
  request's `current_*` is stale and the endpoint answers as it would to a real race.
The altering kinds apply to whatever the endpoint answered, an error reply (404, 400 ...)
included: one rule for every reply is simpler to reason about than a list of exceptions.
"""

from __future__ import annotations

import base64
import json
import math
import random
import secrets
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import unquote

from wxbudget import signing
from wxbudget.errors import UsageError
from wxbudget.i18n import _
from wxbudget.sandbox.defaults import DEFAULT_FAULT_DELAY_SECONDS
from wxbudget.sandbox.endpoints import Route
from wxbudget.sandbox.replies import (
    MESSAGE_NO_AUTH,
    MESSAGE_RATE_LIMIT,
    MESSAGE_SYSTEM,
    SUB_CODE_NO_AUTH,
    SUB_CODE_RATE_LIMIT,
    SUB_CODE_SYSTEM,
    ApiFailure,
    Reply,
)
from wxbudget.sandbox.store import Store
from wxbudget.sandbox.wire import Intervention, Outgoing, Request

ANSWER_KINDS = ("500", "429", "403")
ALTERING_KINDS = ("drop", "delay", "badsig", "unsigned", "skew", "probe", "badheader")
RACE = "race"
KINDS = (*ANSWER_KINDS, *ALTERING_KINDS, RACE)
# Kinds that only mean something for a write.
WRITE_KINDS = frozenset({RACE})
METHODS = ("GET", "POST")
SPEC_FORMAT = "KIND=PROBABILITY[:METHOD]"
# Twice the 5 minutes clients tolerate, so every verifier refuses it whatever its rounding.
SKEW_SECONDS = 600
# A real signature is 256 bytes of RSA-2048 output; the probe looks just as long.
PROBE_RANDOM_BYTES = 256
WECHATPAY_HEADER_PREFIX = "wechatpay-"
MALFORMED_TIMESTAMP = "1\u00b2"


@dataclass(frozen=True)
class FaultSpec:
    kind: str
    probability: float
    method: str | None = None  # None: every method of METHODS

    def applies_to(self, method: str) -> bool:
        if self.kind in WRITE_KINDS:
            return method == "POST"
        return method == self.method if self.method is not None else method in METHODS

    def __str__(self) -> str:
        method = "" if self.method is None else ":" + self.method
        return f"{self.kind}={self.probability:g}{method}"


def parse_fault(text: str) -> FaultSpec:
    """One `KIND=PROBABILITY[:METHOD]`; UsageError naming what is wrong otherwise."""
    kind, equals, rest = text.strip().partition("=")
    if not equals:
        raise UsageError(
            _("fault {text!r} is not {format} (e.g. 500=0.1:POST)", text=text, format=SPEC_FORMAT)
        )
    if kind not in KINDS:
        raise UsageError(
            _(
                "unknown fault kind {kind!r} in {text!r}; valid kinds: {kinds}",
                kind=kind,
                text=text,
                kinds=", ".join(KINDS),
            )
        )
    probability_text, colon, method = rest.partition(":")
    try:
        probability = float(probability_text)
    except ValueError:
        probability = math.nan
    if not 0.0 <= probability <= 1.0:  # NaN fails this too
        raise UsageError(
            _(
                "fault probability {probability!r} in {text!r} is not a number from 0 to 1",
                probability=probability_text,
                text=text,
            )
        )
    if colon and method.upper() not in METHODS:
        raise UsageError(
            _(
                "fault method {method!r} in {text!r} is not {methods}",
                method=method,
                text=text,
                methods=" or ".join(METHODS),
            )
        )
    if kind in WRITE_KINDS and colon and method.upper() != "POST":
        raise UsageError(
            _(
                "fault {kind!r} changes writes only: use {kind}={probability}",
                kind=kind,
                probability=probability_text,
            )
        )
    return FaultSpec(kind=kind, probability=probability, method=method.upper() if colon else None)


def parse_faults(texts: Sequence[str]) -> list[FaultSpec]:
    return [parse_fault(text) for text in texts]


class FaultInjector:
    """A sandbox hook that injects the configured faults by the draw rule of this module."""

    def __init__(
        self,
        specs: Sequence[FaultSpec],
        *,
        wechatpay_private_key: signing.PrivateKey,
        seed: int | None = None,
        delay_seconds: float = DEFAULT_FAULT_DELAY_SECONDS,
        limit: int | None = None,
        store: Store | None = None,
    ) -> None:
        self.specs = tuple(specs)
        self.store = store  # what a `race` changes behind the request's back
        # A seed is always chosen, so an unseeded run can still be reported and replayed.
        self.seed = secrets.randbits(32) if seed is None else seed
        self.delay_seconds = delay_seconds
        self.limit = limit
        self.injected = 0
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()
        self._wechatpay_private_key = wechatpay_private_key
        self._stranger: signing.PrivateKey | None = None

    def describe(self) -> str:
        specs = " ".join(str(spec) for spec in self.specs)
        if self.limit is None:
            return _("injecting faults {specs} (--fault-seed {seed})", specs=specs, seed=self.seed)
        return _(
            "injecting faults {specs} (--fault-seed {seed}, at most {limit})",
            specs=specs,
            seed=self.seed,
            limit=self.limit,
        )

    def draw(self, method: str) -> str | None:
        """The fault kind for the next request of `method`, or None."""
        with self._lock:
            if self.limit is not None and self.injected >= self.limit:
                return None
            for spec in self.specs:
                if not spec.applies_to(method):
                    continue
                if self._rng.random() < spec.probability:
                    self.injected += 1
                    return spec.kind
            return None

    def before_processing(self, request: Request, route: Route) -> Intervention | None:
        kind = self.draw(route.method)
        if kind is None:
            return None
        if kind == RACE and self.store is not None:
            _race(self.store, request, route)
        return Intervention(reply=_answer(kind), fault=kind)

    def before_sending(self, request: Request, reply: Reply, outgoing: Outgoing) -> Outgoing:
        match reply.fault:
            case "drop":
                outgoing.drop = True
            case "delay":
                outgoing.delay_seconds = self.delay_seconds
            case "badsig":
                _sign(outgoing, self._stranger_key(), outgoing.headers[signing.HEADER_TIMESTAMP])
            case "unsigned":
                outgoing.headers = {
                    name: value
                    for name, value in outgoing.headers.items()
                    if not name.lower().startswith(WECHATPAY_HEADER_PREFIX)
                }
            case "skew":
                past = str(int(outgoing.headers[signing.HEADER_TIMESTAMP]) - SKEW_SECONDS)
                _sign(outgoing, outgoing.signing_key or self._wechatpay_private_key, past)
            case "badheader":
                outgoing.headers[signing.HEADER_TIMESTAMP] = MALFORMED_TIMESTAMP
            case "probe":
                noise = base64.b64encode(secrets.token_bytes(PROBE_RANDOM_BYTES)).decode("ascii")
                outgoing.headers[signing.HEADER_SIGNATURE] = signing.PROBE_SIGNATURE_PREFIX + noise
        return outgoing

    def _stranger_key(self) -> signing.PrivateKey:
        """A key WeChat Pay never had, made on first use: most runs never need one."""
        with self._lock:
            if self._stranger is None:
                from cryptography.hazmat.primitives.asymmetric import rsa

                self._stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            return self._stranger


class AnswerHold:
    """A hook holding back the answers to matching requests until `release()`.

    For tests that must act while a request is in flight (another operator's change between a
    read and its answer, Ctrl-C during a write) without betting on a delay being long enough:
    the request is processed and journaled as usual, then its answer waits, however loaded the
    machine. Matching: `method` (None: any) and `path_part` in the path; only the `skip`+1st
    to `skip`+`limit`th matching answers are held (limit None: every one).
    """

    def __init__(
        self,
        method: str | None = None,
        *,
        path_part: str = "",
        skip: int = 0,
        limit: int | None = 1,
    ) -> None:
        self.method = method
        self.path_part = path_part
        self.skip = skip
        self.limit = limit
        self.matched = 0
        self.held = 0
        self._released = threading.Event()
        self._changed = threading.Condition()

    def before_processing(self, request: Request, route: Route) -> Intervention | None:
        return None

    def before_sending(self, request: Request, reply: Reply, outgoing: Outgoing) -> Outgoing:
        if self.method not in (None, request.method) or self.path_part not in request.path:
            return outgoing
        with self._changed:
            self.matched += 1
            position = self.matched - self.skip
            if position < 1 or (self.limit is not None and position > self.limit):
                return outgoing
        outgoing.hold = self._hold
        return outgoing

    def _hold(self) -> None:
        with self._changed:
            self.held += 1
            self._changed.notify_all()
        self._released.wait()

    def wait_held(self, count: int = 1, timeout: float = 30.0) -> None:
        """Block until `count` answers are held back; TimeoutError (never a silent return)."""
        with self._changed:
            if not self._changed.wait_for(lambda: self.held >= count, timeout):
                raise TimeoutError(
                    f"{self.held} answer(s) held after {timeout:g} s, expected {count}"
                )

    def release(self) -> None:
        """Let every held answer go, and stop holding."""
        self.limit = 0
        self._released.set()


def _race(store: Store, request: Request, route: Route) -> None:
    """Another writer's change, landed between the client's read and its write."""
    found = route.pattern.fullmatch(request.path)
    if found is None:
        return
    params = {name: unquote(value) for name, value in found.groupdict().items()}
    try:
        mode = json.loads(request.body).get("update_mode")
    except (UnicodeDecodeError, ValueError, AttributeError):
        return
    rule_field = "max_count_per_day" if mode == "MAX_COUNT_PER_DAY" else "max_count"
    coupon = params["product_coupon_id"]
    if "stock_bundle_id" in params:
        stocks = store.bundle_stocks(coupon, params["stock_bundle_id"])
    else:
        stock = store.stock(coupon, params.get("stock_id", ""))
        stocks = [] if stock is None else [stock]
    for stock in stocks:
        rule = stock["stock_send_rule"]
        rule[rule_field] = (rule.get(rule_field) or 0) + 1
    store.upsert_stocks(stocks)


def _answer(kind: str) -> Reply | None:
    """The reply that replaces the endpoint's for the answering kinds; None for the others."""
    if kind == "500":
        return ApiFailure(500, "SYSTEM_ERROR", MESSAGE_SYSTEM, SUB_CODE_SYSTEM).reply()
    if kind == "429":
        return ApiFailure(
            429, "RATELIMIT_EXCEEDED", MESSAGE_RATE_LIMIT, SUB_CODE_RATE_LIMIT
        ).reply()
    if kind == "403":
        return ApiFailure(403, "NO_AUTH", MESSAGE_NO_AUTH, SUB_CODE_NO_AUTH).reply()
    return None


def _sign(outgoing: Outgoing, key: signing.PrivateKey, timestamp: str) -> None:
    nonce = outgoing.headers[signing.HEADER_NONCE]
    message = signing.response_message(timestamp, nonce, outgoing.body)
    outgoing.headers[signing.HEADER_TIMESTAMP] = timestamp
    outgoing.headers[signing.HEADER_SIGNATURE] = signing.sign(key, message)
