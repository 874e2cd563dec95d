"""Opening the files wxbudget keeps state in (journals, locks, caches) without being fooled.

wxbudget reads these files back as input: a journal line decides what a re-run re-sends, a
cached certificate decides which answers are believed. So a state file must be a regular file
that only its user can change, in a folder that only its user can change; it is opened without
following a symbolic link (a planted link would send our appends or a truncation to another
file), and checked on the open descriptor itself (nothing can be swapped between check and use).
A file that fails is never written, truncated or read: exit 3, one line naming the fix.

A world-writable folder with the sticky bit (`/tmp`) is accepted: there nobody else can remove
or rename our files, and whatever they plant (a link, a file of theirs) fails the file checks.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from wxbudget.errors import ConfigError

_WRITABLE_BY_OTHERS = stat.S_IWGRP | stat.S_IWOTH
ROOT_UID = 0


def open_state_file(path: Path, what: str, flags: int) -> int:
    """A descriptor of `path` opened with `flags` (os.O_*), after every check passed.

    With os.O_CREAT a missing folder is created (0700) and a missing file 0600. Raises
    FileNotFoundError for a missing file without O_CREAT, ConfigError for everything refused.
    """
    if flags & os.O_TRUNC:
        raise ValueError("truncate only after the checks: call os.ftruncate on the descriptor")
    folder = path.parent
    if flags & os.O_CREAT:
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as error:
            raise _unusable(path, what, error) from error
    check_folder(folder, what, path)
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused just below.
        descriptor = os.open(
            path, flags | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK | os.O_NOCTTY, 0o600
        )
    except FileNotFoundError:
        raise
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise ConfigError(
                f"{what} {path} is a symbolic link, and wxbudget never follows links for its "
                "state files; remove the link (or configure the real path)"
            ) from error
        raise _unusable(path, what, error) from error
    try:
        problem = file_problem(path, os.fstat(descriptor))
        if problem is not None:
            raise ConfigError(f"{what} {path} {problem}")
        os.set_blocking(descriptor, True)
    except BaseException:
        os.close(descriptor)
        raise
    return descriptor


def check_folder(folder: Path, what: str, path: Path) -> None:
    """The folder a state file lives in must be ours (or root's) and not writable by others."""
    try:
        info = folder.stat()
    except FileNotFoundError:
        raise  # no folder, no file: a reader has nothing to read
    except OSError as error:
        raise _unusable(path, what, error) from error
    mode = stat.S_IMODE(info.st_mode)
    if not stat.S_ISDIR(info.st_mode):
        raise ConfigError(f"{what} {path}: {folder} is not a folder")
    if info.st_uid not in (os.geteuid(), ROOT_UID):
        raise ConfigError(
            f"{what} {path} is in {folder}, owned by another user (uid {info.st_uid}), who could "
            "replace it; keep it in a folder of your own"
        )
    if mode & _WRITABLE_BY_OTHERS and not mode & stat.S_ISVTX:
        raise ConfigError(
            f"{what} {path} is in {folder}, which group or others can write (mode {mode:04o}) "
            f"and so plant a file or link in; run: chmod go-w {folder}"
        )


def file_problem(path: Path, info: os.stat_result) -> str | None:
    """What makes an opened state file untrustworthy, said so that the fix follows; or None."""
    if not stat.S_ISREG(info.st_mode):
        return f"is not a regular file ({_kind(info.st_mode)}); point it at a file"
    if info.st_uid != os.geteuid():
        return (
            f"belongs to another user (uid {info.st_uid}), who could have written it; "
            f"move it away and let wxbudget create its own"
        )
    mode = stat.S_IMODE(info.st_mode)
    if mode & _WRITABLE_BY_OTHERS:
        return f"can be rewritten by group or others (mode {mode:04o}); run: chmod go-w {path}"
    return None


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISFIFO, "a named pipe"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "not a file"


def _unusable(path: Path, what: str, error: OSError) -> ConfigError:
    if error.errno == errno.EISDIR:
        return ConfigError(f"{what} {path} is not a regular file (a folder); point it at a file")
    return ConfigError(f"cannot use {what} {path}: {error.strerror or error}")
