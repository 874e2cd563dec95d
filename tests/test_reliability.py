"""Retries, failover, the audit journal and history, against the real sandbox."""

from __future__ import annotations

import json
import os
import random
import re
import stat
from pathlib import Path

import pytest
import tomli_w

from tests.helpers.cli import run
from tests.helpers.logs import (
    audit_entries,
    audit_path,
    plant_intent_without_outcome,
    posts_of,
    read_jsonl,
    request_log,
)
from tests.helpers.sandboxes import Sandboxes, sandbox_profile_copy
from wxbudget import config
from wxbudget.client import Client
from wxbudget.errors import UsageError
from wxbudget.sandbox import RunningSandbox, start_in_background
from wxbudget.transport import backoff_seconds

COUPON = "1000000013"
STOCK = "1000000013002"


@pytest.mark.real_backoff
@pytest.mark.parametrize(
    ("retry", "fraction", "seconds"),
    [
        (1, 0.0, 0.75),
        (1, 0.5, 1.0),
        (1, 0.999999, 1.25),
        (2, 0.5, 2.0),
        (3, 0.5, 4.0),
        (3, 0.0, 3.0),
    ],
)
def test_backoff_is_exponential_with_bounded_jitter(
    retry: int, fraction: float, seconds: float
) -> None:
    assert backoff_seconds(retry, fraction) == pytest.approx(seconds, abs=1e-5)


@pytest.mark.real_backoff
def test_a_client_waits_the_backoff_before_each_retry(sandboxes: Sandboxes) -> None:
    sandbox = sandboxes.start(faults=["500=1:GET"], fault_limit=2)
    slept: list[float] = []
    settings = config.resolve(config.Flags(config=sandbox.config_path))
    client = Client(settings, sleep=slept.append, rng=random.Random(7))  # noqa: S311 - jitter
    stock, _ = client.get_stock(COUPON, STOCK, "120344")
    client.close()
    assert stock.stock_id == STOCK
    draws = random.Random(7)  # noqa: S311 - the same jitter draws
    assert slept == [backoff_seconds(1, draws.random()), backoff_seconds(2, draws.random())]
    assert 0.75 <= slept[0] <= 1.25
    assert 1.5 <= slept[1] <= 2.5
    assert [entry["status"] for entry in request_log(sandbox.home)] == [500, 500, 200]


