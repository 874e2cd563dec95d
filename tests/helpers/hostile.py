"""A hostile HTTP server on loopback: answers whatever a test scripts, and records what it got.

Security tests point a profile at it (`profile_for`) to show what wxbudget does with an answer
no honest server sends: huge, compressed, trickled, unparsable, forged or full of terminal
escapes. It can sign with the sandbox's own WeChat Pay key, to stand for a server (or a
man in the middle) that holds the key, so that defences other than the signature are tested.
"""

from __future__ import annotations

import secrets
import threading
import time
import tomllib
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import tomli_w

from wxbudget import signing
from wxbudget.sandbox import RunningSandbox


@dataclass(frozen=True)
class Received:
    method: str
    target: str
    headers: dict[str, str]  # names lower-cased
    body: bytes


@dataclass
class Answer:
    """What to send back. `chunks` are written one by one (chunked transfer encoding) with
    `pause` seconds between them; otherwise `body` with its Content-Length (`length` claims
    another). `raw` replaces the whole answer, status line included, written piece by piece."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    chunks: Iterable[bytes] | None = None
    pause: float = 0.0
    length: int | None = None
    raw: Iterable[bytes] | None = None


Respond = Callable[[Received], Answer]


class HostileServer:
    def __init__(self, respond: Respond) -> None:
        self.respond = respond
        self.received: list[Received] = []
        self.sent = 0  # body bytes written before the client hung up (or all of them)
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                self._serve()

            def do_POST(self) -> None:
                self._serve()

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                request = Received(
                    self.command,
                    self.path,
                    {name.lower(): value for name, value in self.headers.items()},
                    self.rfile.read(length),
                )
                server.received.append(request)
                answer = server.respond(request)
                self.close_connection = True
                try:
                    if answer.raw is not None:
                        for piece in answer.raw:
                            self.wfile.write(piece)
                            self.wfile.flush()
                            server.sent += len(piece)
                            time.sleep(answer.pause)
                        return
                    self.send_response(answer.status)
                    # Said, not only done: a client that pooled the connection could otherwise
                    # send its next request into the close (a flaky "no answer").
                    self.send_header("Connection", "close")
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    if answer.chunks is None:
                        length = len(answer.body) if answer.length is None else answer.length
                        self.send_header("Content-Length", str(length))
                        self.end_headers()
                        self.wfile.write(answer.body)
                        server.sent += len(answer.body)
                        return
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    for chunk in answer.chunks:
                        self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                        self.wfile.flush()
                        server.sent += len(chunk)
                        time.sleep(answer.pause)
                    self.wfile.write(b"0\r\n\r\n")
                except OSError:
                    pass  # the client hung up: that is what a defence looks like

            def log_message(self, format: str, *args: Any) -> None:
                """Silent."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


@dataclass(frozen=True)
class WechatPayKey:
    """The sandbox's WeChat Pay key pair, held by the hostile server."""

    private_key: signing.PrivateKey
    key_id: str

    @classmethod
    def of(cls, sandbox: RunningSandbox) -> WechatPayKey:
        profile = tomllib.loads(sandbox.config_path.read_text())["profiles"]["sandbox"]
        pem = (sandbox.home / "keys" / "wechatpay_private_key.pem").read_bytes()
        return cls(signing.load_private_key(pem), profile["wechatpay_public_key_id"])

    def headers(self, body: bytes, *, signature: str | None = None) -> dict[str, str]:
        """Valid Wechatpay-* headers for `body` (or with the given `signature`)."""
        timestamp = str(int(time.time()))
        nonce = secrets.token_hex(16)
        message = signing.response_message(timestamp, nonce, body)
        return {
            "Content-Type": "application/json",
            "Request-ID": "HOSTILE-0",
            signing.HEADER_TIMESTAMP: timestamp,
            signing.HEADER_NONCE: nonce,
            signing.HEADER_SIGNATURE: signature or signing.sign(self.private_key, message),
            signing.HEADER_SERIAL: self.key_id,
            signing.HEADER_SIGNATURE_TYPE: signing.PARTNER_SCHEME,
        }

    def signed(self, body: bytes, status: int = 200, **extra: str) -> Answer:
        return Answer(status=status, body=body, headers=self.headers(body) | extra)


def profile_for(sandbox: RunningSandbox, folder: Path, base_url: str, **changes: Any) -> Path:
    """A config file whose only profile is the sandbox's, pointed at `base_url`."""
    document = tomllib.loads(sandbox.config_path.read_text())
    profile = document["profiles"]["sandbox"]
    for key in ("private_key_file", "wechatpay_public_key_file"):
        profile[key] = str(sandbox.config_path.parent / profile[key])
    profile |= {"base_url": base_url, "max_retries": 0} | changes
    path = folder / "hostile.toml"
    path.write_text(tomli_w.dumps({"profiles": {"sandbox": profile}}))
    path.chmod(0o600)
    return path


def gzip_bomb(expanded_mib: int) -> bytes:
    """A gzip stream of `expanded_mib` MiB of zeros, about a thousandth of that on the wire;
    made a MiB at a time, so the test itself never holds the expanded size."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = b"\0" * (1024 * 1024)
    packed = b"".join(packer.compress(block) for _ in range(expanded_mib))
    return packed + packer.flush()


def repeated(block: bytes, count: int) -> Iterator[bytes]:
    for _ in range(count):
        yield block
