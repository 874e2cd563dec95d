"""`wxbudget doctor`: check one profile end to end; every check returns a result, none raises.

Checks run in order. One whose input a failed check broke is reported as skipped, with the
reason, so a single root cause never shows up as a cascade of failures. Nothing here prints:
the CLI renders the Report. Key material never enters a result, only paths, modes, serials,
ids and SHA-256 fingerprints of public keys.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from wxbudget import config
from wxbudget.doctor.clock import classify_skew
from wxbudget.doctor.files import check_config, check_files, check_limits
from wxbudget.doctor.keys import check_private_key, check_wechatpay_key
from wxbudget.doctor.model import CHECK_NAMES, CONFIG, NTP_FIX, Check, Report, Status
from wxbudget.doctor.network import check_api, check_hosts
from wxbudget.i18n import _

if TYPE_CHECKING:
    from wxbudget.config import Flags

__all__ = [
    "CHECK_NAMES",
    "NTP_FIX",
    "Check",
    "Report",
    "Status",
    "classify_skew",
    "diagnose",
    "on_embedded_sandbox",
]


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
    language = config.resolve_language(flags, env)
    first, profile, path, name = check_config(flags, env)
    if profile is None:
        reason = _("skipped: the {config} check failed", config=CONFIG)
        later = (Check(other, Status.SKIP, reason) for other in CHECK_NAMES[1:])
        return Report(path, name, (first, *later), language)
    private_key, key_check = check_private_key(profile, clock)
    checks = [first, check_limits(profile), check_files(profile), key_check]
    checks.append(check_wechatpay_key(profile, private_key, clock))
    hosts = check_hosts(profile)
    checks += hosts
    checks += check_api(profile, hosts[0], stock, clock, trace)
    return Report(path, name, tuple(checks), language)


def on_embedded_sandbox(report: Report, missing_config: Path | None) -> Report:
    """A report of the embedded sandbox's profile, checked because it was asked for or there is
    no config file: the config check says so (a warning: fine for trying wxbudget, not for the
    real API)."""
    first = report.checks[0]
    if first.status is Status.FAIL:
        return report
    if missing_config is None:
        detail = _(
            "--sandbox: this run uses the embedded sandbox, whose profile '{profile}' "
            "({config_path}) is what is checked here",
            profile=report.profile,
            config_path=report.config_path,
        )
    else:
        detail = _(
            "no config file at {missing_config}: every command on a terminal uses the embedded "
            "sandbox, whose profile '{profile}' ({config_path}) is what is checked here",
            missing_config=missing_config,
            profile=report.profile,
            config_path=report.config_path,
        )
    explained = Check(
        CONFIG,
        Status.WARN,
        detail,
        _("for the real API, create a profile: wxbudget profile init NAME"),
    )
    return replace(report, checks=(explained, *report.checks[1:]))