def test_every_write_journals_intent_then_outcome(
    sandbox: RunningSandbox, isolated_environment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_RUN_ID", "4242")
    run("set-max", COUPON, STOCK, "+100", "--yes", "--out-request-no", "journal-test-1")
    intent, outcome = audit_entries(isolated_environment)
    assert intent["type"] == "intent"
    assert outcome["type"] == "outcome"
    assert intent["operation"] == outcome["operation"]
    assert {
        key: intent[key]
        for key in (
            "profile",
            "mchid",
            "brand_id",
            "product_coupon_id",
            "stock_id",
            "update_mode",
            "from",
            "to",
            "out_request_no",
            "ci_job",
        )
    } == {
        "profile": "sandbox",
        "mchid": "1900000001",
        "brand_id": "120344",
        "product_coupon_id": COUPON,
        "stock_id": STOCK,
        "update_mode": "MAX_COUNT",
        "from": 50000,
        "to": 50100,
        "out_request_no": "journal-test-1",
        "ci_job": "GITHUB_RUN_ID=4242",
    }
    assert re.fullmatch(r".+@.+", intent["actor"])
    assert outcome["result"] == "applied"
    assert outcome["attempts"] == 1
    assert outcome["http_status"] == 200
    assert outcome["verified"] is True
    assert outcome["reconciled"] is False
    assert outcome["exit_code"] == 0
    assert outcome["request_id"]
    journal = audit_path(isolated_environment)
    assert stat.S_IMODE(journal.stat().st_mode) == 0o600


def test_refused_writes_are_journaled_and_local_refusals_are_not(
    sandbox: RunningSandbox,
    isolated_environment: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run("set-max", COUPON, "1000000013004", "+1", "--yes", expect=4)  # local check: nothing sent
    assert not audit_path(isolated_environment).exists()
    assert posts_of(sandbox.home) == []
    # WeChat Pay's own refusal: the number was used by another machine for another change.
    run("set-max", COUPON, STOCK, "60000", "--yes", "--out-request-no", "shared-number-01")
    other_machine = tmp_path / "other-machine"
    monkeypatch.setenv("XDG_STATE_HOME", str(other_machine))
    args = ("set-max", COUPON, STOCK, "+1", "--yes", "--out-request-no", "shared-number-01")
    result = run(*args, expect=4)
    assert "400 INVALID_REQUEST" in result.stderr
    refused = posts_of(sandbox.home)[-1]
    assert (refused["status"], refused["applied"]) == (400, False)
    intent, outcome = read_jsonl(other_machine / "wxbudget" / "audit.jsonl")
    assert (intent["type"], intent["out_request_no"]) == ("intent", "shared-number-01")
    assert (intent["from"], intent["to"]) == (60_000, 60_001)
    assert outcome["operation"] == intent["operation"]
    assert (outcome["type"], outcome["result"], outcome["exit_code"]) == ("outcome", "rejected", 4)
    assert (outcome["http_status"], outcome["code"]) == (400, "INVALID_REQUEST")
    assert outcome["attempts"] == 1
    assert outcome["request_id"] == refused["request_id"]
    assert "error: " + outcome["message"] == result.stderr.strip().splitlines()[-1]


def test_history_pairs_and_filters(sandbox: RunningSandbox) -> None:
    run("set-max", COUPON, STOCK, "+1", "--yes")
    run("set-daily", COUPON, STOCK, "4000", "--yes")
    run("set-max", COUPON, "1000000013001", "+1", "--yes")
    table = run("history")
    assert table.stdout.count("applied, exit 0") == 3
    listed = json.loads(run("history", COUPON, STOCK, "-o", "json").stdout)
    assert [entry["intent"]["update_mode"] for entry in listed] == [
        "MAX_COUNT",
        "MAX_COUNT_PER_DAY",
    ]
    assert all(entry["outcome"]["result"] == "applied" for entry in listed)
    assert json.loads(run("history", "--since", "2999-01-01", "-o", "json").stdout) == []
    run("history", "--since", "yesterday", expect=2)


def test_history_flags_an_intent_without_outcome(
    sandbox: RunningSandbox, isolated_environment: Path
) -> None:
    plant_intent_without_outcome(
        audit_path(isolated_environment),
        COUPON,
        STOCK,
        torn_tail='{"type": "outcome", "operation": "ab',  # a torn line from a crash mid-write
    )
    assert "NO OUTCOME" in run("history").stdout
    listed = json.loads(run("history", "-o", "json").stdout)
    assert listed[0]["outcome"] is None


def test_audit_log_profile_key(sandbox: RunningSandbox, tmp_path: Path) -> None:
    import tomllib

    document = tomllib.loads(sandbox.config_path.read_text())
    document["profiles"]["sandbox"]["audit_log"] = "audit/custom.jsonl"
    sandbox.config_path.write_text(tomli_w.dumps(document))
    run("set-max", COUPON, STOCK, "+1", "--yes")
    custom = sandbox.config_path.parent / "audit" / "custom.jsonl"
    assert len(custom.read_text().splitlines()) == 2
    assert len(json.loads(run("history", "-o", "json").stdout)) == 1


def write_profile(sandbox: RunningSandbox, tmp_path: Path, **changes: object) -> Path:
    return sandbox_profile_copy(sandbox, tmp_path, "profile.toml", **changes)


def test_failover_to_the_backup_host_after_a_transport_error(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    # The primary refuses connections; the backup is a second server on the same state.
    config = write_profile(
        sandbox, tmp_path, base_url="http://127.0.0.1:9", backup_base_url=sandbox.base_url
    )
    result = run("-v", "set-max", COUPON, STOCK, "+5", "--yes", "--config", str(config))
    attempts = re.findall(r"> POST (http://127\.0\.0\.1:\d+)", result.stderr)
    assert attempts == ["http://127.0.0.1:9", sandbox.base_url]
    bodies = re.findall(
        r'> signing message: "POST\\n[^"]*?\\n(\d+)\\n(\w+)\\n(\{.*?\})\\n"', result.stderr
    )
    assert len(bodies) == 2
    assert bodies[0][2] == bodies[1][2]  # byte-identical body, same out_request_no
    assert bodies[0][1] != bodies[1][1]  # freshly signed: a new nonce
    assert "retry 1 of 3 in" in result.stderr


@pytest.mark.parametrize(("retries", "attempts"), [("0", 1), ("1", 2), ("3", 4)])
def test_max_retries_sets_the_number_of_attempts(
    sandboxes: Sandboxes, retries: str, attempts: int
) -> None:
    sandbox = sandboxes.start(faults=["500=1:GET"])
    result = run("show", COUPON, STOCK, "--max-retries", retries, expect=7)
    assert [entry["status"] for entry in request_log(sandbox.home)] == [500] * attempts
    assert result.stderr.count("\n") == 1
    assert ("(after" in result.stderr) == (attempts > 1)
    if attempts > 1:
        assert f"(after {attempts} attempts)" in result.stderr


@pytest.mark.parametrize(("retries", "attempts"), [("0", 1), ("2", 3)])
def test_max_retries_counts_unanswered_attempts_too(
    sandbox: RunningSandbox, tmp_path: Path, retries: str, attempts: int
) -> None:
    config = write_profile(sandbox, tmp_path, base_url="http://127.0.0.1:9")
    args = ("-v", "show", COUPON, STOCK, "--config", str(config), "--max-retries", retries)
    result = run(*args, expect=7)
    assert result.stderr.count("> GET http://127.0.0.1:9/") == attempts


def test_a_second_server_on_a_served_home_is_refused(
    sandboxes: Sandboxes, sandbox: RunningSandbox
) -> None:
    config_before = sandbox.config_path.read_text()
    with pytest.raises(UsageError) as caught:
        start_in_background(sandbox.home)
    message = caught.value.message
    assert f"sandbox home {sandbox.home} is already served" in message
    assert f"pid {os.getpid()}, {sandbox.base_url}" in message
    assert caught.value.exit_code == 2
    # The running sandbox's profiles still point at it, and it still answers.
    assert sandbox.config_path.read_text() == config_before
    run("show", COUPON, STOCK)
    # Once it stops, the home can be served again.
    sandboxes.stop("sandbox")
    again = sandboxes.start("sandbox")
    assert again.home == sandbox.home
    run("show", COUPON, STOCK)
