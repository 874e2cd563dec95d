"""Editing profiles: build and check one, write the config file atomically, remove one.

Every rule about what a valid profile is lives in `config` and `settings`; this module only
assembles a candidate document and asks them about it, so `profile init` can never write a
profile that `config.resolve` would then refuse.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wxbudget import config, keyfiles
from wxbudget.errors import ConfigError, UsageError
from wxbudget.i18n import _
from wxbudget.language import LANGUAGES
from wxbudget.profiles import default_name, read_document, require_profile
from wxbudget.settings import (
    DEFAULT_BASE_URL,
    HEADER_VALUE_RULES,
    PLATFORM_CERT_PAIR,
    PROFILE_KEYS,
    PUBLIC_KEY_ID_PREFIX,
    PUBLIC_KEY_PAIR,
    REQUIRED_KEYS,
    resolve_path,
)

# What each key is, for prompts: the user sees this before typing a value.
KEY_MEANINGS = {
    "kind": _("partner (service provider, /v3/...) or brand (brand-direct, /brand/...)"),
    "mchid": _("service-provider merchant id (商户号), digits"),
    "merchant_serial_no": _("serial of your merchant API certificate (商户API证书序列号), hex"),
    "brand_serial_no": _("serial of your brand API certificate (品牌API证书序列号), hex"),
    "private_key_file": _("path of your API private key PEM (apiclient_key.pem), chmod 600"),
    "merchant_cert_file": _("path of your merchant API certificate PEM (apiclient_cert.pem)"),
    "wechatpay_public_key_id": _("WeChat Pay public key id (微信支付公钥ID), PUB_KEY_ID_..."),
    "wechatpay_public_key_file": _("path of the WeChat Pay public key PEM (pub_key.pem)"),
    "apiv3_key_file": _("path of a file holding the 32-character APIv3 key (never the key itself)"),
    "platform_cert_dir": _("folder for downloaded platform certificates (平台证书)"),
    "brand_id": _("brand id (品牌ID); for a partner, the brand it acts for by default"),
    "base_url": _("API host, default {default_base_url}", default_base_url=DEFAULT_BASE_URL),
    "backup_base_url": _("failover API host"),
    "timeout": _("seconds to wait for a connection and an answer"),
    "max_retries": _("retries after a network error, 429 or 5xx"),
    "rate_limit": _("requests per second per endpoint (0 = no limit)"),
    "audit_log": _("path of the audit journal"),
    "language": _(
        "the language wxbudget speaks, zh (中文) or en (English); without it "
        "WXBUDGET_LANG and the locale (LANG) decide"
    ),
}
# Files that must already exist when a profile is written: a value that is no file here is most
# likely the key itself pasted where its path belongs.
MUST_EXIST_KEYS = ("merchant_cert_file", "apiv3_key_file")
_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")


@dataclass(frozen=True)
class Written:
    """What a write did, for the messages the command prints."""

    path: Path
    is_default: bool = False
    created: bool = False
    replaced: bool = False
    dropped_comments: bool = False
    cleared_default: bool = False


PATH_KEYS = frozenset(
    {
        "private_key_file",
        "merchant_cert_file",
        "wechatpay_public_key_file",
        "apiv3_key_file",
        "platform_cert_dir",
        "audit_log",
    }
)


def typed_path(key: str, value: object) -> Any:
    """A path as the operator meant it: relative to where it was typed, not to the config
    file's folder (where a relative path in the file is read from). `~` is kept as typed."""
    if key not in PATH_KEYS or not isinstance(value, str) or not value:
        return value
    if value.startswith("~") or os.path.isabs(value):
        return value
    return os.path.abspath(value)


def check_new_name(document: Mapping[str, Any], name: str, *, force: bool) -> None:
    if not _NAME.fullmatch(name):
        raise UsageError(_("profile name {name!r} must be 1-64 of A-Z a-z 0-9 _ -", name=name))
    if name in document.get("profiles", {}) and not force:
        raise UsageError(
            _("profile '{name}' already exists; pass --force to replace it", name=name)
        )


def refuse_key_material(values: Mapping[str, Any]) -> None:
    """Keys belong in files the profile points at, never in the config or in shell history."""
    for key, value in values.items():
        if isinstance(value, str) and keyfiles.looks_like_key_material(key, value, Path.cwd()):
            raise UsageError(
                _(
                    "the value for {flag} looks like key material; pass the path of the file "
                    "that holds it",
                    flag=flag(key),
                )
            )


def missing_keys(values: Mapping[str, Any]) -> list[str]:
    """Required keys not given, in file order. A partner verifies with the WeChat Pay public
    key unless the platform-certificate pair was started."""
    kind = values.get("kind", "partner")
    missing = [key for key in REQUIRED_KEYS.get(kind, ()) if key not in values]
    if kind == "partner":
        pairs = (PUBLIC_KEY_PAIR, PLATFORM_CERT_PAIR)
        started = [pair for pair in pairs if any(key in values for key in pair)]
        for pair in started or [PUBLIC_KEY_PAIR]:
            missing += [key for key in pair if key not in values]
    return sorted(set(missing), key=PROFILE_KEYS.index)


def flag(key: str) -> str:
    return "--" + key.replace("_", "-")


