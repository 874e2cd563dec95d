"""A hostile or broken server cannot exhaust the client: answers are bounded in size and time,
checked before they are read, and anything unparsable is a protocol error (exit 10)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.cli import run
from tests.helpers.hostile import (
    Answer,
    Received,
    WechatPayKey,
    gzip_bomb,
    repeated,
)
from tests.helpers.logs import audit_entries
from wxbudget.exchange import MAX_ANSWER_BYTES

COUPON = "1000000013"
STOCK = "1000000013002"
MIB = 1024 * 1024
BLOCK = b"\0" * (64 * 1024)


def stock_object(max_count: int = 50000) -> dict[str, Any]:
    return {
        "product_coupon_id": COUPON,
        "stock_id": STOCK,
        "state": "SENDING",
        "stock_send_rule": {"max_count": max_count, "max_count_per_day": 5000},
        "sent_count_info": {"total_count": 12000, "today_count": 800},
        "brand_id": "120344",
    }


def one_line(stderr: str) -> str:
    assert stderr.count("\n") == 1, stderr
    return stderr


def test_a_huge_answer_is_cut_off_at_the_cap(hostile: Any, key: WechatPayKey) -> None:
    # Headers that pass every check but the signature: the body is read, up to the cap.
    headers = key.headers(b"", signature="c2lnbmF0dXJl")
    server, config = hostile(lambda _: Answer(headers=headers, chunks=repeated(BLOCK, 1600)))
    result = run("--config", config, "show", COUPON, STOCK, expect=10)
    assert f"more than {MAX_ANSWER_BYTES:,} bytes" in one_line(result.stderr)
    assert server.sent < 100 * MIB / 4  # it hung up long before the 100 MiB were sent


def test_an_answer_declaring_a_huge_length_is_not_read(hostile: Any, key: WechatPayKey) -> None:
    headers = key.headers(b"", signature="c2lnbmF0dXJl")
    _, config = hostile(lambda _: Answer(headers=headers, body=b"{", length=400 * MIB))
    result = run("--config", config, "show", COUPON, STOCK, expect=10)
    assert "declares 419,430,400 bytes" in one_line(result.stderr)


def test_a_compression_bomb_is_stopped_at_the_cap(hostile: Any, key: WechatPayKey) -> None:
    bomb = gzip_bomb(64)  # 64 MiB of zeros in about 64 KiB
    assert len(bomb) < MAX_ANSWER_BYTES
    headers = key.headers(b"", signature="c2lnbmF0dXJl") | {"Content-Encoding": "gzip"}
    _, config = hostile(lambda _: Answer(headers=headers, body=bomb))
    result = run("--config", config, "show", COUPON, STOCK, expect=10)
    assert f"expands past {MAX_ANSWER_BYTES:,} bytes" in one_line(result.stderr)


def test_a_compressed_genuine_answer_is_read(hostile: Any, key: WechatPayKey) -> None:
    import gzip

    body = json.dumps(stock_object()).encode()
    headers = key.headers(body) | {"Content-Encoding": "gzip"}
    server, config = hostile(lambda _: Answer(headers=headers, body=gzip.compress(body)))
    result = run("--config", config, "show", COUPON, STOCK, "-o", "json")
    assert json.loads(result.stdout)["stock_send_rule"]["max_count"] == 50000
    assert server.received[0].headers["accept-encoding"] == "gzip, deflate"


def test_an_encoding_never_asked_for_is_refused(hostile: Any, key: WechatPayKey) -> None:
    body = json.dumps(stock_object()).encode()
    headers = key.headers(body) | {"Content-Encoding": "br"}
    _, config = hostile(lambda _: Answer(headers=headers, body=body))
    result = run("--config", config, "show", COUPON, STOCK, expect=10)
    assert "'br'" in one_line(result.stderr)


def test_an_unsigned_answer_is_refused_before_its_body_is_read(hostile: Any) -> None:
    server, config = hostile(
        lambda _: Answer(headers={"Content-Type": "application/json"}, chunks=repeated(BLOCK, 800))
    )
    result = run("--config", config, "show", COUPON, STOCK, expect=6)
    assert "unsigned" in one_line(result.stderr)
    assert server.sent < 50 * MIB / 4


def test_a_trickled_answer_ends_at_the_deadline(hostile: Any, key: WechatPayKey) -> None:
    headers = key.headers(b"", signature="c2lnbmF0dXJl")
    # A byte every 50 ms would take 100 s; each byte alone would reset a per-read timeout.
    server, config = hostile(
        lambda _: Answer(headers=headers, chunks=repeated(b"{", 2000), pause=0.05)
    )
    result = run("--config", config, "--timeout", "0.5", "show", COUPON, STOCK, expect=7)
    assert "no complete answer within" in one_line(result.stderr)
    assert server.sent < 2000


def test_trickled_headers_end_at_the_deadline(hostile: Any) -> None:
    head = b"HTTP/1.1 200 OK\r\n" + b"X-Slow: " + b"a" * 2000 + b"\r\n\r\n"
    server, config = hostile(lambda _: Answer(raw=(bytes([b]) for b in head), pause=0.05))
    result = run("--config", config, "--timeout", "0.5", "show", COUPON, STOCK, expect=7)
    assert "no complete answer within" in one_line(result.stderr)
    assert server.sent < len(head)


def test_a_signed_answer_that_is_not_json_is_a_protocol_error(
    hostile: Any, key: WechatPayKey
) -> None:
    body = b"[" * 100_000
    _, config = hostile(lambda _: key.signed(body))
    result = run("--config", config, "show", COUPON, STOCK, expect=10)
    assert "not JSON" in one_line(result.stderr)


@pytest.mark.parametrize(
    ("status", "body", "code"),
    [
        (400, b"[" * 100_000, 10),  # nested past any parser's depth
        (400, b"<html>Bad Gateway</html>", 10),
        (404, b'["not", "an", "error", "object"]', 10),
        (500, b"[" * 100_000, 7),  # a 5xx stays retryable, whatever its body
    ],
)
def test_an_unparsable_answer_to_a_write_is_settled_and_journaled(
    hostile: Any,
    key: WechatPayKey,
    isolated_environment: Path,
    status: int,
    body: bytes,
    code: int,
) -> None:
    def script(request: Received) -> Answer:
        if request.method == "POST":
            return Answer(status=status, body=body, headers={"Content-Type": "text/html"})
        return key.signed(json.dumps(stock_object()).encode())

    server, config = hostile(script)
    result = run("--config", config, "set-max", COUPON, STOCK, "+1", "--yes", expect=code)
    error = result.stderr.splitlines()[-1]
    assert error.startswith("error: ")
    assert "not applied" in error  # settled by re-reading the stock
    assert [r.method for r in server.received] == ["GET", "POST", "GET"]
    entries = audit_entries(isolated_environment)
    assert [entry["type"] for entry in entries] == ["intent", "outcome"]
    assert entries[1]["exit_code"] == code
