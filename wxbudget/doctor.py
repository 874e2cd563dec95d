"""`wxbudget doctor`: check one profile end to end; every check returns a result, none raises.

Checks run in order. One whose input a failed check broke is reported as skipped, with the
reason, so a single root cause never shows up as a cascade of failures. Nothing here prints:
the CLI renders the Report. Key material never enters a result, only paths, modes, serials,
ids and SHA-256 fingerprints of public keys.
"""

from __future__ import annotations

import os
import re
import socket
import stat
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from wxbudget import config, profiles, signing
from wxbudget.errors import ApiError, ConfigError, VerificationError, WxBudgetError

if TYPE_CHECKING:
    from wxbudget.config import Flags, Settings

CONFIG = "config"
FILES = "files"
PRIVATE_KEY = "private-key"
WECHATPAY_KEY = "wechatpay-key"
HOST = "host"
BACKUP_HOST = "backup-host"
CLOCK_SKEW = "clock-skew"
SIGNED_ANSWER = "signed-answer"
CHECK_NAMES = (
    CONFIG,
    FILES,
    PRIVATE_KEY,
    WECHATPAY_KEY,
    HOST,
    BACKUP_HOST,
    CLOCK_SKEW,
    SIGNED_ANSWER,
)

SKEW_WARN_SECONDS = 60
SKEW_FAIL_SECONDS = signing.MAX_CLOCK_SKEW_SECONDS
CERTIFICATE_WARN_DAYS = 30
WECHATPAY_KEY_SIZE = 2048
# Without --stock the clock is read from the answer to a stock that does not exist: WeChat Pay
# stamps error answers with Date (and usually Wechatpay-Timestamp) like any other.
PROBE_PRODUCT_COUPON_ID = "1000000000"
PROBE_STOCK_ID = "1000000000000"
PUBLIC_KEY_ID_FORM = re.compile(re.escape(config.PUBLIC_KEY_ID_PREFIX) + r"[0-9A-Za-z_]+")
_TOML_LINE = re.compile(r" line (\d+)")
_KEY_SOURCE = "商户平台 > 账户中心 > API安全"
NTP_FIX = "synchronise this machine's clock (sudo timedatectl set-ntp true, or chronyc makestep)"


class Status(StrEnum):
    PASS = "pass"  # noqa: S105 - a check status, not a password
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"


_SEVERITY = {Status.SKIP: 0, Status.PASS: 1, Status.WARN: 2, Status.FAIL: 3}


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str
    fix: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status.value,
            "detail": self.detail,
            "fix": self.fix,
        }


@dataclass(frozen=True)
class Report:
    config_path: Path | None
    profile: str | None
    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        """Nothing failed; warnings and skips are allowed."""
        return all(check.status is not Status.FAIL for check in self.checks)

    def check(self, name: str) -> Check:
        return next(check for check in self.checks if check.name == name)

    def to_json(self) -> dict[str, Any]:
        return {
            "profile": self.profile,
            "config": None if self.config_path is None else str(self.config_path),
            "checks": [check.to_json() for check in self.checks],
            "ok": self.ok,
        }


@dataclass(frozen=True)
class _Finding:
    """One observation inside a check; a check's status is its worst finding's."""

    status: Status
    detail: str
    fix: str | None = None


def _combine(name: str, findings: list[_Finding]) -> Check:
    ordered = sorted(findings, key=lambda finding: -_SEVERITY[finding.status])
    fixes = list(dict.fromkeys(finding.fix for finding in ordered if finding.fix))
    return Check(
        name,
        ordered[0].status,
        "; ".join(finding.detail for finding in ordered),
        "; ".join(fixes) or None,
    )


