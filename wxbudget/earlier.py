"""Interrupted operations: what a signal left in flight, and settling it before the next write.

A run ended by SIGINT or SIGTERM while a write was in flight leaves an `interrupted` record
(besides the write's outcome, when it came). Before any new write on the same cap, the latest
operation there is looked at: if it has no outcome, or a signal ended its run, the verified read
the new change is planned from settles it (its outcome recorded), and a relative change that
would stack on it is held back until the operator says so. Once a later run went ahead, a
`settled` record closes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from wxbudget.budget import Change
from wxbudget.errors import ExitCode
from wxbudget.i18n import _
from wxbudget.interrupts import INTERRUPTS
from wxbudget.journal import Journal, is_running, now_text, target_key
from wxbudget.models import UpdateMode

if TYPE_CHECKING:
    from wxbudget.settings import Settings


def settle_interrupted(journal: Journal, intent: dict[str, Any]) -> None:
    """Append the outcome of an intent whose write was found applied by re-reading the stock;
    the re-run that found it is the operator's answer, so it counts as settled."""
    operation = intent.get("operation")
    if not isinstance(operation, str):
        return
    if not journal.has_outcome(operation):
        _record_settled_outcome(
            journal, intent, "applied", _("confirmed by re-reading the stock on a re-run")
        )
    acknowledge(journal, intent)


def _record_settled_outcome(
    journal: Journal, intent: dict[str, Any], result: str, message: str
) -> dict[str, Any]:
    entry = {
        "type": "outcome",
        "operation": intent.get("operation"),
        "time": now_text(),
        "out_request_no": intent.get("out_request_no"),
        "result": result,
        "attempts": 0,
        "http_status": None,
        "code": None,
        "request_id": None,
        "verified": True,
        "reconciled": True,
        "exit_code": 0 if result == "applied" else int(ExitCode.CONFLICT),
        "message": message,
    }
    journal.append(entry)
    return entry


def acknowledge(journal: Journal, intent: dict[str, Any]) -> None:
    """Close an interrupted operation: a later run saw its outcome and went on."""
    operation = intent.get("operation")
    if isinstance(operation, str) and journal.interruption(operation) is not None:
        journal.append({"type": "settled", "operation": operation, "time": now_text()})


def account(settings: Settings) -> str:
    """Who writes, and where: the signing identity and the API host (a sandbox's port apart)."""
    return f"{settings.identity}@{host_of(settings)}"


def host_of(settings: Settings) -> str:
    return urlsplit(settings.base_url).hostname or ""


@dataclass(frozen=True)
class EarlierChange:
    """An interrupted earlier operation on the same cap, settled by the read just made.

    `in_place`: the cap is not where that operation started (it is at its target, or moved
    since), so a new relative change would come on top of it.
    """

    intent: dict[str, Any]
    outcome: dict[str, Any]
    signal: str | None
    current: int

    @property
    def in_place(self) -> bool:
        return self.current != self.intent.get("from")

    def describe(self) -> str:
        intent = self.intent
        how = (
            _("interrupted by {signal}", signal=self.signal)
            if self.signal
            else _("ended without an outcome")
        )
        if self.signal == OUTPUT_FAILED:
            how = _("its run could not show its result")
        verb = "set-max" if intent.get("update_mode") == UpdateMode.MAX_COUNT.value else "set-daily"
        subject = (
            _("bundle {stock_bundle_id}", stock_bundle_id=intent.get("stock_bundle_id"))
            if intent.get("stock_bundle_id")
            else _("stock {stock_id}", stock_id=intent.get("stock_id"))
        )
        mode = UpdateMode(str(intent.get("update_mode")))
        if self.current == intent.get("to"):
            state = _(
                "it was applied: {label} now {current:,}", label=mode.label, current=self.current
            )
        else:
            state = _(
                "{label} now {current:,}, neither {before} before nor {after} after it",
                label=mode.label,
                current=self.current,
                before=intent.get("from"),
                after=intent.get("to"),
            )
        return _(
            "an earlier {verb} {target} on {subject} (out_request_no "
            "{out_request_no}, {time}, {how}) "
            "{before} -> {after}: {state}",
            verb=verb,
            target=intent.get("target"),
            subject=subject,
            out_request_no=intent.get("out_request_no"),
            time=intent.get("time"),
            how=how,
            before=intent.get("from"),
            after=intent.get("to"),
            state=state,
        )


