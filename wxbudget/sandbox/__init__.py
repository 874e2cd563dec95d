"""A faithful local emulator of the WeChat Pay product-coupon API (partner and brand endpoints).

Importing this package is cheap: the server, SQLite and cryptography load only when a sandbox
starts, so the CLI's `--help` stays fast.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from wxbudget.i18n import _, localize
from wxbudget.sandbox.defaults import DEFAULT_FAULT_DELAY_SECONDS

if TYPE_CHECKING:
    from wxbudget.sandbox.faults import AnswerHold
    from wxbudget.sandbox.server import SandboxServer

__all__ = [
    "DEFAULT_FAULT_DELAY_SECONDS",
    "RunningSandbox",
    "rotate_platform_certificate",
    "serve",
    "start_in_background",
]

# How often serve_forever looks for a shutdown request: the latency of stop() and of Ctrl-C.
SHUTDOWN_POLL_SECONDS = 0.05


@dataclass
class RunningSandbox:
    """A sandbox serving from a daemon thread of this process."""

    home: Path
    base_url: str
    config_path: Path
    _server: SandboxServer = field(repr=False, compare=False)
    _thread: threading.Thread = field(repr=False, compare=False)
    _holds: list[AnswerHold] = field(default_factory=list, repr=False, compare=False)
    strict: bool = False

    def hold_answers(
        self,
        method: str | None = None,
        *,
        path_part: str = "",
        skip: int = 0,
        limit: int | None = 1,
    ) -> AnswerHold:
        """Hold back the answers to matching requests until the returned hold is released.

        The request is processed and journaled first; see wxbudget.sandbox.faults.AnswerHold.
        """
        from wxbudget.sandbox.faults import AnswerHold

        hold = AnswerHold(method, path_part=path_part, skip=skip, limit=limit)
        self._server.app.hooks.append(hold)
        self._holds.append(hold)
        return hold

    def stop(self) -> None:
        """Stop accepting requests, close the socket and wait for the serving thread."""
        for hold in self._holds:
            hold.release()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def __enter__(self) -> RunningSandbox:
        return self

    def __exit__(self, *_exc_info: object) -> None:
        self.stop()


def start_in_background(
    home: Path,
    *,
    port: int = 0,
    seed: Path | None = None,
    rate_limit: int = 20,
    faults: Sequence[str] = (),
    fault_seed: int | None = None,
    fault_delay: float = DEFAULT_FAULT_DELAY_SECONDS,
    fault_limit: int | None = None,
    platform_cert: bool = False,
    rate_limit_clock: Callable[[], float] | None = None,
    strict: bool = False,
) -> RunningSandbox:
    """Start a sandbox on 127.0.0.1 (`port` 0 = a free port) and return once it accepts requests.

    `faults` are `KIND=PROBABILITY[:METHOD]` strings (see wxbudget.sandbox.faults); a bad one
    raises UsageError before anything is created. `platform_cert` also serves platform
    certificates (`GET /v3/certificates`) and writes the `sandbox-cert` profile.
    `rate_limit_clock` (seconds, monotonic) replaces the rate limiter's clock: a test that
    freezes it makes "N requests in one window" independent of how fast the machine is.
    `strict` holds the strict reading of every point the official pages leave open (the
    default is lenient there, and accepts the official samples' requests verbatim).
    """
    from wxbudget.sandbox.keys import CONFIG_FILE
    from wxbudget.sandbox.server import build_server

    server = build_server(
        home,
        port=port,
        seed=seed,
        rate_limit=rate_limit,
        faults=faults,
        fault_seed=fault_seed,
        fault_delay=fault_delay,
        fault_limit=fault_limit,
        platform_cert=platform_cert,
        rate_limit_clock=rate_limit_clock,
        strict=strict,
    )
    # The socket already listens, so requests queue until serve_forever picks them up.
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": SHUTDOWN_POLL_SECONDS},
        name=f"wxbudget-sandbox-{server.base_url}",
        daemon=True,
    )
    thread.start()
    return RunningSandbox(
        home=home,
        base_url=server.base_url,
        config_path=home / CONFIG_FILE,
        _server=server,
        _thread=thread,
        strict=strict,
    )


def rotate_platform_certificate(home: Path) -> str:
    """Add a newer platform certificate to `home` and return its serial number.

    The old ones stay listed by `GET /v3/certificates`; the next start with `--platform-cert`
    signs with the new one, so a client meets a serial it has not downloaded yet.
    """
    from wxbudget.sandbox.certificates import rotate_platform_certificate as rotate

    return rotate(home)


def serve(
    home: Path,
    *,
    port: int = 0,
    seed: Path | None = None,
    rate_limit: int = 20,
    faults: Sequence[str] = (),
    fault_seed: int | None = None,
    fault_delay: float = DEFAULT_FAULT_DELAY_SECONDS,
    fault_limit: int | None = None,
    platform_cert: bool = False,
    strict: bool = False,
) -> None:
    """Run a sandbox in the foreground until SIGINT or SIGTERM, then close it and return."""
    from wxbudget.sandbox.faults import FaultInjector
    from wxbudget.sandbox.server import build_server

    server = build_server(
        home,
        port=port,
        seed=seed,
        rate_limit=rate_limit,
        faults=faults,
        fault_seed=fault_seed,
        fault_delay=fault_delay,
        fault_limit=fault_limit,
        platform_cert=platform_cert,
        strict=strict,
    )

    def stop(_signal: int, _frame: FrameType | None) -> None:
        # shutdown() waits for serve_forever, which runs in this very thread: ask from another.
        threading.Thread(target=server.shutdown, daemon=True).start()

    previous = {number: signal.signal(number, stop) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        # On stderr, so stdout stays the one `listening on` line that scripts wait for; the
        # seed is printed even when drawn at random, so a surprising run can be replayed.
        for hook in server.app.hooks:
            if isinstance(hook, FaultInjector):
                print(localize(hook.describe()), file=sys.stderr, flush=True)
        if strict:
            strict_line = _(
                "strict mode: the strict reading of every point the official pages leave open"
            )
            print(localize(strict_line), file=sys.stderr, flush=True)
        # Scripts wait for this line: the same words in every language.
        print(f"listening on {server.base_url}", flush=True)
        server.serve_forever(poll_interval=SHUTDOWN_POLL_SECONDS)
    finally:
        server.server_close()
        for number, handler in previous.items():
            signal.signal(number, handler)
        sys.stdout.flush()
