"""DIR/config.toml: the profiles a client uses to reach this sandbox, rewritten at every start.

`sandbox` is the APIv3 merchant with WeChat Pay public key verification, `sandbox-brand` the
品牌API brand, and `sandbox-cert` (only once a run used --platform-cert) the same merchant
verifying with downloaded platform certificates instead.
"""

from __future__ import annotations

import os
import tempfile
import tomllib
from pathlib import Path
from typing import Any

import tomli_w

from wxbudget.errors import ConfigError
from wxbudget.i18n import _
from wxbudget.sandbox.keys import (
    APIV3_KEY_FILE,
    BRAND_PRIVATE_KEY_FILE,
    BRAND_WECHATPAY_PUBLIC_KEY_FILE,
    CONFIG_FILE,
    DEFAULT_TIMEOUT_SECONDS,
    MERCHANT_CERT_FILE,
    MERCHANT_PRIVATE_KEY_FILE,
    PROFILE_NAME,
    SANDBOX_BRAND_ID,
    WECHATPAY_PUBLIC_KEY_FILE,
    HomeKeys,
)

BRAND_PROFILE_NAME = "sandbox-brand"
CERT_PROFILE_NAME = "sandbox-cert"
# The client's cache of downloaded platform certificates; the sandbox only names it.
PLATFORM_CERT_CACHE_DIR = "platform-certs"


def write_config(home: Path, keys: HomeKeys, base_url: str, *, platform_cert: bool = False) -> Path:
    """Point the sandbox profiles at this run, keeping whatever else the file holds.

    Identities and the address must match the running server, so they are always rewritten;
    file names and the timeout are only filled in when missing, so a user's edit survives.
    """
    path = home / CONFIG_FILE
    document: dict[str, Any] = {}
    if path.exists():
        try:
            document = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
            raise ConfigError(
                _("{path}: cannot update the sandbox profile: {error}", path=path, error=error)
            ) from error
    document.setdefault("default_profile", PROFILE_NAME)
    profiles = document.setdefault("profiles", {})
    if not isinstance(profiles, dict):
        raise ConfigError(_("{path}: 'profiles' is not a table", path=path))

    identity = keys.identity
    partner = _profile(profiles, PROFILE_NAME, path)
    partner["mchid"] = identity.mchid
    partner["merchant_serial_no"] = identity.merchant_serial_no
    partner.setdefault("private_key_file", MERCHANT_PRIVATE_KEY_FILE)
    partner.setdefault("merchant_cert_file", MERCHANT_CERT_FILE)
    partner["wechatpay_public_key_id"] = identity.wechatpay_public_key_id
    partner.setdefault("wechatpay_public_key_file", WECHATPAY_PUBLIC_KEY_FILE)
    partner.setdefault("brand_id", SANDBOX_BRAND_ID)
    partner["base_url"] = base_url
    partner.setdefault("timeout", DEFAULT_TIMEOUT_SECONDS)

    brand_identity = keys.brand.identity
    brand = _profile(profiles, BRAND_PROFILE_NAME, path)
    brand["kind"] = "brand"
    brand["brand_id"] = brand_identity.brand_id
    brand["brand_serial_no"] = brand_identity.brand_serial_no
    brand.setdefault("private_key_file", BRAND_PRIVATE_KEY_FILE)
    brand["wechatpay_public_key_id"] = brand_identity.wechatpay_public_key_id
    brand.setdefault("wechatpay_public_key_file", BRAND_WECHATPAY_PUBLIC_KEY_FILE)
    brand["base_url"] = base_url
    brand.setdefault("timeout", DEFAULT_TIMEOUT_SECONDS)

    # Once made, the profile follows later runs too: without --platform-cert its client meets
    # the 404 a post-2024 merchant meets, which names the cause, instead of a dead port.
    if platform_cert or CERT_PROFILE_NAME in profiles:
        cert = _profile(profiles, CERT_PROFILE_NAME, path)
        cert["mchid"] = identity.mchid
        cert["merchant_serial_no"] = identity.merchant_serial_no
        cert.setdefault("private_key_file", MERCHANT_PRIVATE_KEY_FILE)
        cert.setdefault("apiv3_key_file", APIV3_KEY_FILE)
        cert.setdefault("platform_cert_dir", PLATFORM_CERT_CACHE_DIR)
        cert.setdefault("brand_id", SANDBOX_BRAND_ID)
        cert["base_url"] = base_url
        cert.setdefault("timeout", DEFAULT_TIMEOUT_SECONDS)

    # mkstemp creates the file 0600, and os.replace makes a half-written config impossible.
    descriptor, temporary = tempfile.mkstemp(dir=home, prefix=".config.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            tomli_w.dump(document, handle)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def _profile(profiles: dict[str, Any], name: str, path: Path) -> dict[str, Any]:
    profile = profiles.setdefault(name, {})
    if not isinstance(profile, dict):
        raise ConfigError(f"{path}: 'profiles.{name}' is not a table")
    return profile
