"""One HTTP exchange with WeChat Pay, within bounds: what is sent is what was signed, and what
comes back is bounded in size and in time. The only importer of requests.

- The Authorization header is set through a `requests.auth.AuthBase`, so requests never puts a
  `~/.netrc` password in its place; proxies and CA bundles from the environment still apply.
- Each exchange has a deadline for the whole of it (connect, headers, body): a server that
  trickles a byte at a time cannot reset a per-read timeout forever. A watchdog shuts the
  connection's socket down when the deadline passes.
- The answer's head is checked (by the caller) before its body is read; the body is streamed
  with a cap on its size on the wire and decompressed, and decompressed here with zlib, never
  more than the cap at a time.
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import zlib
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import requests
import requests.adapters
import urllib3.exceptions
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from wxbudget.errors import NetworkError, ProtocolError
from wxbudget.i18n import _

# Far above any real answer (a page of 50 stocks is ~50 KiB), far below harm.
MAX_ANSWER_BYTES = 4 * 1024 * 1024
READ_CHUNK_BYTES = 64 * 1024
# What we can decode ourselves, each within the cap; nothing else is asked for or accepted.
ACCEPT_ENCODING = "gzip, deflate"
_WBITS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}

CheckHead = Callable[[int, Mapping[str, str]], None]
ShowHeaders = Callable[[Mapping[str, str]], None]


class NoAnswerError(NetworkError):
    """No complete answer came back; `reason` says why, for the trace."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class Answer(NamedTuple):
    status: int
    headers: Mapping[str, str]  # looked up case-insensitively
    body: bytes


class Exchanges:
    """A connection pool for one client; `send` makes one bounded exchange."""

    def __init__(self) -> None:
        self.session = requests.Session()
        adapter = _WatchedAdapter()
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)

    def close(self) -> None:
        self.session.close()

    def send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        authorization: str,
        body: bytes | None,
        connect_timeout: float,
        read_timeout: float,
        show_headers: ShowHeaders,
        check_head: CheckHead,
    ) -> Answer:
        """Send, and return the answer read in full within the deadline and the caps.

        The deadline is `connect_timeout + read_timeout` from now, for the exchange as a whole;
        `read_timeout` also bounds each single wait for the server.

        `show_headers` gets the headers exactly as they will be sent (for `-v`); `check_head`
        may raise to refuse an answer from its status and headers, before its body is read.
        Raises NetworkError (no complete answer) or ProtocolError (an answer past the caps).
        """
        request = requests.Request(
            method,
            url,
            headers={**headers, "Accept-Encoding": ACCEPT_ENCODING},
            data=body,
            auth=_Signed(authorization),
        )
        prepared = self.session.prepare_request(request)
        show_headers(prepared.headers)
        # What requests.Session.request does: proxies, CA bundle and certificates from the
        # environment. Authentication is not among them, and neither is the signed body.
        environment = self.session.merge_environment_settings(prepared.url, {}, True, None, None)
        deadline_seconds = connect_timeout + read_timeout
        watch = _Watch(deadline_seconds)
        _current.watch = watch
        try:
            raw = self.session.send(
                prepared,
                timeout=(connect_timeout, read_timeout),
                allow_redirects=False,
                **environment,
            )
            try:
                watch.check()  # a head cut short by the deadline may parse as a whole one
                check_head(raw.status_code, raw.headers)
                content = _read_body(raw, watch)
            except BaseException:
                raw.close()  # an answer not read to its end cannot share its connection
                raise
            return Answer(raw.status_code, raw.headers, content)
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as error:
            unknown = _("; the outcome is unknown") if method != "GET" else ""
            reason = (
                _(
                    "no complete answer within {deadline_seconds:g} s{unknown}",
                    deadline_seconds=deadline_seconds,
                    unknown=unknown,
                )
                if watch.expired
                else transport_reason(error, method)
            )
            raise NoAnswerError(
                _("{method} {url} failed: {reason}", method=method, url=url, reason=reason),
                reason=reason,
            ) from error
        finally:
            watch.cancel()
            _current.watch = None


