"""The config file: locate it, load it, validate its profiles, and resolve precedence in one place.

Precedence, everywhere: flag > environment > profile > built-in default (`resolve`). Loading
reads the config and key files and nothing else: it never starts a server or prints.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wxbudget import keyfiles, language
from wxbudget.errors import ConfigError, UsageError, WxBudgetError
from wxbudget.i18n import _
from wxbudget.limits import parse_limits
from wxbudget.settings import (
    DEFAULT_BASE_URL,
    DEFAULT_MAX_RETRIES,
    DEFAULT_RATE_LIMIT,
    DEFAULT_TIMEOUT_SECONDS,
    HEADER_VALUE_RULES,
    KIND_ONLY_KEYS,
    KINDS,
    MAX_RETRIES_LIMIT,
    MAX_TIMEOUT_SECONDS,
    MIN_TIMEOUT_SECONDS,
    PLATFORM_CERT_PAIR,
    PROFILE_KEYS,
    PUBLIC_KEY_ID_PREFIX,
    PUBLIC_KEY_PAIR,
    REQUIRED_KEYS,
    STRING_KEYS,
    Settings,
    check_base_url,
    check_notify_url,
    default_backup_base_url,
    resolve_path,
)

ENV_CONFIG = "WXBUDGET_CONFIG"
ENV_PROFILE = "WXBUDGET_PROFILE"
TOP_LEVEL_KEYS = ("default_profile", "language", "profiles")
_TOML_LINE = re.compile(r"at line (\d+)")


@dataclass(frozen=True)
class Flags:
    """What the command line said; None means "not given", so a profile value is never shadowed."""

    config: Path | None = None
    profile: str | None = None
    brand_id: str | None = None
    timeout: float | None = None
    max_retries: int | None = None


class NoConfigFile(ConfigError):
    """No config file was named and there is none at the default place."""

    def __init__(self, path: Path) -> None:
        super().__init__(
            _(
                "no config file at {path}; create a profile with: wxbudget profile init NAME",
                path=path,
            )
        )
        self.path = path


def default_config_path(env: Mapping[str, str]) -> Path:
    config_home = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config_home) / "wxbudget" / "config.toml"


def locate(flags: Flags, env: Mapping[str, str]) -> tuple[Path, bool]:
    """The config file to read, and whether the user named it (flag or environment)."""
    if flags.config is not None:
        return flags.config.expanduser(), True
    if env.get(ENV_CONFIG):
        return Path(env[ENV_CONFIG]).expanduser(), True
    return default_config_path(env), False


def resolve(flags: Flags, env: Mapping[str, str] | None = None) -> Settings:
    """Pick the config file and profile by precedence, then load and validate that profile.

    With no config file at all (none named, none at the default place) this raises
    `NoConfigFile`: what to do then (the CLI starts the embedded sandbox) is the caller's choice.
    """
    env = os.environ if env is None else env
    path, named = locate(flags, env)
    if not path.exists():
        if named:
            raise ConfigError(
                _(
                    "config file {path} does not exist; check --config or {env_config}",
                    path=path,
                    env_config=ENV_CONFIG,
                )
            )
        raise NoConfigFile(path)
    document = load(path)
    name, profile = select_profile(path, document, flags, env)
    return build_settings(path, name, profile, flags, env)


def select_profile(
    path: Path, document: dict[str, Any], flags: Flags, env: Mapping[str, str]
) -> tuple[str, dict[str, Any]]:
    profiles: dict[str, Any] = document.get("profiles", {})
    name = flags.profile or env.get(ENV_PROFILE) or document.get("default_profile")
    if not name:
        if len(profiles) != 1:
            raise ConfigError(
                _(
                    "no profile selected: pass -p NAME, set {env_profile}, or set default_profile "
                    "in {path} (profiles: {names})",
                    env_profile=ENV_PROFILE,
                    path=path,
                    names=_names(profiles),
                )
            )
        name = next(iter(profiles))
    if name not in profiles:
        raise ConfigError(
            _(
                "profile '{name}' is not in {path}; profiles there: {names}",
                name=name,
                path=path,
                names=_names(profiles),
            )
        )
    return name, profiles[name]


def audit_log_path(flags: Flags, env: Mapping[str, str] | None = None) -> Path:
    """The journal of the selected profile, found without loading any key."""
    env = os.environ if env is None else env
    path, named = locate(flags, env)
    if not path.exists() and not named:
        return default_audit_log(env)
    _name, profile = select_profile(path, load(path), flags, env)
    if "audit_log" in profile:
        if not isinstance(profile["audit_log"], str):
            raise ConfigError(_("audit_log in {path} must be a path string", path=path))
        return resolve_path(path, profile["audit_log"])
    return default_audit_log(env)


def load(path: Path) -> dict[str, Any]:
    """Parse and structurally validate a config file (every profile, not only the chosen one)."""
    import tomllib

    from wxbudget import trust

    try:
        # Whoever can rewrite the config can point wxbudget at another key or host.
        text = trust.read_trusted(path, _("config file"), secret=False).decode("utf-8")
    except OSError as error:
        raise ConfigError(
            _("cannot read config file {path}: {strerror}", path=path, strerror=error.strerror)
        ) from error
    except UnicodeDecodeError as error:
        raise ConfigError(_("config file {path} is not UTF-8 text", path=path)) from error
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        match = _TOML_LINE.search(str(error))
        where = _(" line {line}", line=match.group(1)) if match else ""
        reason = _TOML_LINE.sub("", str(error)).strip(" ()")
        raise ConfigError(
            _(
                "config file {path}{where}: invalid TOML: {reason}",
                path=path,
                where=where,
                reason=reason,
            )
        ) from error
    # Before anything below can quote a value: a key pasted into the file is never echoed.
    keyfiles.refuse_key_material(document, _("the top level of {path}", path=path), path.parent)
    _reject_unknown(document, TOP_LEVEL_KEYS, _("top level of {path}", path=path))
    _check_language(document, _("the top level of {path}", path=path))
    default_profile = document.get("default_profile")
    if default_profile is not None and not isinstance(default_profile, str):
        raise ConfigError(
            _('default_profile in {path} must be a string, e.g. "sandbox"', path=path)
        )
    profiles = document.get("profiles", {})
    if not isinstance(profiles, dict):
        raise ConfigError(_("'profiles' in {path} must be a table: [profiles.NAME]", path=path))
    for name, profile in profiles.items():
        if not isinstance(profile, dict):
            raise ConfigError(
                _(
                    "profiles.{name} in {path} must be a table: [profiles.{name}]",
                    name=name,
                    path=path,
                )
            )
        where = _("profile '{name}' of {path}", name=name, path=path)
        keyfiles.refuse_key_material(profile, where, path.parent)
        _reject_unknown(profile, PROFILE_KEYS, where)
        _check_language(profile, where)
    return document


def _check_language(table: dict[str, Any], where: str) -> None:
    value = table.get("language")
    if value is not None and value not in language.LANGUAGES:
        raise ConfigError(
            _(
                'language {value!r} in {where} must be "zh" (中文) or "en" (English)',
                value=value,
                where=where,
            )
        )


def resolve_language(flags: Flags, env: Mapping[str, str] | None = None) -> language.Choice:
    """The language by `language.choose`'s precedence, with the config file's keys when the
    file exists and loads; cheap enough to run before --help (no key file is read).

    A config file that does not load leaves the language to the environment: the command that
    needs the file then reports what is wrong with it.
    """
    env = os.environ if env is None else env
    if language.normalize(env.get(language.ENV_LANG)) is not None:
        return language.choose(env)
    path, _named = locate(flags, env)
    profile_name = profile_language = file_language = None
    if path.is_file():
        try:
            document = load(path)
            file_language = document.get("language")
            profile_name, profile = select_profile(path, document, flags, env)
            profile_language = profile.get("language")
        except WxBudgetError:
            pass
    return language.choose(
        env, profile=profile_language, profile_name=profile_name, config_file=file_language
    )


def _reject_unknown(table: dict[str, Any], known: tuple[str, ...], where: str) -> None:
    for key in table:
        if key not in known:
            import difflib

            close = difflib.get_close_matches(key, known, n=1, cutoff=0.5)
            hint = (
                _("; did you mean '{close}'?", close=close[0])
                if close
                else _("; valid keys: {known}", known=", ".join(known))
            )
            raise ConfigError(
                _("unknown key '{key}' in {where}{hint}", key=key, where=where, hint=hint)
            )


def build_settings(
    path: Path,
    name: str,
    profile: dict[str, Any],
    flags: Flags,
    env: Mapping[str, str],
) -> Settings:
    where = _("profile '{name}' of {path}", name=name, path=path)
    for key in STRING_KEYS & profile.keys():
        if not isinstance(profile[key], str) or not profile[key].strip():
            raise ConfigError(
                _(
                    '{key} in {where} must be a non-empty string in quotes, e.g. {key} = "..."',
                    key=key,
                    where=where,
                )
            )
        if "\0" in profile[key]:
            # No path (and no id) can hold one; the OS would refuse it later, with no line.
            raise ConfigError(
                _(
                    "{key} in {where} contains a NUL character (\\0); remove it",
                    key=key,
                    where=where,
                )
            )
    kind = profile.get("kind", "partner")
    if kind not in KINDS:
        raise ConfigError(
            _('kind {kind!r} in {where} must be "partner" or "brand"', kind=kind, where=where)
        )
    other = "brand" if kind == "partner" else "partner"
    for key in KIND_ONLY_KEYS[other]:
        if key in profile:
            raise ConfigError(
                _(
                    "{key} is not used by a {kind} profile ({where}); remove it",
                    key=key,
                    kind=kind,
                    where=where,
                )
            )
    for key in REQUIRED_KEYS[kind]:
        if key not in profile:
            raise ConfigError(_("{where} lacks required key '{key}'", where=where, key=key))
    for pair in (PUBLIC_KEY_PAIR, PLATFORM_CERT_PAIR):
        given = [key for key in pair if key in profile]
        if len(given) == 1:
            missing = next(key for key in pair if key not in profile)
            raise ConfigError(
                _(
                    "{where} has {given} but lacks '{missing}'",
                    where=where,
                    given=given[0],
                    missing=missing,
                )
            )
    if not any(key in profile for key in PUBLIC_KEY_PAIR + PLATFORM_CERT_PAIR):
        raise ConfigError(
            _(
                "{where} lacks required key 'wechatpay_public_key_id' (with "
                "wechatpay_public_key_file), or apiv3_key_file with platform_cert_dir",
                where=where,
            )
        )
    # These go into HTTP headers, so they must be plain ASCII tokens.
    for key, pattern, example in HEADER_VALUE_RULES:
        if key in profile and not pattern.fullmatch(profile[key]):
            raise ConfigError(
                _(
                    "{key} {value!r} in {where} must look like {example}",
                    key=key,
                    value=profile[key],
                    where=where,
                    example=example,
                )
            )
    public_key_id = profile.get("wechatpay_public_key_id")
    if public_key_id is not None and not public_key_id.startswith(PUBLIC_KEY_ID_PREFIX):
        raise ConfigError(
            _(
                "wechatpay_public_key_id '{public_key_id}' in {where} must start with "
                "{public_key_id_prefix} (copy it from 商户平台 > 账户中心 > API安全)",
                public_key_id=public_key_id,
                where=where,
                public_key_id_prefix=PUBLIC_KEY_ID_PREFIX,
            )
        )
    base_url = check_base_url(profile.get("base_url", DEFAULT_BASE_URL), "base_url", where)
    backup_base_url = default_backup_base_url(profile, base_url, where)
    if flags.timeout is not None and not (
        math.isfinite(flags.timeout) and MIN_TIMEOUT_SECONDS <= flags.timeout <= MAX_TIMEOUT_SECONDS
    ):
        raise UsageError(
            _(
                "--timeout {timeout:g} is outside {min_timeout_seconds:g}.."
                "{max_timeout_seconds:g} seconds; use e.g. 10",
                timeout=flags.timeout,
                min_timeout_seconds=MIN_TIMEOUT_SECONDS,
                max_timeout_seconds=MAX_TIMEOUT_SECONDS,
            )
        )
    if flags.max_retries is not None and not 0 <= flags.max_retries <= MAX_RETRIES_LIMIT:
        raise UsageError(
            _(
                "--max-retries {shown} is outside 0..{max_retries_limit}; use "
                "e.g. 3 (0 disables retries)",
                shown=_shown(flags.max_retries),
                max_retries_limit=MAX_RETRIES_LIMIT,
            )
        )
    timeout = flags.timeout if flags.timeout is not None else profile.get("timeout")
    if timeout is None:
        timeout = DEFAULT_TIMEOUT_SECONDS
    if (
        isinstance(timeout, bool)
        or not isinstance(timeout, int | float)
        or not math.isfinite(timeout)
        or not MIN_TIMEOUT_SECONDS <= timeout <= MAX_TIMEOUT_SECONDS
    ):
        raise ConfigError(
            _(
                "timeout in {where} must be a number of seconds from {min_timeout_seconds:g} to "
                "{max_timeout_seconds:g}, e.g. 10",
                where=where,
                min_timeout_seconds=MIN_TIMEOUT_SECONDS,
                max_timeout_seconds=MAX_TIMEOUT_SECONDS,
            )
        )
    max_retries = flags.max_retries if flags.max_retries is not None else profile.get("max_retries")
    if max_retries is None:
        max_retries = DEFAULT_MAX_RETRIES
    if (
        isinstance(max_retries, bool)
        or not isinstance(max_retries, int)
        or not 0 <= max_retries <= MAX_RETRIES_LIMIT
    ):
        raise ConfigError(
            _(
                "max_retries in {where} must be a whole number from 0 to {max_retries_limit} "
                "(0 disables retries)",
                where=where,
                max_retries_limit=MAX_RETRIES_LIMIT,
            )
        )
    rate_limit = profile.get("rate_limit", DEFAULT_RATE_LIMIT)
    if isinstance(rate_limit, bool) or not isinstance(rate_limit, int) or rate_limit < 0:
        raise ConfigError(
            _(
                "rate_limit in {where} must be a whole number of requests per second (0 = no "
                "limit)",
                where=where,
            )
        )
    if "audit_log" in profile:
        audit_log = resolve_path(path, profile["audit_log"])
    else:
        audit_log = default_audit_log(env)
    private_key_file = resolve_path(path, profile["private_key_file"])
    public_key_file = (
        resolve_path(path, profile["wechatpay_public_key_file"]) if public_key_id else None
    )
    load_public_key = keyfiles.load_public_key_file

    def optional_path(key: str) -> Path | None:
        return resolve_path(path, profile[key]) if key in profile else None

    apiv3_key_file = optional_path("apiv3_key_file")
    if apiv3_key_file is not None:
        # Checked now, like the private key, though it is read only to download certificates.
        keyfiles.require_trusted_if_present(apiv3_key_file, "apiv3_key_file", secret=True)

    return Settings(
        config_path=path,
        profile=name,
        kind=kind,
        mchid=profile.get("mchid"),
        serial_no=profile["brand_serial_no" if kind == "brand" else "merchant_serial_no"],
        private_key_file=private_key_file,
        private_key=keyfiles.load_private_key_file(private_key_file),
        merchant_cert_file=optional_path("merchant_cert_file"),
        wechatpay_public_key_id=public_key_id,
        wechatpay_public_key_file=public_key_file,
        wechatpay_public_key=load_public_key(public_key_file) if public_key_file else None,
        apiv3_key_file=apiv3_key_file,
        platform_cert_dir=optional_path("platform_cert_dir"),
        brand_id=_brand_id(kind, profile, flags, where),
        base_url=base_url,
        backup_base_url=backup_base_url,
        timeout=float(timeout),
        max_retries=max_retries,
        audit_log=audit_log,
        rate_limit=rate_limit,
        limits=parse_limits(profile.get("limits", {}), name, where),
        notify_url=check_notify_url(profile.get("notify_url"), "notify_url", where),
    )


def _brand_id(kind: str, profile: dict[str, Any], flags: Flags, where: str) -> str | None:
    if kind != "brand":
        return flags.brand_id or profile.get("brand_id")
    # A brand profile acts for its own brand only: another --brand-id cannot change who signs.
    own: str = profile["brand_id"]
    if flags.brand_id is not None and flags.brand_id != own:
        raise UsageError(
            _(
                "--brand-id {brand_id} does not apply to the brand profile of {where}: it acts "
                "for brand {own} only; use a partner profile to act for other brands",
                brand_id=flags.brand_id,
                where=where,
                own=own,
            )
        )
    return own


def default_audit_log(env: Mapping[str, str]) -> Path:
    state_home = env.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state_home) / "wxbudget" / "audit.jsonl"


def _names(profiles: Mapping[str, Any]) -> str:
    return ", ".join(sorted(profiles)) or "none"


def _shown(number: int) -> str:
    """A number as given, shortened when it is absurdly long (one line, always)."""
    text = str(number)
    return text if len(text) <= 12 else text[:10] + "..."