def settle_earlier(
    journal: Journal, settings: Settings, change: Change, *, record: bool = True
) -> EarlierChange | None:
    """Find an interrupted earlier operation on the change's cap and settle it by the verified
    read the change was planned from (`change.current`).

    Interrupted means: no outcome on record (a crash, kill -9, a forced stop) while the process
    that wrote it is gone, or its run was ended by a signal whatever it recorded, and no later
    run has settled it. Returns it when it
    is in place (a relative change would stack on it); otherwise it is marked settled (unless
    `record` is False, for a dry run) and None is returned.
    """
    key = target_key(
        account(settings),
        change.stock.product_coupon_id,
        None if change.bundle_id else change.stock.stock_id,
        change.bundle_id,
        change.mode.value,
    )
    intent = journal.latest_on(key)
    if intent is None or intent.get("out_request_no") == change.out_request_no:
        return None
    operation = str(intent.get("operation"))
    outcome = journal.outcome(operation)
    interrupted = journal.interruption(operation)
    if outcome is not None and interrupted is None:
        return None
    if outcome is None and is_running(intent.get("process")):
        # Not interrupted: another wxbudget is sending it right now (current_* guards us).
        return None
    current = change.current
    if outcome is None:
        if current == intent.get("to"):
            result, message = "applied", _("confirmed by a verified read before the next write")
        elif current == intent.get("from"):
            result, message = "not_applied", _("the cap was unchanged at the next write")
        else:
            result, message = (
                "unknown",
                _("the cap was {current} at the next write", current=current),
            )
        outcome = _record_settled_outcome(journal, intent, result, message)
    earlier = EarlierChange(
        intent=intent,
        outcome=outcome,
        signal=str(interrupted.get("signal")) if interrupted else None,
        current=current,
    )
    if earlier.in_place:
        return earlier
    if record:
        acknowledge(journal, intent)
    return None


# The `signal` of an interruption that was no signal: the result could not be written.
OUTPUT_FAILED = "stdout"
# Operations this process already marked interrupted (the write path and the CLI both may).
_MARKED: set[tuple[int, str]] = set()


def record_interruption(
    journal: Journal,
    identity: str,
    out_request_no: str,
    *,
    forced: bool = False,
    cause: str | None = None,
) -> None:
    """Note that a signal (or `cause`, e.g. a stdout that failed) ended the run while this
    operation was in flight or before its outcome reached the operator."""
    intent = journal.find_intent(identity, out_request_no)
    cause = cause or (INTERRUPTS.name if INTERRUPTS.received else None)
    if intent is None or cause is None:
        return
    operation = str(intent.get("operation"))
    if (INTERRUPTS.run, operation) in _MARKED:
        return
    _MARKED.add((INTERRUPTS.run, operation))
    journal.append(
        {
            "type": "interrupted",
            "operation": operation,
            "time": now_text(),
            "out_request_no": out_request_no,
            "signal": cause,
            "forced": forced,
        }
    )


def note_interruption(journal: Journal, identity: str, change: Change) -> None:
    """A signal during the write marks it; a run that finished an earlier interrupted write
    of the same out_request_no undisturbed closes that one."""
    if INTERRUPTS.received:
        record_interruption(journal, identity, change.out_request_no)
        return
    intent = journal.find_intent(identity, change.out_request_no)
    if intent is not None:
        acknowledge(journal, intent)
