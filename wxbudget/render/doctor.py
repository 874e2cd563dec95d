"""The view of a doctor report: one line per check, the fix under it, then the tally."""

from __future__ import annotations

from typing import TYPE_CHECKING

from wxbudget.i18n import _, localize
from wxbudget.render.console import stdout

if TYPE_CHECKING:
    from wxbudget.doctor.model import Report
    from wxbudget.language import Choice

_DOCTOR_STYLES = {"pass": "green", "warn": "bold yellow", "fail": "bold red", "skip": "dim"}


def doctor_report(report: Report) -> None:
    """One line per check on stdout, the fix indented under it, then the tally."""
    from rich.text import Text

    console = stdout()
    if report.profile is not None and report.config_path is not None:
        console.print(f"profile {report.profile} in {report.config_path}", markup=False)
    if report.language is not None:
        console.print(localize(_language_line(report.language)), markup=False)
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
