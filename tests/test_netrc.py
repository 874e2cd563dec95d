"""The environment never changes what is signed: a ~/.netrc is never consulted, proxies still
work, and `-v` shows the headers exactly as they were sent."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.cli import run
from tests.helpers.hostile import Answer, HostileServer, Received, WechatPayKey, profile_for
from wxbudget.sandbox import RunningSandbox

COUPON = "1000000013"
STOCK = "1000000013002"
NETRC = "default login ci-bot password hunter2\nmachine 127.0.0.1 login ops password hunter3\n"


@pytest.fixture
def netrc(isolated_environment: Path) -> Path:
    path = isolated_environment / ".netrc"
    path.write_text(NETRC)
    path.chmod(0o600)
    return path


@pytest.fixture
def recorder(sandbox: RunningSandbox) -> Iterator[HostileServer]:
    """Answers like WeChat Pay (signed with its key) and keeps every request it got."""
    key = WechatPayKey.of(sandbox)
    stock = {
        "product_coupon_id": COUPON,
        "stock_id": STOCK,
        "state": "SENDING",
        "stock_send_rule": {"max_count": 50000, "max_count_per_day": 5000},
        "sent_count_info": {"total_count": 0, "today_count": 0},
        "brand_id": "120344",
    }

    def respond(_: Received) -> Answer:
        return key.signed(json.dumps(stock).encode())

    server = HostileServer(respond)
    yield server
    server.stop()


def test_a_netrc_does_not_replace_the_signature(sandbox: RunningSandbox, netrc: Path) -> None:
    # With the netrc password in place of the signature, the sandbox answered 401 (exit 3).
    shown = json.loads(run("show", COUPON, STOCK, "-o", "json").stdout)
    assert shown["stock_id"] == STOCK
    run("set-max", COUPON, STOCK, "+1", "--yes")


def test_the_netrc_password_never_leaves_the_machine(
    sandbox: RunningSandbox, recorder: HostileServer, netrc: Path, tmp_path: Path
) -> None:
    config = str(profile_for(sandbox, tmp_path, recorder.base_url))
    run("--config", config, "show", COUPON, STOCK)
    [request] = recorder.received
    assert request.headers["authorization"].startswith("WECHATPAY2-SHA256-RSA2048 mchid=")
    everything = json.dumps(request.headers)
    assert "hunter" not in everything
    assert "Basic" not in everything


def test_verbose_shows_the_headers_really_sent(
    sandbox: RunningSandbox, recorder: HostileServer, netrc: Path, tmp_path: Path
) -> None:
    config = str(profile_for(sandbox, tmp_path, recorder.base_url))
    trace = run("--config", config, "-v", "show", COUPON, STOCK).stderr
    [request] = recorder.received
    sent = request.headers["authorization"]
    scheme, _, fields = sent.partition(" ")
    # The trace shows the header that went out, its signature elided, nothing else different.
    shown = next(line for line in trace.splitlines() if line.startswith("> Authorization: "))
    assert shown.startswith(f"> Authorization: {scheme} mchid=")
    for field in fields.split(","):
        name, _, value = field.partition("=")
        if name != "signature":
            assert f"{name}={value}" in shown
    # Headers requests adds on its own are shown too: the trace is of the prepared request.
    assert "> Accept-Encoding: gzip, deflate" in trace


def test_a_proxy_from_the_environment_still_carries_the_request(
    sandbox: RunningSandbox,
    recorder: HostileServer,
    netrc: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The recorder plays an HTTP proxy: the profile names a host it alone can reach.
    config = str(profile_for(sandbox, tmp_path, "http://127.0.0.1:9"))
    monkeypatch.setenv("HTTP_PROXY", recorder.base_url)
    run("--config", config, "show", COUPON, STOCK)
    [request] = recorder.received
    assert request.target.startswith("http://127.0.0.1:9/v3/marketing/")
    assert request.headers["authorization"].startswith("WECHATPAY2-SHA256-RSA2048 ")
    assert "proxy-authorization" not in request.headers
