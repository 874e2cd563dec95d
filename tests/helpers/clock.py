"""A clock tests move by hand, so nothing depends on how fast the machine is."""

from __future__ import annotations

import pytest


class FrozenClock:
    """Time that moves only when something sleeps on it (a rate limiter, a back-off).

    Shared by a client's limiter and the sandbox's, a request reaches the sandbox at the very
    instant the client's limiter let it go, however slow the machine: both count the same
    arrivals in the same windows.
    """

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def limiters_on(clock: FrozenClock, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every client rate limiter made in this test counts and waits on `clock`: a command run
    in-process then keeps to its limit on the same clock as a sandbox started with
    `rate_limit_clock=clock`, however slow the machine.

    The limiter's own code runs; only its time source is replaced, through its keyword
    defaults, so it holds however and wherever a command imports `RateLimiter`. A command that
    makes no limiter sends its requests at one frozen instant, and the sandbox refuses them.
    """
    from wxbudget.ratelimit import RateLimiter

    defaults = (RateLimiter.__init__.__kwdefaults__ or {}) | {"clock": clock, "sleep": clock.sleep}
    monkeypatch.setattr(RateLimiter.__init__, "__kwdefaults__", defaults)
