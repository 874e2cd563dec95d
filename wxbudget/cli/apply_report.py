"""What `apply` (and `undo --batch`) print of a batch: the dry run's plan, the summary, and
how the batch ended (its exit code)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from wxbudget.i18n import _

if TYPE_CHECKING:
    from collections.abc import Iterator

    from wxbudget.batch import Step
    from wxbudget.batch_journal import BatchJournal
    from wxbudget.cli.options import GlobalOptions
    from wxbudget.settings import Settings


def show_dry_run(options: GlobalOptions, planned: Iterator[Step], settings: Settings) -> None:
    """The plan on stdout, written as it is planned (a plan can have 100,000 rows)."""
    from collections import Counter

    from wxbudget import batch, render

    counts: Counter[str] = Counter()
    # Rows with a change, for the max_rows limit: a row's steps come one after the other, so
    # a count and the last line counted do (a set of every line grew with the plan).
    rows = {"count": 0, "last": -1}

    def counted() -> Iterator[Step]:
        for step in planned:
            counts[step.status] += 1
            if step.status == "change" and step.row.line != rows["last"]:
                rows["count"] += 1
                rows["last"] = step.row.line
            yield step

    if options.json:
        render.streamed_result(batch.steps_json(counted(), render.result_marks()))
    else:
        render.plan_table(counted(), to_stdout=True)
    if counts["refused"]:
        render.notice(
            _("{refused} planned change(s) would be refused (listed)", refused=counts["refused"])
        )
    beyond = settings.limits.rows_breach(rows["count"])
    if beyond is not None:
        render.notice(
            _(
                "apply would refuse this plan: beyond the limits of profile '"
                "{profile}' ({beyond}); --override-limits sends it",
                profile=settings.profile,
                beyond=beyond,
            )
        )


def report(steps: list[Step], batch_journal: BatchJournal, finished: bool) -> None:
    from wxbudget import render
    from wxbudget.errors import ExitCode
    from wxbudget.interrupts import INTERRUPTS

    if not finished:
        applied = sum(1 for step in steps if step.status == "applied")
        waiting = sum(1 for step in steps if step.status in ("change", "not-started"))
        render.notice(
            _(
                "interrupted by {name}: {applied} change(s) applied (the writes in "
                "flight finished and are recorded), {waiting} not started; finish with "
                "'wxbudget apply --resume' ({path})",
                name=INTERRUPTS.name,
                applied=applied,
                waiting=waiting,
                path=batch_journal.path,
            )
        )
        raise typer.Exit(INTERRUPTS.exit_code or int(ExitCode.INTERRUPTED))
    failed = [step for step in steps if step.status == "failed"]
    refused = [step for step in steps if step.status == "refused"]
    if failed:
        render.notice(
            _(
                "{count} change(s) failed (listed): re-run the same plan (or apply --resume) "
                "to retry them with their recorded out_request_no",
                count=len(failed),
            )
        )
    elif refused:
        render.notice(
            _(
                "{count} change(s) refused (listed) were not sent; the batch is finished, so "
                "a re-run of this plan is a new batch",
                count=len(refused),
            )
        )
    if failed or refused:
        raise typer.Exit(int(ExitCode.PARTIAL))


def summary(options: GlobalOptions, steps: list[Step]) -> None:
    from wxbudget import batch, render

    if options.json:
        render.streamed_result(batch.steps_json(steps, render.result_marks()))
    else:
        render.batch_summary(steps)
