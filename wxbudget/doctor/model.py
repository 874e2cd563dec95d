"""`wxbudget doctor`'s results and the profile under test, shared by the local and network checks.

Checks run in order. One whose input a failed check broke is reported as skipped, with the
reason, so a single root cause never shows up as a cascade of failures. Nothing here prints:
the CLI renders the Report. Key material never enters a result, only paths, modes, serials,
ids and SHA-256 fingerprints of public keys.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wxbudget import i18n, signing
from wxbudget.i18n import _
from wxbudget.settings import PUBLIC_KEY_ID_PREFIX, resolve_path

if TYPE_CHECKING:
    from wxbudget.config import Flags
    from wxbudget.language import Choice
    from wxbudget.settings import Settings

CONFIG = "config"
LIMITS = "limits"
FILES = "files"
PRIVATE_KEY = "private-key"
WECHATPAY_KEY = "wechatpay-key"
HOST = "host"
BACKUP_HOST = "backup-host"
CLOCK_SKEW = "clock-skew"
SIGNED_ANSWER = "signed-answer"
CHECK_NAMES = (
    CONFIG,
    LIMITS,
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
PUBLIC_KEY_ID_FORM = re.compile(re.escape(PUBLIC_KEY_ID_PREFIX) + r"[0-9A-Za-z_]+")
KEY_SOURCE = "商户平台 > 账户中心 > API安全"
NTP_FIX = _("synchronise this machine's clock (sudo timedatectl set-ntp true, or chronyc makestep)")


class Status(StrEnum):
    PASS = "pass"  # noqa: S105 - a check status, not a password
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"


SEVERITY = {Status.SKIP: 0, Status.PASS: 1, Status.WARN: 2, Status.FAIL: 3}


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
    # Shown to people only: -o json stays the same whatever the language.
    language: Choice | None = None

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
class Finding:
    """One observation inside a check; a check's status is its worst finding's."""

    status: Status
    detail: str
    fix: str | None = None


def combine(name: str, findings: list[Finding]) -> Check:
    ordered = sorted(findings, key=lambda finding: -SEVERITY[finding.status])
    fixes = list(dict.fromkeys(finding.fix for finding in ordered if finding.fix))
    return Check(
        name,
        ordered[0].status,
        i18n.join("; ", (finding.detail for finding in ordered)),
        i18n.join("; ", fixes) if fixes else None,
    )


@dataclass(frozen=True)
class ProfileUnderTest:
    """The selected profile as written, and the Settings commands would get (None: they fail)."""

    path: Path
    name: str
    values: Mapping[str, Any]
    flags: Flags
    settings: Settings | None
    settings_error: str | None

    def file(self, key: str) -> Path | None:
        value = self.values.get(key)
        return resolve_path(self.path, value) if isinstance(value, str) else None

    @property
    def where(self) -> str:
        return _("profile '{name}' of {path}", name=self.name, path=self.path)

    @property
    def serial_key(self) -> str:
        return "brand_serial_no" if self.values.get("kind") == "brand" else "merchant_serial_no"


def read_bytes_or_none(path: Path | None) -> bytes | None:
    if path is None:
        return None
    try:
        return path.read_bytes()
    except OSError:
        return None


def first_sentence(error: Exception) -> str:
    text = str(error).strip()
    return text.split(". ", 1)[0].rstrip(".") or type(error).__name__
