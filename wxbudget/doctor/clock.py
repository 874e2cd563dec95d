"""doctor's clock check: how far this machine's clock is from the server's (from the signed
answer's Wechatpay-Timestamp, or its Date header)."""

from __future__ import annotations

from wxbudget import signing
from wxbudget.doctor.model import (
    CLOCK_SKEW,
    NTP_FIX,
    SKEW_FAIL_SECONDS,
    SKEW_WARN_SECONDS,
    Check,
    Status,
)
from wxbudget.i18n import _


def classify_skew(skew_seconds: float, source: str = signing.HEADER_TIMESTAMP) -> Check:
    """How far this machine's clock is from the server's: over 60 s warn, over 300 s fail.

    `skew_seconds` is local minus server: positive means this machine runs ahead.
    """
    seconds = round(skew_seconds)
    size = abs(seconds)
    if size == 0:
        where = _("in step with the server")
    else:
        where = (
            _("{size} s ahead of the server", size=size)
            if seconds > 0
            else _("{size} s behind the server", size=size)
        )
    detail = _(
        "this machine's clock is {where} ({source} of the answer)", where=where, source=source
    )
    if size > SKEW_FAIL_SECONDS:
        return Check(
            CLOCK_SKEW,
            Status.FAIL,
            _(
                "{detail}; WeChat Pay refuses requests and wxbudget refuses answers over "
                "{skew_fail_seconds} s",
                detail=detail,
                skew_fail_seconds=SKEW_FAIL_SECONDS,
            ),
            NTP_FIX,
        )
    if size > SKEW_WARN_SECONDS:
        return Check(
            CLOCK_SKEW,
            Status.WARN,
            _(
                "{detail}; over {skew_fail_seconds} s every call fails",
                detail=detail,
                skew_fail_seconds=SKEW_FAIL_SECONDS,
            ),
            NTP_FIX,
        )
    return Check(CLOCK_SKEW, Status.PASS, detail)
