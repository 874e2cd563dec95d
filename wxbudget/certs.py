"""Platform certificates (平台证书): download, decrypt, check dates, cache, look up by serial.

Merchants registered before the WeChat Pay public key existed verify answers with platform
certificates, downloaded from `GET /v3/certificates` and each encrypted with the APIv3 key.

The cache is a folder of `<serial>.json` files, each the listing entry exactly as WeChat Pay
sent it: the AEAD_AES_256_GCM ciphertext with its nonce and associated data. A cached
certificate is decrypted with the APIv3 key every time it is loaded, so only a certificate that
came through a download is believed: a planted file (a `.pem`, or a `.json` sealed with any
other key) is never a trust anchor. Plain `.pem` files, what earlier versions cached, are
ignored and replaced by the next download, which happens by itself on the first answer that
needs them.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from wxbudget import platform_crypto, signing
from wxbudget.errors import ConfigError, VerificationError
from wxbudget.i18n import _

CERTIFICATES_PATH = "/v3/certificates"
CACHE_SUFFIX = ".json"
# What wxbudget cached before the cache was sealed: never believed, replaced by a download.
LEGACY_SUFFIX = ".pem"


@dataclass(frozen=True)
class CachedCertificate:
    """A platform certificate, its serial exactly as `/v3/certificates` listed it (the string
    WeChat Pay compares; a parsed certificate's number drops leading zeros) and the listing
    entry it was decrypted from (what the cache stores)."""

    certificate: platform_crypto.Certificate
    serial_no: str
    entry: dict[str, Any]
    path: Path | None = None

    def valid_at(self, now: datetime) -> bool:
        return self.certificate.not_before <= now <= self.certificate.not_after


@dataclass(frozen=True)
class CacheContents:
    """What a cache folder holds: the certificates that decrypt with this APIv3 key, and the
    files that are not believed, each with the reason (for doctor)."""

    certificates: list[CachedCertificate]
    ignored: list[tuple[Path, str]]


def cached_files(folder: Path) -> list[Path]:
    """The files of the cache folder that look like certificates, sealed or legacy."""
    if not folder.is_dir():
        return []
    return sorted(folder.glob(f"*{CACHE_SUFFIX}")) + sorted(folder.glob(f"*{LEGACY_SUFFIX}"))


def read_cache(folder: Path, apiv3_key: bytes | None) -> CacheContents:
    """Every cached certificate that decrypts with `apiv3_key`, newest expiry last.

    Each one becomes a trust anchor, so the folder and its files must also pass the trust rule
    (exit 3 otherwise): whoever can replace them could at least withdraw a certificate.
    """
    from wxbudget import trust
    from wxbudget.keyfiles import require_trusted_if_present

    found: list[CachedCertificate] = []
    ignored: list[tuple[Path, str]] = []
    require_trusted_if_present(folder, "platform_cert_dir", secret=False)
    for path in cached_files(folder):
        if path.suffix == LEGACY_SUFFIX:
            ignored.append((path, _("a plain certificate, not sealed with the APIv3 key")))
            continue
        try:
            raw = trust.read_trusted(path, _("cached platform certificate"), secret=False)
        except OSError:
            continue  # vanished or unreadable: nothing to believe
        if apiv3_key is None:
            ignored.append((path, _("no APIv3 key to open it")))
            continue
        try:
            cached = _open_entry(json.loads(raw), apiv3_key, path)
        except (ValueError, KeyError, TypeError, RecursionError, VerificationError) as error:
            ignored.append((path, _("not believed: {error}", error=error)))
            continue
        found.append(cached)
    found.sort(key=lambda cached: cached.certificate.not_after)
    return CacheContents(found, ignored)


def load_cache(folder: Path, apiv3_key: bytes | None) -> list[CachedCertificate]:
    """The certificates `read_cache` believes."""
    return read_cache(folder, apiv3_key).certificates


def _open_entry(entry: Any, apiv3_key: bytes, path: Path) -> CachedCertificate:
    """Decrypt one cached listing entry; a file not named by the serial inside it is stray."""
    cached = _decrypt_entry(entry, apiv3_key)
    if path.stem != cached.serial_no:
        raise VerificationError(
            _(
                "it is named {stem} but holds {serial_no}",
                stem=path.stem,
                serial_no=cached.serial_no,
            )
        )
    return CachedCertificate(cached.certificate, cached.serial_no, cached.entry, path)


def _decrypt_entry(entry: Any, apiv3_key: bytes) -> CachedCertificate:
    """A listing entry's certificate; ValueError when it does not decrypt with this key,
    KeyError/TypeError when malformed, VerificationError when the serials disagree."""
    sealed = entry["encrypt_certificate"]
    pem = platform_crypto.aead_decrypt(
        apiv3_key, str(sealed["nonce"]), str(sealed["associated_data"]), str(sealed["ciphertext"])
    )
    certificate = platform_crypto.load_certificate(pem)
    listed = entry.get("serial_no")
    if not isinstance(listed, str) or not signing.same_serial(certificate.serial_no, listed):
        raise VerificationError(
            _(
                "platform certificate serial {serial_no} does not match its "
                "listing entry {listed}; not believed",
                serial_no=certificate.serial_no,
                listed=listed,
            )
        )
    # Kept as WeChat Pay sent it, minus anything that is not part of the sealed entry.
    kept = {key: entry[key] for key in _ENTRY_KEYS if key in entry}
    return CachedCertificate(certificate, listed, kept)


_ENTRY_KEYS = ("serial_no", "effective_time", "expire_time", "encrypt_certificate")


def save_cache(folder: Path, certificates: list[CachedCertificate]) -> list[Path]:
    """Write each listing entry as `<serial>.json`, atomically, in a folder created 0700; the
    legacy `<serial>.pem` of the same certificate is removed."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    written = []
    for cached in certificates:
        target = folder / f"{cached.serial_no}{CACHE_SUFFIX}"
        descriptor, temporary = tempfile.mkstemp(dir=folder, prefix=".cert-", suffix=".tmp")
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                json.dump(cached.entry, handle, ensure_ascii=False, indent=2)
                handle.write("\n")
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        (folder / f"{cached.serial_no}{LEGACY_SUFFIX}").unlink(missing_ok=True)
        written.append(target)
    return written


def decrypt_listing(data: Any, apiv3_key: bytes, now: datetime) -> list[CachedCertificate]:
    """The certificates of a `/v3/certificates` answer that decrypt and are valid now.

    Decryption with the APIv3 key (AES-GCM authenticates) is the first proof that the listing
    came from WeChat Pay; the answer's signature is then checked with these certificates.
    """
    entries = data.get("data") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise VerificationError(_("the certificate listing has no data array; not believed"))
    found = []
    for entry in entries:
        try:
            cached = _decrypt_entry(entry, apiv3_key)
        except (KeyError, TypeError, AttributeError) as error:
            raise VerificationError(
                _("a certificate entry is malformed ({error})", error=error)
            ) from error
        except ValueError as error:
            serial = entry.get("serial_no") if isinstance(entry, dict) else None
            raise ConfigError(
                _(
                    "cannot decrypt platform certificate {serial}: {error}; "
                    "check apiv3_key_file (the APIv3 key set in 商户平台 > API安全)",
                    serial=serial,
                    error=error,
                )
            ) from error
        if cached.valid_at(now):
            found.append(cached)
    return found


def keys_by_serial(certificates: list[CachedCertificate], now: datetime) -> dict[str, Any]:
    return {c.serial_no: c.certificate.public_key for c in certificates if c.valid_at(now)}


def utc_now(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)
