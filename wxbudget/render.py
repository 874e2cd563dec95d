"""All terminal output: results on stdout, everything human on stderr. The only importer of rich.

rich honours NO_COLOR and drops colour when the stream is not a terminal.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from functools import cache
from types import TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

    from rich.console import Console

    from wxbudget.batch import Step
    from wxbudget.budget import Change
    from wxbudget.journal import Operation
    from wxbudget.models import Stock, UpdateMode
    from wxbudget.profiles import ProfileReport, ProfileSummary


PIPED_WIDTH = 200


@cache
def _stdout() -> Console:
    import os

    from rich.console import Console

    # Piped output defaults to 80 columns, which would cut ids and counts in wide tables: a file
    # or a pager gets room instead (COLUMNS still wins when set).
    width = None if sys.stdout.isatty() or os.environ.get("COLUMNS") else PIPED_WIDTH
    # emoji=False: ":name:" codes never appear in our output, and their table costs ~4 ms to load.
    return Console(highlight=False, soft_wrap=False, emoji=False, width=width)


@cache
def _stderr() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)


def notice(message: str) -> None:
    """A human message on stderr (never markup-interpreted: ids may contain brackets)."""
    _stderr().print(message, markup=False)


def error(line: str) -> None:
    from rich.text import Text

    _stderr().print(Text("error: ", style="bold red") + Text(line))


def trace(line: str) -> None:
    from rich.text import Text

    _stderr().print(Text(line, style="dim"))


def json_result(value: Any) -> None:
    """Machine output: plain JSON on stdout, exactly the value given, nothing else."""
    sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=2) + "\n")
    sys.stdout.flush()


def raw_result(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def streamed_result(pieces: Iterable[str]) -> None:
    """Large machine output written as it is produced, never held whole in memory."""
    for piece in pieces:
        sys.stdout.write(piece)
    sys.stdout.write("\n")
    sys.stdout.flush()


def _count(value: int | None, *, none: str = "unlimited") -> str:
    return none if value is None else f"{value:,}"


def stock_table(
    stock: Stock, *, changed: UpdateMode | None = None, before: int | None = None
) -> None:
    """The stock's state and budget; the changed cap is highlighted with its old value."""
    from rich.table import Table
    from rich.text import Text

    from wxbudget.models import UpdateMode

    table = Table(
        title=f"stock {stock.stock_id} of coupon {stock.product_coupon_id}",
        show_header=True,
        header_style="bold",
    )
    table.add_column("field")
    table.add_column("value", justify="right")

    def cap_cell(mode: UpdateMode) -> Text:
        value = _count(stock.cap(mode))
        if changed is mode:
            return Text(f"{value}  (was {_count(before)})", style="bold green")
        return Text(value)

    rows: list[tuple[str, Text | str]] = [
        ("state", stock.state),
        ("total cap (max_count)", cap_cell(UpdateMode.MAX_COUNT)),
        ("daily cap (max_count_per_day)", cap_cell(UpdateMode.MAX_COUNT_PER_DAY)),
        ("per-user cap", _count(stock.max_count_per_user)),
        ("sent total", _count(stock.sent_total)),
        ("sent today", _count(stock.sent_today)),
        ("remaining total", _count(stock.remaining_total)),
        ("remaining today", _count(stock.remaining_today)),
        ("code mode", stock.coupon_code_mode or "-"),
    ]
    if stock.bundle_id is not None:
        rows.append(("stock bundle", stock.bundle_id))
    if stock.brand_id is not None:
        rows.append(("brand", stock.brand_id))
    for name, value in rows:
        table.add_row(name, value)
    _stdout().print(table)


