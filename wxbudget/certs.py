"""Platform certificates (平台证书): download, decrypt, check dates, cache, look up by serial.

Merchants registered before the WeChat Pay public key existed verify answers with platform
certificates, downloaded from `GET /v3/certificates` and each encrypted with the APIv3 key.
The cache is a folder of `<serial>.pem` files (public certificates, not secrets).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from wxbudget import signing
from wxbudget.errors import ConfigError, VerificationError

CERTIFICATES_PATH = "/v3/certificates"


@dataclass(frozen=True)
class CachedCertificate:
    """A platform certificate and its serial exactly as `/v3/certificates` listed it: the
    string WeChat Pay compares (a parsed certificate's number drops leading zeros)."""

    certificate: signing.Certificate
    pem: bytes
    serial_no: str
    path: Path | None = None

    def valid_at(self, now: datetime) -> bool:
        return self.certificate.not_before <= now <= self.certificate.not_after


def load_cache(folder: Path) -> list[CachedCertificate]:
    """Every certificate in the cache folder that parses, newest expiry last.

    Each one becomes a trust anchor, so the folder and its files must pass the trust rule:
    whoever can plant a certificate here could make a forged answer verify.
    """
    from wxbudget import trust
    from wxbudget.keyfiles import require_trusted_if_present

    found: list[CachedCertificate] = []
    require_trusted_if_present(folder, "platform_cert_dir", secret=False)
    if not folder.is_dir():
        return found
    for path in sorted(folder.glob("*.pem")):
        try:
            pem = trust.read_trusted(path, "cached platform certificate", secret=False)
            certificate = signing.load_certificate(pem)
        except (OSError, ValueError):
            continue  # a stray or half-written file is not a certificate we trust
        # The file is named by the listing's serial: a name that is not this certificate's
        # serial marks a stray file, not a certificate that came through a download.
        if signing.same_serial(path.stem, certificate.serial_no):
            found.append(CachedCertificate(certificate, pem, path.stem, path))
    return sorted(found, key=lambda cached: cached.certificate.not_after)


def save_cache(folder: Path, certificates: list[CachedCertificate]) -> list[Path]:
    """Write each certificate as `<serial>.pem`, atomically; the folder is created 0700."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    written = []
    for cached in certificates:
        target = folder / f"{cached.serial_no}.pem"
        descriptor, temporary = tempfile.mkstemp(dir=folder, prefix=".cert-", suffix=".tmp")
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(cached.pem)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        written.append(target)
    return written


def decrypt_listing(data: Any, apiv3_key: bytes, now: datetime) -> list[CachedCertificate]:
    """The certificates of a `/v3/certificates` answer that decrypt and are valid now.

    Decryption with the APIv3 key (AES-GCM authenticates) is the first proof that the listing
    came from WeChat Pay; the answer's signature is then checked with these certificates.
    """
    entries = data.get("data") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise VerificationError("the certificate listing has no data array; not believed")
    found = []
    for entry in entries:
        try:
            sealed = entry["encrypt_certificate"]
            pem = signing.aead_decrypt(
                apiv3_key,
                str(sealed["nonce"]),
                str(sealed["associated_data"]),
                str(sealed["ciphertext"]),
            )
            certificate = signing.load_certificate(pem)
        except (KeyError, TypeError) as error:
            raise VerificationError(f"a certificate entry is malformed ({error})") from error
        except ValueError as error:
            raise ConfigError(
                f"cannot decrypt platform certificate {entry.get('serial_no')}: {error}; "
                "check apiv3_key_file (the APIv3 key set in 商户平台 > API安全)"
            ) from error
        listed = entry.get("serial_no")
        if not isinstance(listed, str) or not signing.same_serial(certificate.serial_no, listed):
            raise VerificationError(
                f"platform certificate serial {certificate.serial_no} does not match its "
                f"listing entry {listed}; not believed"
            )
        cached = CachedCertificate(certificate, pem, listed)
        if cached.valid_at(now):
            found.append(cached)
    return found


def keys_by_serial(certificates: list[CachedCertificate], now: datetime) -> dict[str, Any]:
    return {c.serial_no: c.certificate.public_key for c in certificates if c.valid_at(now)}


def utc_now(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)
