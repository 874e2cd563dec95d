"""With no config file, an unattended write never "succeeds" against a throwaway sandbox: the
embedded sandbox starts on a terminal or when asked (`--sandbox`, `WXBUDGET_SANDBOX=1`), its
JSON results say `"sandbox": true`, and its writes are journaled in the sandbox home."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import tomli_w

from tests.helpers.cli import converse, run
from tests.helpers.logs import audit_path, read_jsonl
from wxbudget.sandbox import RunningSandbox

COUPON = "1000000013"
STOCK = "1000000013001"
CONFIG_EXIT = 3
USAGE_EXIT = 2


def sandbox_home(isolated_environment: Path) -> Path:
    return isolated_environment / ".local" / "share" / "wxbudget" / "sandbox"


def test_an_unattended_write_without_a_config_is_refused(isolated_environment: Path) -> None:
    # CI with another HOME: nobody at a terminal, no config file, nothing asked for.
    result = run("set-max", COUPON, STOCK, "+1", "--yes", "-o", "json", expect=CONFIG_EXIT)
    config = isolated_environment / ".config" / "wxbudget" / "config.toml"
    assert result.stderr == (
        f"error: no config file at {config}; create a profile with 'wxbudget profile init "
        "NAME', or run against the embedded sandbox with --sandbox (or WXBUDGET_SANDBOX=1)\n"
    )
    assert result.stdout == ""
    assert not sandbox_home(isolated_environment).exists()  # no sandbox was started
    assert not audit_path(isolated_environment).exists()  # nothing journaled


@pytest.mark.parametrize(
    ("flag", "env"), [(["--sandbox"], None), ([], "1"), ([], "true")], ids=["flag", "env", "true"]
)
def test_asked_for_the_sandbox_marks_results_and_journals_in_its_home(
    isolated_environment: Path,
    monkeypatch: pytest.MonkeyPatch,
    flag: list[str],
    env: str | None,
) -> None:
    if env is not None:
        monkeypatch.setenv("WXBUDGET_SANDBOX", env)
    result = run(*flag, "set-max", COUPON, STOCK, "+1", "--yes", "-o", "json")
    changed = json.loads(result.stdout)
    assert changed["sandbox"] is True
    assert changed["stock_send_rule"]["max_count"] == 10_000_001
    # The notice names what asked for the sandbox, as it was given.
    asked = "--sandbox" if flag else f"WXBUDGET_SANDBOX={env}"
    assert f"{asked}: using the embedded sandbox" in result.stderr
    assert "not WeChat Pay" in result.stderr
    # Journaled inside the sandbox home, never in the production audit journal.
    home = sandbox_home(isolated_environment)
    intent, outcome = read_jsonl(home / "audit.jsonl")
    assert (intent["stock_id"], intent["to"], outcome["type"]) == (STOCK, 10_000_001, "outcome")
    assert not audit_path(isolated_environment).exists()
    history = json.loads(run(*flag, "history", "-o", "json").stdout)
    assert [operation["sandbox"] for operation in history] == [True]
    many = json.loads(run(*flag, "show", COUPON, STOCK, "1000000013002", "-o", "json").stdout)
    assert [stock["sandbox"] for stock in many] == [True, True]


def test_sandbox_sets_an_existing_config_aside(
    isolated_environment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A production profile exists; --sandbox must never reach it (its host does not answer).
    config = isolated_environment / ".config" / "wxbudget" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(tomli_w.dumps({"profiles": {"prod": {"mchid": "1"}}}))
    config.chmod(0o600)
    shown = json.loads(run("--sandbox", "show", COUPON, STOCK, "-o", "json").stdout)
    assert shown["sandbox"] is True
    # Without it, the config file is used: its (broken) profile is what is refused.
    run("show", COUPON, STOCK, expect=CONFIG_EXIT)


def test_real_profile_results_carry_no_mark(sandbox: RunningSandbox) -> None:
    # A configured profile (here the test sandbox's, through WXBUDGET_CONFIG) is not embedded.
    shown = json.loads(run("show", COUPON, STOCK, "-o", "json").stdout)
    assert "sandbox" not in shown


@pytest.mark.parametrize("named", ["flag", "env"])
def test_sandbox_and_a_named_config_are_refused_together(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, named: str
) -> None:
    config = tmp_path / "config.toml"
    config.write_text("")
    args = ["--config", str(config)] if named == "flag" else []
    if named == "env":
        monkeypatch.setenv("WXBUDGET_CONFIG", str(config))
    result = run("--sandbox", *args, "show", COUPON, STOCK, expect=USAGE_EXIT)
    assert result.stderr.count("\n") == 1
    assert "name two different worlds" in result.stderr


@pytest.mark.slow
def test_a_person_at_a_terminal_gets_the_sandbox_without_asking(
    isolated_environment: Path,
) -> None:
    code, output = converse(["set-max", COUPON, STOCK, "+1", "--yes", "-o", "json"], [])
    assert code == 0, output
    assert "no config file at" in output
    assert "using the embedded sandbox" in output
    assert '"sandbox": true' in output
