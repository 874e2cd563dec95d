"""The HTTP front: the socket, connection and request limits, and building a sandbox.

What happens to a request once it is read is the app's (`app.py`).
"""

from __future__ import annotations

import io
import json
import re
import socket
import sys
import threading
import time
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from wxbudget.errors import UsageError, os_reason
from wxbudget.i18n import _
from wxbudget.sandbox.app import Journal, RateLimiter, SandboxApp
from wxbudget.sandbox.defaults import DEFAULT_FAULT_DELAY_SECONDS
from wxbudget.sandbox.demo import demo_stocks
from wxbudget.sandbox.faults import FaultInjector, parse_faults
from wxbudget.sandbox.home import prepare_home
from wxbudget.sandbox.keys import DATABASE_FILE, JOURNAL_FILE, SERVING_FILE, HomeKeys
from wxbudget.sandbox.profiles import write_config
from wxbudget.sandbox.replies import (
    MESSAGE_BODY_TOO_LARGE,
    SUB_CODE_BODY_TOO_LARGE,
    SUB_CODE_HEADER,
    ApiFailure,
    invalid_request,
)
from wxbudget.sandbox.seed import load_seed
from wxbudget.sandbox.store import Store
from wxbudget.sandbox.wire import Request

HOST = "127.0.0.1"
# A kept-alive connection may wait this long for its next request.
IDLE_CONNECTION_SECONDS = 20
# From its first byte to its last, one request may take this long to arrive: a client trickling
# a byte at a time cannot hold a worker forever by resetting a per-read timeout.
REQUEST_DEADLINE_SECONDS = 10.0
# The largest update-budget body is ~250 bytes; anything near this limit is not a real request.
MAX_BODY_BYTES = 64 * 1024
# Connections served at once; one more is answered 503 and closed instead of getting a thread.
MAX_CONNECTIONS = 64
_CONTENT_LENGTH = re.compile(r"[0-9]{1,18}")
_BUSY_BODY = json.dumps(
    {"code": "SYSTEM_ERROR", "message": "系统繁忙,请稍后重试"}, ensure_ascii=False
).encode("utf-8")


class SandboxHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "wxbudget-sandbox"
    # Headers and body go out in separate writes; without TCP_NODELAY a keep-alive client
    # waits ~40 ms for the delayed ACK on every request after the first.
    disable_nagle_algorithm = True
    timeout = IDLE_CONNECTION_SECONDS
    server: SandboxServer
    reader: _DeadlineReader

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def do_PUT(self) -> None:
        self._answer()

    def do_PATCH(self) -> None:
        self._answer()

    def do_DELETE(self) -> None:
        self._answer()

    def setup(self) -> None:
        super().setup()
        # Reads go through a deadline (see REQUEST_DEADLINE_SECONDS) instead of a bare socket.
        self.rfile.close()
        self.reader = _DeadlineReader(self.connection, self.server.request_deadline)
        self.rfile = io.BufferedReader(self.reader)

    def handle_one_request(self) -> None:
        self.reader.deadline = None  # the clock starts with the next request's first byte
        super().handle_one_request()

    def _answer(self) -> None:
        headers = {name.lower(): value for name, value in self.headers.items()}
        refused, length = self._body_length()
        body = b""
        if refused is not None:
            # Without a usable length the body cannot be skipped, so the connection cannot be
            # reused; an oversized one is never read.
            self.close_connection = True
        else:
            body = self.rfile.read(length)
            if len(body) < length:  # the client hung up mid-body
                self.close_connection = True
                return
        request = Request(method=self.command, target=self.path, headers=headers, body=body)
        outgoing = self.server.app.handle(request, refused=refused)
        if outgoing.hold is not None:
            outgoing.hold()
            # The client may have given up meanwhile: never read from this socket again.
            self.close_connection = True
        if outgoing.drop:
            self.close_connection = True
            return
        if outgoing.delay_seconds > 0:
            time.sleep(outgoing.delay_seconds)
            # The client has most likely timed out and hung up: never read from this socket again.
            self.close_connection = True
        try:
            self.send_response(outgoing.status)
            for name, value in outgoing.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(outgoing.body)
            self.wfile.flush()
        except (ConnectionError, TimeoutError):
            # A client that hung up is the client's business, not a server error to report.
            self.close_connection = True

    def _body_length(self) -> tuple[ApiFailure | None, int]:
        """The body's length from the one Content-Length header, or why it cannot be read."""
        lengths = self.headers.get_all("Content-Length") or ["0"]
        chunked = "chunked" in (self.headers.get("Transfer-Encoding") or "").lower()
        text = lengths[0].strip()
        if chunked or len(lengths) > 1 or not _CONTENT_LENGTH.fullmatch(text):
            return invalid_request("Http头Content-Length缺失或无效", SUB_CODE_HEADER), 0
        length = int(text)
        if length > self.server.max_body_bytes:
            return (
                ApiFailure(413, "INVALID_REQUEST", MESSAGE_BODY_TOO_LARGE, SUB_CODE_BODY_TOO_LARGE),
                0,
            )
        return None, length

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:
        """Silenced: requests.jsonl is the log."""


class _DeadlineReader(io.RawIOBase):
    """The socket as a readable stream whose reads stop at a deadline.

    The deadline is set by the first byte of a request; before it, a read waits at most the
    idle time. Past it, a read raises TimeoutError (the handler then drops the connection).
    """

    def __init__(self, connection: socket.socket, request_seconds: float) -> None:
        self.connection = connection
        self.request_seconds = request_seconds
        self.deadline: float | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.deadline is None:
            wait = float(IDLE_CONNECTION_SECONDS)
        else:
            wait = min(self.deadline - time.monotonic(), IDLE_CONNECTION_SECONDS)
            if wait <= 0:
                raise TimeoutError("the request did not arrive in time")
        self.connection.settimeout(wait)
        count = self.connection.recv_into(buffer)
        if count and self.deadline is None:
            self.deadline = time.monotonic() + self.request_seconds
        return count


