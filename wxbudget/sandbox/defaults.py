"""Defaults the CLI's `--help` shows: here, in a module that imports nothing heavy, so that
neither the help nor the package's `__init__` loads the server, SQLite or cryptography."""

from __future__ import annotations

# How long a `delay` fault holds an answer back.
DEFAULT_FAULT_DELAY_SECONDS = 3.0
