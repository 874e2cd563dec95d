"""Undo: take journaled changes back, each undo an operation of its own linked to the one it
reverts (`undoes`, `undoes_out_request_no`; a batch's also `undoes_batch`).

What may be undone is decided from the audit journal alone, under the journal's trust rules:
only an applied change of this account, whose line is one wxbudget wrote (its recorded `to` is
what its own target gives from its `from`, its ids are ids), that is not itself an undo and
was not undone already. An undo that was interrupted is finished with its own recorded
out_request_no, so a change is taken back at most once however often the undo is re-run.
The cap goes back to the recorded `from` with the recorded `to` as `current_*`: if anyone changed
the cap since, the undo refuses (exit 5) before sending, and WeChat Pay refuses a change made in
between.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from wxbudget.budget import Change, gives, parse_target
from wxbudget.earlier import host_of
from wxbudget.errors import LocalCheckError, StaleCurrentError, UsageError
from wxbudget.i18n import _
from wxbudget.ids import is_id
from wxbudget.journal import Journal, Operation, intent_account
from wxbudget.models import UpdateMode
from wxbudget.settings import Settings

# Outcomes after which an undo may have happened: finished with its own number, never redone.
UNFINISHED = (None, "unknown")


@dataclass(frozen=True)
class Reverted:
    """An applied change an undo takes back, as its intent recorded it."""

    intent: dict[str, Any]
    mode: UpdateMode
    before: int  # the recorded `from`: the undo's target
    after: int  # the recorded `to`: what the cap must still be
    # The out_request_no of an interrupted undo of this change, to finish it with.
    unfinished_undo: str | None = None
    # Already undone by the undo of its batch (a re-run of that undo keeps it in its plan).
    undone_by: str | None = None

    @property
    def operation(self) -> str:
        return str(self.intent["operation"])

    @property
    def out_request_no(self) -> str:
        return str(self.intent["out_request_no"])

    @property
    def product_coupon_id(self) -> str:
        return str(self.intent["product_coupon_id"])

    @property
    def stock_id(self) -> str:
        return str(self.intent.get("stock_id") or "")

    @property
    def bundle_id(self) -> str | None:
        found = self.intent.get("stock_bundle_id")
        return str(found) if found else None

    @property
    def brand_id(self) -> str | None:
        found = self.intent.get("brand_id")
        return str(found) if found else None

    @property
    def subject(self) -> str:
        if self.bundle_id:
            return _("stock bundle {bundle_id}", bundle_id=self.bundle_id)
        return _("stock {stock_id}", stock_id=self.stock_id)

    @property
    def key(self) -> str:
        """As a batch step names the cap (`Step.key`)."""
        if self.bundle_id:
            return f"{self.product_coupon_id}/bundle/{self.bundle_id}/{self.mode.value}"
        return f"{self.product_coupon_id}/{self.stock_id}/{self.mode.value}"

    def describe(self) -> str:
        return _(
            "out_request_no {out_request_no} ({time}, by "
            "{actor}): {label} of {subject} "
            "{before:,} -> {after:,}",
            out_request_no=self.out_request_no,
            time=self.intent.get("time"),
            actor=self.intent.get("actor"),
            label=self.mode.label,
            subject=self.subject,
            before=self.before,
            after=self.after,
        )

    def journal_extra(self, batch: str | None = None) -> dict[str, Any]:
        """What the undo's intent records of the change it reverts."""
        extra: dict[str, Any] = {
            "undoes": self.operation,
            "undoes_out_request_no": self.out_request_no,
        }
        if batch is not None:
            extra["undoes_batch"] = batch
        return extra

    def changed_since(self, change: Change) -> str | None:
        """Why the planned undo must not be sent: the cap is no longer what this change set."""
        if change.is_noop or (change.current == self.after and self.undone_by is None):
            return None
        if self.undone_by is not None:
            return _(
                "already undone by out_request_no {undone_by}, and the {label} "
                "of {subject} was changed since (now {current:,}); nothing was sent",
                undone_by=self.undone_by,
                label=self.mode.label,
                subject=self.subject,
                current=change.current,
            )
        return _(
            "the {label} of {subject} is now {current:,}, not the "
            "{after:,} that out_request_no {out_request_no} set: it was changed "
            "since, and undoing would overwrite that change; nothing was sent",
            label=self.mode.label,
            subject=self.subject,
            current=change.current,
            after=self.after,
            out_request_no=self.out_request_no,
        )

    def check_unchanged(self, change: Change) -> None:
        """The single undo's check of its planned change (exit 5 when it moved)."""
        reason = self.changed_since(change)
        if reason is not None:
            raise StaleCurrentError(reason)


