"""Reading profiles: list a config file's profiles, and describe one with its key files.

Nothing here loads a profile into Settings or writes anything; `profile_editor` writes.

Fingerprints are `platform_crypto.public_key_fingerprint`: the SHA-256 of the DER
SubjectPublicKeyInfo, plain lower-case hex, the same as
`openssl pkey -pubin -in KEY.pem -outform DER | sha256sum` (for a private key, of its public
half: `openssl pkey -in KEY.pem -pubout -outform DER`).
"""

from __future__ import annotations

import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wxbudget import config, keyfiles
from wxbudget.errors import ConfigError
from wxbudget.i18n import _
from wxbudget.settings import DEFAULT_BASE_URL, resolve_path

PATH_KEYS = (
    "private_key_file",
    "merchant_cert_file",
    "wechatpay_public_key_file",
    "apiv3_key_file",
    "platform_cert_dir",
    "audit_log",
)
# Files `profile show` inspects; the audit log is not key material.
KEY_FILE_KEYS = PATH_KEYS[:-1]


@dataclass(frozen=True)
class ProfileSummary:
    """One row of `profile list`: read from the file without loading any key."""

    name: str
    kind: str
    identity: str | None  # mchid of a partner, brand_id of a brand
    base_url: str
    is_default: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "identity": self.identity,
            "base_url": self.base_url,
            "default": self.is_default,
        }


@dataclass(frozen=True)
class KeyFile:
    """What `profile show` says about one key file; never its content."""

    key: str
    path: Path
    exists: bool
    mode: str | None  # "0600"
    fingerprint: str | None  # of the public key, or of a private key's public half
    problem: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "exists": self.exists,
            "mode": self.mode,
            "sha256_fingerprint": self.fingerprint,
            "problem": self.problem,
        }


@dataclass(frozen=True)
class ProfileReport:
    config_path: Path
    name: str
    is_default: bool
    values: dict[str, Any]  # as in the file, but paths resolved
    files: list[KeyFile] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "config_file": str(self.config_path),
            "profile": self.name,
            "default": self.is_default,
            "keys": self.values,
            "files": {key_file.key: key_file.to_json() for key_file in self.files},
        }


def read_document(path: Path) -> dict[str, Any]:
    """The config document, checked by `config.load`; an absent file is an empty document."""
    return config.load(path) if path.exists() else {}


def default_name(document: Mapping[str, Any]) -> str | None:
    """The profile used when no flag or environment names one (`config`'s rule)."""
    profiles = document.get("profiles", {})
    name = document.get("default_profile")
    if name is None and len(profiles) == 1:
        return str(next(iter(profiles)))
    return str(name) if name is not None else None


def summaries(document: Mapping[str, Any]) -> list[ProfileSummary]:
    default = default_name(document)
    rows = []
    for name, profile in document.get("profiles", {}).items():
        kind = str(profile.get("kind", "partner"))
        identity = profile.get("brand_id" if kind == "brand" else "mchid")
        rows.append(
            ProfileSummary(
                name=name,
                kind=kind,
                identity=None if identity is None else str(identity),
                base_url=str(profile.get("base_url", DEFAULT_BASE_URL)),
                is_default=name == default,
            )
        )
    return rows


def require_profile(path: Path, document: Mapping[str, Any], name: str) -> None:
    profiles = document.get("profiles", {})
    if name not in profiles:
        existing = ", ".join(sorted(profiles)) or "none"
        raise ConfigError(
            _(
                "profile '{name}' is not in {path}; profiles there: {existing}",
                name=name,
                path=path,
                existing=existing,
            )
        )


def describe(path: Path, name: str | None, env: Mapping[str, str]) -> ProfileReport:
    """Keys, resolved paths and, for each key file, existence, mode and fingerprint.

    `name` None means the profile `config` would select (flag, environment, default).
    """
    if not path.exists():
        raise ConfigError(
            _(
                "config file {path} does not exist; create a profile with: wxbudget profile init "
                "NAME",
                path=path,
            )
        )
    document = read_document(path)
    if name is not None:
        require_profile(path, document, name)
        profile = document["profiles"][name]
    else:
        name, profile = config.select_profile(path, document, config.Flags(), env)
    values = {
        key: str(resolve_path(path, value))
        if key in PATH_KEYS and isinstance(value, str)
        else value
        for key, value in profile.items()
    }
    if isinstance(values.get("notify_url"), str):
        from wxbudget.notify import shown_url

        values["notify_url"] = shown_url(values["notify_url"])  # its key is a secret
    files = [
        _inspect(key, resolve_path(path, profile[key]))
        for key in KEY_FILE_KEYS
        if isinstance(profile.get(key), str)
    ]
    return ProfileReport(
        config_path=path,
        name=name,
        is_default=default_name(document) == name,
        values=values,
        files=files,
    )


def _inspect(key: str, path: Path) -> KeyFile:
    from wxbudget import platform_crypto

    try:
        mode = path.stat().st_mode
    except OSError:
        return KeyFile(key, path, False, None, None, _("{path} does not exist", path=path))
    mode_text = f"{stat.S_IMODE(mode):04o}"
    fingerprint = None
    problem = None
    try:
        if key == "private_key_file":
            fingerprint = platform_crypto.public_key_fingerprint(
                keyfiles.load_private_key_file(path).public_key()
            )
        elif key == "wechatpay_public_key_file":
            fingerprint = platform_crypto.public_key_fingerprint(
                keyfiles.load_public_key_file(path)
            )
    except ConfigError as error:
        problem = error.message
    return KeyFile(key, path, True, mode_text, fingerprint, problem)