@dataclass(frozen=True)
class _Profile:
    """The selected profile as written, and the Settings commands would get (None: they fail)."""

    path: Path
    name: str
    values: Mapping[str, Any]
    flags: Flags
    settings: Settings | None
    settings_error: str | None

    def file(self, key: str) -> Path | None:
        value = self.values.get(key)
        return profiles.resolve_path(self.path, value) if isinstance(value, str) else None

    @property
    def where(self) -> str:
        return f"profile '{self.name}' of {self.path}"

    @property
    def serial_key(self) -> str:
        return "brand_serial_no" if self.values.get("kind") == "brand" else "merchant_serial_no"


def diagnose(
    flags: Flags,
    env: Mapping[str, str] | None = None,
    *,
    stock: tuple[str, str] | None = None,
    clock: Callable[[], float] = time.time,
    trace: Callable[[str], None] | None = None,
) -> Report:
    """Run every check for the profile `flags`/`env` select; `stock` adds a verified GET.

    `clock` is this machine's clock as the checks see it (tests shift it to provoke skew).
    """
    env = os.environ if env is None else env
    first, profile, path, name = _check_config(flags, env)
    if profile is None:
        reason = f"skipped: the {CONFIG} check failed"
        later = (Check(other, Status.SKIP, reason) for other in CHECK_NAMES[1:])
        return Report(path, name, (first, *later))
    private_key, key_check = _check_private_key(profile, clock)
    checks = [first, _check_files(profile), key_check]
    checks.append(_check_wechatpay_key(profile, private_key, clock))
    hosts = _check_hosts(profile)
    checks += hosts
    checks += _check_api(profile, hosts[0], stock, clock, trace)
    return Report(path, name, tuple(checks))


# --- 1. config --------------------------------------------------------------------------------


def _check_config(
    flags: Flags, env: Mapping[str, str]
) -> tuple[Check, _Profile | None, Path | None, str | None]:
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
        name, values = config._select_profile(path, document, flags, env)
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
        profile = _Profile(path, name, values, settings_flags, None, error.message)
    else:
        profile = _Profile(path, name, values, settings_flags, settings, None)
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
                loader(profiles.resolve_path(path, value))
            except ConfigError as error:
                messages.add(error.message)
    return messages


def _load_fix(error: ConfigError, path: Path) -> str:
    if "invalid TOML" in error.message:
        line = _TOML_LINE.search(error.message)
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


def _check_files(profile: _Profile) -> Check:
    findings = [_config_file_mode(profile.path)]
    for key, secret in _FILE_KEYS:
        path = profile.file(key)
        if path is not None:
            findings.append(_file_finding(profile, key, path, secret=secret))
    folder = profile.file("platform_cert_dir")
    if folder is not None and folder.exists() and not folder.is_dir():
        findings.append(
            _Finding(
                Status.FAIL,
                f"platform_cert_dir {folder} is not a folder",
                f"point platform_cert_dir in {profile.where} at a folder",
            )
        )
    return _combine(FILES, findings)


def _config_file_mode(path: Path) -> _Finding:
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError as error:
        return _Finding(Status.FAIL, f"cannot stat {path}: {error.strerror}")
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        return _Finding(
            Status.WARN,
            f"config file {path} is mode {mode:04o}: group or others can read it",
            f"chmod 600 {path}",
        )
    return _Finding(Status.PASS, f"{path.name} {mode:04o}")


def _file_finding(profile: _Profile, key: str, path: Path, *, secret: bool) -> _Finding:
    try:
        info = path.stat()
    except FileNotFoundError:
        return _Finding(
            Status.FAIL,
            f"{key} {path} does not exist",
            f"point {key} in {profile.where} at the right file",
        )
    except OSError as error:
        return _Finding(Status.FAIL, f"cannot stat {key} {path}: {error.strerror}")
    mode = stat.S_IMODE(info.st_mode)
    if not stat.S_ISREG(info.st_mode):
        return _Finding(
            Status.FAIL, f"{key} {path} is not a file", f"point {key} at the file itself"
        )
    if secret and mode & (stat.S_IRWXG | stat.S_IRWXO):
        return _Finding(
            Status.FAIL,
            f"{key} {path} is mode {mode:04o}: group or others can read this secret",
            f"chmod 600 {path}",
        )
    if not os.access(path, os.R_OK):
        return _Finding(
            Status.FAIL, f"{key} {path} is not readable by this user", f"chmod u+r {path}"
        )
    return _Finding(Status.PASS, f"{path.name} {mode:04o}")


