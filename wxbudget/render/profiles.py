"""Views of profiles: the list of a config file's profiles, and one profile's keys and files."""

from __future__ import annotations

from typing import TYPE_CHECKING

from wxbudget.i18n import _, localize
from wxbudget.render import table
from wxbudget.render.console import stdout

if TYPE_CHECKING:
    from pathlib import Path

    from wxbudget.profiles import ProfileReport, ProfileSummary

# A profile's kind as people read it: the value of its `kind` key and, in Chinese, what WeChat
# Pay calls that kind of merchant (as the state names show the state code).
KIND_NAMES = {
    "partner": _("partner (service provider)"),
    "brand": _("brand (brand-direct)"),
}


def kind_name(kind: str) -> str:
    return KIND_NAMES.get(kind, kind)


def profiles_table(config_path: Path, summaries: list[ProfileSummary]) -> None:
    columns = [
        table.Column(name)
        for name in (_("default"), _("profile"), _("kind"), "mchid / brand_id", "base_url")
    ]
    rows = [
        (
            "*" if summary.is_default else "",
            summary.name,
            kind_name(summary.kind),
            summary.identity or "-",
            summary.base_url,
        )
        for summary in summaries
    ]
    title = _("profiles in {path}", path=config_path)
    table.show(stdout(), title, columns, rows, caption=_("* default profile"))


def profile_report(report: ProfileReport) -> None:
    """Keys and values; under each key file: exists, mode, SHA-256 fingerprint. No key content."""
    from rich.text import Text

    rows: list[tuple[str, str | Text]] = []
    files = {key_file.key: key_file for key_file in report.files}
    for key, value in report.values.items():
        rows.append((key, kind_name(str(value)) if key == "kind" else str(value)))
        key_file = files.get(key)
        if key_file is None:
            continue
        if not key_file.exists:
            rows.append(("", Text(localize(_("does not exist")), style="bold red")))
            continue
        rows.append(("", Text(localize(_("mode {mode}", mode=key_file.mode)), style="dim")))
        if key_file.fingerprint:
            if key == "private_key_file":
                shown = _("public half sha256 {fingerprint}", fingerprint=key_file.fingerprint)
            else:
                shown = _("sha256 {fingerprint}", fingerprint=key_file.fingerprint)
            rows.append(("", Text(localize(shown), style="dim")))
        if key_file.problem:
            rows.append(("", Text(localize(key_file.problem), style="bold red")))
    table.show(
        stdout(),
        _("profile {name} (default) in {path}", name=report.name, path=report.config_path)
        if report.is_default
        else _("profile {name} in {path}", name=report.name, path=report.config_path),
        [table.Column(_("key")), table.Column(_("value"))],
        rows,
        pairs=True,
    )
