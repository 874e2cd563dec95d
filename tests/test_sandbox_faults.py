"""Fault injection in the sandbox, over real HTTP: what a client sees and what the server did."""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.helpers.cli import run
from tests.helpers.logs import request_log, wait_for_log
from tests.helpers.sandboxes import Sandboxes
from tests.helpers.signing_client import BRAND, COUPONS, STOCK, UPDATE, SigningClient
from wxbudget import signing
from wxbudget.errors import UsageError
from wxbudget.sandbox import RunningSandbox, start_in_background
from wxbudget.sandbox.faults import AnswerHold, FaultSpec, parse_fault

GET_STOCK = STOCK + "?brand_id=" + BRAND
LIST_STOCKS = COUPONS + "/1000000013/stocks?brand_id=" + BRAND
UNKNOWN_STOCK = COUPONS + "/1000000013/stocks/1000000013999?brand_id=" + BRAND


@dataclass
class Faulty:
    """A client of the sandbox in `home`: signs like a real one, trusts nothing by itself."""

    home: Path
    client: SigningClient
    sandbox: RunningSandbox | None = None  # None: a sandbox in another process

    def hold_answers(self, method: str, **options: Any) -> AnswerHold:
        assert self.sandbox is not None
        return self.sandbox.hold_answers(method, **options)

    def send(self, method: str, target: str, body: Any = None, **options: Any) -> requests.Response:
        return self.client.send(method, target, body, **options)

    def update(self, number: str, target: int = 200, *, timeout: Any = 5) -> requests.Response:
        body = {
            "out_request_no": number,
            "update_mode": "MAX_COUNT",
            "current_max_count": 10000000,
            "target_max_count": target,
            "brand_id": BRAND,
        }
        return self.send("POST", UPDATE, body, timeout=timeout)

    def verify(self, response: requests.Response, now: int | None = None) -> signing.Verification:
        return self.client.verify(response, now)

    def max_count(self) -> int:
        response = self.send("GET", GET_STOCK)
        assert self.verify(response).ok
        count: int = response.json()["stock_send_rule"]["max_count"]
        return count

    def journal(self) -> list[dict[str, Any]]:
        return request_log(self.home)


Launch = Callable[..., Faulty]


@pytest.fixture
def launch(sandboxes: Sandboxes) -> Iterator[Launch]:
    """Start a sandbox on a copy of a prepared home; a later launch on the same name restarts."""
    clients: list[SigningClient] = []

    def start(name: str = "sb", **options: Any) -> Faulty:
        sandbox = sandboxes.start(name, use=False, **options)
        client = SigningClient.of(sandbox.home)
        clients.append(client)
        return Faulty(sandbox.home, client, sandbox)

    yield start
    for client in clients:
        client.close()


# --- specs ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("500=1", FaultSpec("500", 1.0)),
        ("drop=0.25:POST", FaultSpec("drop", 0.25, "POST")),
        ("probe=0:get", FaultSpec("probe", 0.0, "GET")),
    ],
)
def test_fault_specs_parse(text: str, expected: FaultSpec) -> None:
    assert parse_fault(text) == expected


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("boom=1", "valid kinds: 500, 429, 403, drop, delay, badsig, unsigned, skew, probe"),
        ("500", "is not KIND=PROBABILITY[:METHOD]"),
        ("500=1.5", "not a number from 0 to 1"),
        ("500=-0.1", "not a number from 0 to 1"),
        ("500=nan", "not a number from 0 to 1"),
        ("500=often", "not a number from 0 to 1"),
        ("500=1:PUT", "is not GET or POST"),
        ("500=1:", "is not GET or POST"),
    ],
)
def test_bad_fault_specs_are_refused_before_the_home_is_made(
    tmp_path: Path, text: str, problem: str
) -> None:
    with pytest.raises(UsageError, match=re.escape(problem)) as caught:
        start_in_background(tmp_path / "sb", faults=["500=0.5", text])
    assert repr(text) in caught.value.message
    assert "\n" not in caught.value.message
    assert not (tmp_path / "sb").exists()


@pytest.mark.parametrize(
    ("options", "problem"),
    [({"fault_delay": -1.0}, "fault delay"), ({"fault_limit": -1}, "fault limit")],
)
def test_bad_fault_options_are_refused(
    tmp_path: Path, options: dict[str, Any], problem: str
) -> None:
    with pytest.raises(UsageError, match=problem):
        start_in_background(tmp_path / "sb", faults=["500=1"], **options)