# --- 3. private key and merchant certificate --------------------------------------------------


def _check_private_key(
    profile: _Profile, clock: Callable[[], float]
) -> tuple[signing.PrivateKey | None, Check]:
    path = profile.file("private_key_file")
    pem = _read(path)
    if path is None or pem is None:
        return None, Check(PRIVATE_KEY, Status.SKIP, f"skipped: cannot read {path} (see files)")
    try:
        key = signing.load_private_key(pem)
    except ValueError as error:
        return None, Check(
            PRIVATE_KEY,
            Status.FAIL,
            f"{path} is not an unencrypted PEM RSA private key ({_first_sentence(error)})",
            "use apiclient_key.pem as issued with your API certificate (from a .p12: openssl "
            "pkcs12 -in apiclient_cert.p12 -nocerts -nodes -out apiclient_key.pem)",
        )
    fingerprint = signing.public_key_fingerprint(key.public_key())
    findings = [_Finding(Status.PASS, f"RSA {key.key_size}-bit, public half sha256 {fingerprint}")]
    if key.key_size != WECHATPAY_KEY_SIZE:
        findings.append(
            _Finding(Status.WARN, f"WeChat Pay API keys are RSA {WECHATPAY_KEY_SIZE}-bit")
        )
    certificate_path = profile.file("merchant_cert_file")
    if certificate_path is None:
        findings.append(
            _Finding(Status.PASS, "no merchant_cert_file: only the API can check the serial")
        )
    else:
        findings += _certificate_findings(profile, certificate_path, key, clock)
    return key, _combine(PRIVATE_KEY, findings)