def account(settings: Settings) -> str:
    """The account an intent must have run as to be undone with these settings."""
    return f"{settings.identity}@{host_of(settings)}"


def find(journal: Journal, settings: Settings, name: str) -> Operation:
    """The operation named by its out_request_no (this account's) or its operation id."""
    named = name.strip()
    found: Operation | None = None
    for operation in journal.operations():
        intent = operation.intent
        if intent.get("out_request_no") == named and intent.get("mchid") == settings.identity:
            found = operation  # the latest intent of a number is the one that counts
        elif operation.intent.get("operation") == named and found is None:
            found = operation
    if found is None:
        raise UsageError(
            _(
                "no change with out_request_no or operation id {named!r} in the audit journal "
                "{path} of this profile's account; 'wxbudget history' lists them",
                named=named,
                path=journal.path,
            )
        )
    return found


def undos_of(operations: Iterable[Operation]) -> dict[str, list[Operation]]:
    """Every undo in the journal, by the operation id it reverts."""
    found: dict[str, list[Operation]] = {}
    for operation in operations:
        reverted = operation.intent.get("undoes")
        if isinstance(reverted, str):
            found.setdefault(reverted, []).append(operation)
    return found


def reverted(
    operation: Operation,
    settings: Settings,
    undos: dict[str, list[Operation]],
    batch: str | None = None,
) -> Reverted:
    """What undoing `operation` sets, or why it may not be undone (nothing is sent).

    With `batch`, the undo of that batch is re-running: a change it already took back stays
    in its plan (marked `undone_by`), so the plan, and with it the batch journal, is the same.
    """
    intent = operation.intent
    number = intent.get("out_request_no")
    if not intent.get("host"):
        raise UsageError(
            _(
                "out_request_no {number} records no API host (an older wxbudget wrote it), so "
                "which account it changed cannot be told: set the cap back with set-max instead",
                number=number,
            )
        )
    if intent_account(intent) != account(settings):
        raise UsageError(
            _(
                "out_request_no {number} was made as {intent_account}, not "
                "{account}: undo it with the profile it was made with",
                number=number,
                intent_account=intent_account(intent),
                account=account(settings),
            )
        )
    mode, before, after = _trusted(intent)
    if intent.get("undoes"):
        raise LocalCheckError(
            _(
                "out_request_no {number} is itself an undo (of out_request_no "
                "{undoes_out_request_no}); an undo is not undone: set the cap you "
                "want with set-max or set-daily",
                number=number,
                undoes_out_request_no=intent.get("undoes_out_request_no"),
            )
        )
    outcome = operation.outcome
    if outcome is None or outcome.get("result") != "applied":
        result = (
            _("no outcome on record")
            if outcome is None
            else _("result {result}", result=outcome.get("result"))
        )
        raise LocalCheckError(
            _(
                "out_request_no {number} was not applied ({result}): nothing to undo; finish an "
                "interrupted change first (its command with --out-request-no), then undo it",
                number=number,
                result=result,
            )
        )
    unfinished: str | None = None
    undone_by: str | None = None
    for undo in undos.get(str(intent.get("operation")), []):
        state = undo.outcome.get("result") if undo.outcome else None
        if state == "applied" and batch is not None and undo.intent.get("undoes_batch") == batch:
            undone_by = str(undo.intent.get("out_request_no"))
        elif state == "applied":
            raise LocalCheckError(
                _(
                    "out_request_no {number} was already undone by out_request_no "
                    "{out_request_no} ({time}); undoing it "
                    "again is refused",
                    number=number,
                    out_request_no=undo.intent.get("out_request_no"),
                    time=undo.intent.get("time"),
                )
            )
        if state in UNFINISHED:
            unfinished = str(undo.intent.get("out_request_no"))
    return Reverted(intent, mode, before, after, unfinished, undone_by)


