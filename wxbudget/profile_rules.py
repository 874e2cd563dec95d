"""What a valid profile is: its keys and the shape of their values, and the network numbers
(timeout, retries, rate limit) with the flags that override them. `config.build_settings`
applies these rules; the config file's own structure is checked by `config.load`."""

from __future__ import annotations

import math
from typing import Any

from wxbudget.errors import ConfigError, UsageError
from wxbudget.i18n import _
from wxbudget.settings import (
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
    PUBLIC_KEY_ID_PREFIX,
    PUBLIC_KEY_PAIR,
    REQUIRED_KEYS,
    STRING_KEYS,
)


def check_keys(profile: dict[str, Any], where: str) -> str:
    """Refuse a profile whose keys or values are wrong; return its kind."""
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
    return str(kind)


def numbers(
    profile: dict[str, Any],
    flag_timeout: float | None,
    flag_max_retries: int | None,
    where: str,
) -> tuple[float, int, int]:
    """timeout, max_retries and rate_limit: a flag over the profile over the default."""
    if flag_timeout is not None and not (
        math.isfinite(flag_timeout) and MIN_TIMEOUT_SECONDS <= flag_timeout <= MAX_TIMEOUT_SECONDS
    ):
        raise UsageError(
            _(
                "--timeout {timeout:g} is outside {min_timeout_seconds:g}.."
                "{max_timeout_seconds:g} seconds; use e.g. 10",
                timeout=flag_timeout,
                min_timeout_seconds=MIN_TIMEOUT_SECONDS,
                max_timeout_seconds=MAX_TIMEOUT_SECONDS,
            )
        )
    if flag_max_retries is not None and not 0 <= flag_max_retries <= MAX_RETRIES_LIMIT:
        raise UsageError(
            _(
                "--max-retries {shown} is outside 0..{max_retries_limit}; use "
                "e.g. 3 (0 disables retries)",
                shown=_shown(flag_max_retries),
                max_retries_limit=MAX_RETRIES_LIMIT,
            )
        )
    timeout = flag_timeout if flag_timeout is not None else profile.get("timeout")
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
    max_retries = flag_max_retries if flag_max_retries is not None else profile.get("max_retries")
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
    return float(timeout), max_retries, rate_limit


def _shown(number: int) -> str:
    """A number as given, shortened when it is absurdly long (one line, always)."""
    text = str(number)
    return text if len(text) <= 12 else text[:10] + "..."
