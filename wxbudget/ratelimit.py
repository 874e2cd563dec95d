"""A client-side rate limiter: at most N requests per endpoint in any one-second window.

WeChat Pay allows 20 requests per second per endpoint, shared by every brand of a service
provider, so one limiter serves every worker thread of a batch.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

WINDOW_SECONDS = 1.0
# Arrivals at the server are jittered by the network; a little slack keeps bursts under N.
SAFETY_MARGIN_SECONDS = 0.02


class RateLimiter:
    """Sliding-window limiter; thread-safe. A limit of 0 means unlimited."""

    def __init__(
        self,
        per_second: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.per_second = per_second
        self.clock = clock
        self.sleep = sleep
        self._sent: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def acquire(self, endpoint: str) -> None:
        """Block until one more request to `endpoint` fits in the window, then count it."""
        if self.per_second <= 0:
            return
        while True:
            with self._lock:
                sent = self._sent.setdefault(endpoint, deque())
                now = self.clock()
                while sent and now - sent[0] >= WINDOW_SECONDS + SAFETY_MARGIN_SECONDS:
                    sent.popleft()
                if len(sent) < self.per_second:
                    sent.append(now)
                    return
                wait = sent[0] + WINDOW_SECONDS + SAFETY_MARGIN_SECONDS - now
            self.sleep(max(wait, 0.001))
