"""doctor's local checks: the config, files and permissions, the keys and certificates."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wxbudget import certs, config, signing, trust
from wxbudget.doctor.model import (
    CERTIFICATE_WARN_DAYS,
    CONFIG,
    FILES,
    KEY_SOURCE,
    NTP_FIX,
    PRIVATE_KEY,
    PUBLIC_KEY_ID_FORM,
    TOML_LINE,
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

if TYPE_CHECKING:
    from wxbudget.config import Flags


# --- 1. config --------------------------------------------------------------------------------


def check_config(
    flags: Flags, env: Mapping[str, str]
) -> tuple[Check, ProfileUnderTest | None, Path | None, str | None]:
    path, named = config.locate(flags, env)
    requested = flags.profile or env.get(config.ENV_PROFILE) or None
    if not path.exists():
        if named:
            failed = Check(
                CONFIG,
                Status.FAIL,
                f"config file {path} does not exist",
                f"check --config / {config.ENV_CONFIG}, or create it: "
                f"wxbudget profile init NAME --config {path}",
            )
        else:
            failed = Check(
                CONFIG,
                Status.FAIL,
                f"no config file at {path} (commands would use the embedded sandbox)",
                "create a profile: wxbudget profile init NAME",
            )
        return failed, None, path, requested
    try:
        document = config.load(path)
    except ConfigError as error:
        failed = Check(CONFIG, Status.FAIL, error.message, _load_fix(error, path))
        return failed, None, path, requested
    try:
        name, values = config.select_profile(path, document, flags, env)
    except ConfigError as error:
        fix = (
            f"pass -p NAME, set {config.ENV_PROFILE}, or set default_profile in {path} "
            "(wxbudget profile list shows the profiles)"
        )
        return Check(CONFIG, Status.FAIL, error.message, fix), None, path, requested
    # `config=path`: a file that vanished since is an error, never the embedded sandbox.
    settings_flags = replace(flags, config=path)
    try:
        settings = config.resolve(settings_flags, env)
    except ConfigError as error:
        if error.message not in _key_loading_messages(path, values):
            fix = f"edit {name} in {path} (wxbudget profile show {name} shows what it holds)"
            return Check(CONFIG, Status.FAIL, error.message, fix), None, path, name
        # Every rule of the profile held; loading a key failed, and the key checks say why.
        profile = ProfileUnderTest(path, name, values, settings_flags, None, error.message)
    else:
        profile = ProfileUnderTest(path, name, values, settings_flags, settings, None)
    kind = values.get("kind", "partner")
    return Check(CONFIG, Status.PASS, f"{path}: profile {name} ({kind})"), profile, path, name


def _key_loading_messages(path: Path, values: Mapping[str, Any]) -> set[str]:
    """What config's own key loaders say about this profile's key files (nothing when fine).

    Key files load last, after every other rule of the profile, so an error of `resolve` that
    is one of these means the profile itself is sound.
    """
    messages = set()
    loaders: tuple[tuple[str, Callable[[Path], object]], ...] = (
        ("private_key_file", config.load_private_key_file),
        ("wechatpay_public_key_file", config.load_public_key_file),
    )
    for key, loader in loaders:
        value = values.get(key)
        if isinstance(value, str):
            try:
                loader(config.resolve_path(path, value))
            except ConfigError as error:
                messages.add(error.message)
    return messages


def _load_fix(error: ConfigError, path: Path) -> str:
    if isinstance(error, UntrustedFileError):
        return error.fix
    if "invalid TOML" in error.message:
        line = TOML_LINE.search(error.message)
        return f"fix the TOML syntax at line {line.group(1)} of {path}" if line else f"fix {path}"
    if "unknown key" in error.message:
        return f"rename or remove that key in {path}"
    return f"fix {path}"


# --- 2. files ---------------------------------------------------------------------------------

# Key files a profile may name; True: a secret, owner-only like the private key.
_FILE_KEYS = (
    ("private_key_file", True),
    ("merchant_cert_file", False),
    ("wechatpay_public_key_file", False),
    ("apiv3_key_file", True),
)


def check_files(profile: ProfileUnderTest) -> Check:
    findings = [_config_file_mode(profile.path)]
    for key, secret in _FILE_KEYS:
        path = profile.file(key)
        if path is not None:
            findings.append(_file_finding(profile, key, path, secret=secret))
    folder = profile.file("platform_cert_dir")
    if folder is not None and folder.exists():
        if not folder.is_dir():
            findings.append(
                Finding(
                    Status.FAIL,
                    f"platform_cert_dir {folder} is not a folder",
                    f"point platform_cert_dir in {profile.where} at a folder",
                )
            )
        else:
            findings.append(_trust_finding("platform_cert_dir", folder, secret=False))
    return combine(FILES, findings)


def _config_file_mode(path: Path) -> Finding:
    # The config holds paths, not secrets: others may read it, but never rewrite it.
    return _trust_finding("config file", path, secret=False)


def _trust_finding(what: str, path: Path, *, secret: bool) -> Finding:
    """The trust rule (wxbudget.trust) as a finding: who besides this user can change it."""
    try:
        info = path.stat()
        found = trust.exposure(path, secret=secret, info=info)
    except OSError as error:
        return Finding(Status.FAIL, f"cannot stat {path}: {error.strerror}")
    if found is not None:
        return Finding(Status.FAIL, f"{what} {path} {found.problem}", found.fix)
    return Finding(Status.PASS, f"{path.name} {stat.S_IMODE(info.st_mode):04o}")


def _file_finding(profile: ProfileUnderTest, key: str, path: Path, *, secret: bool) -> Finding:
    try:
        info = path.stat()
    except FileNotFoundError:
        return Finding(
            Status.FAIL,
            f"{key} {path} does not exist",
            f"point {key} in {profile.where} at the right file",
        )
    except OSError as error:
        return Finding(Status.FAIL, f"cannot stat {key} {path}: {error.strerror}")
    mode = stat.S_IMODE(info.st_mode)
    if not stat.S_ISREG(info.st_mode):
        return Finding(
            Status.FAIL, f"{key} {path} is not a file", f"point {key} at the file itself"
        )
    # The merchant certificate is only read by doctor itself: it decides nothing.
    if key != "merchant_cert_file":
        found = trust.exposure(path, secret=secret, info=info)
        if found is not None:
            return Finding(Status.FAIL, f"{key} {path} {found.problem}", found.fix)
    if not os.access(path, os.R_OK):
        return Finding(
            Status.FAIL, f"{key} {path} is not readable by this user", f"chmod u+r {path}"
        )
    return Finding(Status.PASS, f"{path.name} {mode:04o}")


# --- 3. private key and merchant certificate --------------------------------------------------


def check_private_key(
    profile: ProfileUnderTest, clock: Callable[[], float]
) -> tuple[signing.PrivateKey | None, Check]:
    path = profile.file("private_key_file")
    pem = read_bytes_or_none(path)
    if path is None or pem is None:
        return None, Check(PRIVATE_KEY, Status.SKIP, f"skipped: cannot read {path} (see files)")
    try:
        key = signing.load_private_key(pem)
    except ValueError as error:
        return None, Check(
            PRIVATE_KEY,
            Status.FAIL,
            f"{path} is not an unencrypted PEM RSA private key ({first_sentence(error)})",
            "use apiclient_key.pem as issued with your API certificate (from a .p12: openssl "
            "pkcs12 -in apiclient_cert.p12 -nocerts -nodes -out apiclient_key.pem)",
        )
    fingerprint = signing.public_key_fingerprint(key.public_key())
    findings = [Finding(Status.PASS, f"RSA {key.key_size}-bit, public half sha256 {fingerprint}")]
    if key.key_size != WECHATPAY_KEY_SIZE:
        findings.append(
            Finding(Status.WARN, f"WeChat Pay API keys are RSA {WECHATPAY_KEY_SIZE}-bit")
        )
    certificate_path = profile.file("merchant_cert_file")
    if certificate_path is None:
        findings.append(
            Finding(Status.PASS, "no merchant_cert_file: only the API can check the serial")
        )
    else:
        findings += _certificate_findings(profile, certificate_path, key, clock)
    return key, combine(PRIVATE_KEY, findings)


def _certificate_findings(
    profile: ProfileUnderTest, path: Path, key: signing.PrivateKey, clock: Callable[[], float]
) -> list[Finding]:
    pem = read_bytes_or_none(path)
    if pem is None:
        return [Finding(Status.SKIP, f"merchant certificate {path} unreadable (see files)")]
    try:
        certificate = signing.load_certificate(pem)
    except ValueError as error:
        return [
            Finding(
                Status.FAIL,
                f"merchant_cert_file {path}: {first_sentence(error)}",
                "point merchant_cert_file at apiclient_cert.pem (PEM)",
            )
        ]
    renew = f"renew the API certificate ({KEY_SOURCE}) and update the profile"
    findings = []
    if not signing.certificate_public_key_matches(certificate, key):
        findings.append(
            Finding(
                Status.FAIL,
                f"merchant certificate {path.name} is for another key (its key sha256 "
                f"{signing.public_key_fingerprint(certificate.public_key)})",
                "use the apiclient_cert.pem issued together with this apiclient_key.pem",
            )
        )
    configured = str(profile.values.get(profile.serial_key, ""))
    if configured.upper().lstrip("0") != certificate.serial_no.upper().lstrip("0"):
        findings.append(
            Finding(
                Status.FAIL,
                f"{profile.serial_key} is {configured} but the serial of {path.name} is "
                f"{certificate.serial_no}",
                f'set {profile.serial_key} = "{certificate.serial_no}" in {profile.where}',
            )
        )
    now = datetime.fromtimestamp(clock(), UTC)
    until = f"{certificate.not_after:%Y-%m-%d}"
    if now < certificate.not_before:
        findings.append(
            Finding(
                Status.FAIL,
                f"merchant certificate is not valid before {certificate.not_before:%Y-%m-%d}",
                f"check this machine's date; {NTP_FIX}",
            )
        )
    elif now > certificate.not_after:
        findings.append(Finding(Status.FAIL, f"merchant certificate expired on {until}", renew))
    elif (certificate.not_after - now).days < CERTIFICATE_WARN_DAYS:
        days = (certificate.not_after - now).days
        findings.append(
            Finding(Status.WARN, f"merchant certificate expires in {days} days ({until})", renew)
        )
    if not findings:
        findings.append(
            Finding(
                Status.PASS,
                f"certificate {certificate.serial_no} matches the key and the serial, "
                f"valid until {until}",
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
        findings.append(Finding(Status.SKIP, "no way to verify answers is configured"))
    return combine(WECHATPAY_KEY, findings)


def _public_key_findings(
    profile: ProfileUnderTest, path: Path, private_key: signing.PrivateKey | None
) -> list[Finding]:
    download = (
        f"download the WeChat Pay public key again ({KEY_SOURCE} > 微信支付公钥) and point "
        f"wechatpay_public_key_file in {profile.where} at it"
    )
    key_id = str(profile.values.get("wechatpay_public_key_id", ""))
    pem = read_bytes_or_none(path)
    if pem is None:
        return [Finding(Status.SKIP, f"cannot read {path} (see files)")]
    try:
        key = signing.load_public_key(pem)
    except ValueError as error:
        return [
            Finding(
                Status.FAIL,
                f"wechatpay_public_key_file {path} is not a PEM RSA public key "
                f"({first_sentence(error)})",
                download,
            )
        ]
    findings = []
    if not PUBLIC_KEY_ID_FORM.fullmatch(key_id):
        findings.append(
            Finding(
                Status.FAIL,
                f"wechatpay_public_key_id {key_id!r} is not of the form "
                f"{config.PUBLIC_KEY_ID_PREFIX}...",
                f"copy the public key id from {KEY_SOURCE} > 微信支付公钥",
            )
        )
    if private_key is not None and (
        key.public_numbers() == private_key.public_key().public_numbers()
    ):
        findings.append(
            Finding(
                Status.FAIL,
                f"{path.name} is the public half of your own private key, not WeChat Pay's",
                download,
            )
        )
    fingerprint = signing.public_key_fingerprint(key)
    findings.append(Finding(Status.PASS, f"{key_id}: RSA public key, sha256 {fingerprint}"))
    return findings


def _platform_findings(
    profile: ProfileUnderTest, folder: Path, clock: Callable[[], float]
) -> list[Finding]:
    findings = []
    key_path = profile.file("apiv3_key_file")
    secret = read_bytes_or_none(key_path)
    if secret is None:
        findings.append(Finding(Status.SKIP, f"cannot read apiv3_key_file {key_path}"))
    elif len(secret.strip()) != config.APIV3_KEY_LENGTH:
        findings.append(
            Finding(
                Status.FAIL,
                f"apiv3_key_file {key_path} holds {len(secret.strip())} bytes; the APIv3 key is "
                f"{config.APIV3_KEY_LENGTH} characters",
                f"put the APIv3 key ({KEY_SOURCE} > APIv3密钥) alone in {key_path}",
            )
        )
    now = datetime.fromtimestamp(clock(), UTC)
    download = f"download them: wxbudget certs download -p {profile.name}"
    # The certificates a command would trust: the cache as certs.load_cache reads it.
    try:
        cached = certs.load_cache(folder)
    except UntrustedFileError as error:
        return [*findings, Finding(Status.FAIL, error.message, error.fix)]
    except ConfigError as error:
        return [*findings, Finding(Status.FAIL, error.message)]
    trusted = {entry.path for entry in cached}
    unusable = [
        f"{path.name} (not a certificate named by its serial)"
        for path in (sorted(folder.glob("*.pem")) if folder.is_dir() else [])
        if path not in trusted
    ]
    unusable += [
        f"{entry.path.name if entry.path else entry.serial_no} (outside its validity dates)"
        for entry in cached
        if not entry.valid_at(now)
    ]
    valid = [entry for entry in cached if entry.valid_at(now)]
    if unusable:
        findings.append(
            Finding(Status.WARN, f"unusable in {folder}: {', '.join(unusable)}", download)
        )
    if not valid:
        findings.append(
            Finding(Status.WARN, f"no valid platform certificate cached in {folder}", download)
        )
    else:
        serials = ", ".join(entry.serial_no for entry in valid)
        latest = max(entry.certificate.not_after for entry in valid)
        findings.append(
            Finding(
                Status.PASS,
                f"{len(valid)} platform certificate(s) cached in {folder} ({serials}), valid "
                f"until {latest:%Y-%m-%d}",
            )
        )
    return findings
