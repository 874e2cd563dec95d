"""Shell completion knows every command and option, the newer ones included."""

from __future__ import annotations

import os
import re
import subprocess

import pytest

from tests.helpers.cli import SCRIPT


def complete(shell: str, words: str) -> str:
    """What the installed script offers to complete `words` (the last one being typed)."""
    parts = words.split(" ")
    return subprocess.run(
        [SCRIPT],
        env=os.environ
        | {
            "_WXBUDGET_COMPLETE": f"complete_{shell}",
            "_TYPER_COMPLETE_ARGS": words,
            "COMP_WORDS": words,
            "COMP_CWORD": str(len(parts) - 1),
            "_TYPER_COMPLETE_FISH_ACTION": "get-args",
        },
        capture_output=True,
        text=True,
        check=True,
    ).stdout


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
@pytest.mark.parametrize(
    ("words", "offered"),
    [
        ("wxbudget sh", "show"),
        ("wxbudget show 1000000013 --a", "--all"),
        ("wxbudget ch", "check"),
        ("wxbudget check 1000000013 --w", "--watch"),
        ("wxbudget check 1000000013 --min", "--min-remaining-today"),
    ],
)
def test_completion_offers_the_new_commands_and_options(
    shell: str, words: str, offered: str
) -> None:
    assert offered in candidates(shell, complete(shell, words))


def candidates(shell: str, output: str) -> list[str]:
    """The words a shell would offer, read from each shell's own format (not a substring)."""
    if shell == "zsh":  # _arguments '*: :(("word":"help" ...))'
        return re.findall(r'"((?:[^"\\]|\\.)*)":"', output)
    if shell == "fish":  # word<TAB>help, one a line
        return [line.split("\t")[0] for line in output.splitlines()]
    return output.splitlines()  # bash: one word a line


def test_each_shell_offers_the_exact_words() -> None:
    words = "wxbudget check 1000000013 --min"
    expected = ["--min-remaining", "--min-remaining-today"]
    for shell in ("bash", "zsh", "fish"):
        assert candidates(shell, complete(shell, words)) == expected, shell
