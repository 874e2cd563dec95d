"""One parser for what connects: a base_url urlsplit and urllib3 read differently is refused
before anything is sent; a plan file's cells are ids and numbers only."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.cli import run
from tests.helpers.hostile import Answer, HostileServer, profile_for
from tests.helpers.logs import request_log
from wxbudget.errors import ConfigError, VerificationError
from wxbudget.plan_export import plan_csv
from wxbudget.sandbox import RunningSandbox
from wxbudget.settings import check_notify_url

COUPON = "1000000013"
STOCK = "1000000013002"


@pytest.mark.parametrize(
    ("template", "reason"),
    [
        ("http://evil.example\\@127.0.0.1:{port}", "it holds a backslash"),
        ("http://ci-bot:hunter2@127.0.0.1:{port}", "it holds user information"),
        ("http://127.0.0.1:{port}/?x=1", "it holds a query"),
        ("http://127.0.0.1:{port}#x", "it holds a fragment"),
    ],
)
def test_a_base_url_parsers_disagree_on_is_refused_before_anything_is_sent(
    sandbox: RunningSandbox, tmp_path: Path, template: str, reason: str
) -> None:
    listener = HostileServer(lambda _: Answer(status=500))
    try:
        port = listener.base_url.rsplit(":", 1)[1]
        base_url = template.format(port=port)
        config = profile_for(sandbox, tmp_path, base_url)
        result = run("--config", str(config), "show", COUPON, STOCK, expect=3)
    finally:
        listener.stop()
    assert result.stderr.count("\n") == 1, result.stderr
    shown = base_url.replace("ci-bot:hunter2@", "ci-bot:***@")
    assert f"base_url {shown!r} in profile 'sandbox' of {config} must be an https:// URL" in (
        result.stderr
    )
    assert reason in result.stderr
    assert listener.received == []  # nothing reached the loopback host
    assert request_log(sandbox.home) == []
    assert "hunter2" not in result.stdout + result.stderr


@pytest.mark.parametrize("cell", ["=1+1", "+1", "-1", "@SUM(A1)", "1 ", "１"])
def test_a_plan_cell_that_is_not_an_id_or_a_number_is_never_written(cell: str) -> None:
    with pytest.raises(VerificationError, match="not written to CSV"):
        plan_csv([(COUPON, STOCK, None, 10, None, cell)])
    assert plan_csv([(COUPON, STOCK, None, 10, None, "120344")]).splitlines()[1] == (
        f"{COUPON},{STOCK},,10,,120344"
    )


@pytest.mark.parametrize(
    "url", ["http://evil.example\\@127.0.0.1:9/hook", "https://x:y@qyapi.weixin.qq.com/send?key=k"]
)
def test_a_notify_url_parsers_disagree_on_is_refused(url: str) -> None:
    with pytest.raises(ConfigError, match="backslash or user information") as refused:
        check_notify_url(url, "notify_url", "profile 'p'")
    assert ":y@" not in refused.value.message
