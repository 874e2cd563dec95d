"""doctor's network checks: hosts, the clock against the server's, a verified signed call."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from wxbudget import i18n, signing
from wxbudget.doctor.clock import classify_skew
from wxbudget.doctor.model import (
    BACKUP_HOST,
    CLOCK_SKEW,
    HOST,
    KEY_SOURCE,
    PROBE_PRODUCT_COUPON_ID,
    PROBE_STOCK_ID,
    SIGNED_ANSWER,
    Check,
    ProfileUnderTest,
    Status,
)
from wxbudget.errors import (
    ApiError,
    ConfigError,
    VerificationError,
    WxBudgetError,
    os_reason,
)
from wxbudget.i18n import _
from wxbudget.settings import (
    DEFAULT_BASE_URL,
    DEFAULT_TIMEOUT_SECONDS,
    MAX_CONNECT_TIMEOUT_SECONDS,
    check_base_url,
    default_backup_base_url,
)

if TYPE_CHECKING:
    from wxbudget.settings import Settings


# --- 5. hosts ---------------------------------------------------------------------------------


def check_hosts(profile: ProfileUnderTest) -> list[Check]:
    primary, backup, timeout = _endpoints(profile)
    checks = [_probe_host(HOST, "base_url", primary, timeout, failure=Status.FAIL)]
    if backup is None:
        checks.append(
            Check(
                BACKUP_HOST,
                Status.SKIP,
                _(
                    "no backup_base_url (WeChat Pay's backup is implied only for its default "
                    "base_url)"
                ),
            )
        )
    else:
        # Commands still work through the primary; only failover would not.
        checks.append(
            _probe_host(BACKUP_HOST, "backup_base_url", backup, timeout, failure=Status.WARN)
        )
    return checks


def _endpoints(profile: ProfileUnderTest) -> tuple[str, str | None, float]:
    """Hosts and connect timeout as commands use them, even when a key did not load."""
    if profile.settings is not None:
        settings = profile.settings
        return settings.base_url, settings.backup_base_url, settings.connect_timeout
    # `resolve` failed only at key loading, so these values passed all its rules.
    values = profile.values
    base_url = check_base_url(values.get("base_url", DEFAULT_BASE_URL), "base_url", profile.where)
    backup = default_backup_base_url(dict(values), base_url, profile.where)
    timeout = profile.flags.timeout or values.get("timeout") or DEFAULT_TIMEOUT_SECONDS
    return base_url, backup, min(float(timeout), MAX_CONNECT_TIMEOUT_SECONDS)


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
        via = _(" via proxy {host}:{port}", host=host, port=port)
    started = time.perf_counter()
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as error:
        return Check(
            name,
            failure,
            _(
                "{url}{via}: {host} does not resolve ({reason})",
                url=url,
                via=via,
                host=host,
                reason=os_reason(error) if isinstance(error, OSError) else error,
            ),
            _("check {key} in the profile and this machine's DNS", key=key),
        )
    resolved_ms = (time.perf_counter() - started) * 1000
    problems = []
    refused = False
    for family, kind, protocol, _name, address in addresses:
        with socket.socket(family, kind, protocol) as connection:
            connection.settimeout(timeout)
            began = time.perf_counter()
            try:
                connection.connect(address)
            except TimeoutError:
                problems.append(
                    _(
                        "{address}: no connection within {timeout:g} s",
                        address=address[0],
                        timeout=timeout,
                    )
                )
                continue
            except OSError as error:
                refused = refused or isinstance(error, ConnectionRefusedError)
                problems.append(
                    _("{address}: {reason}", address=address[0], reason=os_reason(error))
                )
                continue
            connect_ms = (time.perf_counter() - began) * 1000
            return Check(
                name,
                Status.PASS,
                _(
                    "{url}{via}: {host} resolved to {address} in {resolved_ms:.0f} ms, TCP "
                    "connect in {connect_ms:.0f} ms",
                    url=url,
                    via=via,
                    host=host,
                    address=address[0],
                    resolved_ms=resolved_ms,
                    connect_ms=connect_ms,
                ),
            )
    if refused:
        fix = _(
            "nothing listens on {host}:{port}: check {key} in the profile (a sandbox stopped?)",
            host=host,
            port=port,
            key=key,
        )
    else:
        fix = _(
            "check the network, firewall and proxy (HTTPS_PROXY) between here and {host}", host=host
        )
    return Check(
        name,
        failure,
        _(
            "{url}{via}: cannot connect to {host}:{port}: {problems}",
            url=url,
            via=via,
            host=host,
            port=port,
            problems=i18n.join("; ", problems),
        ),
        fix,
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


def check_api(
    profile: ProfileUnderTest,
    host: Check,
    stock: tuple[str, str] | None,
    clock: Callable[[], float],
    trace: Callable[[str], None] | None,
) -> list[Check]:
    if profile.settings is None:
        reason = _(
            "skipped: commands cannot load this profile ({settings_error})",
            settings_error=profile.settings_error,
        )
    elif host.status is Status.FAIL:
        reason = _("skipped: the primary host is unreachable")
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
    client = Client(settings._replace(max_retries=0), trace=trace, clock=clock)
    coupon, stock_id = stock or (PROBE_PRODUCT_COUPON_ID, PROBE_STOCK_ID)
    call = _Call(
        what=_("GET stock {stock_id} of coupon {coupon}", stock_id=stock_id, coupon=coupon)
    )
    brand_id = None if settings.is_brand else settings.brand_id
    if stock is not None:
        try:
            brand_id = settings.body_brand_id()
        except ConfigError as error:
            call.brand_error = error
            coupon, stock_id = PROBE_PRODUCT_COUPON_ID, PROBE_STOCK_ID

    try:
        _stock, response = client.get_stock(coupon, stock_id, brand_id)
        call.request_id = response.request_id
    except WxBudgetError as error:
        call.error = error
        call.request_id = error.request_id
    finally:
        client.close()
    answered = client.last_call
    if answered is not None and answered.headers is not None:
        call.headers = answered.headers
        call.status = answered.status
        # Whole seconds, as the server's timestamp: no phantom second from the fraction.
        call.received_at = float(int(answered.received_at or clock()))
    return call


def _skew_check(call: _Call) -> Check:
    if call.headers is None or call.received_at is None:
        if call.error is not None:
            return Check(
                CLOCK_SKEW,
                Status.FAIL,
                _(
                    "no answer to a signed {what}: {problem}",
                    what=call.what,
                    problem=call.error.line(),
                ),
                _("check base_url, TLS and any proxy; rerun with -v to trace the request"),
            )
        return Check(
            CLOCK_SKEW, Status.SKIP, _("skipped: the client showed no answer headers to read")
        )
    timestamp = signing.parse_unix_seconds(call.headers.get(signing.HEADER_TIMESTAMP.lower(), ""))
    if timestamp is not None:
        return classify_skew(call.received_at - timestamp)
    date = call.headers.get("date")
    if date:
        from email.utils import parsedate_to_datetime

        try:
            server = parsedate_to_datetime(date).timestamp()
        except (TypeError, ValueError):
            server = None
        if server is not None:
            return classify_skew(call.received_at - server, _("Date header"))
    return Check(
        CLOCK_SKEW,
        Status.SKIP,
        _(
            "skipped: the answer ({status}) carried neither {header_timestamp} nor Date",
            status=call.status,
            header_timestamp=signing.HEADER_TIMESTAMP,
        ),
    )


def _answer_check(
    profile: ProfileUnderTest, call: _Call, stock: tuple[str, str] | None, skew: Check
) -> Check:
    error = call.error
    refused = isinstance(error, ApiError) and error.status == 401
    if stock is None:
        if error is not None and refused:
            return Check(
                SIGNED_ANSWER,
                Status.FAIL,
                _("the API refused this profile's signature: {problem}", problem=error.line()),
                _credentials_fix(profile, skew),
            )
        return Check(
            SIGNED_ANSWER,
            Status.SKIP,
            _("pass --stock PRODUCT_COUPON_ID STOCK_ID to check that a signed answer verifies"),
        )
    if call.brand_error is not None:
        return Check(
            SIGNED_ANSWER,
            Status.FAIL,
            call.brand_error.message,
            _("pass --brand-id BRAND_ID, or set brand_id in {where}", where=profile.where),
        )
    serial = (call.headers or {}).get(signing.HEADER_SERIAL.lower()) or "none"
    if error is None:
        return Check(
            SIGNED_ANSWER,
            Status.PASS,
            _(
                "{what}: {status}, signature verified (signed by {serial}, "
                "Request-ID {request_id})",
                what=call.what,
                status=call.status,
                serial=serial,
                request_id=call.request_id,
            ),
        )
    fix: str
    detail = _("{what}: {problem}", what=call.what, problem=error.line())
    if isinstance(error, VerificationError):
        detail = _("{detail} (answer signed by {serial})", detail=detail, serial=serial)
        if skew.status is Status.FAIL:
            fix = _("fix the clock first (see {clock_skew})", clock_skew=CLOCK_SKEW)
        elif profile.values.get("wechatpay_public_key_file"):
            fix = _(
                "make wechatpay_public_key_file the WeChat Pay public key whose id is "
                "wechatpay_public_key_id (download it again: {key_source} > 微信支付公钥)",
                key_source=KEY_SOURCE,
            )
        else:
            fix = _(
                "refresh the platform certificates: wxbudget certs download -p {name}",
                name=profile.name,
            )
    elif refused:
        fix = _credentials_fix(profile, skew)
    elif isinstance(error, ApiError) and error.status == 404:
        fix = _(
            "check PRODUCT_COUPON_ID and STOCK_ID (wxbudget list {stock} lists the stocks)",
            stock=stock[0],
        )
    elif isinstance(error, ApiError) and error.status < 500 and error.status != 429:
        fix = _("correct what the API's message names")
    else:
        fix = _("retry later; if it persists, check the network and WeChat Pay's status")
    return Check(SIGNED_ANSWER, Status.FAIL, detail, fix)


def _credentials_fix(profile: ProfileUnderTest, skew: Check) -> str:
    if skew.status is Status.FAIL:
        return _("fix the clock first (see {clock_skew})", clock_skew=CLOCK_SKEW)
    identity = "brand_id" if profile.serial_key == "brand_serial_no" else "mchid"
    return _(
        "check that {identity}, {serial_key} and private_key_file in {where} "
        "belong to one API certificate (merchant_cert_file lets doctor compare the serial)",
        identity=identity,
        serial_key=profile.serial_key,
        where=profile.where,
    )
