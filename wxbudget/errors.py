"""The error hierarchy: every failure a user can meet carries its exit code and one message."""

from __future__ import annotations

import errno
from enum import IntEnum
from typing import Any

from wxbudget.i18n import Message, _


class ExitCode(IntEnum):
    """Documented exit codes (README "Exit codes"); scripts branch on these numbers."""

    OK = 0
    INTERNAL = 1
    USAGE = 2
    CONFIG = 3
    REJECTED = 4
    CONFLICT = 5
    VERIFICATION = 6
    NETWORK = 7
    PARTIAL = 8
    THRESHOLD = 9  # `check`: a stock is below a threshold
    PROTOCOL = 10
    INTERRUPTED = 130


class WxBudgetError(Exception):
    """Base class: a message for one stderr line, an exit code and the Request-ID when known."""

    exit_code: ExitCode = ExitCode.INTERNAL

    def __init__(self, message: str, *, request_id: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.request_id = request_id

    def line(self) -> str:
        """The single line printed on stderr: embedded newlines are escaped, never printed.
        A marked message stays one (shown in the user's language; its str is the English).
        Control characters (an answer's escapes) are dropped where it is printed (`render`)."""
        text = _one_line(self.message)
        if self.request_id:
            return _(
                "{message} (Request-ID {request_id})", message=text, request_id=self.request_id
            )
        return text


def _one_line(text: str) -> str:
    if isinstance(text, Message):
        # The template is ours and has no newline; what fills it (an API's words) may.
        args = {
            name: _one_line(value) if isinstance(value, str) else value
            for name, value in text.args.items()
        }
        return Message(text.template, args, plural=text.plural, count=text.quantity)
    return text.replace("\r", "\\r").replace("\n", "\\n")


class UsageError(WxBudgetError):
    """Bad arguments, or a write refused because no TTY could confirm it and --yes was absent."""

    exit_code = ExitCode.USAGE


class OutputError(WxBudgetError):
    """stdout is closed or cannot be written (a full disk, /dev/full, a closed descriptor)."""

    exit_code = ExitCode.USAGE


class ConfigError(WxBudgetError):
    """The config file, a profile or a key file is wrong."""

    exit_code = ExitCode.CONFIG


class InvalidTomlError(ConfigError):
    """A config file that is not TOML; `toml_line` is where the parser stopped (None: not said)."""

    def __init__(self, message: str, *, toml_line: int | None) -> None:
        super().__init__(message)
        self.toml_line = toml_line


class UnknownKeyError(ConfigError):
    """A key that no profile, top level or limits table may hold."""


class UntrustedFileError(ConfigError):
    """A key, certificate or config file that someone else could change (or read, if secret).

    `fix` is the command that repairs it, for doctor's fix column.
    """

    def __init__(self, message: str, *, fix: str) -> None:
        super().__init__(message)
        self.fix = fix


class LocalCheckError(WxBudgetError):
    """A guard rail refused the change before anything was sent."""

    exit_code = ExitCode.REJECTED


class ApiError(WxBudgetError):
    """WeChat Pay answered with an error body `{"code", "message", "detail"}`."""

    exit_code = ExitCode.REJECTED

    def __init__(
        self,
        message: str,
        *,
        status: int,
        code: str,
        api_message: str,
        field: str | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message, request_id=request_id)
        self.status = status
        self.code = code
        self.api_message = api_message
        self.field = field


class RejectedError(ApiError):
    """A 4xx the caller must fix (PARAM_ERROR, INVALID_REQUEST, NOT_FOUND, ...)."""


class CredentialsError(ApiError):
    """401 SIGN_ERROR / 403 NO_AUTH: the request's credentials were refused."""

    exit_code = ExitCode.CONFIG


class StaleCurrentError(WxBudgetError):
    """The cap changed underneath us, or did not match --expect-current."""

    exit_code = ExitCode.CONFLICT


class VerificationError(WxBudgetError):
    """A 2xx response failed signature verification: its body is not believed."""

    exit_code = ExitCode.VERIFICATION


class NetworkError(WxBudgetError):
    """Transport failure, 429 or 5xx: the outcome of a write is unknown."""

    exit_code = ExitCode.NETWORK


class ServerError(ApiError):
    """429 RATELIMIT_EXCEEDED or 5xx: retryable; the outcome of a write is unknown."""

    exit_code = ExitCode.NETWORK


class ProtocolError(WxBudgetError):
    """An answer that cannot be WeChat Pay's: too large, in an unknown encoding, or a body
    that is not the JSON the API sends. Nothing in it is believed; a write's outcome is
    unknown until the stock is read again."""

    exit_code = ExitCode.PROTOCOL


def error_from_response(status: int, body: bytes, request_id: str | None) -> WxBudgetError:
    """Map a non-2xx response to the error class a caller acts on.

    429 and 5xx are retried whatever their body (gateways answer them in HTML). Any other
    answer whose body is not an API error object is a protocol error: it is not WeChat Pay's.
    """
    decoded = _decode_error_body(body)
    retryable = status == 429 or status >= 500
    if isinstance(decoded, str) and not retryable:
        return ProtocolError(
            _(
                "the {status} answer is not a WeChat Pay error body ({problem}); not believed",
                status=status,
                problem=decoded,
            ),
            request_id=request_id,
        )
    code, api_message, field, issue = (
        ("UNKNOWN", decoded, None, None) if isinstance(decoded, str) else decoded
    )
    # The API's own code, message, field and issue are shown as they came, in any language.
    answered = {"status": status, "code": code, "api_message": api_message}
    if field and issue:
        message = _(
            "WeChat Pay answered {status} {code}: {api_message} (field {field}: {issue})",
            **answered,
            field=field,
            issue=issue,
        )
    elif field:
        message = _(
            "WeChat Pay answered {status} {code}: {api_message} (field {field})",
            **answered,
            field=field,
        )
    elif issue:
        message = _(
            "WeChat Pay answered {status} {code}: {api_message} ({issue})", **answered, issue=issue
        )
    else:
        message = _("WeChat Pay answered {status} {code}: {api_message}", **answered)
    error_class: type[ApiError]
    if retryable:
        error_class = ServerError
    elif status in (401, 403) or field == "Wechatpay-Serial":
        # A refused Wechatpay-Serial means the profile's wechatpay_public_key_id is wrong.
        error_class = CredentialsError
    else:
        error_class = RejectedError
    error = error_class(
        message,
        status=status,
        code=code,
        api_message=api_message,
        field=field,
        request_id=request_id,
    )
    # No message text ever decides an exit code: the same code carries many messages, and a
    # stale current_* has no message of its own (rereads.decide_refusal re-reads instead).
    return error


def _decode_error_body(body: bytes) -> tuple[str, str, str | None, str | None] | str:
    """code, message, detail.field and detail.issue of an error body (wechatpay-api.md 5.3),
    or what is wrong with the body when it is not one."""
    import json

    try:
        decoded: Any = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        snippet = body[:120].decode("utf-8", "replace").strip()
        return _("not JSON: {snippet!r}", snippet=snippet) if snippet else _("empty body")
    if not isinstance(decoded, dict) or not isinstance(decoded.get("code"), str):
        return _("not an object with a code: {value!r}", value=str(decoded)[:120])
    code = decoded["code"] or "UNKNOWN"
    api_message = str(decoded.get("message") or "")
    detail = decoded.get("detail")
    field = issue = None
    if isinstance(detail, dict):
        field = str(detail["field"]) if detail.get("field") else None
        issue = str(detail["issue"]) if detail.get("issue") else None
    return code, api_message, field, issue


# The operating system's words for the errors files and sockets meet most, in the user's
# language: Python never sets LC_MESSAGES, so `strerror` is the C library's English whatever
# the locale. Each English text is glibc's, so English output is exactly `strerror`.
OS_REASONS = {
    errno.ENOENT: _("No such file or directory"),
    errno.EACCES: _("Permission denied"),
    errno.EPERM: _("Operation not permitted"),
    errno.EISDIR: _("Is a directory"),
    errno.ENOTDIR: _("Not a directory"),
    errno.EEXIST: _("File exists"),
    errno.ENOSPC: _("No space left on device"),
    errno.EROFS: _("Read-only file system"),
    errno.ELOOP: _("Too many levels of symbolic links"),
    errno.ENAMETOOLONG: _("File name too long"),
    errno.EIO: _("Input/output error"),
    errno.EPIPE: _("Broken pipe"),
    errno.EADDRINUSE: _("Address already in use"),
    errno.EADDRNOTAVAIL: _("Cannot assign requested address"),
    errno.ECONNREFUSED: _("Connection refused"),
    errno.ECONNRESET: _("Connection reset by peer"),
    errno.ETIMEDOUT: _("Connection timed out"),
    errno.ENETUNREACH: _("Network is unreachable"),
    errno.EHOSTUNREACH: _("No route to host"),
}


def os_reason(error: OSError) -> str:
    """Why `error` happened, as the OS says it (`strerror`), shown in the user's language when
    it is one of OS_REASONS (and the OS's words are the ones that message holds)."""
    known = OS_REASONS.get(error.errno) if error.errno is not None else None
    if known is not None and str(known) == error.strerror:
        return known
    return error.strerror or str(error)
