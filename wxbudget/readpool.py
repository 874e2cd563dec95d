"""Threads for reads that never hold up the end of an interrupted command.

concurrent.futures' ThreadPoolExecutor joins its threads when the interpreter exits, so a
Ctrl-C while reads were in flight printed "interrupted" and then waited for the slowest answer
(up to --timeout, per retry) before the process ended. A read changes nothing, so these threads
are daemons: once the main thread is done, reads still waiting for an answer are abandoned.
Writes never run here: they must finish (see wxbudget.interrupts).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from types import TracebackType
from typing import Any, TypeVar

Result = TypeVar("Result")
Item = TypeVar("Item")
_Task = tuple[Future[Any], Callable[..., Any], tuple[Any, ...]]


class ReadPool:
    """`workers` daemon threads running submitted reads in order of submission."""

    def __init__(self, workers: int) -> None:
        self._tasks: queue.SimpleQueue[_Task | None] = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._work, name=f"wxbudget-read-{index}", daemon=True)
            for index in range(max(workers, 1))
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, read: Callable[..., Result], *args: Any) -> Future[Result]:
        future: Future[Result] = Future()
        self._tasks.put((future, read, args))
        return future

    def map(self, read: Callable[[Item], Result], items: Iterable[Item]) -> list[Result]:
        futures = [self.submit(read, item) for item in items]
        return [future.result() for future in futures]

    def shutdown(self, *, wait: bool = True) -> None:
        """No more reads. `wait=False` (interrupted, or failed): drop the queued ones and
        return at once, leaving the reads in flight to be abandoned."""
        if not wait:
            self._cancel_queued()
        for _ in self._threads:
            self._tasks.put(None)
        if wait:
            for thread in self._threads:
                thread.join()

    def __enter__(self) -> ReadPool:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.shutdown(wait=kind is None)

    def _cancel_queued(self) -> None:
        while True:
            try:
                task = self._tasks.get_nowait()
            except queue.Empty:
                return
            if task is not None:
                task[0].cancel()

    def _work(self) -> None:
        while (task := self._tasks.get()) is not None:
            future, read, args = task
            if not future.set_running_or_notify_cancel():
                continue
            try:
                result = read(*args)
            except BaseException as error:  # handed to whoever waits for the result
                future.set_exception(error)
            else:
                future.set_result(result)