# --- faults that answer instead of the endpoint -----------------------------------------------


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [("500", 500, "SYSTEM_ERROR"), ("429", 429, "RATELIMIT_EXCEEDED"), ("403", 403, "NO_AUTH")],
)
def test_answer_faults_apply_nothing_and_a_retry_applies_once(
    launch: Launch, kind: str, status: int, code: str
) -> None:
    faulty = launch(faults=[f"{kind}=1:POST"])
    refused = faulty.update("answer_fault_01")
    assert refused.status_code == status
    assert refused.json()["code"] == code
    if kind == "500":
        assert refused.json()["message"] == "系统异常,请稍后重试"
    assert faulty.verify(refused).ok  # an error, but a genuine, signed one
    assert faulty.max_count() == 10000000

    healthy = launch()
    retried = healthy.update("answer_fault_01")
    assert retried.status_code == 200
    assert healthy.max_count() == 200
    posts = [entry for entry in healthy.journal() if entry["method"] == "POST"]
    assert [(e["status"], e["applied"], e["replay"], e["fault"]) for e in posts] == [
        (status, False, False, kind),
        (200, True, False, None),
    ]


# --- faults that break the transport ----------------------------------------------------------


def test_drop_applies_the_write_and_a_retry_replays_it(launch: Launch) -> None:
    faulty = launch(faults=["drop=1:POST"], fault_limit=1)
    with pytest.raises(requests.ConnectionError):
        faulty.update("dropped_answer_1", 300)
    assert faulty.max_count() == 300
    retried = faulty.update("dropped_answer_1", 300)
    assert retried.status_code == 200
    assert faulty.verify(retried).ok
    assert retried.json()["stock_send_rule"]["max_count"] == 300
    posts = [entry for entry in faulty.journal() if entry["method"] == "POST"]
    assert [(e["status"], e["applied"], e["replay"], e["fault"]) for e in posts] == [
        (200, True, False, "drop"),
        (200, False, True, None),
    ]


def test_delay_outlasts_the_client_timeout_but_the_write_is_applied(launch: Launch) -> None:
    faulty = launch(faults=["delay=1:POST"], fault_delay=1.0)
    with pytest.raises(requests.ReadTimeout):
        faulty.update("delayed_answer_1", 400, timeout=(5, 0.3))
    # The journal line is written before the answer is held back; on a loaded machine the
    # client may give up even before the sandbox got that far, hence the wait.
    (entry,) = wait_for_log(faulty.home, bool, what="the delayed write in requests.jsonl")
    assert (entry["status"], entry["applied"], entry["fault"]) == (200, True, "delay")
    assert faulty.max_count() == 400


def test_a_delayed_answer_is_the_normal_signed_one(launch: Launch) -> None:
    faulty = launch(faults=["delay=1:GET"], fault_delay=0.2)
    response = faulty.send("GET", GET_STOCK)
    assert response.status_code == 200
    assert faulty.verify(response).ok
    assert faulty.journal()[0]["fault"] == "delay"


def test_a_held_answer_is_journaled_first_and_sent_unchanged_on_release(launch: Launch) -> None:
    faulty = launch()
    hold = faulty.hold_answers("POST")
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(faulty.update, "held_answer_01", 300)
        hold.wait_held()
        (entry,) = faulty.journal()
        assert (entry["method"], entry["applied"], entry["fault"]) == ("POST", True, None)
        assert not pending.done()
        hold.release()
        response = pending.result(timeout=30)
    assert response.status_code == 200
    assert faulty.verify(response).ok
    assert response.json()["stock_send_rule"]["max_count"] == 300


def test_holds_count_matching_answers_and_fail_loudly_when_none_comes(launch: Launch) -> None:
    faulty = launch()
    hold = faulty.hold_answers("GET", path_part="/stocks?", skip=1, limit=None)
    assert faulty.send("GET", GET_STOCK).status_code == 200  # another path: never held
    assert faulty.send("GET", LIST_STOCKS).status_code == 200  # the skipped one
    with pytest.raises(TimeoutError, match="0 answer"):
        hold.wait_held(timeout=0.05)
    hold.release()
    assert faulty.send("GET", LIST_STOCKS).status_code == 200  # released holds stop holding
    assert hold.held == 0


# --- faults that break verification -----------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("badsig", "signature invalid"),
        ("unsigned", "response is unsigned"),
        ("skew", "clock skew"),
        ("probe", "probe signature"),
    ],
)
def test_signature_faults_fail_verification_after_applying(
    launch: Launch, kind: str, reason: str
) -> None:
    faulty = launch(faults=[f"{kind}=1"])
    applied = faulty.update(f"{kind}_fault_0001", 500)
    assert applied.status_code == 200
    assert applied.json()["stock_send_rule"]["max_count"] == 500
    # An endpoint's error reply is faulted the same way.
    missing = faulty.send("GET", UNKNOWN_STOCK)
    assert missing.status_code == 404
    for response in (applied, missing):
        verification = faulty.verify(response)
        assert not verification.ok
        assert verification.reason.startswith(reason), verification.reason
        assert response.headers["Request-ID"]
        check_fault_headers(faulty, kind, response)
    assert [(e["status"], e["applied"], e["fault"]) for e in faulty.journal()] == [
        (200, True, kind),
        (404, False, kind),
    ]