def _trusted(intent: dict[str, Any]) -> tuple[UpdateMode, int, int]:
    """The recorded change, believed only when its line is one wxbudget wrote."""
    number = intent.get("out_request_no")
    before, after = intent.get("from"), intent.get("to")
    mode: UpdateMode | None = None
    target = None
    try:
        mode = UpdateMode(str(intent.get("update_mode")))
        target = parse_target(str(intent.get("target")))
    except (ValueError, UsageError):
        pass
    ids = [intent.get("product_coupon_id"), intent.get("stock_bundle_id") or intent.get("stock_id")]
    if mode is UpdateMode.MAX_COUNT_PER_DAY and before is None and target is not None:
        raise LocalCheckError(
            _(
                "out_request_no {number} gave a stock without a daily cap one; a cap cannot be "
                "set back to unlimited, so it cannot be undone: lower it with set-daily instead",
                number=number,
            )
        )
    if (
        mode is None
        or target is None
        or not all(is_id(value) for value in ids)
        or not gives(target, before, after)
        or not isinstance(before, int)
        or not isinstance(after, int)
    ):
        raise StaleCurrentError(
            _(
                "out_request_no {number}: the audit journal records {update_mode} "
                "{target!r} of {stock!r} as {before!r} -> {after!r}, which is not a "
                "change wxbudget wrote (edited or planted), so nothing was sent",
                number=number,
                update_mode=intent.get("update_mode"),
                target=intent.get("target"),
                stock=ids[1],
                before=before,
                after=after,
            )
        )
    return mode, before, after


def batch_changes(
    journal: Journal, settings: Settings, batch: str
) -> tuple[list[Reverted], list[str]]:
    """The applied changes of batch `batch` to revert, and why others are left (listed)."""
    operations = list(journal.operations())
    undos = undos_of(operations)
    members = [op for op in operations if op.intent.get("batch") == batch]
    if not members:
        raise UsageError(
            _(
                "no batch {batch!r} in the audit journal {path}; 'wxbudget history' shows "
                "each write's batch",
                batch=batch,
                path=journal.path,
            )
        )
    if any(op.intent.get("undoes") for op in members):
        raise LocalCheckError(
            _(
                "batch {batch} is itself an undo (of batch {undoes_batch}); an undo is not undone",
                batch=batch,
                undoes_batch=members[0].intent.get("undoes_batch"),
            )
        )
    changes: dict[str, Reverted] = {}
    left: list[str] = []
    for operation in _latest_per_number(members):
        if operation.outcome is None or operation.outcome.get("result") != "applied":
            continue  # never applied: nothing to take back
        try:
            found = reverted(operation, settings, undos, batch)
        except (LocalCheckError, StaleCurrentError, UsageError) as refused:
            left.append(refused.line())
            continue
        changes.setdefault(found.key, found)
    return list(changes.values()), left


def _latest_per_number(operations: list[Operation]) -> Iterator[Operation]:
    """One operation per out_request_no: a resumed step repeats its intent."""
    latest: dict[object, Operation] = {}
    for operation in operations:
        latest[operation.intent.get("out_request_no")] = operation
    yield from latest.values()


def plan_text(changes: list[Reverted]) -> str:
    """The plan file that takes the changes back: each cap to its recorded `from` (a stock's
    two caps on one row, as a plan file holds each stock once)."""
    rows: dict[tuple[str, str, str], dict[UpdateMode, Reverted]] = {}
    for change in changes:
        where = (change.product_coupon_id, change.stock_id, change.bundle_id or "")
        rows.setdefault(where, {})[change.mode] = change
    lines = ["product_coupon_id,stock_id,stock_bundle_id,max_count,max_count_per_day,brand_id"]
    for where, caps in sorted(rows.items()):
        cells = [str(caps[mode].before) if mode in caps else "" for mode in UpdateMode]
        brand = next(iter(caps.values())).brand_id or ""
        lines.append(",".join([*where, *cells, brand]))
    return "\n".join(lines) + "\n"
