"""Read-modify-write against the sandbox: someone else's change in between is never overwritten."""

from __future__ import annotations

import pytest

from tests.helpers.cli import run
from wxbudget import config, operations
from wxbudget.budget import parse_target
from wxbudget.client import Client
from wxbudget.config import Flags
from wxbudget.errors import ExitCode, StaleCurrentError
from wxbudget.models import UpdateMode
from wxbudget.sandbox import RunningSandbox


def client_for(sandbox: RunningSandbox) -> Client:
    return Client(config.resolve(Flags(config=sandbox.config_path)))


def test_stale_current_exits_5_with_before_and_now(sandbox: RunningSandbox) -> None:
    client = client_for(sandbox)
    change = operations.plan(
        client,
        "1000000013",
        "1000000013002",
        UpdateMode.MAX_COUNT,
        parse_target("+1000"),
        out_request_no="stale-test-1",
    )
    assert (change.current, change.target) == (50000, 51000)
    # Another operator raises the cap between our read and our write.
    run("set-max", "1000000013", "1000000013002", "70000", "--yes")
    with pytest.raises(StaleCurrentError) as caught:
        operations.apply(client, change)
    assert caught.value.exit_code is ExitCode.CONFLICT
    assert "read 50000, now 70000" in caught.value.message
    assert caught.value.request_id
    # The relative change was not re-applied on top of the other operator's value.
    assert client.fetch_stock("1000000013", "1000000013002").max_count == 70000
    client.close()


def test_apply_returns_the_updated_stock(sandbox: RunningSandbox) -> None:
    client = client_for(sandbox)
    change = operations.plan(
        client,
        "1000000013",
        "1000000013003",
        UpdateMode.MAX_COUNT_PER_DAY,
        parse_target("+10%"),
        out_request_no="paused-daily-1",
    )
    [stock] = operations.apply(client, change)
    assert stock.state == "PAUSED"
    assert stock.max_count_per_day == 2200
    client.close()
