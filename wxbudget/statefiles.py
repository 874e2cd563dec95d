"""Opening the files wxbudget keeps state in (journals, locks, caches) without being fooled.

wxbudget reads these files back as input: a journal line decides what a re-run re-sends, a
cached certificate decides which answers are believed. So a state file must be a regular file
that only its user (or root) can change, in a folder of the same kind (the rule of
wxbudget.trust, as for key files). It is opened without following a symbolic link (a planted
link would send our appends or a truncation to another file) and checked on the open descriptor
itself, so nothing can be swapped between check and use. A file that fails is never written,
truncated or read: exit 3, one line naming the fix.

A world-writable folder with the sticky bit (`/tmp`) is accepted: there nobody else can remove
or rename our files, and whatever they plant (a link, a file of theirs) fails the file checks.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from wxbudget import trust
from wxbudget.errors import ConfigError, UntrustedFileError, os_reason
from wxbudget.i18n import _


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
                _(
                    "{what} {path} is a symbolic link, and wxbudget never follows links for its "
                    "state files; remove the link (or configure the real path)",
                    what=what,
                    path=path,
                )
            ) from error
        raise _unusable(path, what, error) from error
    try:
        check_file(path, what, os.fstat(descriptor))
        os.set_blocking(descriptor, True)
    except BaseException:
        os.close(descriptor)
        raise
    return descriptor


def check_folder(folder: Path, what: str, path: Path) -> None:
    """The folder a state file lives in must pass the trust rule (see wxbudget.trust), or be a
    sticky shared folder owned by us or root."""
    try:
        info = folder.stat()
    except FileNotFoundError:
        raise  # no folder, no file: a reader has nothing to read
    except OSError as error:
        raise _unusable(path, what, error) from error
    if not stat.S_ISDIR(info.st_mode):
        raise ConfigError(
            _("{what} {path}: {folder} is not a folder", what=what, path=path, folder=folder)
        )
    found = trust.exposure(folder, secret=False, info=info)
    sticky = info.st_mode & stat.S_ISVTX and info.st_uid in (os.geteuid(), trust.ROOT_UID)
    if found is not None and not sticky:
        raise UntrustedFileError(
            _(
                "{what} {path} is in {folder}, which {problem}; run: {fix}",
                what=what,
                path=path,
                folder=folder,
                problem=found.problem,
                fix=found.fix,
            ),
            fix=found.fix,
        )


def check_file(path: Path, what: str, info: os.stat_result) -> None:
    """Refuse an opened state file that is not a regular file or fails the trust rule."""
    if not stat.S_ISREG(info.st_mode):
        raise ConfigError(
            _(
                "{what} {path} is not a regular file ({kind}); point it at a file",
                what=what,
                path=path,
                kind=_kind(info.st_mode),
            )
        )
    trust.require_trusted(path, what, secret=False, info=info)


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISCHR, _("a character device")),
        (stat.S_ISBLK, _("a block device")),
        (stat.S_ISFIFO, _("a named pipe")),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return _("not a file")


def _unusable(path: Path, what: str, error: OSError) -> ConfigError:
    if error.errno == errno.EISDIR:
        return ConfigError(
            _(
                "{what} {path} is not a regular file (a folder); point it at a file",
                what=what,
                path=path,
            )
        )
    return ConfigError(
        _(
            "cannot use {what} {path}: {reason}",
            what=what,
            path=path,
            reason=os_reason(error),
        )
    )
