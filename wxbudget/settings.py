"""What a profile means: the keys a profile may hold and their rules, and the resolved Settings.

`config` finds and reads the file and decides precedence; the rules about values live here so
that `config`, `profiles` and `doctor` apply the very same ones.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import urlsplit

from wxbudget.errors import ConfigError, os_reason
from wxbudget.i18n import _
from wxbudget.limits import Limits

if TYPE_CHECKING:
    from wxbudget.signing import PrivateKey, PublicKey

DEFAULT_BASE_URL = "https://api.mch.weixin.qq.com"
BACKUP_BASE_URL = "https://api2.mch.weixin.qq.com"
DEFAULT_TIMEOUT_SECONDS = 10.0
# Connecting to a healthy host takes milliseconds; a long connect wait only delays failover.
MAX_CONNECT_TIMEOUT_SECONDS = 5.0
DEFAULT_MAX_RETRIES = 3
# Ranges a person could mean: ten minutes for one answer; ten retries back off for about
# seventeen minutes (1 + 2 + ... + 512 s). Beyond them a value is a typo, refused in one line.
MAX_TIMEOUT_SECONDS = 600.0
MIN_TIMEOUT_SECONDS = 0.001
MAX_RETRIES_LIMIT = 10
# WeChat Pay's documented limit per endpoint, shared by every brand of a service provider.
DEFAULT_RATE_LIMIT = 20
PUBLIC_KEY_ID_PREFIX = "PUB_KEY_ID_"

KINDS = ("partner", "brand")
# Keys that must be present, by profile kind; a partner also needs one way to verify answers.
REQUIRED_KEYS = {
    "partner": ("mchid", "merchant_serial_no", "private_key_file"),
    "brand": (
        "brand_id",
        "brand_serial_no",
        "private_key_file",
        "wechatpay_public_key_id",
        "wechatpay_public_key_file",
    ),
}
# Keys that make no sense in the other kind: refusing them catches a profile half-converted.
KIND_ONLY_KEYS = {
    "partner": ("mchid", "merchant_serial_no", "apiv3_key_file", "platform_cert_dir"),
    "brand": ("brand_serial_no",),
}
PUBLIC_KEY_PAIR = ("wechatpay_public_key_id", "wechatpay_public_key_file")
PLATFORM_CERT_PAIR = ("apiv3_key_file", "platform_cert_dir")
PROFILE_KEYS = (
    "kind",
    "mchid",
    "merchant_serial_no",
    "brand_serial_no",
    "private_key_file",
    "merchant_cert_file",
    "wechatpay_public_key_id",
    "wechatpay_public_key_file",
    "apiv3_key_file",
    "platform_cert_dir",
    "brand_id",
    "base_url",
    "backup_base_url",
    "timeout",
    "max_retries",
    "audit_log",
    "rate_limit",
    "notify_url",
    "limits",
    "language",
)
NUMBER_KEYS = frozenset({"timeout", "max_retries", "rate_limit"})
TABLE_KEYS = frozenset({"limits"})
STRING_KEYS = frozenset(PROFILE_KEYS) - NUMBER_KEYS - TABLE_KEYS
APIV3_KEY_LENGTH = 32

# key, pattern, an example of a valid value (its kind of characters said in the user's language)
HEADER_VALUE_RULES = (
    ("mchid", re.compile(r"[0-9]{1,32}"), _("{example} (digits)", example='"1900000001"')),
    (
        "merchant_serial_no",
        re.compile(r"[0-9A-Fa-f]{1,64}"),
        _("{example} (hex)", example='"1DDE55AD98ED71D6EDD4A4A16996DE7B47773A8C"'),
    ),
    (
        "brand_serial_no",
        re.compile(r"[0-9A-Fa-f]{1,64}"),
        _("{example} (hex)", example='"3493DE0D9BB4EB98A8C65EAA7E8EE887EC24B71A"'),
    ),
    ("brand_id", re.compile(r"[0-9A-Za-z_-]{1,64}"), '"120344"'),
    (
        "wechatpay_public_key_id",
        re.compile(r"[0-9A-Za-z_]{1,64}"),
        '"PUB_KEY_ID_0000000000000024101100397200000006"',
    ),
)


class Settings(NamedTuple):
    """Everything a client needs, resolved and checked. Holds key objects, never key text."""

    config_path: Path
    profile: str
    kind: str  # "partner" (service provider, /v3/...) or "brand" (brand-direct, /brand/...)
    mchid: str | None
    serial_no: str  # merchant_serial_no (partner) or brand_serial_no (brand)
    private_key_file: Path
    private_key: PrivateKey
    merchant_cert_file: Path | None
    wechatpay_public_key_id: str | None
    wechatpay_public_key_file: Path | None
    wechatpay_public_key: PublicKey | None
    apiv3_key_file: Path | None
    platform_cert_dir: Path | None
    brand_id: str | None
    base_url: str
    backup_base_url: str | None
    timeout: float
    max_retries: int
    audit_log: Path
    rate_limit: int
    limits: Limits = Limits()
    notify_url: str | None = None  # where write commands post their summary

    @property
    def is_brand(self) -> bool:
        return self.kind == "brand"

    @property
    def identity(self) -> str:
        """Who signs: the mchid of a partner, the brand_id of a brand."""
        return self.require_brand_id() if self.is_brand else str(self.mchid)

    @property
    def connect_timeout(self) -> float:
        return min(self.timeout, MAX_CONNECT_TIMEOUT_SECONDS)

    def require_brand_id(self) -> str:
        if not self.brand_id:
            raise ConfigError(
                _(
                    "no brand_id: pass --brand-id or set brand_id in profile '{profile}' "
                    "of {config_path}",
                    profile=self.profile,
                    config_path=self.config_path,
                )
            )
        return self.brand_id

    def body_brand_id(self) -> str | None:
        """brand_id for query strings and bodies: partners send it, brands never do."""
        return None if self.is_brand else self.require_brand_id()

    def read_apiv3_key(self) -> bytes:
        """The APIv3 key that decrypts platform certificates; read only when needed."""
        from wxbudget import trust

        if self.apiv3_key_file is None:
            raise ConfigError(_("profile '{profile}' has no apiv3_key_file", profile=self.profile))
        try:
            key = trust.read_trusted(self.apiv3_key_file, "apiv3_key_file", secret=True).strip()
        except OSError as error:
            raise ConfigError(
                _(
                    "cannot read apiv3_key_file {apiv3_key_file}: {strerror}",
                    apiv3_key_file=self.apiv3_key_file,
                    strerror=os_reason(error),
                )
            ) from error
        if len(key) != APIV3_KEY_LENGTH:
            raise ConfigError(
                _(
                    "apiv3_key_file {apiv3_key_file} must hold the 32-character APIv3 key "
                    "(it holds {count} bytes)",
                    apiv3_key_file=self.apiv3_key_file,
                    count=len(key),
                )
            )
        return key


def resolve_path(config_path: Path, value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else config_path.parent / path


def check_base_url(value: object, key: str, where: str) -> str:
    """The API host as the connection reads it (urllib3's parser), rebuilt from its parts:
    https, or plain http to a loopback host only."""
    from wxbudget.exchange import parse_base_url

    if not isinstance(value, str):
        raise ConfigError(
            _("{key} in {where} must be an https:// URL string", key=key, where=where)
        )
    # A password in user information is never repeated back.
    shown = repr(_PASSWORD.sub(r"\1:***@", value))
    try:
        parsed = parse_base_url(value)
    except ValueError as error:
        raise ConfigError(
            _(
                "{key} {value} in {where} must be an https:// URL: {reason}",
                key=key,
                value=shown,
                where=where,
                reason=error.args[0] if error.args else str(error),
            )
        ) from error
    if parsed.scheme == "http" and not _is_loopback(parsed.host.strip("[]")):
        raise ConfigError(
            _(
                "{key} {value} in {where} uses plain http to a non-loopback host; use https://",
                key=key,
                value=shown,
                where=where,
            )
        )
    return parsed.url


_PASSWORD = re.compile(r"(://[^/?#:@]*):[^/?#@]*@")


def check_notify_url(value: object, key: str, where: str) -> str | None:
    """Where summaries are posted: https, or plain http to loopback only, like base_url; kept
    exactly as written (a webhook's path and query are its own). A message about it never
    shows its query: a WeCom robot's key is in it."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigError(_("{key} in {where} must be a URL string", key=key, where=where))
    from wxbudget.notify import shown_url

    parts = urlsplit(value)
    shown = shown_url(value) if parts.hostname else _("(no host)")
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ConfigError(
            _(
                "{key} {shown} in {where} must be an https:// URL, e.g. "
                "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=...",
                key=key,
                shown=shown,
                where=where,
            )
        )
    if "\\" in value or "@" in parts.netloc:
        # urlsplit and urllib3 (which connects) read a backslash or user@ differently.
        raise ConfigError(
            _(
                "{key} {shown} in {where} holds a backslash or user information (user@); give "
                "the webhook URL as issued",
                key=key,
                shown=shown,
                where=where,
            )
        )
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise ConfigError(
            _(
                "{key} {shown} in {where} uses plain http to a non-loopback host; use https://",
                key=key,
                shown=shown,
                where=where,
            )
        )
    return value


def default_backup_base_url(profile: dict[str, Any], base_url: str, where: str) -> str | None:
    """The failover host: configured, or WeChat Pay's backup when the primary is WeChat Pay's.

    A custom primary (a proxy, the sandbox) gets no implicit backup: failing over from a test
    server to the real API would be a surprise nobody wants.
    """
    if "backup_base_url" in profile:
        return check_base_url(profile["backup_base_url"], "backup_base_url", where)
    return BACKUP_BASE_URL if base_url == DEFAULT_BASE_URL else None


def _is_loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
