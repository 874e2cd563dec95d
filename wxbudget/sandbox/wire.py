"""A request as received and a response as sent, free of sockets so hooks can see both."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from wxbudget.sandbox.replies import Reply
from wxbudget.signing import PrivateKey


@dataclass(frozen=True)
class Request:
    method: str
    target: str  # path and ?query exactly as received: what the client signed
    headers: dict[str, str]  # names lower-cased
    body: bytes

    @property
    def path(self) -> str:
        return self.target.partition("?")[0]

    @property
    def query(self) -> dict[str, str]:
        """Query parameters; an empty value counts as absent and the first of duplicates wins."""
        values: dict[str, str] = {}
        for name, value in parse_qsl(self.target.partition("?")[2], keep_blank_values=True):
            if value:
                values.setdefault(name, value)
        return values

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def out_request_no(self) -> str | None:
        """The body's out_request_no when the body is a JSON object holding a string one."""
        if not self.body:
            return None
        try:
            decoded = json.loads(self.body)
        except (UnicodeDecodeError, ValueError, RecursionError):
            return None
        value = decoded.get("out_request_no") if isinstance(decoded, dict) else None
        return value if isinstance(value, str) else None


@dataclass(frozen=True)
class Intervention:
    """A hook's say over one request, given before the endpoint runs.

    `reply` answers instead of the endpoint; `fault` labels whatever reply goes out (it lands
    in `Reply.fault`, so `before_sending` and requests.jsonl see it).
    """

    reply: Reply | None = None
    fault: str | None = None


@dataclass
class Outgoing:
    """The signed response about to be written; a fault hook may still alter any part."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    # Transport misbehaviour happens after the journal line is written, so a client that gave
    # up can already read what the server did.
    delay_seconds: float = 0.0
    drop: bool = False  # close the connection without writing a single byte
    # Called (in the serving thread) before anything is written; blocks as long as a test
    # holds the answer back. See faults.AnswerHold.
    hold: Callable[[], None] | None = None
    # The key the answer was signed with, so a fault can re-sign it as the same signer.
    signing_key: PrivateKey | None = None