def plan(change: Change) -> None:
    """before -> after on stderr, for the human deciding whether to confirm."""
    delta = change.target - change.current
    sign = "+" if delta >= 0 else ""
    percent = f", {sign}{delta / change.current:.1%}" if change.current else ""
    if change.bundle_id is not None:
        about = f"{len(change.bundle_stocks)} stocks"
    else:
        about = change.stock.state
    if change.bundle_id is None and change.stock.cap(change.mode) is None:
        before, delta_text = "unlimited", ""
    else:
        before, delta_text = f"{change.current:,}", f" ({sign}{delta:,}{percent})"
    notice(
        f"{change.subject} (coupon {change.stock.product_coupon_id}, {about}): "
        f"{change.mode.label} {before} -> {change.target:,}{delta_text}"
    )
    for warning in change.warnings:
        notice(f"warning: {warning}")


def confirm(question: str) -> bool:
    """Ask on the terminal; only called when stdin is a TTY."""
    answer = _stderr().input(f"{question} [y/N] ", markup=False)
    return answer.strip().lower() in ("y", "yes")


def history_table(operations: list[Operation], path: Path) -> None:
    """One row per write; intents without an outcome are flagged for a safe re-run."""
    from rich.table import Table
    from rich.text import Text

    if not operations:
        notice(f"no budget changes recorded in {path}")
        return
    table = Table(title=f"budget changes ({path})", header_style="bold")
    for column in ("time", "coupon", "stock", "cap", "change", "out_request_no", "result", "by"):
        table.add_column(column, overflow="fold")
    for operation in operations:
        intent, outcome = operation.intent, operation.outcome
        cap = "total" if intent.get("update_mode") == "MAX_COUNT" else "daily"
        change = f"{intent.get('from')} -> {intent.get('to')} ({intent.get('target')})"
        if outcome is None:
            result = Text("NO OUTCOME (interrupted?)", style="bold yellow")
        else:
            label = str(outcome.get("result"))
            if outcome.get("reconciled"):
                label += " (reconciled)"
            style = "green" if outcome.get("exit_code") == 0 else "red"
            result = Text(f"{label}, exit {outcome.get('exit_code')}", style=style)
        table.add_row(
            str(intent.get("time")),
            str(intent.get("product_coupon_id")),
            str(intent.get("stock_id")),
            cap,
            change,
            str(intent.get("out_request_no")),
            result,
            str(intent.get("actor")),
        )
    _stdout().print(table)


STOCK_LIST_COLUMNS = (
    "stock",
    "state",
    "total cap",
    "daily cap",
    "sent total",
    "sent today",
    "bundle",
)


def stocks_table(title: str, stocks: list[Stock], *, changed: UpdateMode | None = None) -> None:
    """Many stocks, one row each; the changed cap column is highlighted."""
    from rich.table import Table

    from wxbudget.models import UpdateMode

    table = Table(title=f"{len(stocks)} stocks of {title}", header_style="bold")
    labels = {UpdateMode.MAX_COUNT: "total cap", UpdateMode.MAX_COUNT_PER_DAY: "daily cap"}
    highlighted = labels[changed] if changed is not None else None
    for column in STOCK_LIST_COLUMNS:
        table.add_column(
            column,
            justify="right" if "cap" in column or "sent" in column else "left",
            style="bold green" if column == highlighted else None,
            overflow="fold",
            no_wrap="cap" in column or "sent" in column,
        )
    for stock in stocks:
        table.add_row(
            stock.stock_id,
            stock.state,
            _count(stock.max_count),
            _count(stock.max_count_per_day),
            _count(stock.sent_total),
            _count(stock.sent_today),
            stock.bundle_id or "",
        )
    _stdout().print(table)


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
    (_stdout() if to_stdout else _stderr()).print(_steps_table(title, steps))


def batch_summary(steps: list[Step]) -> None:
    """The result: counts, then every step that did not end applied, done or no-op."""
    title = _counted("result: ", steps)
    notable = [s for s in steps if s.status not in ("applied", "done", "noop")]
    if notable:
        _stdout().print(_steps_table(title, notable))
    else:
        _stdout().print(title)


