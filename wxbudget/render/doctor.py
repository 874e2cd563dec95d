"""The view of a doctor report: one line per check, the fix under it, then the tally."""

from __future__ import annotations

from typing import TYPE_CHECKING

from wxbudget import i18n
from wxbudget.i18n import _, localize
from wxbudget.printable import printable
from wxbudget.render.console import stdout

if TYPE_CHECKING:
    from wxbudget.doctor.model import Report
    from wxbudget.language import Choice

_DOCTOR_STYLES = {"pass": "green", "warn": "bold yellow", "fail": "bold red", "skip": "dim"}
# The status at the start of each line, and in the tally (JSON keeps the names).
_STATUS_LABELS = {"pass": _("PASS"), "warn": _("WARN"), "fail": _("FAIL"), "skip": _("SKIP")}
_TALLY_NAMES = {"pass": _("pass"), "warn": _("warn"), "fail": _("fail"), "skip": _("skip")}


def doctor_report(report: Report) -> None:
    """One line per check on stdout, the fix indented under it, then the tally."""
    from rich.cells import cell_len
    from rich.text import Text

    console = stdout()
    if report.profile is not None and report.config_path is not None:
        title = _("profile {name} in {path}", name=report.profile, path=report.config_path)
        console.print(printable(localize(title)), markup=False)
    if report.language is not None:
        console.print(localize(_language_line(report.language)), markup=False)
    width = max(len(check.name) for check in report.checks)
    labels = {status: localize(label) for status, label in _STATUS_LABELS.items()}
    label_width = max(cell_len(label) for label in labels.values())
    for check in report.checks:
        status = check.status.value
        label = labels[status]
        line = Text(label + " " * (label_width - cell_len(label)), style=_DOCTOR_STYLES[status])
        line.append(printable(f"  {check.name.ljust(width)}  {localize(check.detail)}"))
        console.print(line, soft_wrap=True)
        if check.fix:
            fix = printable(localize(_("fix: {fix}", fix=check.fix)))
            console.print(Text(f"{' ' * (label_width + 2)}{' ' * width}  {fix}"), soft_wrap=True)
    counts = {status: 0 for status in _DOCTOR_STYLES}
    for check in report.checks:
        counts[check.status.value] += 1
    tally = i18n.join(
        ", ",
        (
            _("{count} {status}", count=count, status=_TALLY_NAMES[status])
            for status, count in counts.items()
        ),
    )
    verdict = _("ok: {tally}", tally=tally) if report.ok else _("FAILED: {tally}", tally=tally)
    console.print(Text(localize(verdict), style="bold" if report.ok else "bold red"))


def _language_line(choice: Choice) -> str:
    from wxbudget.language import ENV_LANG, LANGUAGE_NAMES

    line = _(
        "language: {name} ({code}), chosen by {source}",
        name=LANGUAGE_NAMES[choice.language],
        code=choice.language,
        source=choice.source,
    )
    if choice.ignored is None:
        return line
    return _(
        "{line}; {variable}={value} ignored: set it to zh or en",
        line=line,
        variable=ENV_LANG,
        value=choice.ignored,
    )
