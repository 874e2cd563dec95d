"""The config file: locate it, load it, validate its profiles, and resolve precedence in one place.

Precedence, everywhere: flag > environment > profile > built-in default (`resolve`). Loading
reads the config and key files and nothing else: it never starts a server or prints.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from wxbudget import keyfiles, language, profile_rules
from wxbudget.errors import (
    ConfigError,
    InvalidTomlError,
    UnknownKeyError,
    UsageError,
    WxBudgetError,
    os_reason,
)
from wxbudget.i18n import _
from wxbudget.limits import parse_limits
from wxbudget.settings import (
    DEFAULT_BASE_URL,
    PROFILE_KEYS,
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


class Flags(NamedTuple):
    """What the command line said; None means "not given", so a profile value is never shadowed."""

    config: Path | None = None
    profile: str | None = None
    brand_id: str | None = None
    timeout: float | None = None
    max_retries: int | None = None
    # --sandbox: the embedded sandbox, not any config file (the CLI acts on it, config never).
    sandbox: bool | None = None


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
            _("cannot read config file {path}: {strerror}", path=path, strerror=os_reason(error))
        ) from error
    except UnicodeDecodeError as error:
        raise ConfigError(_("config file {path} is not UTF-8 text", path=path)) from error
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        match = _TOML_LINE.search(str(error))
        where = _(" line {line}", line=match.group(1)) if match else ""
        reason = _TOML_LINE.sub("", str(error)).strip(" ()")
        raise InvalidTomlError(
            _(
                "config file {path}{where}: invalid TOML: {reason}",
                path=path,
                where=where,
                reason=reason,
            ),
            toml_line=int(match.group(1)) if match else None,
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
            raise UnknownKeyError(
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
    kind = profile_rules.check_keys(profile, where)
    public_key_id = profile.get("wechatpay_public_key_id")
    base_url = check_base_url(profile.get("base_url", DEFAULT_BASE_URL), "base_url", where)
    backup_base_url = default_backup_base_url(profile, base_url, where)
    timeout, max_retries, rate_limit = profile_rules.numbers(
        profile, flags.timeout, flags.max_retries, where
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