class BatchProgress:
    """A progress bar on a terminal (done/total, rate, ETA); plain lines otherwise."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.done = 0
        self._bar: Any = None
        self._task: Any = None

    def __enter__(self) -> BatchProgress:
        if _stderr().is_terminal:
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
                console=_stderr(),
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


def ask(key: str, meaning: str) -> str:
    """One profile value from the terminal, the key explained first; only called on a TTY."""
    _stderr().print(f"{key}: {meaning}", markup=False)
    return _stderr().input(f"  {key} = ", markup=False).strip()


def profiles_table(config_path: Path, summaries: list[ProfileSummary]) -> None:
    from rich.table import Table

    table = Table(title=f"profiles in {config_path}", header_style="bold")
    for column in ("", "profile", "kind", "mchid / brand_id", "base_url"):
        table.add_column(column)
    for summary in summaries:
        table.add_row(
            "*" if summary.is_default else "",
            summary.name,
            summary.kind,
            summary.identity or "-",
            summary.base_url,
        )
    table.caption = "* default profile"
    _stdout().print(table)


def profile_report(report: ProfileReport) -> None:
    """Keys and values; under each key file: exists, mode, SHA-256 fingerprint. No key content."""
    from rich.table import Table
    from rich.text import Text

    default = " (default)" if report.is_default else ""
    table = Table(
        title=f"profile {report.name}{default} in {report.config_path}", header_style="bold"
    )
    table.add_column("key")
    table.add_column("value", overflow="fold")
    files = {key_file.key: key_file for key_file in report.files}
    for key, value in report.values.items():
        table.add_row(key, str(value))
        key_file = files.get(key)
        if key_file is None:
            continue
        if not key_file.exists:
            table.add_row("", Text("does not exist", style="bold red"))
            continue
        table.add_row("", Text(f"mode {key_file.mode}", style="dim"))
        if key_file.fingerprint:
            label = "public half " if key == "private_key_file" else ""
            table.add_row("", Text(f"{label}sha256 {key_file.fingerprint}", style="dim"))
        if key_file.problem:
            table.add_row("", Text(key_file.problem, style="bold red"))
    _stdout().print(table)


def certificates_table(rows: list[dict[str, Any]], public_key_id: str | None) -> None:
    from rich.table import Table

    table = Table(title="platform certificates", header_style="bold")
    for column in ("serial_no", "valid from", "valid to", "status"):
        table.add_column(column)
    for row in rows:
        status = "valid" if row["valid"] else "expired or not yet valid"
        table.add_row(row["serial_no"], row["not_before"], row["not_after"], status)
    _stdout().print(table)
    if public_key_id:
        notice(f"answers may also be signed with the WeChat Pay public key {public_key_id}")


if TYPE_CHECKING:
    from wxbudget.doctor import Report as DoctorReport

_DOCTOR_STYLES = {"pass": "green", "warn": "bold yellow", "fail": "bold red", "skip": "dim"}


def doctor_report(report: DoctorReport) -> None:
    """One line per check on stdout, the fix indented under it, then the tally."""
    from rich.text import Text

    console = _stdout()
    if report.profile is not None and report.config_path is not None:
        console.print(f"profile {report.profile} in {report.config_path}", markup=False)
    width = max(len(check.name) for check in report.checks)
    for check in report.checks:
        status = check.status.value
        line = Text(status.upper().ljust(4), style=_DOCTOR_STYLES[status])
        line.append(f"  {check.name.ljust(width)}  {check.detail}")
        console.print(line, soft_wrap=True)
        if check.fix:
            console.print(Text(f"      {' ' * width}  fix: {check.fix}"), soft_wrap=True)
    counts = {status: 0 for status in _DOCTOR_STYLES}
    for check in report.checks:
        counts[check.status.value] += 1
    tally = ", ".join(f"{count} {status}" for status, count in counts.items())
    verdict = "ok" if report.ok else "FAILED"
    console.print(Text(f"{verdict}: {tally}", style="bold" if report.ok else "bold red"))