def check_fault_headers(faulty: Faulty, kind: str, response: requests.Response) -> None:
    headers = response.headers
    match kind:
        case "badsig":
            assert headers["Wechatpay-Serial"] == faulty.client.public_key_id
        case "unsigned":
            assert not [name for name in headers if name.lower().startswith("wechatpay")]
        case "skew":
            timestamp = int(headers["Wechatpay-Timestamp"])
            assert faulty.verify(response, now=timestamp).ok  # a valid signature, only stale
            assert int(time.time()) - timestamp >= 600
        case "probe":
            assert headers["Wechatpay-Signature"].startswith("WECHATPAY/SIGNTEST/")


# --- which requests are faulted ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "statuses", "faults"),
    [
        ("500=1:POST", [200, 200, 500], [None, None, "500"]),
        ("500=1:GET", [500, 500, 200], ["500", "500", None]),
        ("500=1", [500, 500, 500], ["500", "500", "500"]),
    ],
)
def test_a_method_restriction_leaves_the_other_method_alone(
    launch: Launch, fault: str, statuses: list[int], faults: list[str | None]
) -> None:
    faulty = launch(faults=[fault])
    got = [
        faulty.send("GET", GET_STOCK).status_code,
        faulty.send("GET", LIST_STOCKS).status_code,
        faulty.update("restricted_0001").status_code,
    ]
    assert got == statuses
    assert [entry["fault"] for entry in faulty.journal()] == faults


def test_gateway_refusals_are_never_faulted(launch: Launch) -> None:
    faulty = launch(faults=["drop=1"])
    target = faulty.client.base_url + GET_STOCK
    unsigned = faulty.client.session.get(target, headers={"Accept": "application/json"})
    assert unsigned.status_code == 401
    assert faulty.verify(unsigned).ok
    assert faulty.journal()[0]["fault"] is None


def test_fault_limit_stops_after_that_many(launch: Launch) -> None:
    faulty = launch(faults=["500=1"], fault_limit=1)
    assert [faulty.send("GET", GET_STOCK).status_code for _ in range(3)] == [500, 200, 200]
    assert [e["fault"] for e in faulty.journal()] == ["500", None, None]


def expected_draws(specs: list[tuple[str, float]], seed: int, count: int) -> list[str | None]:
    """The documented draw rule, computed independently of the sandbox."""
    rng = random.Random(seed)  # noqa: S311 - the rule under test, not a secret
    kinds: list[str | None] = []
    for _ in range(count):
        kinds.append(next((kind for kind, p in specs if rng.random() < p), None))
    return kinds


def test_a_seed_reproduces_the_documented_draws(launch: Launch) -> None:
    faults = ["500=0.3", "429=0.3", "drop=0.5:POST"]
    sequences = []
    for name, seed in (("first", 1234), ("again", 1234), ("other", 99)):
        faulty = launch(name, faults=faults, fault_seed=seed, rate_limit=0)
        for _ in range(30):
            faulty.send("GET", GET_STOCK)
        sequences.append([entry["fault"] for entry in faulty.journal()])
    assert sequences[0] == sequences[1]
    assert sequences[0] == expected_draws([("500", 0.3), ("429", 0.3)], 1234, 30)
    assert {None, "500", "429"} <= set(sequences[0])
    assert sequences[2] != sequences[0]


# --- the CLI ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "problem"),
    [("boom=1", "valid kinds"), ("drop=2", "from 0 to 1"), ("delay=1:HEAD", "GET or POST")],
)
def test_serve_refuses_a_bad_fault_in_one_line(tmp_path: Path, option: str, problem: str) -> None:
    result = run("sandbox", "serve", "--home", str(tmp_path / "sb"), "--fault", option, expect=2)
    assert len(result.stderr.strip().splitlines()) == 1
    assert problem in result.stderr
    assert not (tmp_path / "sb").exists()


def test_serve_injects_faults_and_reports_the_seed() -> None:
    # No --home: the default is the embedded sandbox's folder under XDG_DATA_HOME.
    home = Path(os.environ["XDG_DATA_HOME"]) / "wxbudget" / "sandbox"
    arguments = ["sandbox", "serve", "--fault", "500=1:POST", "--fault-seed", "7"]
    arguments += ["--fault-limit", "1"]
    process = subprocess.Popen(
        [sys.executable, "-m", "wxbudget", *arguments],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ | {"PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        assert process.stderr is not None
        assert process.stdout.readline().startswith("listening on http://127.0.0.1:")
        banner = process.stderr.readline().strip()
        assert banner == "injecting faults 500=1:POST (--fault-seed 7, at most 1)"
        faulty = Faulty(home, SigningClient.of(home))
        assert faulty.send("GET", GET_STOCK).status_code == 200
        assert faulty.update("cli_fault_00001").status_code == 500
        assert faulty.update("cli_fault_00001").status_code == 200
        faulty.client.session.close()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()
    assert [entry["fault"] for entry in faulty.journal()] == [None, "500", None]


def test_serve_help_documents_the_fault_options() -> None:
    result = run("sandbox", "serve", "--help")
    for option in ("--fault ", "--fault-seed", "--fault-delay", "--fault-limit", "badsig"):
        assert option in result.stdout
