"""The installed `wxbudget` script in subprocesses: a TTY, start-up imports, completion.

The README quick start runs in tests/test_readme.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.helpers.cli import SCRIPT, converse
from tests.helpers.cli import script as wxbudget
from wxbudget.sandbox import RunningSandbox


def test_python_dash_m_runs_the_cli() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "wxbudget", "--version"], capture_output=True, text=True, check=True
    )
    assert result.stdout.startswith("wxbudget ")


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["set-max", "--help"]])
def test_help_and_version_import_no_network_or_crypto(args: list[str]) -> None:
    probe = (
        "import sys\n"
        f"sys.argv = ['wxbudget', *{args!r}]\n"
        "from wxbudget.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('requests', 'cryptography', 'sqlite3', 'wxbudget.sandbox.server')"
        " if m in sys.modules]\n"
        "print('HEAVY', heavy, file=sys.stderr)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert "HEAVY []" in result.stderr


def run_on_a_tty(args: list[str], answer: bytes) -> tuple[int, str]:
    """Run the script on a pseudo-terminal, answering the confirmation prompt."""
    return converse(args, [(b"[y/N]", answer)])


@pytest.mark.slow
@pytest.mark.parametrize(
    ("answer", "code", "cap"), [(b"y\n", 0, 10_000_100), (b"n\n", 2, 10_000_000)]
)
def test_confirmation_on_a_terminal(
    sandbox: RunningSandbox, answer: bytes, code: int, cap: int
) -> None:
    status, output = run_on_a_tty(["set-max", "1000000013", "1000000013001", "+100"], answer)
    assert "Apply this change? [y/N]" in output
    assert status == code, output
    shown = wxbudget("show", "1000000013", "1000000013001", "-o", "json")
    assert json.loads(shown.stdout)["stock_send_rule"]["max_count"] == cap


@pytest.mark.parametrize(
    ("shell", "marker"),
    [
        ("bash", "complete -o default -F _wxbudget_completion wxbudget"),
        ("zsh", "#compdef wxbudget"),
        ("fish", "complete --command wxbudget --no-files"),
    ],
)
def test_shell_completion_scripts(shell: str, marker: str) -> None:
    script = subprocess.run(
        [SCRIPT],
        env=os.environ | {"_WXBUDGET_COMPLETE": f"source_{shell}"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert marker in script
    completions = subprocess.run(
        [SCRIPT],
        env=os.environ
        | {
            "_WXBUDGET_COMPLETE": f"complete_{shell}",
            "_TYPER_COMPLETE_ARGS": "wxbudget bundle s",
            "COMP_WORDS": "wxbudget bundle s",
            "COMP_CWORD": "2",
            "_TYPER_COMPLETE_FISH_ACTION": "get-args",
        },
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "set-max" in completions
    assert "set-daily" in completions


def test_root_help_summaries_match_each_commands_own_help() -> None:
    """The root --help lists commands from a table without building them; it must not drift."""
    import typer
    import typer.main

    from wxbudget.cli import COMMANDS, app

    group = typer.main.get_command(app)
    context = typer.Context(group)
    for name, (_, _, _, summary) in COMMANDS.items():
        command = group.get_command(context, name)  # type: ignore[attr-defined]
        text = command.short_help or command.help or ""
        assert " ".join(text.split("\n\n")[0].split()) == summary, name


@pytest.mark.parametrize(
    "args", [["show", "1000000013", "1000000013001"], ["history", "--limit", "1"]]
)
def test_the_collector_is_back_on_for_the_commands_own_work(
    sandbox: RunningSandbox, args: list[str]
) -> None:
    # entry.main turns the cyclic collector off for start-up; the root callback freezes what
    # start-up made and turns it back on before the command's own work (a batch, a watch, a
    # server must collect as usual).
    probe = (
        "import gc, sys\n"
        f"sys.argv = ['wxbudget', *{args!r}]\n"
        "from wxbudget.entry import main\n"
        "try:\n    main()\n"
        "except SystemExit as done:\n    print('EXIT', done.code, file=sys.stderr)\n"
        "print('COLLECTOR', gc.isenabled(), gc.get_freeze_count() > 1000, file=sys.stderr)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        env=os.environ | {"WXBUDGET_CONFIG": str(sandbox.config_path)},
    )
    assert "EXIT 0" in result.stderr, result.stderr
    assert "COLLECTOR True True" in result.stderr, result.stderr
