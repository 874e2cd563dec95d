"""Views of a batch: the plan, the progress while applying, and the result."""

from __future__ import annotations

from collections.abc import Iterable
from types import TracebackType
from typing import TYPE_CHECKING, Any

from wxbudget import i18n
from wxbudget.i18n import _, localize
from wxbudget.printable import printable
from wxbudget.render import table
from wxbudget.render.console import notice, stderr, stdout

if TYPE_CHECKING:
    from rich.console import Console

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


# How a step status reads for a person (JSON keeps the names of batch.Step).
_STATUS_LABELS = {
    "change": _("change"),
    "noop": _("in place"),
    "refused": _("refused"),
    "done": _("done"),
    "applied": _("applied"),
    "failed": _("failed"),
    "not-started": _("not-started"),
}


def _status(status: str) -> str:
    return _STATUS_LABELS.get(status, status)


_STEP_COLUMNS = (
    table.Column(_("line"), table.NUMBER),
    table.Column(_("coupon")),
    table.Column(_("stock")),
    table.Column(_("cap")),
    table.Column(_("before -> after")),
    table.Column(_("at stake"), table.NUMBER),
    table.Column(_("status")),
    table.Column(_("note"), table.TEXT),
)


def _steps_table(console: Console, title: str | None, steps: list[Step]) -> None:
    from rich.text import Text

    from wxbudget import exposure

    rows = []
    for step in steps:
        money = exposure.of_change(step.change).text(signed=True) if step.change else ""
        before = "-" if step.current is None else f"{step.current:,}"
        after = step.target.text if step.to is None else f"{step.to:,}"
        rows.append(
            (
                str(step.row.line),
                step.row.product_coupon_id,
                step.row.stock_id
                or _("bundle {stock_bundle_id}", stock_bundle_id=step.row.stock_bundle_id),
                step.mode.label,
                f"{before} -> {after}",
                money,
                Text(localize(_status(step.status)), style=_STEP_STYLES.get(step.status, "")),
                Text(localize(step.reason or _warnings(step))),
            )
        )
    table.show(console, title, _STEP_COLUMNS, rows)


def _warnings(step: Step) -> str:
    if step.change is None or step.status != "change":
        return ""
    return i18n.join(
        "; ", (_("warning: {warning}", warning=warning) for warning in step.change.warnings)
    )


def _counts(counts: dict[str, int]) -> str:
    """`3 change, 1 in place`: how many steps have each status (ordered by the English)."""
    return i18n.join(
        ", ",
        (
            _("{count} {status}", count=count, status=status)
            for status, count in sorted(counts.items())
        ),
    )


# A plan longer than this is printed in tables of this many rows as it is planned, so a
# 100,000-row plan is never laid out (or held) whole.
PLAN_CHUNK_ROWS = 500


def plan_table(steps: Iterable[Step], *, to_stdout: bool) -> None:
    """The plan: one row per stock and cap. On stdout for --dry-run, else on stderr."""
    from collections import Counter

    console = stdout() if to_stdout else stderr()
    counts: Counter[str] = Counter()
    chunk: list[Step] = []
    printed = False
    for step in steps:
        counts[_status(step.status)] += 1
        chunk.append(step)
        if len(chunk) == PLAN_CHUNK_ROWS:
            _steps_table(console, None if printed else _("plan (continued below)"), chunk)
            printed, chunk = True, []
    title = _("plan: {counts}", counts=_counts(counts))
    if not printed:
        _steps_table(console, title, chunk)
        return
    if chunk:
        _steps_table(console, None, chunk)
    console.print(localize(title), markup=False)


def batch_summary(steps: list[Step]) -> None:
    """The result: counts, then every step that did not end applied, done or no-op."""
    from collections import Counter

    title = _("result: {counts}", counts=_counts(Counter(_status(step.status) for step in steps)))
    notable = [s for s in steps if s.status not in ("applied", "done", "noop")]
    if notable:
        _steps_table(stdout(), title, notable)
    else:
        stdout().print(localize(title), markup=False)


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
                TextColumn(localize(_("applying"))),
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
                failed = _("failed: {step}: {reason}", step=step.key, reason=step.reason)
                self._bar.console.print(printable(localize(failed)), markup=False)
            return
        change = step.change
        span = f"{change.current} -> {change.target}" if change else ""
        target = step.row.stock_id or _(
            "bundle {stock_bundle_id}", stock_bundle_id=step.row.stock_bundle_id
        )
        where = f"[{self.done}/{self.total}] {step.row.product_coupon_id}"
        status = _status(step.status)
        if step.reason:
            notice(
                _(
                    "{where} {target} {mode} {span}: {status} ({reason})",
                    where=where,
                    target=target,
                    mode=step.mode.value,
                    span=span,
                    status=status,
                    reason=step.reason,
                )
            )
        else:
            notice(
                _(
                    "{where} {target} {mode} {span}: {status}",
                    where=where,
                    target=target,
                    mode=step.mode.value,
                    span=span,
                    status=status,
                )
            )
