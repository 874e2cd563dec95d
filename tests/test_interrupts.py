"""Ctrl-C and SIGTERM mid-write, then the natural re-run: the stock moves exactly once, or the
operator is told why not.

Real signals to the installed console script. The sandbox applies the write and holds its answer
until the test releases it (`RunningSandbox.hold_answers`), so the signal always lands while the
request is in flight, and the answer only comes once the CLI has said it got the signal.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import struct
import subprocess
import termios
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers.cli import SCRIPT, converse, read_until, run
from tests.helpers.logs import (
    WAIT_SECONDS,
    applied_counts,
    audit_entries,
    posts_of,
    request_log,
)
from tests.helpers.sandboxes import Sandboxes, write_seed
from wxbudget.sandbox import RunningSandbox

COUPON = "1000000013"
STOCK = "1000000013002"  # SENDING, total cap 50,000
BUNDLE_COUPON = "1000000014"
BUNDLE = "712315129419284901"

EXIT_CODES: dict[int, int] = {signal.SIGINT: 130, signal.SIGTERM: 143}


@pytest.fixture
def holding(sandboxes: Sandboxes) -> RunningSandbox:
    return sandboxes.start(rate_limit=0)


def start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [SCRIPT, *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def interrupt_mid_write(
    sandbox: RunningSandbox, process: subprocess.Popen[str], sent: int, *, answers: int = 1
) -> str:
    """Signal `process` while its writes are held, release them once it said it got the
    signal, and return its whole stderr once it ended."""
    hold = sandbox.hold_answers("POST", limit=answers)
    hold.wait_held(answers)
    process.send_signal(sent)
    said = read_until(process, "finishing the write in flight")
    hold.release()
    _, rest = process.communicate(timeout=60)
    return said + rest


def caps_of(coupon: str, stock: str) -> int:
    count: int = json.loads(run("show", coupon, stock, "-o", "json").stdout)["stock_send_rule"][
        "max_count"
    ]
    return count


def bundle_cap() -> int:
    data = json.loads(run("bundle", "show", BUNDLE_COUPON, BUNDLE, "-o", "json").stdout)
    caps = {stock["stock_send_rule"]["max_count"] for stock in data["stock_list"]}
    (cap,) = caps
    return int(cap)


CASES = [
    pytest.param(["set-max", COUPON, STOCK], signal.SIGINT, id="set-max-SIGINT"),
    pytest.param(["set-max", COUPON, STOCK], signal.SIGTERM, id="set-max-SIGTERM"),
    pytest.param(["bundle", "set-max", BUNDLE_COUPON, BUNDLE], signal.SIGTERM, id="bundle-SIGTERM"),
    pytest.param(["bundle", "set-max", BUNDLE_COUPON, BUNDLE], signal.SIGINT, id="bundle-SIGINT"),
]


@pytest.mark.slow
@pytest.mark.parametrize(("command", "sent"), CASES)
def test_a_signal_mid_write_lets_it_finish_and_the_re_run_does_not_stack_it(
    holding: RunningSandbox,
    isolated_environment: Path,
    command: list[str],
    sent: int,
) -> None:
    read = bundle_cap if command[0] == "bundle" else lambda: caps_of(COUPON, STOCK)
    before = read()
    hold = holding.hold_answers("POST")
    process = start(*command, "+100", "--yes")
    hold.wait_held()
    process.send_signal(sent)
    stderr = read_until(process, "finishing the write in flight")
    hold.release()
    stderr += process.communicate(timeout=60)[1]
    name = signal.Signals(sent).name
    assert process.returncode == EXIT_CODES[sent], stderr
    assert f"{name}: finishing the write in flight" in stderr
    assert f"interrupted: the change was applied, total cap now {before + 100:,}" in stderr
    assert read() == before + 100
    # The journal holds the outcome and that a signal ended the run.
    (number,) = applied_counts(holding.home)
    kinds = {e["type"]: e for e in audit_entries(isolated_environment)}
    assert kinds["outcome"]["result"] == "applied"
    assert (kinds["interrupted"]["signal"], kinds["interrupted"]["out_request_no"]) == (
        name,
        number,
    )
    # The natural re-run, without a terminal: refused, naming the earlier change and the flag.
    refused = run(*command, "+100", "--yes", expect=5)
    assert number in refused.stderr
    assert f"interrupted by {name}" in refused.stderr
    assert f"now {before + 100:,}" in refused.stderr
    assert "--again" in refused.stderr
    assert refused.stderr.count("\n") == 1, refused.stderr
    assert read() == before + 100
    assert len(posts_of(holding.home)) == 1
    # --again says "yes, another one".
    run(*command, "+100", "--yes", "--again")
    assert read() == before + 200
    # Settled: the next relative change needs no flag.
    run(*command, "+1", "--yes")
    assert read() == before + 201
    assert set(applied_counts(holding.home).values()) == {1}


@pytest.mark.slow
def test_a_second_signal_stops_at_once_and_the_advised_command_finishes_it(
    sandboxes: Sandboxes, isolated_environment: Path
) -> None:
    # The answer is held until the end: only the second signal ends the run.
    held = sandboxes.start(rate_limit=0)
    hold = held.hold_answers("POST")
    process = start("set-max", COUPON, STOCK, "+100", "--yes", "--timeout", "600")
    hold.wait_held()
    process.send_signal(signal.SIGINT)
    stderr = read_until(process, "finishing the write in flight")
    process.send_signal(signal.SIGINT)
    stderr += process.communicate(timeout=60)[1]
    hold.release()
    assert process.returncode == 130, stderr
    assert "stopped at once by a second SIGINT: the outcome is unknown" in stderr
    (number,) = applied_counts(held.home)
    advised = f"wxbudget set-max {COUPON} {STOCK} +100 --out-request-no {number}"
    assert advised in stderr
    entries = audit_entries(isolated_environment)
    assert [e["type"] for e in entries] == ["intent", "interrupted"]
    assert entries[1]["forced"] is True
    # The advised command settles it: the write is in place, nothing is sent again.
    result = run(*advised.split()[1:])
    assert "nothing to do" in result.stderr
    assert caps_of(COUPON, STOCK) == 50_100
    assert applied_counts(held.home) == {number: 1}
    history = json.loads(run("history", "-o", "json").stdout)
    assert history[0]["outcome"]["result"] == "applied"
    # ... and the next relative change is not held back.
    run("set-max", COUPON, STOCK, "+1", "--yes", "--out-request-no", "after-forced-01")
    assert caps_of(COUPON, STOCK) == 50_101


@pytest.mark.slow
def test_a_write_killed_without_an_outcome_is_settled_before_the_next_one(
    holding: RunningSandbox, isolated_environment: Path
) -> None:
    hold = holding.hold_answers("POST")
    process = start("set-max", COUPON, STOCK, "+300", "--yes")
    hold.wait_held()
    process.kill()
    process.communicate()
    hold.release()
    (number,) = applied_counts(holding.home)
    # A new run (its own number): the earlier write is settled by the read and named.
    refused = run("set-max", COUPON, STOCK, "+300", "--yes", expect=5)
    assert number in refused.stderr
    assert "ended without an outcome" in refused.stderr
    outcome = [e for e in audit_entries(isolated_environment) if e["type"] == "outcome"]
    assert [(o["out_request_no"], o["result"]) for o in outcome] == [(number, "applied")]
    assert caps_of(COUPON, STOCK) == 50_300
    # An absolute target needs no flag: it cannot stack.
    run("set-max", COUPON, STOCK, "50400", "--yes")
    assert caps_of(COUPON, STOCK) == 50_400
    run("set-max", COUPON, STOCK, "+1", "--yes")
    assert caps_of(COUPON, STOCK) == 50_401


@pytest.mark.slow
def test_on_a_terminal_the_re_run_asks_before_stacking(holding: RunningSandbox) -> None:
    process = start("set-max", COUPON, STOCK, "+100", "--yes")
    interrupt_mid_write(holding, process, signal.SIGINT)
    assert process.returncode == 130
    status, output = converse(["set-max", COUPON, STOCK, "+100", "--yes"], [(b"[y/N]", b"n\n")])
    assert status == 2, output
    assert "Apply +100 again (50,100 -> 50,200)?" in output
    assert "cancelled: nothing was sent" in output
    assert caps_of(COUPON, STOCK) == 50_100
    assert len(posts_of(holding.home)) == 1


@pytest.mark.slow
@pytest.mark.parametrize("sent", [signal.SIGTERM, signal.SIGINT], ids=lambda s: s.name)
def test_a_signal_mid_batch_finishes_the_writes_in_flight_and_the_re_run_completes(
    sandboxes: Sandboxes, tmp_path: Path, isolated_environment: Path, sent: int
) -> None:
    seed = tmp_path / "seed.json"
    ids = write_seed(seed, {"3000000005": 12})
    running = sandboxes.start(seed=seed, rate_limit=0)
    plan = tmp_path / "plan.csv"
    lines = ["product_coupon_id,stock_id,max_count,max_count_per_day"]
    plan.write_text("\n".join(lines + [f"{c},{s},+7," for c, s in ids]) + "\n")
    process = start("apply", str(plan), "--yes", "--concurrency", "3")
    stderr = interrupt_mid_write(running, process, sent, answers=3)
    assert process.returncode == EXIT_CODES[sent], stderr
    assert f"interrupted by {signal.Signals(sent).name}: 3 change(s) applied" in stderr
    assert "apply --resume" in stderr
    # Not started steps are neither counted as progress nor sent: the plain progress lines
    # count the three writes that finished, each applied.
    progress = [line for line in stderr.splitlines() if line.startswith("[")]
    assert [line.split()[0] for line in progress] == ["[1/12]", "[2/12]", "[3/12]"], stderr
    assert all(line.endswith(": applied") for line in progress), progress
    assert len(posts_of(running.home)) == 3
    entries = audit_entries(isolated_environment)
    assert len([e for e in entries if e["type"] == "outcome"]) == 3
    assert len([e for e in entries if e["type"] == "interrupted"]) == 3
    resumed = json.loads(run("apply", str(plan), "--yes", "-o", "json").stdout)
    assert sorted(step["outcome"] for step in resumed) == ["applied"] * 9 + ["done"] * 3
    assert set(applied_counts(running.home).values()) == {1}
    assert len(applied_counts(running.home)) == 12
    # The resumed run settled the interrupted writes: a later relative change goes ahead.
    run("set-max", *ids[0], "+1", "--yes")
    assert caps_of(*ids[0]) == 10_008


def test_interrupt_exit_codes_are_documented() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    assert "| 130 |" in readme
    assert "| 143 |" in readme
    assert os.path.basename(SCRIPT) == "wxbudget"


# The moments of a set-max besides the write itself (covered above): reading the current state
# before anything is sent; reading the stock after a write whose answer was lost (still the
# write); an attempt answered with an error that, once a signal came, is not retried.
MOMENTS = ["reading", "settling-a-lost-answer", "failed-attempt"]


@pytest.mark.slow
@pytest.mark.parametrize("sent", [signal.SIGINT, signal.SIGTERM], ids=lambda s: s.name)
@pytest.mark.parametrize("moment", MOMENTS)
def test_a_signal_at_any_moment_then_the_same_command_moves_the_stock_exactly_once(
    sandboxes: Sandboxes, moment: str, sent: int
) -> None:
    faults = {"settling-a-lost-answer": ["drop=1:POST"], "failed-attempt": ["500=1:POST"]}
    running = sandboxes.start(rate_limit=0, faults=faults.get(moment, []), fault_limit=1)
    if moment == "reading":
        hold = running.hold_answers("GET")
    elif moment == "settling-a-lost-answer":
        hold = running.hold_answers("GET", skip=1)  # the read after the dropped answer
    else:
        hold = running.hold_answers("POST")  # the 500 answer
    command = ["set-max", COUPON, STOCK, "+100", "--yes"]
    process = start(*command, "--timeout", "600")
    hold.wait_held()
    process.send_signal(sent)
    name = signal.Signals(sent).name
    if moment == "reading":
        # Nothing is being written: it stops at once, without waiting for the held answer.
        stderr = process.communicate(timeout=60)[1]
        hold.release()
    else:
        stderr = read_until(process, f"{name}: finishing the write in flight")
        hold.release()
        stderr += process.communicate(timeout=60)[1]
    assert process.returncode == EXIT_CODES[sent], stderr
    if moment == "reading":
        assert f"interrupted by {name}; no budget change was sent" in stderr
        assert posts_of(running.home) == []
    elif moment == "settling-a-lost-answer":
        assert "interrupted: the change was applied, total cap now 50,100" in stderr
    else:
        assert "not retried: interrupted" in stderr
        assert "interrupted: the change was not applied; to apply it, run: wxbudget set-max" in (
            stderr
        )
    assert caps_of(COUPON, STOCK) == (50_100 if moment == "settling-a-lost-answer" else 50_000)
    # The natural re-run: the stock moves exactly once in all, or the operator is told why not.
    if moment == "settling-a-lost-answer":
        refused = run(*command, expect=5)
        assert f"interrupted by {name}" in refused.stderr
        assert "--again" in refused.stderr
    else:
        run(*command)
    assert caps_of(COUPON, STOCK) == 50_100
    assert list(applied_counts(running.home).values()) == [1]


@pytest.mark.slow
@pytest.mark.parametrize("sent", [signal.SIGINT, signal.SIGTERM], ids=lambda s: s.name)
def test_a_signal_while_apply_reads_state_stops_without_waiting_for_the_reads(
    sandboxes: Sandboxes, tmp_path: Path, sent: int
) -> None:
    seed = tmp_path / "seed.json"
    ids = write_seed(seed, {f"{5000000001 + c}": 3 for c in range(100)})
    running = sandboxes.start(seed=seed, rate_limit=0)
    # Every read is answered only once the test says so: the CLI must stop without them.
    hold = running.hold_answers("GET", limit=None)
    plan = tmp_path / "plan.csv"
    lines = ["product_coupon_id,stock_id,max_count,max_count_per_day"]
    plan.write_text("\n".join(lines + [f"{c},{s},+1," for c, s in ids]) + "\n")
    process = start("apply", str(plan), "--yes", "--concurrency", "4", "--timeout", "600")
    try:
        hold.wait_held(4)
        process.send_signal(sent)
        _, stderr = process.communicate(timeout=60)
        assert hold.held < 300  # ended while its reads were still unanswered
    finally:
        hold.release()
    name = signal.Signals(sent).name
    assert process.returncode == EXIT_CODES[sent], stderr
    assert f"interrupted by {name}; no budget change was sent" in stderr
    assert not [entry for entry in request_log(running.home) if entry["method"] == "POST"]
    assert not list((tmp_path / "home").rglob("*.lock"))


@pytest.mark.slow
def test_a_signal_while_the_result_is_printed_says_the_writes_were_made(
    sandboxes: Sandboxes, tmp_path: Path
) -> None:
    seed = tmp_path / "seed.json"
    ids = write_seed(seed, {"3000000006": 40})
    running = sandboxes.start(seed=seed, rate_limit=0)
    plan = tmp_path / "plan.csv"
    lines = ["product_coupon_id,stock_id,max_count,max_count_per_day"]
    plan.write_text("\n".join(lines + [f"{c},{s},20000," for c, s in ids]) + "\n")
    # stdout is a one-page pipe nobody reads yet: the JSON result, which starts only after the
    # last write finished, is four times that, so once it started the CLI is stuck printing it.
    reading, writing = os.pipe()
    fcntl.fcntl(writing, fcntl.F_SETPIPE_SZ, 4096)
    process = subprocess.Popen(
        [SCRIPT, "apply", str(plan), "--yes", "-o", "json"],
        stdin=subprocess.DEVNULL,
        stdout=writing,
        stderr=subprocess.PIPE,
        text=True,
    )
    os.close(writing)
    with os.fdopen(reading, "rb") as stdout:
        wait_until(lambda: pending_bytes(stdout.fileno()) > 0, process)
        process.send_signal(signal.SIGINT)
        printed = stdout.read()
    stderr = process.communicate(timeout=60)[1]
    assert process.returncode == 130, stderr
    assert "no budget change was sent" not in stderr
    assert "interrupted by SIGINT after the budget change(s) above were sent" in stderr
    assert printed.startswith(b"[")
    assert len(printed) < 40 * 300  # the result was cut short
    assert len(applied_counts(running.home)) == 40


def pending_bytes(descriptor: int) -> int:
    """Bytes waiting in a pipe."""
    return struct.unpack("i", fcntl.ioctl(descriptor, termios.FIONREAD, b"\0\0\0\0"))[0]  # type: ignore[no-any-return]


def wait_until(condition: Callable[[], bool], process: subprocess.Popen[str]) -> None:
    """Poll `condition`; fail (never pass) when the process ends first or it takes too long."""
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(
                f"gave up waiting (exit {process.poll()}): {process.communicate()[1][-1500:]}"
            )
        time.sleep(0.02)


@pytest.mark.slow
def test_an_interrupted_set_daily_holds_back_a_plan_that_would_stack_on_it(
    holding: RunningSandbox, tmp_path: Path
) -> None:
    process = start("set-daily", COUPON, STOCK, "+100", "--yes")
    stderr = interrupt_mid_write(holding, process, signal.SIGTERM)
    assert process.returncode == 143, stderr
    assert "interrupted: the change was applied, daily cap now 5,100" in stderr

    def daily() -> int:
        shown = json.loads(run("show", COUPON, STOCK, "-o", "json").stdout)
        return int(shown["stock_send_rule"]["max_count_per_day"])

    plan = tmp_path / "plan.csv"
    plan.write_text(
        f"product_coupon_id,stock_id,max_count,max_count_per_day\n{COUPON},{STOCK},+1,+100\n"
    )
    # The plan's +100 on the daily cap would stack on the interrupted one: refused, named; the
    # total cap (another cap, nothing interrupted on it) goes ahead.
    result = run("apply", str(plan), "--yes", "-o", "json", expect=8)
    steps = {step["update_mode"]: step for step in json.loads(result.stdout)}
    assert steps["MAX_COUNT"]["outcome"] == "applied", steps
    assert steps["MAX_COUNT_PER_DAY"]["outcome"] == "refused", steps
    assert "interrupted by SIGTERM" in steps["MAX_COUNT_PER_DAY"]["reason"]
    assert "--again" in steps["MAX_COUNT_PER_DAY"]["reason"]
    assert daily() == 5_100
    assert caps_of(COUPON, STOCK) == 50_001
    assert set(applied_counts(holding.home).values()) == {1}
    assert len(posts_of(holding.home)) == 2


@pytest.mark.slow
def test_a_second_signal_mid_batch_stops_at_once_and_resume_applies_each_change_once(
    sandboxes: Sandboxes, tmp_path: Path
) -> None:
    seed = tmp_path / "seed.json"
    ids = write_seed(seed, {"3000000007": 12})
    running = sandboxes.start(seed=seed, rate_limit=0)
    plan = tmp_path / "plan.csv"
    lines = ["product_coupon_id,stock_id,max_count,max_count_per_day"]
    plan.write_text("\n".join(lines + [f"{c},{s},+7," for c, s in ids]) + "\n")
    hold = running.hold_answers("POST", limit=3)  # applied, answers held until the end
    process = start("apply", str(plan), "--yes", "--concurrency", "3", "--timeout", "600")
    try:
        hold.wait_held(3)
        process.send_signal(signal.SIGTERM)
        stderr = read_until(process, "SIGTERM: finishing the write in flight")
        process.send_signal(signal.SIGTERM)
        stderr += process.communicate(timeout=60)[1]
    finally:
        hold.release()
    assert process.returncode == 143, stderr
    assert "stopped at once by a second SIGTERM: writes in flight have no outcome" in stderr
    assert "apply --resume" in stderr
    assert len(applied_counts(running.home)) == 3
    assert not list((tmp_path / "home").rglob("*.lock"))
    # Resuming settles the three that landed by reading them and applies the other nine.
    resumed = json.loads(run("apply", "--resume", "--yes", "-o", "json").stdout)
    assert sorted(step["outcome"] for step in resumed) == ["applied"] * 9 + ["done"] * 3
    counts = applied_counts(running.home)
    assert len(counts) == 12
    assert set(counts.values()) == {1}
    assert {caps_of(c, s) for c, s in ids} == {10_007}


@pytest.mark.slow
def test_a_write_whose_outcome_stays_unknown_names_the_command_that_finishes_it(
    holding: RunningSandbox,
) -> None:
    # The write lands but no answer ever comes, nor to the reads that would settle it: the
    # client gives up on each after --timeout, and a signal means no retry.
    post = holding.hold_answers("POST")
    reads = holding.hold_answers("GET", skip=1, limit=None)
    process = start("set-max", COUPON, STOCK, "+100", "--yes", "--timeout", "2")
    try:
        post.wait_held()
        process.send_signal(signal.SIGINT)
        stderr = read_until(process, "SIGINT: finishing the write in flight")
        stderr += process.communicate(timeout=60)[1]
    finally:
        post.release()
        reads.release()
    assert process.returncode == 130, stderr
    (number,) = applied_counts(holding.home)
    advised = f"wxbudget set-max {COUPON} {STOCK} +100 --out-request-no {number}"
    assert f"interrupted: the outcome is unknown; finish it with: {advised}" in stderr
    # The natural re-run is refused (the earlier change is in place), the advised one finishes it.
    refused = run("set-max", COUPON, STOCK, "+100", "--yes", expect=5)
    assert number in refused.stderr
    assert "nothing to do" in run(*advised.split()[1:]).stderr
    assert caps_of(COUPON, STOCK) == 50_100
    assert applied_counts(holding.home) == {number: 1}