def check_value(config_path: Path, key: str, value: str) -> None:
    """Check one answer as it is typed, with `config`'s own loaders and patterns."""
    refuse_key_material({key: value})
    where = _("this profile")
    for rule_key, pattern, example in HEADER_VALUE_RULES:
        if rule_key == key and not pattern.fullmatch(value):
            raise ConfigError(
                _("{key} {value!r} must look like {example}", key=key, value=value, example=example)
            )
    if key == "wechatpay_public_key_id" and not value.startswith(PUBLIC_KEY_ID_PREFIX):
        raise ConfigError(
            _(
                "wechatpay_public_key_id '{value}' must start with {public_key_id_prefix} "
                "(copy it from 商户平台 > 账户中心 > API安全)",
                value=value,
                public_key_id_prefix=PUBLIC_KEY_ID_PREFIX,
            )
        )
    if key == "language" and value not in LANGUAGES:
        raise ConfigError(_("language {value!r} must be zh (中文) or en (English)", value=value))
    if key == "private_key_file":
        keyfiles.load_private_key_file(resolve_path(config_path, value))
    elif key == "wechatpay_public_key_file":
        keyfiles.load_public_key_file(resolve_path(config_path, value))
    elif key in MUST_EXIST_KEYS:
        _require_file(config_path, key, value, where)


def build_profile(values: Mapping[str, Any]) -> dict[str, Any]:
    """The table to store: given keys only, in file order, whole numbers without `.0`."""
    profile: dict[str, Any] = {}
    for key in PROFILE_KEYS:
        value = values.get(key)
        if value is None:
            continue
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        profile[key] = value
    return profile


def save(
    path: Path,
    name: str,
    values: Mapping[str, Any],
    *,
    make_default: bool,
    force: bool,
    env: Mapping[str, str],
) -> Written:
    """Create or replace `[profiles.NAME]`, keeping every other profile and `default_profile`.

    The new profile is validated exactly as `config.resolve` would validate it (keys loaded)
    before anything is written; a refusal leaves the file untouched.
    """
    import tomllib

    import tomli_w

    created = not path.exists()
    text = "" if created else _read_text(path)
    document = read_document(path)
    check_new_name(document, name, force=force)
    refuse_key_material(values)
    implicit_default = default_name(document)
    profiles = dict(document.get("profiles", {}))
    replaced = name in profiles
    profiles[name] = build_profile(values)
    document["profiles"] = profiles
    others = [other for other in profiles if other != name]
    if make_default or not others:
        document["default_profile"] = name
    elif implicit_default is not None:
        # Pinned, so that adding a second profile does not leave the first one unselected.
        document["default_profile"] = implicit_default
    # What lands on disk, read back the way `config.load` reads it.
    stored = tomllib.loads(tomli_w.dumps(_ordered(document)))
    where = _("profile '{name}' of {path}", name=name, path=path)
    try:
        config.build_settings(path, name, stored["profiles"][name], config.Flags(), env)
    except ConfigError as error:
        raise ConfigError(_("not written: {message}", message=error.message)) from error
    for key in MUST_EXIST_KEYS:
        if key in stored["profiles"][name]:
            _require_file(path, key, stored["profiles"][name][key], where)
    _write(path, document)
    return Written(
        path=path,
        is_default=default_name(document) == name,
        created=created,
        replaced=replaced,
        dropped_comments=has_comments(text),
    )


def remove(path: Path, name: str) -> Written:
    """Delete `[profiles.NAME]`; `default_profile` goes too when it named this profile."""
    if not path.exists():
        raise ConfigError(
            _(
                "config file {path} does not exist; there is no profile '{name}'",
                path=path,
                name=name,
            )
        )
    text = _read_text(path)
    document = read_document(path)
    profiles = dict(document.get("profiles", {}))
    require_profile(path, document, name)
    del profiles[name]
    document["profiles"] = profiles
    cleared = document.get("default_profile") == name
    if cleared:
        del document["default_profile"]
    _write(path, document)
    return Written(path=path, cleared_default=cleared, dropped_comments=has_comments(text))


def has_comments(text: str) -> bool:
    """Whether TOML text holds a `#` comment; strings spanning lines are not understood."""
    for line in text.splitlines():
        quote: str | None = None
        escaped = False
        for char in line:
            if quote is not None:
                if escaped:
                    escaped = False
                elif char == "\\" and quote == '"':
                    escaped = True
                elif char == quote:
                    quote = None
            elif char in "\"'":
                quote = char
            elif char == "#":
                return True
    return False


def _require_file(config_path: Path, key: str, value: str, where: str) -> None:
    resolved = resolve_path(config_path, value)
    if not resolved.is_file():
        raise ConfigError(
            _(
                "{key} {resolved} in {where} is not a file; give the path of the file, never "
                "its content",
                key=key,
                resolved=resolved,
                where=where,
            )
        )


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""  # config.load reports it with the proper message


def _ordered(document: Mapping[str, Any]) -> dict[str, Any]:
    ordered: dict[str, Any] = {}
    for key in ("default_profile", "language"):
        if key in document:
            ordered[key] = document[key]
    if document.get("profiles"):
        ordered["profiles"] = document["profiles"]
    return ordered


def _write(path: Path, document: Mapping[str, Any]) -> None:
    """tomli_w to a temp file beside the config, then os.replace: never a half-written file."""
    import tempfile

    import tomli_w

    # A symlinked config stays a symlink: the file it points at is the one replaced.
    target = path.resolve() if path.is_symlink() else path
    folder = target.parent
    if not folder.exists():
        folder.mkdir(parents=True, mode=0o700)
        folder.chmod(0o700)  # mkdir's mode is filtered by the umask
    # mkstemp creates the file 0600, the mode the config keeps after the replace.
    descriptor, temporary = tempfile.mkstemp(dir=folder, prefix=".config.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            tomli_w.dump(_ordered(document), handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
