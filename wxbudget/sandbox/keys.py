"""The sandbox's file names, identities and RSA key pairs: how each is made and written (0600).

`home.py` puts them together into a sandbox home.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from wxbudget import platform_crypto

SANDBOX_MCHID = "1900000001"
SANDBOX_BRAND_ID = "120344"
PROFILE_NAME = "sandbox"
CONFIG_FILE = "config.toml"
DATABASE_FILE = "sandbox.db"
JOURNAL_FILE = "requests.jsonl"
# Held (flock) by the server serving the home; says which process and address.
SERVING_FILE = "serving.lock"
IDENTITY_FILE = "identity.json"
BRAND_IDENTITY_FILE = "brand.json"
KEYS_DIR = "keys"
PLATFORM_DIR = "platform"
MERCHANT_PRIVATE_KEY_FILE = "keys/merchant_private_key.pem"
MERCHANT_PUBLIC_KEY_FILE = "keys/merchant_public_key.pem"
MERCHANT_CERT_FILE = "keys/merchant_cert.pem"
WECHATPAY_PRIVATE_KEY_FILE = "keys/wechatpay_private_key.pem"
WECHATPAY_PUBLIC_KEY_FILE = "keys/wechatpay_public_key.pem"
BRAND_PRIVATE_KEY_FILE = "keys/brand_private_key.pem"
BRAND_PUBLIC_KEY_FILE = "keys/brand_public_key.pem"
BRAND_WECHATPAY_PRIVATE_KEY_FILE = "keys/brand_wechatpay_private_key.pem"
BRAND_WECHATPAY_PUBLIC_KEY_FILE = "keys/brand_wechatpay_public_key.pem"
APIV3_KEY_FILE = "keys/apiv3_key.txt"
DEFAULT_TIMEOUT_SECONDS = 10

# A home may already hold these (a crash between creating the folder and writing identity.json);
# anything else means DIR is somebody's folder and the sandbox must not move in.
OWN_NAMES = frozenset(
    {
        CONFIG_FILE,
        DATABASE_FILE,
        DATABASE_FILE + "-wal",
        DATABASE_FILE + "-shm",
        JOURNAL_FILE,
        SERVING_FILE,
        IDENTITY_FILE,
        BRAND_IDENTITY_FILE,
        KEYS_DIR,
        PLATFORM_DIR,
    }
)


@dataclass(frozen=True)
class Identity:
    mchid: str
    merchant_serial_no: str
    wechatpay_public_key_id: str


@dataclass(frozen=True)
class BrandIdentity:
    brand_id: str
    brand_serial_no: str
    # The brand's own WeChat Pay public key id: 品牌API keys are not shared with APIv3 ones.
    wechatpay_public_key_id: str


@dataclass(frozen=True)
class BrandKeys:
    identity: BrandIdentity
    brand_public_key: rsa.RSAPublicKey
    wechatpay_private_key: rsa.RSAPrivateKey


@dataclass(frozen=True)
class PlatformKey:
    """One platform certificate (平台证书) and the private key WeChat Pay signs with under it."""

    serial_no: str
    private_key: rsa.RSAPrivateKey
    certificate_pem: bytes
    certificate: platform_crypto.Certificate


@dataclass(frozen=True)
class HomeKeys:
    """What the server needs at run time: who the callers are and which keys sign what."""

    identity: Identity
    merchant_public_key: rsa.RSAPublicKey
    wechatpay_private_key: rsa.RSAPrivateKey
    brand: BrandKeys
    # Oldest first; empty unless the sandbox runs with --platform-cert.
    platform: tuple[PlatformKey, ...] = ()
    apiv3_key: bytes | None = None


def new_serial_no() -> str:
    """40 upper-case hex digits that survive a round trip through an X.509 serial number.

    The first digit is 1-7: no leading zero (`f"{serial:X}"` would drop it) and at most 159
    bits, the RFC 5280 limit cryptography enforces.
    """
    return secrets.choice("1234567") + secrets.token_hex(20).upper()[1:]


def serial_fits_certificate(serial_no: str) -> bool:
    return len(serial_no) == 40 and serial_no[0] in "1234567" and _is_upper_hex(serial_no)


def _is_upper_hex(text: str) -> bool:
    return all(char in "0123456789ABCDEF" for char in text)


def new_public_key_id() -> str:
    return "PUB_KEY_ID_" + "".join(secrets.choice("0123456789") for _ in range(32))


def new_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def load_own_private_key(path: Path) -> rsa.RSAPrivateKey:
    # The sandbox generated this key itself, so the costly RSA consistency check (most of a
    # start's time) proves nothing; a foreign or broken file still fails to parse.
    key = serialization.load_pem_private_key(
        path.read_bytes(), password=None, unsafe_skip_rsa_key_validation=True
    )
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError(f"{path.name} is not an RSA private key")
    return key


def write_key_pair(home: Path, private_relative: str, key: rsa.RSAPrivateKey) -> None:
    """`keys/X_private_key.pem` and its `keys/X_public_key.pem`, both 0600."""
    write_private(home / private_relative, private_pem(key))
    public_relative = private_relative.replace("private", "public")
    write_private(home / public_relative, public_pem(key.public_key()))


def make_private_folder(path: Path) -> None:
    path.mkdir(exist_ok=True)
    path.chmod(0o700)


def private_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def public_pem(key: rsa.RSAPublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def write_json(path: Path, data: object) -> None:
    write_private(path, json.dumps(data, indent=2).encode() + b"\n")


def write_private(path: Path, data: bytes) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
    path.chmod(0o600)
