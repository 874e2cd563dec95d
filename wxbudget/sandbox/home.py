"""The sandbox home folder: created with fresh keys on first start, completed and loaded after.

A home made by an older version lacks the brand and the merchant certificate; they are added
on its next start, next to the keys it already has.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from wxbudget import signing
from wxbudget.errors import ConfigError, UsageError
from wxbudget.i18n import _
from wxbudget.sandbox import certificates
from wxbudget.sandbox.keys import (
    BRAND_IDENTITY_FILE,
    BRAND_PRIVATE_KEY_FILE,
    BRAND_PUBLIC_KEY_FILE,
    BRAND_WECHATPAY_PRIVATE_KEY_FILE,
    IDENTITY_FILE,
    KEYS_DIR,
    MERCHANT_PRIVATE_KEY_FILE,
    MERCHANT_PUBLIC_KEY_FILE,
    OWN_NAMES,
    SANDBOX_BRAND_ID,
    SANDBOX_MCHID,
    WECHATPAY_PRIVATE_KEY_FILE,
    BrandIdentity,
    BrandKeys,
    HomeKeys,
    Identity,
    PlatformKey,
    load_own_private_key,
    make_private_folder,
    new_public_key_id,
    new_rsa_key,
    new_serial_no,
    write_json,
    write_key_pair,
)


def prepare_home(home: Path, *, platform_cert: bool = False) -> HomeKeys:
    """Create DIR (0700) with fresh keys on first start; load (and complete) it afterwards."""
    if home.exists() and not home.is_dir():
        raise UsageError(_("sandbox home {home} exists and is not a folder", home=home))
    identity_path = home / IDENTITY_FILE
    if not identity_path.exists():
        strangers = _strangers(home)
        if strangers:
            raise UsageError(
                _(
                    "sandbox home {home} is not empty and holds no sandbox ({found} ...); "
                    "choose an empty or new folder",
                    home=home,
                    found=strangers[0],
                )
            )
        _create_home(home)
    try:
        identity = Identity(**json.loads(identity_path.read_text(encoding="utf-8")))
        identity = certificates.ensure_merchant_certificate(home, identity)
        merchant_public_key = signing.load_public_key(
            (home / MERCHANT_PUBLIC_KEY_FILE).read_bytes()
        )
        wechatpay_private_key = load_own_private_key(home / WECHATPAY_PRIVATE_KEY_FILE)
        brand = _brand_keys(home)
        platform: tuple[PlatformKey, ...] = ()
        apiv3_key: bytes | None = None
        if platform_cert:
            apiv3_key = certificates.ensure_apiv3_key(home)
            platform = certificates.ensure_platform_keys(home)
    except (OSError, ValueError, TypeError) as error:
        raise ConfigError(
            _("sandbox home {home} is damaged: {error}", home=home, error=error)
        ) from error
    return HomeKeys(
        identity, merchant_public_key, wechatpay_private_key, brand, platform, apiv3_key
    )


def _strangers(home: Path) -> list[str]:
    if not home.exists():
        return []
    return sorted(
        entry.name
        for entry in home.iterdir()
        if entry.name not in OWN_NAMES and not entry.name.startswith(".config.")
    )


def _create_home(home: Path) -> None:
    home.mkdir(parents=True, exist_ok=True)
    home.chmod(0o700)
    make_private_folder(home / KEYS_DIR)
    for relative in (MERCHANT_PRIVATE_KEY_FILE, WECHATPAY_PRIVATE_KEY_FILE):
        write_key_pair(home, relative, new_rsa_key())
    identity = Identity(
        mchid=SANDBOX_MCHID,
        merchant_serial_no=new_serial_no(),
        wechatpay_public_key_id=new_public_key_id(),
    )
    # identity.json is written last: its presence is what marks the home as complete.
    write_json(home / IDENTITY_FILE, asdict(identity))


def _brand_keys(home: Path) -> BrandKeys:
    path = home / BRAND_IDENTITY_FILE
    if not path.exists():
        # Also the upgrade of a home made before the brand API existed.
        for relative in (BRAND_PRIVATE_KEY_FILE, BRAND_WECHATPAY_PRIVATE_KEY_FILE):
            write_key_pair(home, relative, new_rsa_key())
        brand = BrandIdentity(
            brand_id=SANDBOX_BRAND_ID,
            brand_serial_no=new_serial_no(),
            wechatpay_public_key_id=new_public_key_id(),
        )
        write_json(path, asdict(brand))
    identity = BrandIdentity(**json.loads(path.read_text(encoding="utf-8")))
    return BrandKeys(
        identity=identity,
        brand_public_key=signing.load_public_key((home / BRAND_PUBLIC_KEY_FILE).read_bytes()),
        wechatpay_private_key=load_own_private_key(home / BRAND_WECHATPAY_PRIVATE_KEY_FILE),
    )
