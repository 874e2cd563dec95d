"""Views of profiles: the list of a config file's profiles, and one profile's keys and files."""

from __future__ import annotations

from typing import TYPE_CHECKING

from wxbudget.render import table
from wxbudget.render.console import stdout

if TYPE_CHECKING:
    from pathlib import Path

    from wxbudget.profiles import ProfileReport, ProfileSummary


def profiles_table(config_path: Path, summaries: list[ProfileSummary]) -> None:
    columns = [
        table.Column(name)
        for name in ("default", "profile", "kind", "mchid / brand_id", "base_url")
    ]
    rows = [
        (
            "*" if summary.is_default else "",
            summary.name,
            summary.kind,
            summary.identity or "-",
            summary.base_url,
        )
        for summary in summaries
    ]
    table.show(stdout(), f"profiles in {config_path}", columns, rows, caption="* default profile")


def profile_report(report: ProfileReport) -> None:
    """Keys and values; under each key file: exists, mode, SHA-256 fingerprint. No key content."""
    from rich.text import Text

    default = " (default)" if report.is_default else ""
    rows: list[tuple[str, str | Text]] = []
    files = {key_file.key: key_file for key_file in report.files}
    for key, value in report.values.items():
        rows.append((key, str(value)))
        key_file = files.get(key)
        if key_file is None:
            continue
        if not key_file.exists:
            rows.append(("", Text("does not exist", style="bold red")))
            continue
        rows.append(("", Text(f"mode {key_file.mode}", style="dim")))
        if key_file.fingerprint:
            label = "public half " if key == "private_key_file" else ""
            rows.append(("", Text(f"{label}sha256 {key_file.fingerprint}", style="dim")))
        if key_file.problem:
            rows.append(("", Text(key_file.problem, style="bold red")))
    table.show(
        stdout(),
        f"profile {report.name}{default} in {report.config_path}",
        [table.Column("key"), table.Column("value")],
        rows,
        pairs=True,
    )
