"""Views of a batch: the plan, the progress while applying, and the result."""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, Any

from wxbudget.render.console import notice, stderr, stdout

if TYPE_CHECKING:
    from wxbudget.batch import Step


_STEP_STYLES = {
    "change": "bold",
    "noop": "dim",
    "refused": "bold red",
    "done": "green",
    "applied": "green",
    "failed": "bold red",
    "not-started": "yellow",
}


def _steps_table(title: str, steps: list[Step]) -> Any:
    from rich.table import Table
    from rich.text import Text

    table = Table(title=title, header_style="bold")
    for column in ("line", "coupon", "stock", "cap", "before -> after", "status", "note"):
        table.add_column(column, overflow="fold")
    for step in steps:
        before = "-" if step.current is None else f"{step.current:,}"
        after = f"{step.change.target:,}" if step.change else step.target.text
        table.add_row(
            str(step.row.line),
            step.row.product_coupon_id,
            step.row.stock_id,
            step.mode.label,
            f"{before} -> {after}",
            Text(step.status, style=_STEP_STYLES.get(step.status, "")),
            Text(step.reason or _warnings(step), overflow="fold"),
        )
    return table


def _warnings(step: Step) -> str:
    if step.change is None or step.status != "change":
        return ""
    return "; ".join(f"warning: {warning}" for warning in step.change.warnings)


def _counted(prefix: str, steps: list[Step]) -> str:
    """`plan: 3 change, 1 noop`: how many steps have each status."""
    from collections import Counter

    counts = Counter(step.status for step in steps)
    return prefix + ", ".join(f"{count} {status}" for status, count in sorted(counts.items()))


def plan_table(steps: list[Step], *, to_stdout: bool) -> None:
    """The plan: one row per stock and cap. On stdout for --dry-run, else on stderr."""
    title = _counted("plan: ", steps)
    (stdout() if to_stdout else stderr()).print(_steps_table(title, steps))


def batch_summary(steps: list[Step]) -> None:
    """The result: counts, then every step that did not end applied, done or no-op."""
    title = _counted("result: ", steps)
    notable = [s for s in steps if s.status not in ("applied", "done", "noop")]
    if notable:
        stdout().print(_steps_table(title, notable))
    else:
        stdout().print(title)


class BatchProgress:
    """A progress bar on a terminal (done/total, rate, ETA); plain lines otherwise."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.done = 0
        self._bar: Any = None
        self._task: Any = None

    def __enter__(self) -> BatchProgress:
        if stderr().is_terminal:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
            )

            self._bar = Progress(
                TextColumn("applying"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]:.1f}/s"),
                TimeRemainingColumn(),
                console=stderr(),
            )
            self._bar.__enter__()
            self._task = self._bar.add_task("apply", total=self.total, rate=0.0)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.__exit__(kind, error, trace)

    def advance(self, step: Step) -> None:
        self.done += 1
        if self._bar is not None:
            elapsed = self._bar.tasks[0].elapsed or 0.0
            rate = self.done / elapsed if elapsed else 0.0
            self._bar.update(self._task, advance=1, rate=rate)
            if step.status == "failed":
                self._bar.console.print(f"failed: {step.key}: {step.reason}", markup=False)
            return
        change = step.change
        span = f"{change.current} -> {change.target}" if change else ""
        notice(
            f"[{self.done}/{self.total}] {step.row.product_coupon_id} {step.row.stock_id} "
            f"{step.mode.value} {span}: {step.status}"
            + (f" ({step.reason})" if step.reason else "")
        )
