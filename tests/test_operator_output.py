"""What the operator sees: nothing cut at any width, one width rule, NO_COLOR means no styling,
help that reads at 80 columns, messages that say what happened."""

from __future__ import annotations

import inspect
import re

import pytest

from tests.helpers.cli import run
from wxbudget.cli import COMMANDS

HELP_COLUMNS = 80
SUBCOMMANDS = {
    "bundle": ["show", "set-max", "set-daily"],
    "profile": ["init", "list", "show", "remove"],
    "certs": ["download", "list"],
    "sandbox": ["serve"],
}


def command_paths() -> list[list[str]]:
    paths: list[list[str]] = [[]]
    for name in COMMANDS:
        paths.append([name])
        paths.extend([name, sub] for sub in SUBCOMMANDS.get(name, []))
    return paths


def docstring_of(path: list[str]) -> str:
    from typer.main import get_command

    from wxbudget.cli import app

    command = get_command(app)
    for name in path:
        command = command.get_command(None, name)  # type: ignore[attr-defined]
    return inspect.cleandoc(command.help or "")


@pytest.mark.parametrize("path", command_paths(), ids=lambda path: " ".join(path) or "root")
def test_help_at_80_columns_cuts_no_word_and_no_example(
    path: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", str(HELP_COLUMNS))
    shown = run(*path, "--help").stdout
    assert "…" not in shown, shown
    assert max(len(line) for line in shown.splitlines()) <= HELP_COLUMNS
    flat = [re.sub(r"\s+", " ", line.strip(" │")) for line in shown.splitlines()]
    for example in docstring_of(path).splitlines():
        example = re.sub(r"\s+", " ", example.strip())
        if example.startswith("wxbudget "):
            assert any(example in line for line in flat), f"{example!r} is cut in:\n{shown}"
