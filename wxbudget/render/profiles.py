"""Views of profiles: the list of a config file's profiles, and one profile's keys and files."""

from __future__ import annotations

from typing import TYPE_CHECKING

from wxbudget.render.console import stdout

if TYPE_CHECKING:
    from pathlib import Path

    from wxbudget.profiles import ProfileReport, ProfileSummary


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
    stdout().print(table)


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
    stdout().print(table)
