"""A loopback listener no connection to can be made: its accept queue is full, so Linux drops
every further SYN and a client's connect hangs until the client's own connect timeout ends it.

This is a real connect that really hangs, on loopback, with nothing of ours or of requests
replaced: what ends it is the timeout the client handed to its socket, and nothing else.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

# Loud bounds, never expected to be reached: a loopback connect with room in the queue and the
# kernel's count of it take microseconds.
FILL_SECONDS = 30.0
_LISTEN = "0A"  # /proc/net/tcp's state of a listening socket


@dataclass(frozen=True)
class StalledListener:
    port: int

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def queued(self) -> int:
        """Connections made and waiting to be accepted, as the kernel counts them (for a
        listening socket, /proc/net/tcp's rx_queue is its accept queue's length)."""
        suffix = f":{self.port:04X}"
        with open("/proc/net/tcp", encoding="ascii") as table:
            for line in table:
                fields = line.split()
                if fields[1] == "0100007F" + suffix and fields[3] == _LISTEN:
                    return int(fields[4].split(":")[1], 16)
        raise AssertionError(f"no listener on 127.0.0.1:{self.port} in /proc/net/tcp")


@contextmanager
def stalled_listener() -> Iterator[StalledListener]:
    """A listener with a backlog of 0 holding one connection it never accepts: its queue is
    full (Linux: more queued than the backlog), so no further connection is ever made."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    filler: socket.socket | None = None
    try:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        stalled = StalledListener(listener.getsockname()[1])
        filler = socket.create_connection(("127.0.0.1", stalled.port), timeout=FILL_SECONDS)
        waited = time.monotonic() + FILL_SECONDS
        while stalled.queued() < 1:
            if time.monotonic() > waited:
                raise AssertionError(f"the kernel never queued the filler in {FILL_SECONDS} s")
            time.sleep(0.01)
        yield stalled
    finally:
        if filler is not None:
            filler.close()
        listener.close()
