"""Whether a file or folder wxbudget takes keys, trust anchors or settings from can be trusted.

One rule for every such path (the config file, the private key, the APIv3 key, the WeChat Pay
public key, the platform-certificate folder and what is in it): only its user may change it,
and for a secret only its user may read it. Anyone else who can rewrite a public key or plant a
certificate can make wxbudget believe a forged answer; anyone who can rewrite the config can
point it at another key or host.

The owner must be this user or root (root can replace any file anyway, the rule OpenSSH uses
for its own files).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import NamedTuple

from wxbudget.errors import UntrustedFileError
from wxbudget.i18n import _

_GROUP_OR_OTHERS = stat.S_IRWXG | stat.S_IRWXO
_WRITABLE_BY_OTHERS = stat.S_IWGRP | stat.S_IWOTH
ROOT_UID = 0


class Exposure(NamedTuple):
    """Why a path cannot be trusted (`problem`, e.g. "can be rewritten by group or others
    (mode 0666)") and the command that fixes it (`fix`)."""

    problem: str
    fix: str


def exposure(path: Path, *, secret: bool, info: os.stat_result | None = None) -> Exposure | None:
    """What makes `path` untrustworthy, or None when only its user can change (or read) it.

    `info` is the result of an `os.fstat` on an already opened file, so the file checked is
    the file read; without it the path is stat'ed (following symlinks, like the open would).
    Raises OSError when the path cannot be stat'ed.
    """
    info = path.stat() if info is None else info
    mode = stat.S_IMODE(info.st_mode)
    shown = _("(mode {mode:04o})", mode=mode)
    own_uid = os.geteuid() if hasattr(os, "geteuid") else None
    if own_uid is not None and info.st_uid not in (own_uid, ROOT_UID):
        return Exposure(
            _("is owned by another user (uid {uid}), who can rewrite it", uid=info.st_uid),
            _("chown {user_name} {path}", user_name=_user_name(own_uid), path=path),
        )
    folder = stat.S_ISDIR(info.st_mode)
    if secret and mode & _GROUP_OR_OTHERS:
        if mode & _WRITABLE_BY_OTHERS:
            problem = _("can be read and rewritten by group or others {shown}", shown=shown)
        else:
            problem = _("is readable by group or others {shown}", shown=shown)
        return Exposure(problem, f"chmod {'700' if folder else '600'} {path}")
    if mode & _WRITABLE_BY_OTHERS:
        return Exposure(
            _("can be rewritten by group or others {shown}", shown=shown), f"chmod go-w {path}"
        )
    return None


def require_trusted(
    path: Path, what: str, *, secret: bool, info: os.stat_result | None = None
) -> None:
    """Refuse (exit 3, one line with the fix) a path `exposure` finds a problem with."""
    found = exposure(path, secret=secret, info=info)
    if found is not None:
        raise UntrustedFileError(
            _(
                "{what} {path} {problem}; run: {fix}",
                what=what,
                path=path,
                problem=found.problem,
                fix=found.fix,
            ),
            fix=found.fix,
        )


def read_trusted(path: Path, what: str, *, secret: bool) -> bytes:
    """The bytes of `path`, checked on the open file itself (no swap between check and read).

    Raises OSError when it cannot be opened or read, UntrustedFileError when it fails the rule.
    """
    with path.open("rb") as handle:
        require_trusted(path, what, secret=secret, info=os.fstat(handle.fileno()))
        return handle.read()


def _user_name(uid: int) -> str:
    try:
        import pwd

        return pwd.getpwuid(uid).pw_name
    except (ImportError, KeyError):
        return str(uid)
