"""`undo`: take a journaled change (or every applied change of a batch) back.

One change goes through set-max's own path (preview, confirm, --dry-run, journal, signals);
a batch through apply's engine (rate limit, progress, batch journal, resume, exactly once).
What may be undone, and to what, is `wxbudget.undo`'s to decide.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from wxbudget.cli.options import GlobalOptions, with_global_options
from wxbudget.cli.stock import open_client
from wxbudget.cli.write_options import (
    DryRunOption,
    NotifyOption,
    OverrideLimitsOption,
    YesOption,
)
from wxbudget.i18n import _, localize

if TYPE_CHECKING:
    from collections.abc import Iterator

    from wxbudget.batch import Step
    from wxbudget.client import Client
    from wxbudget.journal import Journal
    from wxbudget.undo import Reverted


@with_global_options
def undo(
    name: Annotated[
        str | None,
        typer.Argument(
            metavar="[OUT_REQUEST_NO]",
            help="The change to take back: its out_request_no (or operation id), as "
            "'wxbudget history' shows it",
            show_default=False,
            autocompletion=lambda incomplete: _undoable(incomplete, batches=False),
        ),
    ] = None,
    batch: Annotated[
        str | None,
        typer.Option(
            "--batch",
            metavar="BATCH_ID",
            help="Take back every applied change of this batch of 'apply' (its id is in "
            "'wxbudget history' and at the end of 'apply'); re-run it to finish an interrupted "
            "undo",
            show_default=False,
            autocompletion=lambda incomplete: _undoable(incomplete, batches=True),
        ),
    ] = None,
    yes: YesOption = False,
    dry_run: DryRunOption = False,
    concurrency: Annotated[
        int,
        typer.Option("--concurrency", min=1, max=32, help="With --batch: requests in flight"),
    ] = 4,
    override_limits: OverrideLimitsOption = False,
    notify: NotifyOption = None,
    *,
    options: GlobalOptions,
) -> None:
    """Take a change back: set the cap to its recorded "from", if it is still at its "to".

    The undo sends the recorded "to" as the current value, so a cap anyone changed since is
    refused (exit 5, saying what it is now; with --batch such rows are skipped and listed,
    exit 8). An undo is journaled as an operation of its own, linked to the change it reverts;
    a change is undone at most once, and an undo is not undone.

    Examples:

      wxbudget undo wxb-20261129093923-6790398b53f89da2 --dry-run

      wxbudget undo wxb-20261129093923-6790398b53f89da2 --yes

      wxbudget undo --batch 3f2a9c1d0b7e4a55 --yes
    """
    from wxbudget.cli import notifying
    from wxbudget.errors import UsageError

    if (name is None) == (batch is None):
        raise UsageError(
            _(
                "give the change to undo (its OUT_REQUEST_NO, from 'wxbudget history') or "
                "--batch BATCH_ID, not both"
            )
            if name is not None
            else _(
                "missing OUT_REQUEST_NO: give a change's out_request_no or --batch BATCH_ID "
                "('wxbudget history' shows both)"
            )
        )
    notifying.check_flag(notify)
    if batch is not None:
        _undo_batch(options, batch.strip(), yes, dry_run, concurrency, override_limits, notify)
        return
    with open_client(options) as client:
        from wxbudget.journal import Journal

        journal = Journal(client.settings.audit_log)
        found = _reverted(client, journal, str(name))
        if found.brand_id and found.brand_id != client.settings.brand_id:
            # The change was made for another brand (--brand-id): undo it for that brand.
            if options.brand_id is not None:
                raise UsageError(
                    _(
                        "out_request_no {out_request_no} was made for brand "
                        "{brand_id}, not --brand-id {flag_brand_id}",
                        out_request_no=found.out_request_no,
                        brand_id=found.brand_id,
                        flag_brand_id=options.brand_id,
                    )
                )
            with open_client(options._replace(brand_id=found.brand_id)) as branded:
                _undo_one(options, branded, journal, found, yes, dry_run, override_limits, notify)
            return
        _undo_one(options, client, journal, found, yes, dry_run, override_limits, notify)


def _reverted(client: Client, journal: Journal, name: str) -> Reverted:
    from wxbudget import undo as undoing

    operations = list(journal.operations())
    found = undoing.find(journal, client.settings, name)
    return undoing.reverted(found, client.settings, undoing.undos_of(operations))


def _undo_one(
    options: GlobalOptions,
    client: Client,
    journal: Journal,
    found: Reverted,
    yes: bool,
    dry_run: bool,
    override: bool,
    notify: str | None,
) -> None:
    from wxbudget import budget, render
    from wxbudget.cli.change import ChangeRequest, change_with

    render.notice(
        _("undo of {change}: back to {before:,}", change=found.describe(), before=found.before)
    )
    number = found.unfinished_undo
    if number is not None:
        render.notice(
            _("an interrupted undo of it is on record: finishing it ({number})", number=number)
        )
    request = ChangeRequest(
        mode=found.mode,
        product_coupon_id=found.product_coupon_id,
        stock_id=found.bundle_id or found.stock_id,
        target_text=str(found.before),
        yes=yes,
        dry_run=dry_run,
        expect_current=None,
        out_request_no=number or budget.new_out_request_no(),
        bundle=found.bundle_id is not None,
        override_limits=override,
        notify=notify,
        extra=found.journal_extra(),
        command=f"undo {found.out_request_no}",
        finish=f"wxbudget undo {found.out_request_no}",
        check=found.check_unchanged,
    )
    change_with(options, request, client, journal)


def _undo_batch(
    options: GlobalOptions,
    batch: str,
    yes: bool,
    dry_run: bool,
    concurrency: int,
    override: bool,
    notify: str | None,
) -> None:
    from wxbudget import render
    from wxbudget import undo as undoing
    from wxbudget.batch_journal import BatchJournal
    from wxbudget.cli import notifying
    from wxbudget.cli.apply import BatchKind, apply_plan
    from wxbudget.errors import LocalCheckError
    from wxbudget.journal import Journal
    from wxbudget.plan import parse_plan

    with open_client(options, rate_limited=True) as client:
        settings = client.settings
        changes, left = undoing.batch_changes(Journal(settings.audit_log), settings, batch)
        for reason in left:
            render.notice(_("not undone: {reason}", reason=reason))
        if not changes:
            raise LocalCheckError(
                _("nothing of batch {batch} can be undone; nothing was sent", batch=batch)
                if left
                else _(
                    "nothing of batch {batch} can be undone: none of its changes was applied; "
                    "nothing was sent",
                    batch=batch,
                )
            )
        plan = parse_plan(
            undoing.plan_text(changes).encode(), _("undo of batch {batch}", batch=batch)
        )
        batch_journal = BatchJournal(BatchJournal.default_path(settings, plan))
        batch_journal.load()
        if batch_journal.finished is not None:
            raise LocalCheckError(
                _(
                    "batch {batch} was already undone (finished {time})"
                    "; undoing it again is refused",
                    batch=batch,
                    time=batch_journal.finished.get("time"),
                )
            )
        by_key = {found.key: found for found in changes}

        def adjust(planned: Iterator[Step]) -> Iterator[Step]:
            """Each step linked to the change it reverts; a cap changed since is refused."""
            for step in planned:
                found = by_key.get(step.key)
                if found is not None:
                    step.journal_extra = {
                        **(step.journal_extra or {}),
                        **found.journal_extra(batch),
                    }
                    reason = found.changed_since(step.change) if step.change else None
                    if step.status == "change" and reason is not None:
                        step.status, step.out_request_no, step.reason = "refused", None, reason
                        step.aimed = found.before
                yield step

        apply_plan(
            options,
            client,
            plan,
            batch_journal,
            dry_run=dry_run,
            yes=yes,
            concurrency=concurrency,
            resume=False,
            again=False,
            override=override,
            notify=notifying.target(notify, settings),
            kind=BatchKind(
                command=f"undo --batch {batch}", record={"undoes_batch": batch}, adjust=adjust
            ),
        )


# Completion offers this many of the latest candidates, newest first.
MAX_COMPLETIONS = 20


def _undoable(incomplete: str, *, batches: bool) -> list[tuple[str, str]]:
    """Shell completion: the latest changes (or batches) of the audit journal that can still
    be undone, each with what it did. Never fails: a journal it cannot read offers nothing."""
    try:
        from wxbudget import config
        from wxbudget import undo as undoing
        from wxbudget.cli.embedded import audit_log_path
        from wxbudget.journal import Journal

        # The journal `history` reads (the embedded sandbox's when this run would use it).
        operations = list(Journal(audit_log_path(config.Flags())).operations())
        undos = undoing.undos_of(operations)
        found: dict[str, str] = {}
        for operation in reversed(operations):
            intent, outcome = operation.intent, operation.outcome
            done = any(
                u.outcome and u.outcome.get("result") == "applied"
                for u in undos.get(str(intent.get("operation")), [])
            )
            if intent.get("undoes") or done or not outcome or outcome.get("result") != "applied":
                continue
            name = intent.get("batch") if batches else intent.get("out_request_no")
            if isinstance(name, str) and name.startswith(incomplete) and name not in found:
                fields = {"time": intent.get("time"), "before": intent.get("from")}
                fields["after"] = intent.get("to")
                found[name] = localize(
                    _(
                        "{time} stock {stock_id}: {before} -> {after}",
                        stock_id=intent.get("stock_id"),
                        **fields,
                    )
                    if intent.get("stock_id")
                    else _(
                        "{time} bundle {bundle_id}: {before} -> {after}",
                        bundle_id=intent.get("stock_bundle_id"),
                        **fields,
                    )
                )
            if len(found) >= MAX_COMPLETIONS:
                break
        return list(found.items())
    except Exception:  # completion must never print an error into the shell
        return []
