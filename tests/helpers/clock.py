"""A clock tests move by hand, so nothing depends on how fast the machine is."""

from __future__ import annotations


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
