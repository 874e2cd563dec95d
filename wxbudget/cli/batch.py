"""`list` and `apply`: many stocks at once, planned from a CSV file, applied at the rate limit."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from wxbudget.cli.options import GlobalOptions, with_global_options
from wxbudget.cli.stock import ProductCouponId, open_client

if TYPE_CHECKING:
    from wxbudget.batch import Step
    from wxbudget.batch_journal import BatchJournal
    from wxbudget.client import Client
    from wxbudget.journal import Journal
    from wxbudget.plan import Plan
    from wxbudget.settings import Settings

STATES = ("AUDITING", "SENDING", "PAUSED", "STOPPED", "DEACTIVATED")


@with_global_options
def list_stocks(
    product_coupon_id: ProductCouponId,
    state: Annotated[
        str | None,
        typer.Option(
            "--state", help=f"Only stocks in this state: {', '.join(STATES)}", show_default=False
        ),
    ] = None,
    *,
    options: GlobalOptions,
) -> None:
    """List every stock of a product coupon with its caps (all pages).

    -o csv writes a ready plan file holding the current caps: export, edit, apply.

    Examples:

      wxbudget list 1000000013

      wxbudget list 1000000013 --state SENDING -o csv > plan.csv
    """
    from wxbudget import render
    from wxbudget.errors import UsageError
    from wxbudget.plan import plan_csv

    if state is not None and state.upper() not in STATES:
        raise UsageError(f"--state {state!r} is not a state; use one of {', '.join(STATES)}")
    with open_client(options, rate_limited=True) as client:
        brand_id = client.settings.body_brand_id()
        stocks = list(
            client.list_stocks(product_coupon_id, brand_id, state=state.upper() if state else None)
        )
    if options.output is not None and options.output.value == "csv":
        rows = [
            (s.product_coupon_id, s.stock_id, s.max_count, s.max_count_per_day, s.brand_id)
            for s in stocks
        ]
        render.raw_result(plan_csv(rows).rstrip("\n"))
    elif options.json:
        render.json_result([stock.raw for stock in stocks])
    else:
        render.stocks_table(f"coupon {product_coupon_id}", stocks)


@with_global_options
def apply(
    plan_file: Annotated[
        str | None,
        typer.Argument(
            help="Plan CSV (product_coupon_id,stock_id,max_count,max_count_per_day[,brand_id]); "
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
    *,
    options: GlobalOptions,
) -> None:
    """Apply a plan file: every cap of every row, at the rate limit, exactly once.

    Shows the plan (before -> after, refusals, no-ops), asks once, applies with a progress bar,
    and prints a summary. Re-running the same plan (or --resume) after a crash or Ctrl-C skips
    what is done and finishes the rest with the recorded request numbers.

    Exit codes: 0 all done or nothing to do; 8 some rows failed or were refused (listed; the
    others were applied); 130 interrupted.

    Examples:

      wxbudget list 1000000013 -o csv > plan.csv   # edit the caps, then:

      wxbudget apply plan.csv --dry-run

      wxbudget apply plan.csv --yes --concurrency 8

      wxbudget apply --resume --yes
    """
    from wxbudget.errors import UsageError

    if plan_file is None and not resume:
        raise UsageError("missing PLAN: give a plan CSV file (or - for stdin), or --resume")
    with open_client(options, rate_limited=True) as client:
        plan, batch_journal = _locate_batch(plan_file, journal, resume, client.settings)
        _apply(
            options, client, plan, batch_journal, dry_run=dry_run, yes=yes, concurrency=concurrency
        )


def _locate_batch(
    plan_file: str | None, journal: Path | None, resume: bool, settings: Settings
) -> tuple[Plan, BatchJournal]:
    from wxbudget.batch_journal import PLAN_KEY, BatchJournal, latest_journal
    from wxbudget.errors import UsageError
    from wxbudget.plan import parse_plan, read_plan

    if plan_file is not None:
        plan = read_plan(plan_file)
        path = journal or BatchJournal.default_path(settings, plan)
        if resume and not path.exists():
            raise UsageError(f"nothing to resume: no batch journal at {path}")
        return plan, BatchJournal(path)
    found = journal or latest_journal(settings)
    if found is None or not found.exists():
        raise UsageError("nothing to resume: no batch journal found; give the PLAN file")
    batch_journal = BatchJournal(found)
    batch_journal.load()
    header = batch_journal.records.get(PLAN_KEY)
    if header is None or not isinstance(header.get("csv"), str):
        raise UsageError(f"batch journal {found} holds no plan; give the PLAN file")
    return parse_plan(header["csv"].encode("utf-8"), str(header.get("source"))), batch_journal


def _apply(
    options: GlobalOptions,
    client: Client,
    plan: Plan,
    batch_journal: BatchJournal,
    *,
    dry_run: bool,
    yes: bool,
    concurrency: int,
) -> None:
    import threading

    from wxbudget import batch, render
    from wxbudget.client import Client
    from wxbudget.errors import ExitCode, UsageError
    from wxbudget.journal import Journal

    settings = client.settings

    def worker_client() -> Client:
        # Each worker thread has its own session; all share one rate limiter.
        return Client(settings, trace=client.trace, limiter=client.limiter)

    # 1..100000000 are the create-stock limits, which no update-budget page states: warned
    # about (by line and column, before anything is read), then sent; WeChat Pay decides.
    out_of_range = plan.out_of_range_rows()
    if out_of_range:
        render.notice(
            f"warning: {len(out_of_range)} cap(s) outside 1..100000000 (the limits for creating "
            f"a stock) in {plan.source}: " + "; ".join(out_of_range)
        )
    with batch_journal.locked():
        batch_journal.load()
        batch_journal.check_belongs_to(plan, settings)
        state = batch.read_current_state(
            client,
            plan,
            make_client=worker_client,
            workers=concurrency,
        )
        steps = batch.plan_steps(plan, state, batch_journal, settings)
        refused = [step for step in steps if step.status == "refused"]
        if dry_run:
            if options.json:
                render.streamed_result(batch.steps_json(steps))
            else:
                render.plan_table(steps, to_stdout=True)
            if refused:
                render.notice(f"{len(refused)} planned change(s) would be refused (listed)")
            return
        _settle_earlier_runs(steps, batch_journal, Journal(settings.audit_log), settings.identity)
        render.plan_table(steps, to_stdout=False)
        if refused:
            render.notice(
                f"{len(refused)} planned change(s) refused (listed above): they will not be sent"
            )
        changes = [step for step in steps if step.status == "change"]
        if not changes:
            render.notice(
                "nothing to do: every planned cap is in place" + (" or refused" if refused else "")
            )
            _summary(options, steps)
            if refused:
                raise typer.Exit(int(ExitCode.PARTIAL))
            return
        if not yes:
            if not sys.stdin.isatty():
                raise UsageError(
                    "refusing to apply without confirmation: stdin is not a terminal; pass --yes "
                    "(or --dry-run to preview)"
                )
            if not render.confirm(f"Apply {len(changes)} change(s)?"):
                render.notice("cancelled: nothing was sent")
                raise typer.Exit(2)
        batch_journal.record_plan(plan, settings)
        stop = threading.Event()
        with render.BatchProgress(len(changes)) as progress:
            finished = batch.apply_steps(
                steps,
                batch_journal,
                batch.ApplyOptions(
                    concurrency=concurrency,
                    make_client=worker_client,
                    audit=Journal(settings.audit_log),
                    on_step_done=progress.advance,
                    stop=stop,
                ),
            )
    _summary(options, steps)
    if not finished:
        render.notice(f"interrupted: finish with 'wxbudget apply --resume' ({batch_journal.path})")
        raise typer.Exit(int(ExitCode.INTERRUPTED))
    if any(step.status in ("failed", "refused") for step in steps):
        render.notice(
            "some changes failed or were refused (listed); re-run the same plan to retry the "
            "failed ones safely"
        )
        raise typer.Exit(int(ExitCode.PARTIAL))


def _settle_earlier_runs(
    steps: list[Step], batch_journal: BatchJournal, audit: Journal, identity: str
) -> None:
    """Steps an interrupted run applied (the stock shows it) get their outcome on record."""
    from wxbudget.batch import CONFIRMED_EARLIER
    from wxbudget.replay import settle_interrupted

    for step in steps:
        if step.reason != CONFIRMED_EARLIER or step.out_request_no is None:
            continue
        intent = audit.find_intent(identity, step.out_request_no)
        if intent is not None:
            settle_interrupted(audit, intent)
        batch_journal.write({"type": "result", "key": step.key, "result": "applied"})


def _summary(options: GlobalOptions, steps: list[Step]) -> None:
    from wxbudget import batch, render

    if options.json:
        render.streamed_result(batch.steps_json(steps))
    else:
        render.batch_summary(steps)
