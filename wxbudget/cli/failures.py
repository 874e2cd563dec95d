"""How the CLI says it failed: one `error:` line on stderr and the exit code, and what is done
with a result that cannot be written (stdout closed or full)."""

from __future__ import annotations

import contextlib
import errno
import os
import sys

# Failures of writing the results: a full device or disk, an I/O error, a bad descriptor.
OUTPUT_ERRORS = frozenset({errno.ENOSPC, errno.EIO, errno.EBADF, errno.EDQUOT, errno.EFBIG})


def discard_stdout() -> None:
    """Point stdout at /dev/null: what could not be written is dropped, not flushed again."""
    with contextlib.suppress(OSError):
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.close(null)
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - replaces stdout for the rest of the run


def urgent_notice(line: str) -> None:
    from wxbudget import render

    render.urgent_notice(line)


def print_error(line: str) -> None:
    from wxbudget import render

    render.error(line)


def fail(line: str, code: int) -> None:
    from wxbudget import render

    render.error(line)
    sys.exit(code)
