"""Tell the team: after a write, post a short summary to a WeCom group robot or any URL.

A WeCom group robot (企业微信群机器人: a URL whose path is `/cgi-bin/webhook/send`) gets a
markdown message, `{"msgtype": "markdown", "markdown": {"content": ...}}`; any other URL gets a
JSON document. The notification is a courtesy, so it is built to never matter to the write:

- it is no WeChat Pay call: not signed, and kept apart from the signed transport (its session,
  retries, failover and verification), on the standard library's HTTP client; requests stays
  the transport's alone;
- it is posted once, with no redirect followed, bounded in time (NOTIFY_SECONDS, on a thread
  of its own that the command stops waiting for a second later) and in size (the message under
  WeCom's 4096 bytes, the answer read to MAX_ANSWER_BYTES);
- the URL's query (a WeCom robot's `key`) is a secret: only `shown_url` is ever printed;
- a failure comes back as a sentence for a warning; it never raises, never changes the exit
  code, and the journal never hears of it.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from wxbudget import i18n
from wxbudget.i18n import _, localize

WECOM_PATH = "/cgi-bin/webhook/send"
# WeCom takes at most 4096 bytes of markdown content.
MAX_CONTENT_BYTES = 4096
MAX_LISTED = 10  # changes named in the markdown message; the rest are counted
MAX_DOCUMENT_CHANGES = 100  # changes listed in a JSON document
NOTIFY_SECONDS = 5.0
MAX_ANSWER_BYTES = 16 * 1024


@dataclass(frozen=True)
class Line:
    """One change of the summary: what, from, to, how it ended."""

    subject: str  # "stock 1000000013002 of coupon 1000000013"
    cap: str  # "total cap" | "daily cap"
    before: int | None
    after: int | None
    result: str  # applied | failed | refused | ...
    note: str | None = None  # why it failed, or the change in money at stake
    ids: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Summary:
    """What a write command did, for the people who did not run it."""

    command: str  # "set-max", "apply plan.csv", ...
    result: str  # "applied", "failed", "partly applied", "interrupted"
    exit_code: int
    actor: str
    profile: str
    host: str
    lines: tuple[Line, ...]
    counts: dict[str, int] = field(default_factory=dict)
    ci_job: str | None = None
    at_stake: str | None = None  # the change in money at stake of what was applied


def shown_url(url: str) -> str:
    """The URL with every query value masked: a WeCom robot's key is a secret (whoever has it
    can post to the group), so it is never printed, logged or shown by `profile show`."""
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    try:
        netloc += f":{parts.port}" if parts.port is not None else ""
    except ValueError:  # not a port: not shown either
        netloc += ":?"
    fields = parse_qsl(parts.query, keep_blank_values=True)
    query = "&".join(f"{name}=***" for name, _value in fields)
    return f"{parts.scheme}://{netloc}{parts.path}" + (f"?{query}" if query else "")


def is_wecom(url: str) -> bool:
    return urlsplit(url).path.rstrip("/") == WECOM_PATH


def message(url: str, summary: Summary) -> bytes:
    """The body to post: WeCom markdown or a JSON document."""
    if is_wecom(url):
        # In the sender's language for the people of the group; the JSON document stays as is.
        content = _bounded([localize(line) for line in markdown(summary)], localized=True)
        document: dict[str, Any] = {"msgtype": "markdown", "markdown": {"content": content}}
    else:
        document = _document(summary)
    return json.dumps(document, ensure_ascii=False).encode("utf-8")


def markdown(summary: Summary) -> list[str]:
    """The message as lines of WeCom markdown (the JSON document's `text` too)."""
    colour = "info" if summary.exit_code == 0 else "warning"
    lines: list[str] = [
        _(
            '**wxbudget {command}**: <font color="{colour}">{result}</font> (exit {code})',
            command=summary.command,
            colour=colour,
            result=_result(summary.result),
            code=summary.exit_code,
        )
    ]
    if summary.counts:
        counts = (
            _("{count} {status}", count=n, status=_result(status))
            for status, n in summary.counts.items()
        )
        lines.append(_("> {counts}", counts=i18n.join(", ", counts)))
    if summary.at_stake:
        lines.append(_("> at stake {amount}", amount=summary.at_stake))
    lines += [_("> {change}", change=_line_text(line)) for line in summary.lines[:MAX_LISTED]]
    if len(summary.lines) > MAX_LISTED:
        lines.append(_("> and {count} more", count=len(summary.lines) - MAX_LISTED))
    by = (
        _("by {actor} ({ci_job})", actor=summary.actor, ci_job=summary.ci_job)
        if summary.ci_job
        else _("by {actor}", actor=summary.actor)
    )
    lines.append(
        _("{by}, profile {profile}, {host}", by=by, profile=summary.profile, host=summary.host)
    )
    return lines


# How a result or a step's status reads for a person (the JSON document keeps the names).
_RESULTS = {
    "applied": _("applied"),
    "failed": _("failed"),
    "partly applied": _("partly applied"),
    "interrupted": _("interrupted"),
    "refused": _("refused"),
    "done": _("done"),
    "noop": _("in place"),
    "not-started": _("not-started"),
}


def _result(name: str) -> str:
    return _RESULTS.get(name, name)


def _line_text(line: Line) -> str:
    shown = {
        "subject": line.subject,
        "cap": line.cap,
        "before": _count(line.before),
        "after": _count(line.after),
        "result": _result(line.result),
    }
    if line.note:
        return _("{subject}, {cap} {before} -> {after}, {result}: {note}", **shown, note=line.note)
    return _("{subject}, {cap} {before} -> {after}, {result}", **shown)


def _count(value: int | None) -> str:
    return _("unlimited") if value is None else f"{value:,}"


def _bounded(lines: list[str], *, localized: bool = False) -> str:
    """Whole lines up to the size WeCom takes; a last line says how many were left out (in the
    user's language when the lines are)."""
    kept: list[str] = []
    size = 0
    room = MAX_CONTENT_BYTES - 64  # for that last line
    for index, line in enumerate(lines):
        cost = len(line.encode("utf-8")) + 1
        if size + cost > room:
            left_out = _("> ({count} more lines left out)", count=len(lines) - index)
            kept.append(localize(left_out) if localized else left_out)
            break
        kept.append(line)
        size += cost
    return "\n".join(kept)


def _document(summary: Summary) -> dict[str, Any]:
    listed = summary.lines[:MAX_DOCUMENT_CHANGES]
    return {
        "source": "wxbudget",
        "command": summary.command,
        "result": summary.result,
        "exit_code": summary.exit_code,
        "actor": summary.actor,
        "ci_job": summary.ci_job,
        "profile": summary.profile,
        "host": summary.host,
        "counts": summary.counts,
        "at_stake": summary.at_stake,
        "text": _bounded(markdown(summary)),
        "changes": [
            {
                **line.ids,
                "cap": line.cap,
                "from": line.before,
                "to": line.after,
                "result": line.result,
                "note": line.note,
            }
            for line in listed
        ],
        "changes_left_out": len(summary.lines) - len(listed),
    }


def send(url: str, summary: Summary) -> str | None:
    """Post the summary once; None when it was delivered, else why not (the URL's secret
    never in it). Never raises, and returns within about NOTIFY_SECONDS + a second whatever
    the other end does (a trickled answer included)."""
    box: list[tuple[int, bytes] | BaseException] = []

    def attempt() -> None:
        try:
            box.append(post(url, message(url, summary)))
        except BaseException as error:  # reported below, in the command's thread
            box.append(error)

    # A daemon thread: one that is still waiting when the time is up dies with the process.
    worker = threading.Thread(target=attempt, name="wxbudget-notify", daemon=True)
    worker.start()
    worker.join(NOTIFY_SECONDS + 1)
    if not box:
        return _("no answer in time")
    found = box[0]
    if isinstance(found, BaseException):
        return _scrubbed(_reason(found), url)
    status, answer = found
    if not 200 <= status < 300:
        return _("it answered HTTP {status}", status=status)
    if not is_wecom(url):
        return None
    try:
        decoded = json.loads(answer.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return _("the robot's answer is not JSON")
    if isinstance(decoded, dict) and decoded.get("errcode") == 0:
        return None
    code = decoded.get("errcode") if isinstance(decoded, dict) else None
    said = decoded.get("errmsg") if isinstance(decoded, dict) else decoded
    said = str(said)[:200]
    return _scrubbed(_("the robot answered errcode {code}: {said}", code=code, said=said), url)


def post(url: str, body: bytes) -> tuple[int, bytes]:
    """POST `body` as JSON once: no redirect followed, the answer read to MAX_ANSWER_BYTES.
    Proxies come from the environment (a CI box may need one to reach WeCom); nothing here is
    signed, so nothing the environment says can alter a signature."""
    from wxbudget.version import __version__

    opener = urllib.request.build_opener(_NoRedirect)
    request = urllib.request.Request(  # noqa: S310 - the URL was checked: https, or loopback
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": f"wxbudget/{__version__}",
        },
    )
    try:
        with opener.open(request, timeout=NOTIFY_SECONDS) as response:
            return response.status, response.read(MAX_ANSWER_BYTES)
    except urllib.error.HTTPError as error:  # an answer all the same: 3xx, 4xx, 5xx
        with error:
            return error.code, b""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer, never a hop to wherever it points."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _reason(error: BaseException) -> str:
    if isinstance(error, urllib.error.URLError) and isinstance(error.reason, BaseException):
        error = error.reason
    if isinstance(error, TimeoutError):
        return _("no answer in time")
    if isinstance(error, ConnectionRefusedError):
        return _("the connection was refused")
    return f"{type(error).__name__}: {error}"[:300]


def _scrubbed(text: str, url: str) -> str:
    """`text` without the URL's query (the robot's key), however it came to hold it."""
    query = urlsplit(url).query
    for secret in {query, *(value for _name, value in parse_qsl(query))} - {""}:
        if secret in text:  # a message without it stays one (shown in the user's language)
            text = text.replace(secret, "***")
    return text
