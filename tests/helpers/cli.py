"""Running the CLI: in-process (`run`), as the installed script, and on a pseudo-terminal."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import subprocess
import sys
import termios
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from wxbudget.cli import app

# The console script pip installed next to this interpreter: tests run from the venv.
SCRIPT = str(Path(sys.executable).parent / "wxbudget")
SUBPROCESS_SECONDS = 60


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


def script(
    *args: str, expect: int = 0, env: Mapping[str, str] | None = None, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the installed script to the end and assert its exit code."""
    result = subprocess.run(
        [SCRIPT, *args],
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_SECONDS,
        check=False,
        input=input,
        env=None if env is None else os.environ | dict(env),
    )
    assert result.returncode == expect, (
        f"exit {result.returncode} (expected {expect})\nstdout: {result.stdout}\n"
        f"stderr: {result.stderr}"
    )
    return result


@contextmanager
def spawn(*args: str, **options: Any) -> Iterator[subprocess.Popen[str]]:
    """The installed script running in the background; killed if still running at the end."""
    process = subprocess.Popen(
        [SCRIPT, *args],
        stdout=options.pop("stdout", subprocess.PIPE),
        stderr=options.pop("stderr", subprocess.PIPE),
        text=True,
        **options,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=SUBPROCESS_SECONDS)


def converse(
    args: list[str],
    script: Sequence[tuple[bytes, bytes | Callable[[], bytes]]],
    *,
    env: Mapping[str, str] | None = None,
    controlling: bool = False,
) -> tuple[int, str]:
    """Run the installed script on a pseudo-terminal; on each expected text, type its answer
    (an answer may be a function, called then: it can act, then say what to type).

    `env` adds to (or, with an empty value, removes from) the test's environment. With
    `controlling`, the pseudo-terminal is the process's controlling terminal (in a session of
    its own), so typing Ctrl-C (`b"\\x03"`) sends it SIGINT as a real terminal would.
    """
    controller, terminal = pty.openpty()
    environment = os.environ | {"COLUMNS": "200"} | dict(env or {})
    process = subprocess.Popen(
        [SCRIPT, *args],
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        close_fds=True,
        env={name: value for name, value in environment.items() if value != ""},
        start_new_session=controlling,
        preexec_fn=_take_terminal if controlling else None,
    )
    os.close(terminal)
    output = b""
    position = 0
    steps = list(script)
    while True:
        ready, _, _ = select.select([controller], [], [], SUBPROCESS_SECONDS / 2)
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
            answer = steps.pop(0)[1]
            os.write(controller, answer() if callable(answer) else answer)
    os.close(controller)
    return process.wait(timeout=SUBPROCESS_SECONDS), output.decode("utf-8", "replace")


def _take_terminal() -> None:
    """In the child, a session leader by now: make its stdin (the pty) its controlling tty."""
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def table_rows(text: str) -> list[list[str]]:
    """The body rows of the rich tables in `text`, each a list of its stripped cells."""
    return [
        [cell.strip() for cell in line.strip().strip("│").split("│")]
        for line in text.splitlines()
        if line.lstrip().startswith("│")
    ]


def table_fields(text: str) -> dict[str, str]:
    """The `field │ value` rows of a two-column rich table (as `show` prints), label to value."""
    return {row[0]: row[1] for row in table_rows(text) if len(row) == 2 and row[0]}


def read_until(process: subprocess.Popen[str], text: str) -> str:
    """stderr up to and including the line holding `text` (the process keeps running)."""
    assert process.stderr is not None
    lines = []
    for line in process.stderr:
        lines.append(line)
        if text in line:
            return "".join(lines)
    raise AssertionError(f"the process ended without saying {text!r}: {''.join(lines)}")