def _certificate_findings(
    profile: _Profile, path: Path, key: signing.PrivateKey, clock: Callable[[], float]
) -> list[_Finding]:
    pem = _read(path)
    if pem is None:
        return [_Finding(Status.SKIP, f"merchant certificate {path} unreadable (see files)")]
    try:
        certificate = signing.load_certificate(pem)
    except ValueError as error:
        return [
            _Finding(
                Status.FAIL,
                f"merchant_cert_file {path}: {_first_sentence(error)}",
                "point merchant_cert_file at apiclient_cert.pem (PEM)",
            )
        ]
    renew = f"renew the API certificate ({_KEY_SOURCE}) and update the profile"
    findings = []
    if not signing.certificate_public_key_matches(certificate, key):
        findings.append(
            _Finding(
                Status.FAIL,
                f"merchant certificate {path.name} is for another key (its key sha256 "
                f"{signing.public_key_fingerprint(certificate.public_key)})",
                "use the apiclient_cert.pem issued together with this apiclient_key.pem",
            )
        )
    configured = str(profile.values.get(profile.serial_key, ""))
    if configured.upper().lstrip("0") != certificate.serial_no.upper().lstrip("0"):
        findings.append(
            _Finding(
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
            _Finding(
                Status.FAIL,
                f"merchant certificate is not valid before {certificate.not_before:%Y-%m-%d}",
                f"check this machine's date; {NTP_FIX}",
            )
        )
    elif now > certificate.not_after:
        findings.append(_Finding(Status.FAIL, f"merchant certificate expired on {until}", renew))
    elif (certificate.not_after - now).days < CERTIFICATE_WARN_DAYS:
        days = (certificate.not_after - now).days
        findings.append(
            _Finding(Status.WARN, f"merchant certificate expires in {days} days ({until})", renew)
        )
    if not findings:
        findings.append(
            _Finding(
                Status.PASS,
                f"certificate {certificate.serial_no} matches the key and the serial, "
                f"valid until {until}",
            )
        )
    return findings


# --- 4. WeChat Pay public key / platform certificates -----------------------------------------


def _check_wechatpay_key(
    profile: _Profile, private_key: signing.PrivateKey | None, clock: Callable[[], float]
) -> Check:
    findings: list[_Finding] = []
    path = profile.file("wechatpay_public_key_file")
    if path is not None:
        findings += _public_key_findings(profile, path, private_key)
    folder = profile.file("platform_cert_dir")
    if folder is not None:
        findings += _platform_findings(profile, folder, clock)
    if not findings:
        findings.append(_Finding(Status.SKIP, "no way to verify answers is configured"))
    return _combine(WECHATPAY_KEY, findings)


def _public_key_findings(
    profile: _Profile, path: Path, private_key: signing.PrivateKey | None
) -> list[_Finding]:
    download = (
        f"download the WeChat Pay public key again ({_KEY_SOURCE} > 微信支付公钥) and point "
        f"wechatpay_public_key_file in {profile.where} at it"
    )
    key_id = str(profile.values.get("wechatpay_public_key_id", ""))
    pem = _read(path)
    if pem is None:
        return [_Finding(Status.SKIP, f"cannot read {path} (see files)")]
    try:
        key = signing.load_public_key(pem)
    except ValueError as error:
        return [
            _Finding(
                Status.FAIL,
                f"wechatpay_public_key_file {path} is not a PEM RSA public key "
                f"({_first_sentence(error)})",
                download,
            )
        ]
    findings = []
    if not PUBLIC_KEY_ID_FORM.fullmatch(key_id):
        findings.append(
            _Finding(
                Status.FAIL,
                f"wechatpay_public_key_id {key_id!r} is not of the form "
                f"{config.PUBLIC_KEY_ID_PREFIX}...",
                f"copy the public key id from {_KEY_SOURCE} > 微信支付公钥",
            )
        )
    if private_key is not None and (
        key.public_numbers() == private_key.public_key().public_numbers()
    ):
        findings.append(
            _Finding(
                Status.FAIL,
                f"{path.name} is the public half of your own private key, not WeChat Pay's",
                download,
            )
        )
    fingerprint = signing.public_key_fingerprint(key)
    findings.append(_Finding(Status.PASS, f"{key_id}: RSA public key, sha256 {fingerprint}"))
    return findings


def _platform_findings(
    profile: _Profile, folder: Path, clock: Callable[[], float]
) -> list[_Finding]:
    findings = []
    key_path = profile.file("apiv3_key_file")
    secret = _read(key_path)
    if secret is None:
        findings.append(_Finding(Status.SKIP, f"cannot read apiv3_key_file {key_path}"))
    elif len(secret.strip()) != config.APIV3_KEY_LENGTH:
        findings.append(
            _Finding(
                Status.FAIL,
                f"apiv3_key_file {key_path} holds {len(secret.strip())} bytes; the APIv3 key is "
                f"{config.APIV3_KEY_LENGTH} characters",
                f"put the APIv3 key ({_KEY_SOURCE} > APIv3密钥) alone in {key_path}",
            )
        )
    now = datetime.fromtimestamp(clock(), UTC)
    valid: list[signing.Certificate] = []
    unusable: list[str] = []
    for path in sorted(folder.glob("*.pem")) if folder.is_dir() else []:
        try:
            certificate = signing.load_certificate(path.read_bytes())
        except (OSError, ValueError):
            unusable.append(path.name)
            continue
        if certificate.not_before <= now <= certificate.not_after:
            valid.append(certificate)
        else:
            unusable.append(f"{path.name} (outside its validity dates)")
    download = f"download them: wxbudget certs download -p {profile.name}"
    if unusable:
        findings.append(
            _Finding(Status.WARN, f"unusable in {folder}: {', '.join(unusable)}", download)
        )
    if not valid:
        findings.append(
            _Finding(Status.WARN, f"no valid platform certificate cached in {folder}", download)
        )
    else:
        serials = ", ".join(certificate.serial_no for certificate in valid)
        latest = max(certificate.not_after for certificate in valid)
        findings.append(
            _Finding(
                Status.PASS,
                f"{len(valid)} platform certificate(s) cached in {folder} ({serials}), valid "
                f"until {latest:%Y-%m-%d}",
            )
        )
    return findings


# --- 5. hosts ---------------------------------------------------------------------------------


def _check_hosts(profile: _Profile) -> list[Check]:
    primary, backup, timeout = _endpoints(profile)
    checks = [_probe_host(HOST, "base_url", primary, timeout, failure=Status.FAIL)]
    if backup is None:
        checks.append(
            Check(
                BACKUP_HOST,
                Status.SKIP,
                "no backup_base_url (WeChat Pay's backup is implied only for its default base_url)",
            )
        )
    else:
        # Commands still work through the primary; only failover would not.
        checks.append(
            _probe_host(BACKUP_HOST, "backup_base_url", backup, timeout, failure=Status.WARN)
        )
    return checks


def _endpoints(profile: _Profile) -> tuple[str, str | None, float]:
    """Hosts and connect timeout as commands use them, even when a key did not load."""
    if profile.settings is not None:
        settings = profile.settings
        return settings.base_url, settings.backup_base_url, settings.connect_timeout
    # `resolve` failed only at key loading, so these values passed all its rules.
    values = profile.values
    base_url = config._check_base_url(
        values.get("base_url", config.DEFAULT_BASE_URL), "base_url", profile.where
    )
    backup = config._backup_base_url(dict(values), base_url, profile.where)
    timeout = profile.flags.timeout or values.get("timeout") or config.DEFAULT_TIMEOUT_SECONDS
    return base_url, backup, min(float(timeout), config.MAX_CONNECT_TIMEOUT_SECONDS)


def _probe_host(name: str, key: str, url: str, timeout: float, *, failure: Status) -> Check:
    """DNS and a TCP connect to where requests would connect: the host, or the proxy."""
    import urllib.request

    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    via = ""
    proxy = urllib.request.getproxies_environment().get(parts.scheme)
    if proxy and not urllib.request.proxy_bypass(host):
        proxy_parts = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
        host, port = proxy_parts.hostname or "", proxy_parts.port or 80
        via = f" via proxy {host}:{port}"
    started = time.perf_counter()
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as error:
        return Check(
            name,
            failure,
            f"{url}{via}: {host} does not resolve ({getattr(error, 'strerror', None) or error})",
            f"check {key} in the profile and this machine's DNS",
        )
    resolved_ms = (time.perf_counter() - started) * 1000
    problems = []
    refused = False
    for family, kind, protocol, _, address in addresses:
        with socket.socket(family, kind, protocol) as connection:
            connection.settimeout(timeout)
            began = time.perf_counter()
            try:
                connection.connect(address)
            except TimeoutError:
                problems.append(f"{address[0]}: no connection within {timeout:g} s")
                continue
            except OSError as error:
                refused = refused or isinstance(error, ConnectionRefusedError)
                problems.append(f"{address[0]}: {error.strerror or error}")
                continue
            connect_ms = (time.perf_counter() - began) * 1000
            return Check(
                name,
                Status.PASS,
                f"{url}{via}: {host} resolved to {address[0]} in {resolved_ms:.0f} ms, TCP "
                f"connect in {connect_ms:.0f} ms",
            )
    if refused:
        fix = f"nothing listens on {host}:{port}: check {key} in the profile (a sandbox stopped?)"
    else:
        fix = f"check the network, firewall and proxy (HTTPS_PROXY) between here and {host}"
    return Check(
        name, failure, f"{url}{via}: cannot connect to {host}:{port}: {'; '.join(problems)}", fix
    )


# --- 6 and 7. a signed call: clock skew, and an answer that verifies --------------------------


@dataclass
class _Call:
    """What one signed GET showed: the answer's headers (lower-case names) and the outcome."""

    what: str
    headers: dict[str, str] | None = None
    received_at: float | None = None
    status: int | None = None
    request_id: str | None = None
    error: WxBudgetError | None = None
    brand_error: ConfigError | None = None


def _check_api(
    profile: _Profile,
    host: Check,
    stock: tuple[str, str] | None,
    clock: Callable[[], float],
    trace: Callable[[str], None] | None,
) -> list[Check]:
    if profile.settings is None:
        reason = f"skipped: commands cannot load this profile ({profile.settings_error})"
    elif host.status is Status.FAIL:
        reason = "skipped: the primary host is unreachable"
    else:
        call = _signed_call(profile.settings, stock, clock, trace)
        skew = _skew_check(call)
        return [skew, _answer_check(profile, call, stock, skew)]
    return [Check(CLOCK_SKEW, Status.SKIP, reason), Check(SIGNED_ANSWER, Status.SKIP, reason)]


def _signed_call(
    settings: Settings,
    stock: tuple[str, str] | None,
    clock: Callable[[], float],
    trace: Callable[[str], None] | None,
) -> _Call:
    from wxbudget.client import Client

    # One attempt, one host: a diagnosis must not hide a failure behind a retry or a failover.
    client = Client(replace(settings, max_retries=0), trace=trace, clock=clock)
    coupon, stock_id = stock or (PROBE_PRODUCT_COUPON_ID, PROBE_STOCK_ID)
    call = _Call(what=f"GET stock {stock_id} of coupon {coupon}")
    brand_id = None if settings.is_brand else settings.brand_id
    if stock is not None:
        try:
            brand_id = settings.body_brand_id()
        except ConfigError as error:
            call.brand_error = error
            coupon, stock_id = PROBE_PRODUCT_COUPON_ID, PROBE_STOCK_ID

    def remember(response: Any, *_: Any, **__: Any) -> None:
        # Whole seconds, as the server's timestamp: no phantom second from the fraction.
        call.received_at = float(int(clock()))
        call.headers = {str(name).lower(): str(value) for name, value in response.headers.items()}
        call.status = int(response.status_code)

    # The client's Response carries no headers and its errors only the Request-ID, so the
    # answer's clock is read with a response hook of its requests session.
    session = getattr(client, "session", None)
    if session is not None:
        session.hooks["response"].append(remember)
    try:
        _, response = client.get_stock(coupon, stock_id, brand_id)
        call.request_id = response.request_id
    except WxBudgetError as error:
        call.error = error
        call.request_id = error.request_id
    finally:
        client.close()
    return call


def classify_skew(skew_seconds: float, source: str = signing.HEADER_TIMESTAMP) -> Check:
    """How far this machine's clock is from the server's: over 60 s warn, over 300 s fail.

    `skew_seconds` is local minus server: positive means this machine runs ahead.
    """
    seconds = round(skew_seconds)
    size = abs(seconds)
    if size == 0:
        where = "in step with the server"
    else:
        where = f"{size} s {'ahead of' if seconds > 0 else 'behind'} the server"
    detail = f"this machine's clock is {where} ({source} of the answer)"
    if size > SKEW_FAIL_SECONDS:
        return Check(
            CLOCK_SKEW,
            Status.FAIL,
            f"{detail}; WeChat Pay refuses requests and wxbudget refuses answers over "
            f"{SKEW_FAIL_SECONDS} s",
            NTP_FIX,
        )
    if size > SKEW_WARN_SECONDS:
        return Check(
            CLOCK_SKEW,
            Status.WARN,
            f"{detail}; over {SKEW_FAIL_SECONDS} s every call fails",
            NTP_FIX,
        )
    return Check(CLOCK_SKEW, Status.PASS, detail)


def _skew_check(call: _Call) -> Check:
    if call.headers is None or call.received_at is None:
        if call.error is not None:
            return Check(
                CLOCK_SKEW,
                Status.FAIL,
                f"no answer to a signed {call.what}: {call.error.line()}",
                "check base_url, TLS and any proxy; rerun with -v to trace the request",
            )
        return Check(
            CLOCK_SKEW, Status.SKIP, "skipped: the client showed no answer headers to read"
        )
    timestamp = call.headers.get(signing.HEADER_TIMESTAMP.lower(), "")
    if timestamp.isdigit():
        return classify_skew(call.received_at - int(timestamp))
    date = call.headers.get("date")
    if date:
        from email.utils import parsedate_to_datetime

        try:
            server = parsedate_to_datetime(date).timestamp()
        except (TypeError, ValueError):
            server = None
        if server is not None:
            return classify_skew(call.received_at - server, "Date header")
    return Check(
        CLOCK_SKEW,
        Status.SKIP,
        f"skipped: the answer ({call.status}) carried neither {signing.HEADER_TIMESTAMP} nor Date",
    )


def _answer_check(
    profile: _Profile, call: _Call, stock: tuple[str, str] | None, skew: Check
) -> Check:
    error = call.error
    refused = isinstance(error, ApiError) and error.status == 401
    if stock is None:
        if error is not None and refused:
            return Check(
                SIGNED_ANSWER,
                Status.FAIL,
                f"the API refused this profile's signature: {error.line()}",
                _credentials_fix(profile, skew),
            )
        return Check(
            SIGNED_ANSWER,
            Status.SKIP,
            "pass --stock PRODUCT_COUPON_ID STOCK_ID to check that a signed answer verifies",
        )
    if call.brand_error is not None:
        return Check(
            SIGNED_ANSWER,
            Status.FAIL,
            call.brand_error.message,
            f"pass --brand-id BRAND_ID, or set brand_id in {profile.where}",
        )
    serial = (call.headers or {}).get(signing.HEADER_SERIAL.lower()) or "none"
    if error is None:
        return Check(
            SIGNED_ANSWER,
            Status.PASS,
            f"{call.what}: {call.status}, signature verified (signed by {serial}, "
            f"Request-ID {call.request_id})",
        )
    detail = f"{call.what}: {error.line()}"
    if isinstance(error, VerificationError):
        detail += f" (answer signed by {serial})"
        if skew.status is Status.FAIL:
            fix = f"fix the clock first (see {CLOCK_SKEW})"
        elif profile.values.get("wechatpay_public_key_file"):
            fix = (
                "make wechatpay_public_key_file the WeChat Pay public key whose id is "
                f"wechatpay_public_key_id (download it again: {_KEY_SOURCE} > 微信支付公钥)"
            )
        else:
            fix = f"refresh the platform certificates: wxbudget certs download -p {profile.name}"
    elif refused:
        fix = _credentials_fix(profile, skew)
    elif isinstance(error, ApiError) and error.status == 404:
        fix = f"check PRODUCT_COUPON_ID and STOCK_ID (wxbudget list {stock[0]} lists the stocks)"
    elif isinstance(error, ApiError) and error.status < 500 and error.status != 429:
        fix = "correct what the API's message names"
    else:
        fix = "retry later; if it persists, check the network and WeChat Pay's status"
    return Check(SIGNED_ANSWER, Status.FAIL, detail, fix)


def _credentials_fix(profile: _Profile, skew: Check) -> str:
    if skew.status is Status.FAIL:
        return f"fix the clock first (see {CLOCK_SKEW})"
    identity = "brand_id" if profile.serial_key == "brand_serial_no" else "mchid"
    return (
        f"check that {identity}, {profile.serial_key} and private_key_file in {profile.where} "
        "belong to one API certificate (merchant_cert_file lets doctor compare the serial)"
    )


def _read(path: Path | None) -> bytes | None:
    if path is None:
        return None
    try:
        return path.read_bytes()
    except OSError:
        return None


def _first_sentence(error: Exception) -> str:
    text = str(error).strip()
    return text.split(". ", 1)[0].rstrip(".") or type(error).__name__
