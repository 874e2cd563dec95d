"""SIGINT and SIGTERM: stop at once while nothing is being written; let a write in flight finish.

Operators press Ctrl-C and schedulers (CI cancellation, systemd, Kubernetes) send SIGTERM. Outside
a write either one ends the command at once (nothing was sent). Inside one (`writing()`), the
first signal lets the requests in flight finish, so their outcome is known and journaled; no new
request or retry is started; a second signal stops at once. The exit code is 128 + the signal
number: 130 for SIGINT, 143 for SIGTERM.

Signals are process-wide, so there is one `INTERRUPTS`; the CLI installs it for each run.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

from wxbudget.i18n import _

HANDLED_SIGNALS = (signal.SIGINT, signal.SIGTERM)
# How often a waiting worker looks at the flag: the latency of a stop during a back-off wait.
POLL_SECONDS = 0.05


class Interrupted(BaseException):
    """A signal ended the command; `forced` when it was the second one, during a write.

    A BaseException, like KeyboardInterrupt, so no `except Exception` swallows it; not a
    KeyboardInterrupt, which typer turns into a silent exit 130 before our boundary sees it.
    """

    def __init__(self, signal_number: int, *, forced: bool = False) -> None:
        super().__init__(signal_name(signal_number))
        self.signal_number = signal_number
        self.forced = forced
        # Set once the command has said what the interruption left behind.
        self.reported = False

    @property
    def exit_code(self) -> int:
        return exit_code(self.signal_number)


def signal_name(number: int) -> str:
    return signal.Signals(number).name


def exit_code(signal_number: int) -> int:
    """The shell's convention: 128 + the signal number (130 SIGINT, 143 SIGTERM)."""
    return 128 + signal_number


class StopFlag:
    """Set once by a signal handler, read by every thread.

    A plain attribute, not a threading.Event: a handler runs between two bytecodes of the main
    thread, which may be holding the Event's own lock at that moment.
    """

    def __init__(self) -> None:
        self._set = False

    def set(self) -> None:
        self._set = True

    def is_set(self) -> bool:
        return self._set

    def wait(self, seconds: float) -> bool:
        """Sleep up to `seconds`, waking early once set; return whether it is set."""
        deadline = time.monotonic() + seconds
        while not self._set:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            time.sleep(min(left, POLL_SECONDS))
        return self._set


class Interrupts:
    """The signal handlers of one run and what they saw."""

    def __init__(self) -> None:
        self.stop = StopFlag()
        self.signal_number: int | None = None
        self.count = 0
        self.run = 0  # which install: tells one in-process run from the next
        self._writing = 0
        # Whether this run has entered a write: after one, "nothing was sent" is not true.
        self.wrote = False
        self._notify: Callable[[str], None] | None = None
        self._previous: dict[int, object] = {}

    def install(self, notify: Callable[[str], None] | None = None) -> None:
        """Handle SIGINT and SIGTERM from now on (main thread only; elsewhere a no-op)."""
        self.stop = StopFlag()
        self.signal_number = None
        self.count = 0
        self.run += 1
        self._writing = 0
        self.wrote = False
        self._notify = notify
        if threading.current_thread() is not threading.main_thread():
            return
        for number in HANDLED_SIGNALS:
            self._previous[number] = signal.signal(number, self._handle)

    def restore(self) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)  # type: ignore[arg-type]
        self._previous.clear()

    @property
    def received(self) -> bool:
        return self.signal_number is not None

    @property
    def name(self) -> str:
        return signal_name(self.signal_number) if self.signal_number is not None else ""

    @property
    def exit_code(self) -> int:
        return exit_code(self.signal_number) if self.signal_number is not None else 0

    @contextmanager
    def writing(self) -> Iterator[None]:
        """While inside, a first signal is noted (and `stop` set) instead of stopping at once."""
        self._writing += 1
        self.wrote = True
        try:
            yield
        finally:
            self._writing -= 1

    def stopped_line(self, name: str) -> str:
        """What a signal that ended the run outside a write left behind."""
        if not self.wrote:
            return _("interrupted by {signal}; no budget change was sent", signal=name)
        # After the writes (e.g. while the result was printed): they stand, and are recorded.
        return _(
            "interrupted by {signal} after the budget change(s) above were sent; their outcomes "
            "are recorded (see 'wxbudget history')",
            signal=name,
        )

    def raise_if_received(self) -> None:
        """After a write: end the command the way the signal asked."""
        if self.signal_number is not None:
            raise Interrupted(self.signal_number)

    def _handle(self, number: int, _frame: FrameType | None) -> None:
        self.count += 1
        if self.signal_number is None:
            self.signal_number = number
        self.stop.set()
        if self._writing and self.count == 1:
            if self._notify is not None:
                again = "Ctrl-C" if number == signal.SIGINT else _("the signal")
                self._notify(
                    _(
                        "{signal_name}: finishing the write in flight and recording its "
                        "outcome (send {again} again to stop at once)",
                        signal_name=signal_name(number),
                        again=again,
                    )
                )
            return
        raise Interrupted(number, forced=bool(self._writing))


INTERRUPTS = Interrupts()
