"""Shell completion knows every command and option, the newer ones included."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.helpers.cli import SCRIPT, run
from wxbudget.sandbox import RunningSandbox


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
        ("wxbudget un", "undo"),
        ("wxbudget undo --b", "--batch"),
        ("wxbudget undo x --dr", "--dry-run"),
        ("wxbudget set-max 1000000013 1000000013002 +1 --no", "--notify"),
        ("wxbudget set-daily 1000000013 1000000013002 +1 --ov", "--override-limits"),
        ("wxbudget bundle set-max 1000000014 712315129419284901 +1 --no", "--notify"),
        ("wxbudget apply plan.csv --no", "--notify"),
        ("wxbudget profile init prod --li", "--limit"),
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


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_undo_completes_the_changes_and_batches_it_can_take_back(
    shell: str, sandbox: RunningSandbox, tmp_path: Path
) -> None:
    run("set-max", "1000000013", "1000000013002", "+5", "--yes", "--out-request-no", "raise-a1")
    run("set-max", "1000000013", "1000000013002", "+5", "--yes", "--out-request-no", "raise-b1")
    run("undo", "raise-b1", "--yes")  # undone: no longer offered
    plan = tmp_path / "plan.csv"
    plan.write_text(
        "product_coupon_id,stock_id,max_count,max_count_per_day\n1000000013,1000000013001,+1,\n"
    )
    run("apply", str(plan), "--yes")
    (batch,) = {
        op["intent"]["batch"]
        for op in json.loads(run("history", "-o", "json").stdout)
        if op["intent"].get("batch")
    }
    assert candidates(shell, complete(shell, "wxbudget undo raise-")) == ["raise-a1"]
    assert candidates(shell, complete(shell, "wxbudget undo --batch ")) == [batch]
    assert candidates(shell, complete(shell, f"wxbudget undo --batch {batch[:3]}")) == [batch]
    assert not any(candidates(shell, complete(shell, "wxbudget undo --batch zz")))