class HomeInUse(UsageError):
    """Another sandbox serves this home: starting a second would point config.toml at itself
    and, once it stops, at nothing, while the first still runs."""

    def __init__(self, home: Path, holder: str) -> None:
        super().__init__(
            f"sandbox home {home} is already served ({holder or 'by another process'}); stop "
            "that sandbox first, or use another --home"
        )
        self.home = home
        self.holder = holder


class HomeLock:
    """The flock on DIR/serving.lock, held while a server serves DIR."""

    def __init__(self, home: Path) -> None:
        import fcntl
        import os

        path = home / SERVING_FILE
        self.descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(self.descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(self.descriptor, 200).decode("utf-8", "replace").strip()
            os.close(self.descriptor)
            raise HomeInUse(home, holder) from None

    def record(self, base_url: str) -> None:
        import os

        os.ftruncate(self.descriptor, 0)
        os.pwrite(self.descriptor, f"pid {os.getpid()}, {base_url}".encode(), 0)

    def release(self) -> None:
        import os

        if self.descriptor >= 0:
            os.close(self.descriptor)  # closing drops the flock
            self.descriptor = -1


class SandboxServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64  # bursts of concurrent clients must queue, not be refused
    home_lock: HomeLock | None = None

    def __init__(self, port: int, app: SandboxApp) -> None:
        self.app = app
        self.max_body_bytes = MAX_BODY_BYTES
        self.request_deadline = REQUEST_DEADLINE_SECONDS
        self.connection_slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        super().__init__((HOST, port), SandboxHandler)

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.server_address[1]}"

    def server_close(self) -> None:
        super().server_close()
        if self.home_lock is not None:
            self.home_lock.release()

    def process_request(self, request: Any, client_address: Any) -> None:
        """A thread per connection, up to MAX_CONNECTIONS; beyond that 503 and close at once,
        so idle or slow clients cannot make the server grow without bound."""
        if not self.connection_slots.acquire(blocking=False):
            _answer_busy(request)
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self.connection_slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.connection_slots.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up (as one does when it refuses an answer unread) is the
        client's business, not a server error to print."""
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            return
        super().handle_error(request, client_address)


def _answer_busy(connection: socket.socket) -> None:
    head = (
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(_BUSY_BODY)}\r\nConnection: close\r\n\r\n"
    )
    try:
        connection.settimeout(1.0)
        connection.sendall(head.encode("ascii") + _BUSY_BODY)
    except OSError:
        pass  # the client is gone already


def build_server(
    home: Path,
    *,
    port: int,
    seed: Path | None,
    rate_limit: int,
    faults: Sequence[str] = (),
    fault_seed: int | None = None,
    fault_delay: float = DEFAULT_FAULT_DELAY_SECONDS,
    fault_limit: int | None = None,
    platform_cert: bool = False,
    rate_limit_clock: Callable[[], float] | None = None,
    strict: bool = False,
) -> SandboxServer:
    """Prepare DIR, load state, bind the port and point config.toml at it.

    `strict`: the strict reading of every point the official pages leave open (README "The
    sandbox"); the default is the documented contract, lenient where the pages are silent.
    """
    if rate_limit < 0:
        raise UsageError(f"rate limit {rate_limit} is negative; use 0 for unlimited")
    if not 0 <= port <= 65535:
        raise UsageError(f"port {port} is outside 0-65535")
    # Every argument is checked before DIR is touched, so a typo never leaves a half-made home.
    fault_specs = parse_faults(faults)
    if not fault_delay >= 0:  # also refuses NaN
        raise UsageError(f"fault delay {fault_delay} must be 0 or more seconds")
    if fault_limit is not None and fault_limit < 0:
        raise UsageError(f"fault limit {fault_limit} is negative")
    seed_stocks = load_seed(seed) if seed is not None else None
    keys = prepare_home(home, platform_cert=platform_cert)
    lock = HomeLock(home)
    try:
        server = _build(home, port, keys, seed_stocks, rate_limit, rate_limit_clock, strict)
    except BaseException:
        lock.release()
        raise
    server.home_lock = lock
    lock.record(server.base_url)
    if fault_specs:
        server.app.hooks.append(
            FaultInjector(
                fault_specs,
                wechatpay_private_key=keys.wechatpay_private_key,
                seed=fault_seed,
                delay_seconds=fault_delay,
                limit=fault_limit,
                store=server.app.store,
            )
        )
    try:
        write_config(home, keys, server.base_url, platform_cert=platform_cert)
    except BaseException:
        server.server_close()
        raise
    return server


def _build(
    home: Path,
    port: int,
    keys: HomeKeys,
    seed_stocks: list[dict[str, Any]] | None,
    rate_limit: int,
    rate_limit_clock: Callable[[], float] | None,
    strict: bool,
) -> SandboxServer:
    store = Store(home / DATABASE_FILE)
    if seed_stocks is not None:
        store.upsert_stocks(seed_stocks)
    elif store.created:
        store.upsert_stocks(demo_stocks())
    limiter = RateLimiter(rate_limit, rate_limit_clock or time.monotonic)
    app = SandboxApp(keys, store, Journal(home / JOURNAL_FILE), limiter, strict=strict)
    try:
        return SandboxServer(port, app)
    except OSError as error:
        raise UsageError(
            _(
                "cannot listen on {address}: {reason}",
                address=f"{HOST}:{port}",
                reason=os_reason(error),
            )
        ) from error
