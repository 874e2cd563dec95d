"""What the README promises about waiting, proven through the commands: connecting waits at most
5 s whatever `--timeout` says, and `list`, `show --all` and `apply` keep to the profile's rate
limit. No test here asserts how fast anything was (a shared, noisy 2-core machine): a clock
that only sleeping moves stands for time, and a real hang has a loud, generous bound.

The settings behind them are tested in test_readme_behaviour.py (`connect_timeout`, the
limiter a command asks for); these prove the values reach the requests that are sent.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.helpers.cli import SCRIPT, run
from tests.helpers.clock import FrozenClock, limiters_on
from tests.helpers.hostile import profile_for
from tests.helpers.logs import request_log
from tests.helpers.sandboxes import Sandboxes, edit_profile, write_seed
from tests.helpers.signing_client import COUPONS
from tests.helpers.stalled import stalled_listener
from wxbudget.sandbox import RunningSandbox

COUPON = "3000000009"
STOCKS_IN_THREE_PAGES = 120  # the list endpoint's pages hold 50
# Twelve times the 5 s cap: reached only when the cap is not what ends the connect (with
# --timeout 600, nothing else would end it this side of ten minutes).
CONNECT_BOUND_SECONDS = 60
# Ten minutes for the answer; one attempt (a retry would only wait another 5 s).
HANGING_SHOW = ["show", "1000000013", "1000000013002", "--timeout", "600", "--max-retries", "0"]

# --- Reliability: timeouts --------------------------------------------------------------------


def test_reliability_connecting_waits_at_most_5_seconds_whatever_the_timeout(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    """A connect that really hangs (a listener whose accept queue is full: Linux drops the SYN)
    with `--timeout 600`: only the 5 s connect cap can end it soon, and it ends as a connect
    timeout (exit 7, "nothing was sent"), not as a read timeout.

    Why this and not a trace of the timeouts passed to requests: a trace line would show what
    we print, this shows what the socket did, with nothing of ours or of requests replaced.
    The installed command runs in a subprocess so that the bound can end a hang: if the cap
    did not reach requests, the test fails at CONNECT_BOUND_SECONDS instead of passing late.
    """
    with stalled_listener() as stalled:
        config = profile_for(sandbox, tmp_path, stalled.base_url)
        try:
            result = subprocess.run(
                [SCRIPT, *HANGING_SHOW],
                capture_output=True,
                text=True,
                timeout=CONNECT_BOUND_SECONDS,
                check=False,
                env=os.environ | {"WXBUDGET_CONFIG": str(config)},
            )
        except subprocess.TimeoutExpired:
            pytest.fail(
                f"show --timeout 600 still connecting after {CONNECT_BOUND_SECONDS} s: the 5 s "
                "connect cap did not reach the request"
            )
        # Only the listener's own filler is queued: the command's connection was never made.
        assert stalled.queued() == 1
    assert result.returncode == 7, result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.rstrip().endswith("could not connect (timed out); nothing was sent")
    assert result.stdout == ""


# --- Profiles: rate_limit ---------------------------------------------------------------------


def three_pages_at_one_a_second(
    sandboxes: Sandboxes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[RunningSandbox, FrozenClock]:
    """A coupon of three list pages on a sandbox refusing a second request to an endpoint in
    any second of `clock`, with the profile's rate_limit at 1 and the CLI's limiter on `clock`.

    The frozen clock moves only when the client's limiter waits: a command without a limiter
    sends its second page at the first one's instant, and gets 429 (retries off: none hides it).
    """
    seed = tmp_path / "seed.json"
    write_seed(seed, {COUPON: STOCKS_IN_THREE_PAGES})
    clock = FrozenClock()
    limiters_on(clock, monkeypatch)
    sandbox = sandboxes.start("sb", seed=seed, rate_limit=1, rate_limit_clock=clock)
    edit_profile(sandbox, rate_limit=1, max_retries=0)
    return sandbox, clock


@pytest.mark.parametrize(
    "command", [["list", COUPON], ["show", COUPON, "--all"]], ids=["list", "show --all"]
)
def test_profiles_rate_limit_holds_for_every_page_of_the_list(
    sandboxes: Sandboxes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    sandbox, clock = three_pages_at_one_a_second(sandboxes, tmp_path, monkeypatch)
    start = clock.now
    shown = run(*command, "-o", "json")
    assert len(json.loads(shown.stdout)) == STOCKS_IN_THREE_PAGES
    listing = f"{COUPONS}/{COUPON}/stocks"
    answered = [
        (entry["path"].split("?")[0], entry["status"]) for entry in request_log(sandbox.home)
    ]
    assert answered == [(listing, 200)] * 3
    assert clock.now - start >= 2.0  # a window per page after the first


def test_batches_apply_above_5_rows_keeps_to_the_rate_limit_reading_and_writing(
    sandboxes: Sandboxes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Six rows of one coupon: read through the list endpoint (three pages), then six writes,
    each a request the sandbox would refuse if it came within a second of the one before.

    --concurrency 1: with writes on several threads, one thread's limiter wait would move the
    shared frozen clock while another's request is on its way, making it arrive "later" than
    it left; one writer keeps every arrival at the instant its limiter let it go.
    """
    sandbox, clock = three_pages_at_one_a_second(sandboxes, tmp_path, monkeypatch)
    plan = tmp_path / "plan.csv"
    plan.write_text(
        "product_coupon_id,stock_id,max_count,max_count_per_day\n"
        + "".join(f"{COUPON},{COUPON}{index:04d},+1,\n" for index in range(1, 7))
    )
    start = clock.now
    run("apply", str(plan), "--yes", "--concurrency", "1")
    log = request_log(sandbox.home)
    assert [entry["status"] for entry in log] == [200] * len(log)
    reads = [entry for entry in log if entry["method"] == "GET"]
    writes = [entry for entry in log if entry["method"] == "POST"]
    assert [entry["path"].split("?")[0] for entry in reads] == [f"{COUPONS}/{COUPON}/stocks"] * 3
    assert [entry["applied"] for entry in writes] == [True] * 6
    assert clock.now - start >= 5.0  # a window per write after the first
