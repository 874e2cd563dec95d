"""Self-signed X.509 certificates for tests: a chosen key, serial, subject and validity."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def self_signed(
    key: rsa.RSAPrivateKey | None = None,
    *,
    serial: int | str = 0xABCDEF,
    common_name: str = "wxbudget test",
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    days_left: float | None = None,
) -> bytes:
    """A PEM certificate for `key` (a fresh one by default).

    `serial` is an int or hex text; validity is `not_before`..`not_after`, by default from a
    day ago until `days_left` days from now (30 by default).
    """
    key = key or new_key()
    now = datetime.now(UTC)
    start = not_before or now - timedelta(days=1)
    end = not_after or now + timedelta(days=30 if days_left is None else days_left)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(int(serial, 16) if isinstance(serial, str) else serial)
        .not_valid_before(start)
        .not_valid_after(end)
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM)
