"""X.509 material of the home: the merchant certificate, the APIv3 key and platform certificates.

Platform certificates (平台证书) are the mode WeChat Pay stopped issuing to new merchants in
2024; the sandbox serves them only with `--platform-cert`, for clients that must still support
them or migrate away from them. They live in `platform/`, numbered: the highest is the newest.
"""

from __future__ import annotations

import re
import secrets
import string
from dataclasses import asdict, replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from wxbudget import platform_crypto
from wxbudget.errors import UsageError
from wxbudget.sandbox.keys import (
    APIV3_KEY_FILE,
    IDENTITY_FILE,
    MERCHANT_CERT_FILE,
    MERCHANT_PRIVATE_KEY_FILE,
    PLATFORM_DIR,
    Identity,
    PlatformKey,
    load_own_private_key,
    make_private_folder,
    new_rsa_key,
    new_serial_no,
    private_pem,
    serial_fits_certificate,
    write_json,
    write_private,
)
from wxbudget.sandbox.replies import JsonObject

ALPHANUMERIC = string.ascii_letters + string.digits
APIV3_KEY_LENGTH = 32
ENCRYPT_NONCE_LENGTH = 12
PLATFORM_COMMON_NAME = "Tenpay.com sandbox platform"
PLATFORM_ORGANIZATION = "Tenpay.com"
MERCHANT_ORGANIZATION = "微信商户系统"
# Backdated a day so a client whose clock runs a little behind still sees a valid certificate.
BACKDATE = timedelta(days=1)
VALIDITY = timedelta(days=5 * 365)
CHINA_STANDARD_TIME = timezone(timedelta(hours=8))
_PLATFORM_CERT = re.compile(r"platform_cert_(\d{4})\.pem")
LISTED_SERIAL_DIGITS = 40


def self_signed_certificate(
    key: rsa.RSAPrivateKey,
    *,
    serial_no: str,
    common_name: str,
    organization: str,
    now: datetime,
) -> bytes:
    """A PEM certificate for `key`, its serial number the integer value of `serial_no` (hex)."""
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(int(serial_no, 16))
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now - BACKDATE + VALIDITY)
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM)


def ensure_merchant_certificate(home: Path, identity: Identity) -> Identity:
    """Write `keys/merchant_cert.pem` once; returns the identity, re-serialled if it had to be.

    Homes of older versions drew serials that an X.509 certificate cannot carry (a leading 0,
    or 160 bits); such a home gets a new merchant serial, which config.toml follows at once.
    """
    path = home / MERCHANT_CERT_FILE
    if path.exists():
        return identity
    if not serial_fits_certificate(identity.merchant_serial_no):
        identity = replace(identity, merchant_serial_no=new_serial_no())
        # Identity first: a crash before the certificate is written is repaired next start.
        write_json(home / IDENTITY_FILE, asdict(identity))
    key = load_own_private_key(home / MERCHANT_PRIVATE_KEY_FILE)
    pem = self_signed_certificate(
        key,
        serial_no=identity.merchant_serial_no,
        common_name=identity.mchid,
        organization=MERCHANT_ORGANIZATION,
        now=datetime.now(UTC),
    )
    write_private(path, pem)
    return identity


def ensure_apiv3_key(home: Path) -> bytes:
    """The home's APIv3 key (32 ASCII letters and digits), made on first use."""
    path = home / APIV3_KEY_FILE
    if not path.exists():
        key = "".join(secrets.choice(ALPHANUMERIC) for _ in range(APIV3_KEY_LENGTH))
        write_private(path, key.encode("ascii"))
    return path.read_bytes()


def ensure_platform_keys(home: Path) -> tuple[PlatformKey, ...]:
    """Every platform certificate of the home, oldest first; the first one is made on demand."""
    if not _numbers(home):
        add_platform_certificate(home)
    return tuple(_load_platform_key(home, number) for number in _numbers(home))


def add_platform_certificate(home: Path) -> str:
    """A new newest platform certificate; returns its serial number."""
    folder = home / PLATFORM_DIR
    make_private_folder(folder)
    number = max(_numbers(home), default=0) + 1
    key = new_rsa_key()
    # Every other certificate's serial starts with a zero byte, as some real ones do: a client
    # that re-derives the serial from the certificate's number loses it, and sends a serial
    # WeChat Pay never listed.
    serial_no = "00" + new_serial_no()[2:] if number % 2 else new_serial_no()
    pem = self_signed_certificate(
        key,
        serial_no=serial_no,
        common_name=PLATFORM_COMMON_NAME,
        organization=PLATFORM_ORGANIZATION,
        now=datetime.now(UTC),
    )
    # The certificate goes last: a key without one is ignored and overwritten next time.
    write_private(folder / f"platform_key_{number:04d}.pem", private_pem(key))
    write_private(folder / f"platform_cert_{number:04d}.pem", pem)
    return serial_no


def rotate_platform_certificate(home: Path) -> str:
    """Add a platform certificate to an existing home; a restarted sandbox signs with it."""
    if not (home / IDENTITY_FILE).exists():
        raise UsageError(f"{home} is not a sandbox home; start a sandbox there first")
    return add_platform_certificate(home)


def certificate_listing(platform: tuple[PlatformKey, ...], apiv3_key: bytes) -> JsonObject:
    """The body of `GET /v3/certificates`: each certificate sealed with the APIv3 key."""
    data = []
    for entry in platform:
        nonce = "".join(secrets.choice(ALPHANUMERIC) for _ in range(ENCRYPT_NONCE_LENGTH))
        data.append(
            {
                "serial_no": entry.serial_no,
                "effective_time": _rfc3339(entry.certificate.not_before),
                "expire_time": _rfc3339(entry.certificate.not_after),
                "encrypt_certificate": {
                    "algorithm": platform_crypto.AEAD_ALGORITHM,
                    "nonce": nonce,
                    "associated_data": platform_crypto.CERTIFICATE_ASSOCIATED_DATA,
                    "ciphertext": platform_crypto.aead_encrypt(
                        apiv3_key,
                        nonce,
                        platform_crypto.CERTIFICATE_ASSOCIATED_DATA,
                        entry.certificate_pem,
                    ),
                },
            }
        )
    return {"data": data}


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(CHINA_STANDARD_TIME).isoformat(timespec="seconds")


def _numbers(home: Path) -> list[int]:
    folder = home / PLATFORM_DIR
    if not folder.is_dir():
        return []
    found = (_PLATFORM_CERT.fullmatch(entry.name) for entry in folder.iterdir())
    return sorted(int(match.group(1)) for match in found if match is not None)


def _load_platform_key(home: Path, number: int) -> PlatformKey:
    folder = home / PLATFORM_DIR
    pem = (folder / f"platform_cert_{number:04d}.pem").read_bytes()
    certificate = platform_crypto.load_certificate(pem)
    return PlatformKey(
        # Listed as WeChat Pay lists its serials: all 20 bytes, leading zeros kept.
        serial_no=f"{certificate.serial_number:0{LISTED_SERIAL_DIGITS}X}",
        private_key=load_own_private_key(folder / f"platform_key_{number:04d}.pem"),
        certificate_pem=pem,
        certificate=certificate,
    )