class _Signed(requests.auth.AuthBase):
    """The APIv3 Authorization header. Passing auth explicitly is what keeps requests from
    replacing the header with credentials from `~/.netrc` (it consults netrc only without)."""

    def __init__(self, header: str) -> None:
        self.header = header

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = self.header
        return request


def _read_body(raw: requests.Response, watch: _Watch) -> bytes:
    """The body, streamed: at most MAX_ANSWER_BYTES on the wire and once decompressed."""
    declared = raw.headers.get("Content-Length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > MAX_ANSWER_BYTES:
        raise ProtocolError(_too_large(_("declares {declared:,} bytes", declared=int(declared))))
    decoder = _decoder(raw.headers.get("Content-Encoding"))
    received = 0
    decoded = bytearray()
    while True:
        watch.check()
        chunk = raw.raw.read(READ_CHUNK_BYTES, decode_content=False)
        if not chunk:
            break
        received += len(chunk)
        if received > MAX_ANSWER_BYTES:
            raise ProtocolError(
                _too_large(
                    _(
                        "sent more than {max_answer_bytes:,} bytes",
                        max_answer_bytes=MAX_ANSWER_BYTES,
                    )
                )
            )
        if decoder is None:
            decoded += chunk
            continue
        room = MAX_ANSWER_BYTES - len(decoded) + 1
        try:
            decoded += decoder.decompress(chunk, room)
        except zlib.error as error:
            raise ProtocolError(
                _("the answer's compressed body is corrupt ({error})", error=error)
            ) from error
        if len(decoded) > MAX_ANSWER_BYTES:
            raise ProtocolError(
                _too_large(
                    _("expands past {max_answer_bytes:,} bytes", max_answer_bytes=MAX_ANSWER_BYTES)
                )
            )
    watch.check()  # a body without a length ends where the deadline cut it: not its end
    if decoder is not None and not decoder.eof:
        raise ProtocolError(_("the answer's compressed body is cut short"))
    raw.raw.release_conn()  # read to its end: the connection can serve the next request
    return bytes(decoded)


def _decoder(encoding: str | None) -> Any:
    name = (encoding or "identity").strip().lower()
    if name == "identity":
        return None
    if name not in _WBITS:
        raise ProtocolError(
            _(
                "the answer is encoded as {encoding!r}, which wxbudget neither asked for nor reads",
                encoding=encoding,
            )
        )
    return zlib.decompressobj(_WBITS[name])


def _too_large(what: str) -> str:
    return _(
        "the answer {what}, more than any WeChat Pay answer; not read further, not believed",
        what=what,
    )


def transport_reason(error: BaseException, method: str) -> str:
    """Why no answer came, and what that means: a connection never made sent nothing; once a
    request went out, a write's outcome is unknown (a read's does not matter)."""
    unknown = _("; the outcome is unknown") if method != "GET" else ""
    if _never_connected(error):
        if isinstance(error, requests.ConnectTimeout):
            return _("could not connect (timed out); nothing was sent")
        return _("could not connect (connection refused or host unreachable); nothing was sent")
    if isinstance(error, requests.ReadTimeout | urllib3.exceptions.ReadTimeoutError):
        return _("no answer before the timeout{unknown}", unknown=unknown)
    if isinstance(
        error, requests.ConnectionError | urllib3.exceptions.ProtocolError | ConnectionError
    ):
        return _("the connection was closed or reset before an answer{unknown}", unknown=unknown)
    return _("{kind}{unknown}", kind=type(error).__name__, unknown=unknown)


def _never_connected(error: BaseException) -> bool:
    """The request never left: the connection itself failed (refused, unreachable, unresolved,
    or timed out while connecting)."""
    from urllib3.exceptions import NameResolutionError, NewConnectionError

    if isinstance(error, requests.ConnectTimeout):
        return True
    seen: BaseException | None = error
    while seen is not None:
        reason = getattr(seen, "reason", None)
        for found in (seen, reason):
            if isinstance(found, NewConnectionError | NameResolutionError | ConnectionRefusedError):
                return True
        seen = seen.args[0] if seen.args and isinstance(seen.args[0], BaseException) else None
    return False


class _Watch:
    """The deadline of this thread's exchange: when it passes, the socket in use is shut
    down, which ends any read blocked on it (however slowly the server trickles)."""

    def __init__(self, seconds: float) -> None:
        self.expired = False
        self._socket: socket.socket | None = None
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def attach(self, connection_socket: socket.socket | None) -> None:
        with self._lock:
            self._socket = connection_socket
            late = self.expired
        if late:
            self._cut()

    def cancel(self) -> None:
        self._timer.cancel()

    def check(self) -> None:
        if self.expired:
            raise TimeoutError("the deadline passed")

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
        self._cut()

    def _cut(self) -> None:
        with self._lock:
            target = self._socket
        if target is not None:
            with contextlib.suppress(OSError):  # already closed
                target.shutdown(socket.SHUT_RDWR)


_current = threading.local()


class _WatchedConnection(HTTPConnection):
    """Reports its socket to the exchange in flight in this thread, once the request is out."""

    def request(self, *args: Any, **kwargs: Any) -> None:
        super().request(*args, **kwargs)
        watch: _Watch | None = getattr(_current, "watch", None)
        if watch is not None:
            watch.attach(self.sock)


class _WatchedHTTPSConnection(HTTPSConnection):
    def request(self, *args: Any, **kwargs: Any) -> None:
        super().request(*args, **kwargs)
        watch: _Watch | None = getattr(_current, "watch", None)
        if watch is not None:
            watch.attach(self.sock)


class _WatchedPool(HTTPConnectionPool):
    ConnectionCls = _WatchedConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


_POOLS = {"http": _WatchedPool, "https": _WatchedHTTPSPool}


class _WatchedAdapter(requests.adapters.HTTPAdapter):
    """requests' adapter with connections the watchdog can cut (direct or via an HTTP proxy;
    a SOCKS proxy keeps its own connections, bounded by the per-read timeout only)."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if not proxy.lower().startswith("socks"):
            manager.pool_classes_by_scheme = _POOLS
        return manager


class BaseUrl(NamedTuple):
    """A base URL as urllib3, the library that connects, reads it, rebuilt from its parts."""

    scheme: str
    host: str  # an IPv6 address keeps its brackets
    url: str


# What a base URL's path may hold: a proxy's prefix, never anything a parser could disagree on.
_URL_PATH = re.compile(r"[A-Za-z0-9._~/-]*")


def parse_base_url(value: str) -> BaseUrl:
    """Parse `value` as the connection will, or raise ValueError saying what is refused.

    Parsers disagree on a backslash (`http://evil.example\\@127.0.0.1` is 127.0.0.1 to urlsplit
    and evil.example to urllib3), so it is refused, and so are user information, a query and a
    fragment (none belongs in an API host); the URL used is rebuilt from the parts urllib3 saw.
    """
    from urllib3.exceptions import LocationParseError
    from urllib3.util import parse_url

    if "\\" in value:
        raise ValueError(_("it holds a backslash, which URL parsers read differently"))
    if any(char.isspace() or not char.isprintable() for char in value):
        raise ValueError(_("it holds whitespace or a control character"))
    try:
        parts = parse_url(value)
    except LocationParseError as error:
        raise ValueError(_("it does not parse ({error})", error=error)) from error
    if parts.scheme not in ("https", "http") or not parts.host:
        raise ValueError(_("it is not an https:// URL with a host"))
    for present, what in (
        (parts.auth is not None, _("user information (user@)")),
        (parts.query is not None, _("a query (?...)")),
        (parts.fragment is not None, _("a fragment (#...)")),
    ):
        if present:
            raise ValueError(_("it holds {what}, which has no place in an API host", what=what))
    if parts.port is not None and not 0 < parts.port < 65536:
        raise ValueError(_("port {port} is outside 1..65535", port=parts.port))
    path = (parts.path or "").rstrip("/")
    if not _URL_PATH.fullmatch(path):
        raise ValueError(_("its path holds characters other than letters, digits and . _ ~ / -"))
    port = "" if parts.port is None else f":{parts.port}"
    return BaseUrl(parts.scheme, parts.host, f"{parts.scheme}://{parts.host}{port}{path}")
