"""doctor's checks of the profile itself: the config file loads and selects a profile, and the
files it names exist with safe permissions."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wxbudget import config, keyfiles, trust
from wxbudget.doctor.model import (
    CONFIG,
    FILES,
    LIMITS,
    Check,
    Finding,
    ProfileUnderTest,
    Status,
    combine,
)
from wxbudget.errors import (
    ConfigError,
    InvalidTomlError,
    UnknownKeyError,
    UntrustedFileError,
    os_reason,
)
from wxbudget.i18n import _
from wxbudget.settings import resolve_path

if TYPE_CHECKING:
    from wxbudget.config import Flags


# --- 1. config --------------------------------------------------------------------------------


def check_config(
    flags: Flags, env: Mapping[str, str]
) -> tuple[Check, ProfileUnderTest | None, Path | None, str | None]:
    path, named = config.locate(flags, env)
    requested = flags.profile or env.get(config.ENV_PROFILE) or None
    if not path.exists():
        if named:
            failed = Check(
                CONFIG,
                Status.FAIL,
                _("config file {path} does not exist", path=path),
                _(
                    "check --config / {env_config}, or create it: "
                    "wxbudget profile init NAME --config {path}",
                    env_config=config.ENV_CONFIG,
                    path=path,
                ),
            )
        else:
            failed = Check(
                CONFIG,
                Status.FAIL,
                _("no config file at {path}", path=path),
                _(
                    "create a profile: wxbudget profile init NAME; or check the embedded "
                    "sandbox: wxbudget doctor --sandbox"
                ),
            )
        return failed, None, path, requested
    try:
        document = config.load(path)
    except ConfigError as error:
        failed = Check(CONFIG, Status.FAIL, error.message, _load_fix(error, path))
        return failed, None, path, requested
    try:
        name, values = config.select_profile(path, document, flags, env)
    except ConfigError as error:
        fix = _(
            "pass -p NAME, set {env_profile}, or set default_profile in {path} "
            "(wxbudget profile list shows the profiles)",
            env_profile=config.ENV_PROFILE,
            path=path,
        )
        return Check(CONFIG, Status.FAIL, error.message, fix), None, path, requested
    # `config=path`: a file that vanished since is an error, never the embedded sandbox.
    settings_flags = flags._replace(config=path)
    try:
        settings = config.resolve(settings_flags, env)
    except ConfigError as error:
        if error.message not in _key_loading_messages(path, values):
            fix = _(
                "edit {name} in {path} (wxbudget profile show {name} shows what it holds)",
                name=name,
                path=path,
            )
            return Check(CONFIG, Status.FAIL, error.message, fix), None, path, name
        # Every rule of the profile held; loading a key failed, and the key checks say why.
        profile = ProfileUnderTest(path, name, values, settings_flags, None, error.message)
    else:
        profile = ProfileUnderTest(path, name, values, settings_flags, settings, None)
    kind = values.get("kind", "partner")
    return (
        Check(
            CONFIG,
            Status.PASS,
            _("{path}: profile {name} ({kind})", path=path, name=name, kind=kind),
        ),
        profile,
        path,
        name,
    )


def check_limits(profile: ProfileUnderTest) -> Check:
    """The profile's own guard rails ([profiles.NAME.limits]); the config check has already
    refused malformed ones, so this says which are set."""
    from wxbudget.limits import LIMIT_KEYS, parse_limits

    limits = parse_limits(profile.values.get("limits", {}), profile.name, profile.where)
    given = limits.set()
    if not given:
        return Check(
            LIMITS,
            Status.PASS,
            _(
                "none set (optional: [profiles.{name}.limits] with "
                "{limit_keys}; see config.example.toml)",
                name=profile.name,
                limit_keys=", ".join(LIMIT_KEYS),
            ),
        )
    shown = "; ".join(f"{key} {value:,}" for key, value in given.items())
    return Check(LIMITS, Status.PASS, shown)


def _key_loading_messages(path: Path, values: Mapping[str, Any]) -> set[str]:
    """What config's own key loaders say about this profile's key files (nothing when fine).

    Key files load last, after every other rule of the profile, so an error of `resolve` that
    is one of these means the profile itself is sound.
    """
    messages = set()
    loaders: tuple[tuple[str, Callable[[Path], object]], ...] = (
        ("private_key_file", keyfiles.load_private_key_file),
        ("wechatpay_public_key_file", keyfiles.load_public_key_file),
    )
    for key, loader in loaders:
        value = values.get(key)
        if isinstance(value, str):
            try:
                loader(resolve_path(path, value))
            except ConfigError as error:
                messages.add(error.message)
    return messages


def _load_fix(error: ConfigError, path: Path) -> str:
    if isinstance(error, UntrustedFileError):
        return error.fix
    if isinstance(error, InvalidTomlError) and error.toml_line is not None:
        return _("fix the TOML syntax at line {line} of {path}", line=error.toml_line, path=path)
    if isinstance(error, UnknownKeyError):
        return _("rename or remove that key in {path}", path=path)
    return _("fix {path}", path=path)


# --- 2. files ---------------------------------------------------------------------------------

# Key files a profile may name; True: a secret, owner-only like the private key.
_FILE_KEYS = (
    ("private_key_file", True),
    ("merchant_cert_file", False),
    ("wechatpay_public_key_file", False),
    ("apiv3_key_file", True),
)


def check_files(profile: ProfileUnderTest) -> Check:
    findings = [_config_file_mode(profile.path)]
    for key, secret in _FILE_KEYS:
        path = profile.file(key)
        if path is not None:
            findings.append(_file_finding(profile, key, path, secret=secret))
    folder = profile.file("platform_cert_dir")
    if folder is not None and folder.exists():
        if not folder.is_dir():
            findings.append(
                Finding(
                    Status.FAIL,
                    _("platform_cert_dir {folder} is not a folder", folder=folder),
                    _("point platform_cert_dir in {where} at a folder", where=profile.where),
                )
            )
        else:
            findings.append(_trust_finding("platform_cert_dir", folder, secret=False))
    return combine(FILES, findings)


def _config_file_mode(path: Path) -> Finding:
    # The config holds paths, not secrets: others may read it, but never rewrite it.
    return _trust_finding(_("config file"), path, secret=False)


def _trust_finding(what: str, path: Path, *, secret: bool) -> Finding:
    """The trust rule (wxbudget.trust) as a finding: who besides this user can change it."""
    try:
        info = path.stat()
        found = trust.exposure(path, secret=secret, info=info)
    except OSError as error:
        return Finding(
            Status.FAIL, _("cannot stat {path}: {strerror}", path=path, strerror=os_reason(error))
        )
    if found is not None:
        return Finding(
            Status.FAIL,
            _("{what} {path} {problem}", what=what, path=path, problem=found.problem),
            found.fix,
        )
    return Finding(
        Status.PASS, _("{name} {mode:04o}", name=path.name, mode=stat.S_IMODE(info.st_mode))
    )


def _file_finding(profile: ProfileUnderTest, key: str, path: Path, *, secret: bool) -> Finding:
    try:
        info = path.stat()
    except FileNotFoundError:
        return Finding(
            Status.FAIL,
            _("{key} {path} does not exist", key=key, path=path),
            _("point {key} in {where} at the right file", key=key, where=profile.where),
        )
    except OSError as error:
        return Finding(
            Status.FAIL,
            _(
                "cannot stat {key} {path}: {strerror}",
                key=key,
                path=path,
                strerror=os_reason(error),
            ),
        )
    mode = stat.S_IMODE(info.st_mode)
    if not stat.S_ISREG(info.st_mode):
        return Finding(
            Status.FAIL,
            _("{key} {path} is not a file", key=key, path=path),
            _("point {key} at the file itself", key=key),
        )
    # The merchant certificate is only read by doctor itself: it decides nothing.
    if key != "merchant_cert_file":
        found = trust.exposure(path, secret=secret, info=info)
        if found is not None:
            return Finding(
                Status.FAIL,
                _("{key} {path} {problem}", key=key, path=path, problem=found.problem),
                found.fix,
            )
    if not os.access(path, os.R_OK):
        return Finding(
            Status.FAIL,
            _("{key} {path} is not readable by this user", key=key, path=path),
            _("chmod u+r {path}", path=path),
        )
    return Finding(Status.PASS, _("{name} {mode:04o}", name=path.name, mode=mode))
