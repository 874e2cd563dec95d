"""Issue 5's finish line: three kinds of merchant each set up a profile with `profile init`, pass
`doctor`, and change a stock's and a bundle's caps on the sandbox."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from tests.helpers.cli import run
from tests.helpers.sandboxes import Sandboxes
from wxbudget.sandbox import RunningSandbox


@pytest.fixture
def full_sandbox(
    sandboxes: Sandboxes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> RunningSandbox:
    running = sandboxes.start(platform_cert=True, use=False)
    monkeypatch.setenv("WXBUDGET_CONFIG", str(tmp_path / "mine.toml"))
    return running


def init_flags(sandbox: RunningSandbox, source: str) -> list[str]:
    """`profile init` flags copying one of the sandbox's profiles (absolute paths)."""
    profile = tomllib.loads(sandbox.config_path.read_text())["profiles"][source]
    flags: list[str] = []
    for key, value in profile.items():
        if key.endswith(("_file", "_dir")):
            value = str(sandbox.home / str(value))
        flags += [f"--{key.replace('_', '-')}", str(value)]
    return flags


@pytest.mark.parametrize(
    ("name", "source"),
    [
        ("partner-public-key", "sandbox"),
        ("partner-certificates", "sandbox-cert"),
        ("brand-direct", "sandbox-brand"),
    ],
)
def test_a_merchant_sets_up_and_changes_caps(
    full_sandbox: RunningSandbox, name: str, source: str
) -> None:
    run("profile", "init", name, *init_flags(full_sandbox, source))
    listed = json.loads(run("profile", "list", "-o", "json").stdout)
    assert [entry["name"] for entry in listed] == [name]
    report = json.loads(
        run("doctor", "-p", name, "--stock", "1000000013", "1000000013002", "-o", "json").stdout
    )
    assert report["ok"] is True
    assert {check["status"] for check in report["checks"]} <= {"pass", "warn", "skip"}
    assert next(c for c in report["checks"] if c["name"] == "signed-answer")["status"] == "pass"
    changed = run(
        "-p", name, "set-max", "1000000013", "1000000013002", "+100", "--yes", "-o", "json"
    )
    assert json.loads(changed.stdout)["stock_send_rule"]["max_count"] == 50100
    bundle = run(
        "-p",
        name,
        "bundle",
        "set-daily",
        "1000000014",
        "712315129419284901",
        "+10",
        "--yes",
        "-o",
        "json",
    )
    daily = {
        s["stock_send_rule"]["max_count_per_day"] for s in json.loads(bundle.stdout)["stock_list"]
    }
    assert daily == {3010}
