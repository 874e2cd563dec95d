"""What the operator sees: nothing cut at any width, one width rule, NO_COLOR means no styling,
help that reads at 80 columns, messages that say what happened."""

from __future__ import annotations

import inspect
import json
import re
from pathlib import Path

import pytest

from tests.helpers.cli import run, script
from tests.helpers.sandboxes import Sandboxes, sandbox_profile_copy
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


DEMO_IDS = [f"100000001300{index}" for index in range(1, 8)]


@pytest.mark.parametrize("columns", [40, 50, 60, 80])
def test_no_id_or_number_is_ever_cut_at_any_width(
    columns: int, monkeypatch: pytest.MonkeyPatch, sandboxes: Sandboxes
) -> None:
    sandboxes.start(rate_limit=0)
    monkeypatch.setenv("COLUMNS", str(columns))
    listed = run("list", "1000000013").stdout
    for stock in DEMO_IDS:
        assert stock in listed, listed
    for number in ("10,000,000", "50,000", "12,000"):
        assert re.search(rf"(?<![\d,]){number}(?![\d,])", listed), (number, listed)
    shown = run("show", "1000000013", "1000000013001").stdout
    assert "1000000013001" in shown
    assert re.search(r"(?<![\d,])10,000,000(?![\d,])", shown), shown
    assert max(len(line) for line in (listed + shown).splitlines()) <= columns


@pytest.mark.parametrize("columns", [40, 50, 60])
def test_plans_and_history_keep_every_id_and_number_whole_at_narrow_widths(
    columns: int, monkeypatch: pytest.MonkeyPatch, sandboxes: Sandboxes, tmp_path: Path
) -> None:
    sandboxes.start(rate_limit=0)
    monkeypatch.setenv("COLUMNS", str(columns))
    plan = tmp_path / "plan.csv"
    plan.write_text(
        "product_coupon_id,stock_id,max_count,max_count_per_day\n"
        "1000000013,1000000013001,+100,\n"
        "1000000013,1000000013002,60000,+10%\n"
    )
    whole = r"(?<![\d,]){}(?![\d,])"
    table = run("apply", str(plan), "--dry-run").stdout
    applied = run("apply", str(plan), "--yes").stderr  # the plan table, before it is applied
    history = run("history").stdout
    for shown in (table, applied):
        assert re.search(whole.format("10,000,000 -> 10,000,100"), shown), shown
        assert re.search(whole.format("50,000 -> 60,000"), shown), shown
        assert re.search(whole.format("5,000 -> 5,500"), shown), shown
    for shown in (table, applied, history):
        for stock in ("1000000013001", "1000000013002"):
            assert re.search(whole.format(stock), shown), shown
    recorded = json.loads(run("history", "-o", "json").stdout)
    assert len(recorded) == 3
    for operation in recorded:
        assert operation["intent"]["out_request_no"] in history, history


@pytest.mark.slow
def test_piped_stdout_and_stderr_share_one_width(sandboxes: Sandboxes, tmp_path: Path) -> None:
    sandboxes.start(rate_limit=0)
    plan = tmp_path / "plan.csv"
    plan.write_text(
        "product_coupon_id,stock_id,max_count,max_count_per_day\n"
        "1000000013,1000000013002,+1,\n"
        "1000000013,1000000013004,+1,\n"  # STOPPED: refused, with a long reason
    )
    environment = {"COLUMNS": ""}  # piped, no COLUMNS: the piped width for both streams
    dry = script("apply", str(plan), "--dry-run", env=environment)
    applied = script("apply", str(plan), "--yes", env=environment, expect=8)
    stdout_table = [line for line in dry.stdout.splitlines() if "STOPPED" in line]
    stderr_table = [line for line in applied.stderr.splitlines() if "STOPPED" in line]
    assert stdout_table
    assert stderr_table
    # The same plan row, laid out the same on stdout and on stderr: one width rule.
    assert stdout_table[0] == stderr_table[0]
    assert len(stderr_table[0]) > 80  # not wrapped to 80 columns a word at a time


def test_a_refused_connection_says_nothing_was_sent(sandboxes: Sandboxes, tmp_path: Path) -> None:
    sandbox = sandboxes.start(rate_limit=0)
    config = sandbox_profile_copy(sandbox, tmp_path, base_url="http://127.0.0.1:9")
    args = ("--config", str(config), "--max-retries", "0")
    shown = run(*args, "show", "1000000013", "1000000013001", expect=7)
    assert "could not connect (connection refused or host unreachable); nothing was sent" in (
        shown.stderr
    )
    assert "outcome" not in shown.stderr


def test_a_small_change_is_never_shown_as_zero_percent(sandboxes: Sandboxes) -> None:
    from tests.helpers.logs import posts_of

    sandbox = sandboxes.start(rate_limit=0)
    args = ["set-max", "1000000013", "1000000013001"]  # total cap 10,000,000
    assert "10,000,000 -> 10,000,001 (+1, +<0.1%)" in run(*args, "+1", "--dry-run").stderr
    assert "10,000,000 -> 9,999,999 (-1, -<0.1%)" in run(*args, "-1", "--dry-run").stderr
    assert "(+50,000, +0.5%)" in run(*args, "+50000", "--dry-run").stderr
    assert posts_of(sandbox.home) == []


def test_plus_and_minus_a_percentage_move_a_cap_by_the_same_amount(sandboxes: Sandboxes) -> None:
    sandboxes.start(rate_limit=0)
    args = ["set-max", "1000000013", "1000000013001"]
    run(*args, "10010", "--yes")
    # 5% of 10,010 is 500.5: the change rounds half away from zero, either way.
    assert "10,010 -> 10,511 (+501, +5.0%)" in run(*args, "+5%", "--dry-run").stderr
    assert "10,010 -> 9,509 (-501, -5.0%)" in run(*args, "-5%", "--dry-run").stderr
