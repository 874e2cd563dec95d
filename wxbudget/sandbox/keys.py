"""The sandbox home: identities, RSA key pairs and the config.toml a client points at."""

from __future__ import annotations

import json
import os
import secrets
import tempfile
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import tomli_w
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from wxbudget import signing
from wxbudget.errors import ConfigError, UsageError

SANDBOX_MCHID = "1900000001"
SANDBOX_BRAND_ID = "120344"
PROFILE_NAME = "sandbox"
CONFIG_FILE = "config.toml"
DATABASE_FILE = "sandbox.db"
JOURNAL_FILE = "requests.jsonl"
IDENTITY_FILE = "identity.json"
KEYS_DIR = "keys"
MERCHANT_PRIVATE_KEY_FILE = "keys/merchant_private_key.pem"
MERCHANT_PUBLIC_KEY_FILE = "keys/merchant_public_key.pem"
WECHATPAY_PRIVATE_KEY_FILE = "keys/wechatpay_private_key.pem"
WECHATPAY_PUBLIC_KEY_FILE = "keys/wechatpay_public_key.pem"
DEFAULT_TIMEOUT_SECONDS = 10

# A home may already hold these (a crash between creating the folder and writing identity.json);
# anything else means DIR is somebody's folder and the sandbox must not move in.
_OWN_NAMES = frozenset(
    {
        CONFIG_FILE,
        DATABASE_FILE,
        DATABASE_FILE + "-wal",
        DATABASE_FILE + "-shm",
        JOURNAL_FILE,
        IDENTITY_FILE,
        KEYS_DIR,
    }
)


@dataclass(frozen=True)
class Identity:
    mchid: str
    merchant_serial_no: str
    wechatpay_public_key_id: str


@dataclass(frozen=True)
class HomeKeys:
    """What the server needs at run time: who the merchant is and which keys sign what."""

    identity: Identity
    merchant_public_key: rsa.RSAPublicKey
    wechatpay_private_key: rsa.RSAPrivateKey


def prepare_home(home: Path) -> HomeKeys:
    """Create DIR (0700) with fresh keys on first start; load the existing ones afterwards."""
    if home.exists() and not home.is_dir():
        raise UsageError(f"sandbox home {home} exists and is not a folder")
    identity_path = home / IDENTITY_FILE
    if not identity_path.exists():
        strangers = _strangers(home)
        if strangers:
            raise UsageError(
                f"sandbox home {home} is not empty and holds no sandbox ({strangers[0]} ...); "
                "choose an empty or new folder"
            )
        _create_home(home)
    try:
        identity = Identity(**json.loads(identity_path.read_text(encoding="utf-8")))
        merchant_public_key = signing.load_public_key(
            (home / MERCHANT_PUBLIC_KEY_FILE).read_bytes()
        )
        wechatpay_private_key = _load_own_private_key(home / WECHATPAY_PRIVATE_KEY_FILE)
    except (OSError, ValueError, TypeError) as error:
        raise ConfigError(f"sandbox home {home} is damaged: {error}") from error
    return HomeKeys(identity, merchant_public_key, wechatpay_private_key)


def _load_own_private_key(path: Path) -> rsa.RSAPrivateKey:
    # The sandbox generated this key itself, so the costly RSA consistency check (most of a
    # start's time) proves nothing; a foreign or broken file still fails to parse.
    key = serialization.load_pem_private_key(
        path.read_bytes(), password=None, unsafe_skip_rsa_key_validation=True
    )
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError(f"{path.name} is not an RSA private key")
    return key


def _strangers(home: Path) -> list[str]:
    if not home.exists():
        return []
    return sorted(
        entry.name
        for entry in home.iterdir()
        if entry.name not in _OWN_NAMES and not entry.name.startswith(".config.")
    )


def _create_home(home: Path) -> None:
    home.mkdir(parents=True, exist_ok=True)
    home.chmod(0o700)
    (home / KEYS_DIR).mkdir(exist_ok=True)
    (home / KEYS_DIR).chmod(0o700)
    merchant = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    wechatpay = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    for relative, key in (
        (MERCHANT_PRIVATE_KEY_FILE, merchant),
        (WECHATPAY_PRIVATE_KEY_FILE, wechatpay),
    ):
        _write_private(home / relative, _private_pem(key))
        public_relative = relative.replace("private", "public")
        _write_private(home / public_relative, _public_pem(key.public_key()))
    identity = Identity(
        mchid=SANDBOX_MCHID,
        merchant_serial_no=secrets.token_hex(20).upper(),
        wechatpay_public_key_id="PUB_KEY_ID_"
        + "".join(secrets.choice("0123456789") for _ in range(32)),
    )
    # identity.json is written last: its presence is what marks the home as complete.
    _write_private(home / IDENTITY_FILE, json.dumps(asdict(identity), indent=2).encode() + b"\n")


def _private_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _public_pem(key: rsa.RSAPublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _write_private(path: Path, data: bytes) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
    path.chmod(0o600)


def write_config(home: Path, identity: Identity, base_url: str) -> Path:
    """Point `[profiles.sandbox]` at this run, keeping whatever else the file holds."""
    path = home / CONFIG_FILE
    document: dict[str, Any] = {}
    if path.exists():
        try:
            document = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
            raise ConfigError(f"{path}: cannot update the sandbox profile: {error}") from error
    document.setdefault("default_profile", PROFILE_NAME)
    profiles = document.setdefault("profiles", {})
    if not isinstance(profiles, dict):
        raise ConfigError(f"{path}: 'profiles' is not a table")
    profile = profiles.setdefault(PROFILE_NAME, {})
    if not isinstance(profile, dict):
        raise ConfigError(f"{path}: 'profiles.{PROFILE_NAME}' is not a table")
    # Identity and address must match the running server, so they are always rewritten.
    profile["mchid"] = identity.mchid
    profile["merchant_serial_no"] = identity.merchant_serial_no
    profile.setdefault("private_key_file", MERCHANT_PRIVATE_KEY_FILE)
    profile["wechatpay_public_key_id"] = identity.wechatpay_public_key_id
    profile.setdefault("wechatpay_public_key_file", WECHATPAY_PUBLIC_KEY_FILE)
    profile.setdefault("brand_id", SANDBOX_BRAND_ID)
    profile["base_url"] = base_url
    profile.setdefault("timeout", DEFAULT_TIMEOUT_SECONDS)
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
