"""doctor's checks of keys and certificates: the private key and the merchant certificate match
the profile, and answers can be verified (WeChat Pay public key or platform certificates)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from wxbudget import certs, i18n, platform_crypto, signing
from wxbudget.doctor.model import (
    CERTIFICATE_WARN_DAYS,
    KEY_SOURCE,
    NTP_FIX,
    PRIVATE_KEY,
    PUBLIC_KEY_ID_FORM,
    WECHATPAY_KEY,
    WECHATPAY_KEY_SIZE,
    Check,
    Finding,
    ProfileUnderTest,
    Status,
    combine,
    first_sentence,
    read_bytes_or_none,
)
from wxbudget.errors import ConfigError, UntrustedFileError
from wxbudget.i18n import _
from wxbudget.settings import APIV3_KEY_LENGTH, PUBLIC_KEY_ID_PREFIX

if TYPE_CHECKING:
    pass


# --- 3. private key and merchant certificate --------------------------------------------------


def check_private_key(
    profile: ProfileUnderTest, clock: Callable[[], float]
) -> tuple[signing.PrivateKey | None, Check]:
    path = profile.file("private_key_file")
    pem = read_bytes_or_none(path)
    if path is None or pem is None:
        return None, Check(
            PRIVATE_KEY, Status.SKIP, _("skipped: cannot read {path} (see files)", path=path)
        )
    try:
        key = signing.load_private_key(pem)
    except ValueError as error:
        return None, Check(
            PRIVATE_KEY,
            Status.FAIL,
            _(
                "{path} is not an unencrypted PEM RSA private key ({reason})",
                path=path,
                reason=first_sentence(error),
            ),
            _(
                "use apiclient_key.pem as issued with your API certificate (from a .p12: openssl "
                "pkcs12 -in apiclient_cert.p12 -nocerts -nodes -out apiclient_key.pem)"
            ),
        )
    fingerprint = platform_crypto.public_key_fingerprint(key.public_key())
    findings = [
        Finding(
            Status.PASS,
            _(
                "RSA {key_size}-bit, public half sha256 {fingerprint}",
                key_size=key.key_size,
                fingerprint=fingerprint,
            ),
        )
    ]
    if key.key_size != WECHATPAY_KEY_SIZE:
        findings.append(
            Finding(
                Status.WARN,
                _(
                    "WeChat Pay API keys are RSA {wechatpay_key_size}-bit",
                    wechatpay_key_size=WECHATPAY_KEY_SIZE,
                ),
            )
        )
    certificate_path = profile.file("merchant_cert_file")
    if certificate_path is None:
        findings.append(
            Finding(Status.PASS, _("no merchant_cert_file: only the API can check the serial"))
        )
    else:
        findings += _certificate_findings(profile, certificate_path, key, clock)
    return key, combine(PRIVATE_KEY, findings)


def _certificate_findings(
    profile: ProfileUnderTest, path: Path, key: signing.PrivateKey, clock: Callable[[], float]
) -> list[Finding]:
    pem = read_bytes_or_none(path)
    if pem is None:
        return [
            Finding(Status.SKIP, _("merchant certificate {path} unreadable (see files)", path=path))
        ]
    try:
        certificate = platform_crypto.load_certificate(pem)
    except ValueError as error:
        return [
            Finding(
                Status.FAIL,
                _("merchant_cert_file {path}: {reason}", path=path, reason=first_sentence(error)),
                _("point merchant_cert_file at apiclient_cert.pem (PEM)"),
            )
        ]
    renew = _(
        "renew the API certificate ({key_source}) and update the profile", key_source=KEY_SOURCE
    )
    findings = []
    if not platform_crypto.certificate_public_key_matches(certificate, key):
        findings.append(
            Finding(
                Status.FAIL,
                _(
                    "merchant certificate {name} is for another key (its key sha256 "
                    "{public_key_fingerprint})",
                    name=path.name,
                    public_key_fingerprint=platform_crypto.public_key_fingerprint(
                        certificate.public_key
                    ),
                ),
                _("use the apiclient_cert.pem issued together with this apiclient_key.pem"),
            )
        )
    configured = str(profile.values.get(profile.serial_key, ""))
    if configured.upper().lstrip("0") != certificate.serial_no.upper().lstrip("0"):
        findings.append(
            Finding(
                Status.FAIL,
                _(
                    "{serial_key} is {configured} but the serial of {name} is {serial_no}",
                    serial_key=profile.serial_key,
                    configured=configured,
                    name=path.name,
                    serial_no=certificate.serial_no,
                ),
                _(
                    'set {serial_key} = "{serial_no}" in {where}',
                    serial_key=profile.serial_key,
                    serial_no=certificate.serial_no,
                    where=profile.where,
                ),
            )
        )
    now = datetime.fromtimestamp(clock(), UTC)
    until = f"{certificate.not_after:%Y-%m-%d}"
    if now < certificate.not_before:
        findings.append(
            Finding(
                Status.FAIL,
                _(
                    "merchant certificate is not valid before {not_before:%Y-%m-%d}",
                    not_before=certificate.not_before,
                ),
                _("check this machine's date; {ntp_fix}", ntp_fix=NTP_FIX),
            )
        )
    elif now > certificate.not_after:
        findings.append(
            Finding(Status.FAIL, _("merchant certificate expired on {until}", until=until), renew)
        )
    elif (certificate.not_after - now).days < CERTIFICATE_WARN_DAYS:
        days = (certificate.not_after - now).days
        findings.append(
            Finding(
                Status.WARN,
                _("merchant certificate expires in {days} days ({until})", days=days, until=until),
                renew,
            )
        )
    if not findings:
        findings.append(
            Finding(
                Status.PASS,
                _(
                    "certificate {serial_no} matches the key and the serial, valid until {until}",
                    serial_no=certificate.serial_no,
                    until=until,
                ),
            )
        )
    return findings


# --- 4. WeChat Pay public key / platform certificates -----------------------------------------


def check_wechatpay_key(
    profile: ProfileUnderTest, private_key: signing.PrivateKey | None, clock: Callable[[], float]
) -> Check:
    findings: list[Finding] = []
    path = profile.file("wechatpay_public_key_file")
    if path is not None:
        findings += _public_key_findings(profile, path, private_key)
    folder = profile.file("platform_cert_dir")
    if folder is not None:
        findings += _platform_findings(profile, folder, clock)
    if not findings:
        findings.append(Finding(Status.SKIP, _("no way to verify answers is configured")))
    return combine(WECHATPAY_KEY, findings)


def _public_key_findings(
    profile: ProfileUnderTest, path: Path, private_key: signing.PrivateKey | None
) -> list[Finding]:
    download = _(
        "download the WeChat Pay public key again ({key_source} > 微信支付公钥) and point "
        "wechatpay_public_key_file in {where} at it",
        key_source=KEY_SOURCE,
        where=profile.where,
    )
    key_id = str(profile.values.get("wechatpay_public_key_id", ""))
    pem = read_bytes_or_none(path)
    if pem is None:
        return [Finding(Status.SKIP, _("cannot read {path} (see files)", path=path))]
    try:
        key = signing.load_public_key(pem)
    except ValueError as error:
        return [
            Finding(
                Status.FAIL,
                _(
                    "wechatpay_public_key_file {path} is not a PEM RSA public key ({reason})",
                    path=path,
                    reason=first_sentence(error),
                ),
                download,
            )
        ]
    findings = []
    if not PUBLIC_KEY_ID_FORM.fullmatch(key_id):
        findings.append(
            Finding(
                Status.FAIL,
                _(
                    "wechatpay_public_key_id {key_id!r} is not of the form "
                    "{public_key_id_prefix}...",
                    key_id=key_id,
                    public_key_id_prefix=PUBLIC_KEY_ID_PREFIX,
                ),
                _("copy the public key id from {key_source} > 微信支付公钥", key_source=KEY_SOURCE),
            )
        )
    if private_key is not None and (
        key.public_numbers() == private_key.public_key().public_numbers()
    ):
        findings.append(
            Finding(
                Status.FAIL,
                _(
                    "{name} is the public half of your own private key, not WeChat Pay's",
                    name=path.name,
                ),
                download,
            )
        )
    fingerprint = platform_crypto.public_key_fingerprint(key)
    findings.append(
        Finding(
            Status.PASS,
            _(
                "{key_id}: RSA public key, sha256 {fingerprint}",
                key_id=key_id,
                fingerprint=fingerprint,
            ),
        )
    )
    return findings


def _platform_findings(
    profile: ProfileUnderTest, folder: Path, clock: Callable[[], float]
) -> list[Finding]:
    findings = []
    key_path = profile.file("apiv3_key_file")
    secret = read_bytes_or_none(key_path)
    apiv3_key = None if secret is None else secret.strip()
    if secret is None:
        findings.append(
            Finding(Status.SKIP, _("cannot read apiv3_key_file {key_path}", key_path=key_path))
        )
    elif apiv3_key is not None and len(apiv3_key) != APIV3_KEY_LENGTH:
        findings.append(
            Finding(
                Status.FAIL,
                _(
                    "apiv3_key_file {key_path} holds {count} bytes; the APIv3 key is "
                    "{apiv3_key_length} characters",
                    key_path=key_path,
                    count=len(apiv3_key),
                    apiv3_key_length=APIV3_KEY_LENGTH,
                ),
                _(
                    "put the APIv3 key ({key_source} > APIv3密钥) alone in {key_path}",
                    key_source=KEY_SOURCE,
                    key_path=key_path,
                ),
            )
        )
        apiv3_key = None
    now = datetime.fromtimestamp(clock(), UTC)
    download = _("download them: wxbudget certs download -p {name}", name=profile.name)
    # The certificates a command would trust: the cache as certs.read_cache opens it.
    try:
        contents = certs.read_cache(folder, apiv3_key)
    except UntrustedFileError as error:
        return [*findings, Finding(Status.FAIL, error.message, error.fix)]
    except ConfigError as error:
        return [*findings, Finding(Status.FAIL, error.message)]
    cached = contents.certificates
    unusable = [
        _("{name} ({reason})", name=path.name, reason=reason) for path, reason in contents.ignored
    ]
    unusable += [
        _(
            "{name} (outside its validity dates)",
            name=entry.path.name if entry.path else entry.serial_no,
        )
        for entry in cached
        if not entry.valid_at(now)
    ]
    valid = [entry for entry in cached if entry.valid_at(now)]
    if unusable:
        findings.append(
            Finding(
                Status.WARN,
                _(
                    "unusable in {folder}: {unusable}",
                    folder=folder,
                    unusable=i18n.join(", ", unusable),
                ),
                download,
            )
        )
    if not valid:
        findings.append(
            Finding(
                Status.WARN,
                _("no valid platform certificate cached in {folder}", folder=folder),
                download,
            )
        )
    else:
        serials = ", ".join(entry.serial_no for entry in valid)
        latest = max(entry.certificate.not_after for entry in valid)
        findings.append(
            Finding(
                Status.PASS,
                _(
                    "{count} platform certificate(s) cached in {folder} ({serials}), valid "
                    "until {latest:%Y-%m-%d}",
                    count=len(valid),
                    folder=folder,
                    serials=serials,
                    latest=latest,
                ),
            )
        )
    return findings
