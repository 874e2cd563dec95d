"""Fixtures: every test runs isolated from the home folder, against a real sandbox when it asks."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from wxbudget.cli import app
from wxbudget.sandbox import RunningSandbox, start_in_background

STRIPPED_PREFIXES = ("WXBUDGET_",)
STRIPPED_NAMES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "REQUESTS_CA_BUNDLE", "CI")


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Temp home/config/data/state folders; no WXBUDGET_* or proxy variables leak in."""
    home = tmp_path / "home"
    home.mkdir()
    for name in list(os.environ):
        if name.startswith(STRIPPED_PREFIXES) or name.upper() in STRIPPED_NAMES:
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / ".local" / "state"))
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("NO_COLOR", "1")
    return home


@pytest.fixture
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningSandbox]:
    """A real sandbox on a free loopback port; WXBUDGET_CONFIG points at its profile."""
    running = start_in_background(tmp_path / "sandbox")
    monkeypatch.setenv("WXBUDGET_CONFIG", str(running.config_path))
    try:
        yield running
    finally:
        running.stop()


def sandbox_profile_copy(
    sandbox: RunningSandbox, folder: Path, name: str = "edited.toml", **changes: object
) -> Path:
    """A config file holding the sandbox's profiles, with `changes` made to `sandbox`, its key
    paths made absolute so the copy works from any folder."""
    import tomllib

    import tomli_w

    document = tomllib.loads(sandbox.config_path.read_text())
    profile = document["profiles"]["sandbox"]
    for key in ("private_key_file", "wechatpay_public_key_file"):
        profile[key] = str(sandbox.config_path.parent / profile[key])
    profile.update(changes)
    path = folder / name
    path.write_text(tomli_w.dumps(document))
    return path


@dataclass(frozen=True)
class Result:
    exit_code: int
    stdout: str
    stderr: str


def run(*args: str, input: str | None = None, expect: int = 0) -> Result:
    """Invoke the CLI in-process and assert its exit code every time."""
    result = CliRunner().invoke(app, list(args), input=input)
    outcome = Result(result.exit_code, result.stdout, result.stderr)
    assert result.exit_code == expect, (
        f"exit {result.exit_code} (expected {expect})\nstdout: {result.stdout}\n"
        f"stderr: {result.stderr}\nexception: {result.exception!r}"
    )
    return outcome


SCRIPT = str(Path(sys.executable).parent / "wxbudget")


def converse(args: list[str], script: list[tuple[bytes, bytes]]) -> tuple[int, str]:
    """Run the installed script on a pseudo-terminal; on each expected text, type its answer."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [SCRIPT, *args],
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        close_fds=True,
        env=os.environ | {"COLUMNS": "200"},
    )
    os.close(terminal)
    output = b""
    position = 0
    steps = list(script)
    while True:
        ready, _, _ = select.select([controller], [], [], 30)
        if not ready:
            process.kill()
            raise AssertionError(f"no output from the CLI: {output!r}")
        try:
            chunk = os.read(controller, 4096)
        except OSError:  # the terminal closed: the process ended
            break
        if not chunk:
            break
        output += chunk
        while steps and (found := output.find(steps[0][0], position)) >= 0:
            position = found + len(steps[0][0])
            os.write(controller, steps.pop(0)[1])
    os.close(controller)
    return process.wait(timeout=30), output.decode("utf-8", "replace")
