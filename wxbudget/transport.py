"""Signed APIv3 calls: sign the exact bytes sent, retry, fail over, verify every 2xx before
use, trace. One HTTP exchange within its bounds is `exchange.py`'s (the importer of requests).

The typed endpoints (which path, which query, what the answer means) are in `client.py`.
"""

from __future__ import annotations

import json
import platform
import random
import secrets
import string
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import urlencode

from wxbudget import signing
from wxbudget.errors import (
    ApiError,
    NetworkError,
    ProtocolError,
    ServerError,
    VerificationError,
    WxBudgetError,
    error_from_response,
)
from wxbudget.exchange import Exchanges, NoAnswerError
from wxbudget.i18n import _
from wxbudget.ratelimit import RateLimiter
from wxbudget.settings import Settings
from wxbudget.verifier import Verifier
from wxbudget.version import __version__

if TYPE_CHECKING:
    from wxbudget.interrupts import StopFlag

NONCE_ALPHABET = string.ascii_letters + string.digits
NONCE_LENGTH = 32

Trace = Callable[[str], None]
VerifyFunction = Callable[..., signing.Verification]
Settle = Callable[[], "Response | None"]


def serialize_body(body: Mapping[str, Any]) -> bytes:
    """The one serialisation of a request body: these bytes are signed and sent."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def new_nonce() -> str:
    return "".join(secrets.choice(NONCE_ALPHABET) for _index in range(NONCE_LENGTH))


def user_agent() -> str:
    return f"wxbudget/{__version__} ({platform.system()}; Python {platform.python_version()})"


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


@dataclass(eq=False)
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


class Response(NamedTuple):
    """A verified 2xx answer: its raw body bytes and decoded JSON."""

    status: int
    body: bytes
    data: Any
    request_id: str | None


class Transport:
    """Signed calls for one profile: sign, send, retry, fail over, verify, trace.

    `clock`, `sleep` and `rng` are injectable so skew, backoff and jitter are testable. Once
    `stop` is set (a signal), no retry is started and a back-off wait ends early.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        trace: Trace | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], object] | None = None,
        rng: random.Random | None = None,
        limiter: RateLimiter | None = None,
        stop: StopFlag | None = None,
    ) -> None:
        self.settings = settings
        self.trace = trace
        self.clock = clock
        self.stop = stop
        self.sleep: Callable[[float], object] = sleep or (stop.wait if stop else time.sleep)
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not a secret
        self.limiter = limiter
        self.verifier = Verifier(settings, clock)
        self.verifier.refresh = self.refresh_certificates
        self.exchanges = Exchanges()
        self.last_call: CallRecord | None = None
        self.last_write: CallRecord | None = None

    def refresh_certificates(self) -> None:
        """Download the platform certificates again, when an answer names an unknown serial.

        The endpoint is a typed one: `client.Client` implements it.
        """
        raise NotImplementedError

    def close(self) -> None:
        self.exchanges.close()

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
            if retry == retries or self._stopping(last_error):
                break
            delay = backoff_seconds(retry + 1, self.rng.random())
            self._trace(
                _(
                    "  retry {retry} of {retries} in {delay:.2f} s ({reason})",
                    retry=retry + 1,
                    retries=retries,
                    delay=delay,
                    reason=last_error.message,
                )
            )
            self.sleep(delay)
            if self._stopping(last_error):
                break
        if record.attempts > 1:
            last_error.message = _(
                "{message} (after {attempts} attempts)",
                message=last_error.message,
                attempts=record.attempts,
            )
        raise last_error

    def _stopping(self, last_error: WxBudgetError) -> bool:
        """A signal asked to stop: the attempt made stands, no other is started."""
        if self.stop is None or not self.stop.is_set():
            return False
        last_error.message = _("{message} (not retried: interrupted)", message=last_error.message)
        return True

    def _settle(self, settle: Settle | None, record: CallRecord) -> Response | None:
        if settle is None:
            return None
        self._trace(_("  the answer was lost: reading the current state before sending again"))
        try:
            found = settle()
        except WxBudgetError as error:
            self._trace(_("  reading failed ({reason}): sending again", reason=error.message))
            found = None
        finally:
            self.last_call = record  # the read was a call of its own
        if found is not None:
            record.settled = True
            self._trace(_("  the write is in place (confirmed by reading): not sent again"))
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
        headers = {"Accept": "application/json", "User-Agent": user_agent()}
        authorization = signing.authorization_header(
            scheme=signing.BRAND_SCHEME if self.settings.is_brand else signing.PARTNER_SCHEME,
            identity=self.settings.identity,
            nonce=nonce,
            signature=signature,
            timestamp=timestamp,
            serial_no=self.settings.serial_no,
        )
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
        self._trace(_("attempt {attempt}:", attempt=record.attempts))

        def show_headers(sent: Mapping[str, str]) -> None:
            self._trace_request(method, url, message, sent)

        def check_head(status: int, received: Mapping[str, str]) -> None:
            """Before the body is read: an unsigned or stale 2xx is not read at all."""
            record.status = status
            record.request_id = received.get("Request-ID")
            record.headers = {name.lower(): value for name, value in received.items()}
            record.received_at = self.clock()
            if not 200 <= status < 300:
                return
            head = signing.check_response_headers(received, now=int(self.clock()))
            if not head.ok:
                self._trace_response(status, received, None)
                self._trace(_("< verification: {reason} (body not read)", reason=head.reason))
                raise VerificationError(
                    _(
                        "response failed verification: {reason}; its body is not believed",
                        reason=head.reason,
                    ),
                    request_id=record.request_id,
                )

        try:
            answer = self.exchanges.send(
                method,
                url,
                headers=headers,
                authorization=authorization,
                body=body,
                connect_timeout=self.settings.connect_timeout,
                read_timeout=self.settings.timeout,
                show_headers=show_headers,
                check_head=check_head,
            )
        except NoAnswerError as error:
            record.status = None
            self._trace(_("< no answer: {reason}", reason=error.reason))
            raise
        request_id = answer.headers.get("Request-ID")
        content = answer.body
        self._trace_response(answer.status, answer.headers, content)
        if not 200 <= answer.status < 300:
            api_error = error_from_response(answer.status, content, request_id)
            record.code = api_error.code if isinstance(api_error, ApiError) else None
            raise api_error
        check = verify or self.verifier.verify
        verification = check(answer.headers, content, now=int(self.clock()))
        record.verified = verification.ok
        self._trace(
            _("< verification: ok")
            if verification.ok
            else _("< verification: {reason}", reason=verification.reason)
        )
        if not verification.ok:
            raise VerificationError(
                _(
                    "response failed verification: {reason}; its body is not believed",
                    reason=verification.reason,
                ),
                request_id=request_id,
            )
        try:
            data = json.loads(content.decode("utf-8")) if content else None
        except (UnicodeDecodeError, ValueError, RecursionError) as error:
            record.verified = False
            raise ProtocolError(
                _("the signed answer's body is not JSON; not believed"), request_id=request_id
            ) from error
        return Response(answer.status, content, data, request_id)

    def _trace(self, line: str) -> None:
        if self.trace is not None:
            self.trace(line)

    def _trace_request(
        self, method: str, url: str, message: bytes, headers: Mapping[str, str]
    ) -> None:
        if self.trace is None:
            return
        self._trace(f"> {method} {url}")
        # Only the words are translated: the method, URL, headers and bodies are shown verbatim.
        signed = json.dumps(message.decode("utf-8"), ensure_ascii=False)
        self._trace(_("> signing message: {message}", message=signed))
        for name, value in headers.items():
            self._trace(f"> {name}: {redact_header(name, value)}")

    def _trace_response(self, status: int, headers: Mapping[str, str], body: bytes | None) -> None:
        if self.trace is None:
            return
        self._trace(f"< {status}")
        for name, value in headers.items():
            self._trace(f"< {name}: {redact_header(name, value)}")
        if body is not None:
            self._trace("< " + body.decode("utf-8", "replace"))


def redact_header(name: str, value: str) -> str:
    """Elide signatures: enough is shown to compare, never enough to replay."""
    lowered = name.lower()
    if lowered == "wechatpay-signature":
        return f"<elided, {len(value)} chars>"
    if lowered == "authorization":
        from wxbudget import authorization  # -v only: off the start of every other run

        parsed = authorization.parse_authorization(value)
        if parsed is None:
            return "<elided>"
        fields = ",".join(
            f'{key}="<elided, {len(text)} chars>"' if key == "signature" else f'{key}="{text}"'
            for key, text in parsed.fields.items()
        )
        return f"{parsed.scheme} {fields}"
    return value
