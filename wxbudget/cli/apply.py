"""`apply`: a plan file of many stocks, planned against live state, applied at the rate limit,
exactly once, resumable after any interruption."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from wxbudget import i18n
from wxbudget.cli.options import GlobalOptions, with_global_options
from wxbudget.cli.stock import open_client
from wxbudget.cli.write_options import NotifyOption, OverrideLimitsOption
from wxbudget.i18n import _

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from wxbudget.batch import Step
    from wxbudget.batch_journal import BatchJournal
    from wxbudget.client import Client
    from wxbudget.journal import Journal
    from wxbudget.plan import Plan
    from wxbudget.settings import Settings


@dataclass(frozen=True)
class BatchKind:
    """What a batch is besides its plan: a plain `apply` (the default), or `undo --batch`."""

    command: str | None = None  # as notifications name it; default "apply SOURCE"
    record: dict[str, Any] | None = None  # what the batch journal's plan record also says
    # Turns the planned steps into what will be sent (an undo refuses caps changed since).
    adjust: Callable[[Iterator[Step]], Iterator[Step]] | None = None


@with_global_options
def apply(
    plan_file: Annotated[
        str | None,
        typer.Argument(
            help="Plan CSV (product_coupon_id,stock_id,max_count,max_count_per_day[,brand_id]"
            "[,stock_bundle_id]); "
            "- reads stdin",
            show_default=False,
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the plan against live state; send nothing")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Apply without asking")] = False,
    concurrency: Annotated[
        int,
        typer.Option("--concurrency", min=1, max=32, help="Requests in flight at once"),
    ] = 4,
    journal: Annotated[
        Path | None,
        typer.Option(
            "--journal",
            metavar="FILE",
            help="Batch journal (default: named by the plan's hash in the state folder)",
            show_default=False,
        ),
    ] = None,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume",
            help="Finish an interrupted batch: its plan (or, without PLAN, the latest batch) "
            "with the recorded out_request_no of every unfinished step",
        ),
    ] = False,
    again: Annotated[
        bool,
        typer.Option(
            "--again",
            help="Apply relative changes even on caps whose interrupted earlier change is in "
            "place (without it: asked on a terminal, refused otherwise)",
        ),
    ] = False,
    override_limits: OverrideLimitsOption = False,
    notify: NotifyOption = None,
    *,
    options: GlobalOptions,
) -> None:
    """Apply a plan file: every cap of every row, at the rate limit, exactly once.

    Shows the plan (before -> after, refusals, no-ops), asks once, applies with a progress bar,
    and prints a summary. Re-running the same plan (or --resume) after a crash or Ctrl-C skips
    what is done and finishes the rest with the recorded request numbers.

    Exit codes: 0 all done or nothing to do; 8 some rows failed or were refused (listed; the
    others were applied); 130 (SIGINT) or 143 (SIGTERM) interrupted.

    Examples:

      wxbudget list 1000000013 -o csv > plan.csv   # edit the caps, then:

      wxbudget apply plan.csv --dry-run

      wxbudget apply plan.csv --yes --concurrency 8

      wxbudget apply --resume --yes
    """
    from wxbudget.cli import notifying
    from wxbudget.errors import UsageError

    if plan_file is None and not resume:
        raise UsageError(_("missing PLAN: give a plan CSV file (or - for stdin), or --resume"))
    notifying.check_flag(notify)
    with open_client(options, rate_limited=True) as client:
        plan, batch_journal = _locate_batch(plan_file, journal, resume, client.settings)
        apply_plan(
            options,
            client,
            plan,
            batch_journal,
            dry_run=dry_run,
            yes=yes,
            concurrency=concurrency,
            resume=resume,
            again=again,
            override=override_limits,
            notify=notifying.target(notify, client.settings),
        )


def _locate_batch(
    plan_file: str | None, journal: Path | None, resume: bool, settings: Settings
) -> tuple[Plan, BatchJournal]:
    from wxbudget.batch_journal import PLAN_KEY, BatchJournal, latest_journal
    from wxbudget.errors import UsageError
    from wxbudget.plan import parse_plan, read_plan

    if journal is not None:
        BatchJournal(journal).check_is_journal()
    if plan_file is not None:
        plan = read_plan(plan_file)
        path = journal or BatchJournal.default_path(settings, plan)
        if resume and not path.exists():
            raise UsageError(_("nothing to resume: no batch journal at {path}", path=path))
        return plan, BatchJournal(path)
    found = journal or latest_journal(settings)
    if found is None or not found.exists():
        raise UsageError(
            _("nothing to resume: no unfinished batch of this profile; give the PLAN file")
        )
    batch_journal = BatchJournal(found)
    batch_journal.load()
    header = batch_journal.records.get(PLAN_KEY)
    if header is not None and header.get("undoes_batch"):
        raise UsageError(
            _(
                "the latest unfinished batch ({found}) undoes batch {undoes_batch}: "
                "finish it with 'wxbudget undo --batch {undoes_batch}'",
                found=found,
                undoes_batch=header["undoes_batch"],
            )
        )
    if header is None or not isinstance(header.get("csv"), str):
        if batch_journal.finished is not None:
            raise UsageError(
                _(
                    "nothing to resume: the last batch of {found} finished at "
                    "{time}; give the PLAN file to run it again",
                    found=found,
                    time=batch_journal.finished.get("time"),
                )
            )
        raise UsageError(_("batch journal {found} holds no plan; give the PLAN file", found=found))
    return parse_plan(header["csv"].encode("utf-8"), str(header.get("source"))), batch_journal


def apply_plan(
    options: GlobalOptions,
    client: Client,
    plan: Plan,
    batch_journal: BatchJournal,
    *,
    dry_run: bool,
    yes: bool,
    concurrency: int,
    resume: bool,
    again: bool,
    override: bool,
    notify: str | None = None,
    kind: BatchKind | None = None,
) -> None:
    from wxbudget import batch, planning, render
    from wxbudget.cli import apply_report, notifying
    from wxbudget.errors import ExitCode, UsageError
    from wxbudget.interrupts import INTERRUPTS
    from wxbudget.journal import Journal

    settings = client.settings
    planning.check_rows(plan, settings)
    # Each worker thread has its own session; all share one rate limiter.
    worker_client = client.sibling

    if not plan.step_count:
        render.notice(
            _(
                "nothing to do: {source} sets no cap (the max_count and max_count_per_day "
                "cells of every row are empty); nothing was read or sent",
                source=plan.source,
            )
        )
        return
    # 1..100000000 are the create-stock limits, which no update-budget page states: warned
    # about (by line and column, before anything is read), then sent; WeChat Pay decides.
    out_of_range = plan.out_of_range_rows()
    if out_of_range:
        render.notice(
            _(
                "warning: {count} cap(s) outside 1..100000000 (the limits for creating a stock) "
                "in {source}: {rows}",
                count=len(out_of_range),
                source=plan.source,
                rows=i18n.join("; ", out_of_range),
            )
        )
    audit = Journal(settings.audit_log)
    with batch_journal.locked():
        batch_journal.load()
        batch_journal.check_belongs_to(plan, settings)
        if batch_journal.finished is not None:
            if resume:
                raise UsageError(
                    _(
                        "nothing to resume: the last batch of this plan finished at "
                        "{time}; run it without --resume for a new "
                        "batch",
                        time=batch_journal.finished.get("time"),
                    )
                )
            render.notice(
                _(
                    "the last batch of this plan finished at {time}: "
                    "this is a new batch (caps already at their target are in place)",
                    time=batch_journal.finished.get("time"),
                )
            )
        planned = planning.plan_stream(
            plan,
            client,
            batch_journal,
            make_client=worker_client,
            workers=concurrency,
            stop=INTERRUPTS.stop,
            earlier=planning.Earlier(audit, settings, again=again, record=not dry_run),
        )
        kind = kind or BatchKind()
        if kind.adjust is not None:
            planned = kind.adjust(planned)
        planned = batch.within_limits(planned, settings.limits, override=override)
        if dry_run:
            apply_report.show_dry_run(options, planned, settings)
            return
        steps = list(planned)
        batch.check_rows_limit(steps, settings.limits, override=override)
        _settle_earlier_runs(steps, batch_journal, audit, settings.identity)
        render.plan_table(steps, to_stdout=False)
        _ask_about_stacked(steps, audit)
        refused = [step for step in steps if step.status == "refused"]
        if refused:
            render.notice(
                _(
                    "{count} planned change(s) refused (listed above): they will not be sent",
                    count=len(refused),
                )
            )
        changes = [step for step in steps if step.status == "change"]
        if not changes:
            render.notice(
                _("nothing to do: every planned cap is in place or refused")
                if refused
                else _("nothing to do: every planned cap is in place")
            )
            apply_report.summary(options, steps)
            batch_journal.record_plan(plan, settings, kind.record)
            batch_journal.record_finished()
            if refused:
                raise typer.Exit(int(ExitCode.PARTIAL))
            return
        if not yes:
            if not sys.stdin.isatty():
                raise UsageError(
                    _(
                        "refusing to apply without confirmation: stdin is not a terminal; pass "
                        "--yes "
                        "(or --dry-run to preview)"
                    )
                )
            if not render.confirm(_("Apply {count} change(s)?", count=len(changes))):
                render.notice(_("cancelled: nothing was sent"))
                raise typer.Exit(2)
        batch_journal.record_plan(plan, settings, kind.record)
        finished = _run_steps(steps, batch_journal, audit, concurrency, worker_client)
        if finished and batch.is_finished(steps, batch_journal):
            batch_journal.record_finished()
    apply_report.summary(options, steps)
    if (
        kind.command is None
        and batch_journal.batch_id
        and any(s.status == "applied" for s in steps)
    ):
        number = batch_journal.batch_id
        render.notice(
            _("batch {number}: to take it back, run: wxbudget undo --batch {number}", number=number)
        )
    report = partial(apply_report.report, steps, batch_journal, finished)
    command = kind.command or f"apply {plan.source}"
    notifying.around_report(notify, settings, command, steps, report)


def _ask_about_stacked(steps: list[Step], audit: Journal) -> None:
    """Relative steps on caps whose interrupted earlier change landed: ask on a terminal."""
    from wxbudget import planning, render

    held = planning.stacked(steps)
    if not held or not sys.stdin.isatty():
        return
    if render.confirm(
        _(
            "{count} relative change(s) would come on top of interrupted earlier changes that "
            "are in place (listed above). Apply them as well?",
            count=len(held),
        )
    ):
        planning.release(held, audit)


def _run_steps(
    steps: list[Step],
    batch_journal: BatchJournal,
    audit: Journal,
    concurrency: int,
    make_client: Callable[[], Client],
) -> bool:
    """Apply the change steps; a first signal lets the requests in flight finish."""
    from wxbudget import batch, render
    from wxbudget.interrupts import INTERRUPTS, Interrupted

    changes = sum(1 for step in steps if step.status == "change")
    with INTERRUPTS.writing(), render.BatchProgress(changes) as progress:
        try:
            return batch.apply_steps(
                steps,
                batch_journal,
                batch.ApplyOptions(
                    concurrency=concurrency,
                    make_client=make_client,
                    audit=audit,
                    on_step_done=progress.advance,
                    stop=INTERRUPTS.stop,
                    batch_id=batch_journal.batch_id,
                ),
            )
        except Interrupted as stopped:
            render.urgent_notice(
                _(
                    "stopped at once by a second {signal}: writes in flight have no outcome on "
                    "record; finish the batch with 'wxbudget apply --resume' ({path})",
                    signal=str(stopped),
                    path=batch_journal.path,
                )
            )
            stopped.reported = True
            raise


def _settle_earlier_runs(
    steps: list[Step], batch_journal: BatchJournal, audit: Journal, identity: str
) -> None:
    """Steps an interrupted run applied (the stock shows it) get their outcome on record, and
    an interruption of theirs is settled: this run confirmed them."""
    from wxbudget.batch import CONFIRMED_EARLIER
    from wxbudget.earlier import settle_interrupted

    for step in steps:
        if step.status != "done" or step.out_request_no is None:
            continue
        intent = audit.find_intent(identity, step.out_request_no)
        if intent is not None:
            settle_interrupted(audit, intent)
        if step.reason == CONFIRMED_EARLIER:
            batch_journal.write({"type": "result", "key": step.key, "result": "applied"})
