"""`list` and `apply` end to end against seeded sandboxes: plans, partial failures, resume, lock."""

from __future__ import annotations

import csv
import fcntl
import io
import json
import signal
from pathlib import Path

import pytest

from tests.helpers.cli import converse, run, spawn
from tests.helpers.clock import FrozenClock
from tests.helpers.logs import applied_counts, audit_entries, posts_of, request_log
from tests.helpers.sandboxes import SANDBOX_MODES, Sandboxes, is_strict, write_seed
from wxbudget.batch_journal import BatchJournal
from wxbudget.plan import parse_plan
from wxbudget.sandbox import RunningSandbox

HEADER = "product_coupon_id,stock_id,max_count,max_count_per_day\n"
SEEDED_BOTH_MODES = pytest.mark.parametrize("seeded", SANDBOX_MODES, indirect=True)


@pytest.fixture
def seeded(sandboxes: Sandboxes, tmp_path: Path, request: pytest.FixtureRequest) -> RunningSandbox:
    """Coupon 3000000001 with 60 stocks (two list pages), 3000000002 with 3; no rate limit.

    Lenient, or both modes under `@SEEDED_BOTH_MODES`."""
    seed = tmp_path / "seed.json"
    write_seed(seed, {"3000000001": 60, "3000000002": 3})
    return sandboxes.start("sb", seed=seed, rate_limit=0, strict=is_strict(request))


def plan_file(tmp_path: Path, rows: list[str], name: str = "plan.csv") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + "".join(row + "\n" for row in rows))
    return path


def caps(coupon: str, stock: str) -> tuple[int, int | None]:
    data = json.loads(run("show", coupon, stock, "-o", "json").stdout)
    rule = data["stock_send_rule"]
    return rule["max_count"], rule.get("max_count_per_day")


def test_list_pages_through_every_stock(seeded: RunningSandbox) -> None:
    listed = json.loads(run("list", "3000000001", "-o", "json").stdout)
    assert len(listed) == 60
    assert len({item["stock_id"] for item in listed}) == 60
    lists = [
        e for e in request_log(seeded.home) if e["method"] == "GET" and "page_size=50" in e["path"]
    ]
    assert len(lists) == 2
    table = run("list", "3000000001", "--state", "sending").stdout
    assert "60 stocks of coupon 3000000001" in table
    assert json.loads(run("list", "3000000001", "--state", "PAUSED", "-o", "json").stdout) == []
    run("list", "3000000001", "--state", "ASLEEP", expect=2)


def test_list_csv_is_a_ready_plan(seeded: RunningSandbox, tmp_path: Path) -> None:
    exported = run("list", "3000000002", "-o", "csv").stdout
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert [row["max_count"] for row in rows] == ["10000"] * 3
    assert rows[0]["brand_id"] == "120344"
    plan = tmp_path / "export.csv"
    plan.write_text(exported)
    # Applying an unedited export changes nothing and sends nothing.
    result = run("apply", str(plan), "--yes")
    assert "nothing to do" in result.stderr
    assert not posts_of(seeded.home)


def test_csv_output_is_only_for_commands_that_list_stocks(seeded: RunningSandbox) -> None:
    refused = run("set-max", "1", "2", "+1", "-o", "csv", expect=2).stderr
    assert "-o csv (a plan file) is only for 'wxbudget list', 'wxbudget show' and" in refused


@SEEDED_BOTH_MODES
def test_dry_run_shows_the_plan_and_sends_nothing(seeded: RunningSandbox, tmp_path: Path) -> None:
    plan = plan_file(
        tmp_path,
        [
            "3000000002,30000000020001,+500,",
            "3000000002,30000000020002,,900",
            "3000000002,30000000020003,10000,",
        ],
    )
    result = run("apply", str(plan), "--dry-run")
    assert "10,000 -> 10,500" in result.stdout
    assert "1,000 -> 900" in result.stdout
    assert "in place" in result.stdout
    steps = json.loads(run("apply", str(plan), "--dry-run", "-o", "json").stdout)
    assert [(s["update_mode"], s["from"], s["to"], s["outcome"]) for s in steps] == [
        ("MAX_COUNT", 10000, 10500, "change"),
        ("MAX_COUNT_PER_DAY", 1000, 900, "change"),
        ("MAX_COUNT", 10000, 10000, "noop"),
    ]
    assert not posts_of(seeded.home)


@SEEDED_BOTH_MODES
def test_caps_outside_the_create_limits_are_sent_with_a_warning(
    seeded: RunningSandbox, tmp_path: Path
) -> None:
    # 1..100000000 are the create-stock limits; no update-budget page states them, so the file
    # is not refused: each such cap is warned about and sent, and WeChat Pay decides.
    plan = plan_file(
        tmp_path,
        [
            "3000000002,30000000020001,+500,",
            "3000000002,30000000020002,0,",
            "3000000002,30000000020003,,100000001",
        ],
    )
    dry = run("apply", str(plan), "--dry-run")
    assert "line 3, column max_count: 0" in dry.stderr
    assert "line 4, column max_count_per_day: 100000001" in dry.stderr
    assert "outside 1..100000000" in dry.stderr
    strict = seeded.strict
    result = run("apply", str(plan), "--yes", "-o", "json", expect=8 if strict else 0)
    outcomes = [step["outcome"] for step in json.loads(result.stdout)]
    assert outcomes == (["applied", "failed", "failed"] if strict else ["applied"] * 3)
    expected = ((10000, 1000), (10000, 1000)) if strict else ((0, 1000), (10000, 100000001))
    assert caps("3000000002", "30000000020002") == expected[0]
    assert caps("3000000002", "30000000020003") == expected[1]
    assert len(posts_of(seeded.home)) == 3


@SEEDED_BOTH_MODES
def test_refused_rows_are_listed_and_the_rest_applied(
    seeded: RunningSandbox, tmp_path: Path
) -> None:
    plan = plan_file(
        tmp_path,
        ["3000000002,30000000020001,+500,", "3000000002,99,5,", "3000000002,30000000020003,-200%,"],
    )
    dry = run("apply", str(plan), "--dry-run")  # a dry run shows refusals and stops: exit 0
    assert "2 planned change(s) would be refused" in dry.stderr
    assert not posts_of(seeded.home)
    result = run("apply", str(plan), "--yes", "-o", "json", expect=8)
    steps = json.loads(result.stdout)
    assert [step["outcome"] for step in steps] == ["applied", "refused", "refused"]
    assert "NOT_FOUND" in steps[1]["reason"]
    assert "-10000 is below the 0 coupons already issued" in steps[2]["reason"]
    assert caps("3000000002", "30000000020001")[0] == 10500
    assert len(posts_of(seeded.home)) == 1


@SEEDED_BOTH_MODES
def test_apply_changes_both_caps_with_one_number_each(
    seeded: RunningSandbox, tmp_path: Path
) -> None:
    rows = [f"3000000001,3000000001{i:04d},+{i},-{i}%" for i in range(1, 21)]
    plan = plan_file(tmp_path, rows)
    result = run("apply", str(plan), "--yes", "-o", "json", "--concurrency", "6")
    steps = json.loads(result.stdout)
    assert len(steps) == 40
    assert {step["outcome"] for step in steps} == {"applied"}
    assert caps("3000000001", "30000000010007") == (10007, 930)
    counts = applied_counts(seeded.home)
    assert len(counts) == 40
    assert set(counts.values()) == {1}
    # Plain progress lines on a non-terminal stderr.
    assert "[40/40]" in result.stderr
    # Every write is in the audit journal too.
    assert len(json.loads(run("history", "-o", "json").stdout)) == 40
    # The batch finished, so running the plan again is a new batch (said so): its relative
    # cells apply once more, each with a number of its own.
    again = run("apply", str(plan), "--yes", "-o", "json")
    assert "this is a new batch" in again.stderr
    assert {step["outcome"] for step in json.loads(again.stdout)} == {"applied"}
    assert caps("3000000001", "30000000010007") == (10014, 865)
    counts = applied_counts(seeded.home)
    assert len(counts) == 80
    assert set(counts.values()) == {1}


def test_some_rows_failing_exits_8(sandboxes: Sandboxes, tmp_path: Path) -> None:
    seed = tmp_path / "seed.json"
    write_seed(seed, {"3000000003": 4})
    running = sandboxes.start("sb", seed=seed, rate_limit=0, faults=["500=1:POST"], fault_limit=2)
    plan = plan_file(tmp_path, [f"3000000003,3000000003{i:04d},+1," for i in range(1, 5)])
    result = run(
        "apply",
        str(plan),
        "--yes",
        "--max-retries",
        "0",
        "--concurrency",
        "1",
        "-o",
        "json",
        expect=8,
    )
    outcomes = [step["outcome"] for step in json.loads(result.stdout)]
    assert outcomes == ["failed", "failed", "applied", "applied"]
    assert "not applied" in json.loads(result.stdout)[0]["reason"]
    # Re-running retries only the failed rows, with their recorded numbers.
    again = json.loads(run("apply", str(plan), "--yes", "-o", "json").stdout)
    assert [step["outcome"] for step in again] == ["applied", "applied", "done", "done"]
    assert [step["out_request_no"] for step in again] == [
        step["out_request_no"] for step in json.loads(result.stdout)
    ]
    assert set(applied_counts(running.home).values()) == {1}


def test_a_second_apply_of_the_same_plan_is_locked_out(
    seeded: RunningSandbox, tmp_path: Path
) -> None:
    plan = plan_file(tmp_path, ["3000000002,30000000020001,+1,"])
    from wxbudget import config

    settings = config.resolve(config.Flags(config=seeded.config_path))
    journal = BatchJournal.default_path(settings, parse_plan(plan.read_bytes(), "x"))
    journal.parent.mkdir(parents=True)
    with journal.with_name(journal.name + ".lock").open("w") as holder:
        fcntl.flock(holder, fcntl.LOCK_EX)
        result = run("apply", str(plan), "--yes", expect=2)
    assert "another apply of this plan is running" in result.stderr
    run("apply", str(plan), "--yes")


def test_rate_limiter_never_allows_more_than_n_in_any_window() -> None:
    """Deterministic: a fake clock, 8 threads' worth of demand, 45 acquisitions at 10/s."""
    from wxbudget.ratelimit import RateLimiter

    now = [0.0]
    stamps: list[float] = []

    def sleep(seconds: float) -> None:
        now[0] += seconds

    limiter = RateLimiter(10, clock=lambda: now[0], sleep=sleep)
    for _ in range(45):
        limiter.acquire("update-budget")
        stamps.append(now[0])
        now[0] += 0.001  # each request takes a moment to send
    busiest = max(sum(1 for t in stamps if start <= t < start + 1.0) for start in stamps)
    assert busiest == 10
    assert stamps[-1] >= 4.0  # 45 requests at 10/s take at least four full windows
    limiter.acquire("other-endpoint")  # each endpoint has its own window
    assert now[0] == stamps[-1] + 0.001


@pytest.mark.parametrize("per_second", [1, 4])
def test_client_rate_limit_holds_at_the_sandbox(
    sandboxes: Sandboxes, tmp_path: Path, per_second: int
) -> None:
    """Reads and writes of a plan through the client's limiter reach a sandbox that refuses
    the N+1st request of any window: not one is refused, and time moved a window per N."""
    from wxbudget import config, operations
    from wxbudget.budget import parse_target
    from wxbudget.client import Client
    from wxbudget.journal import Journal
    from wxbudget.models import UpdateMode
    from wxbudget.ratelimit import RateLimiter

    seed = tmp_path / "seed.json"
    stocks = write_seed(seed, {"3000000004": 3 * per_second + 1})
    clock = FrozenClock()
    running = sandboxes.start(
        "sb", seed=seed, rate_limit=per_second, rate_limit_clock=clock, use=False
    )
    settings = config.resolve(config.Flags(config=running.config_path, max_retries=0))
    limiter = RateLimiter(per_second, clock=clock, sleep=clock.sleep)
    client = Client(settings, limiter=limiter)
    journal = Journal(settings.audit_log)
    start = clock.now
    for index, (coupon, stock) in enumerate(stocks):
        change = operations.plan(
            client,
            coupon,
            stock,
            UpdateMode.MAX_COUNT,
            parse_target("+1"),
            out_request_no=f"rate-{per_second}-{index:04d}",
        )
        operations.execute(client, journal, change, target_text="+1")
    client.close()
    log = request_log(running.home)
    assert [e["status"] for e in log] == [200] * 2 * len(stocks)
    assert sum(e["applied"] for e in log) == len(stocks)
    # 3N+1 reads (and as many writes) need three full windows after the first.
    assert clock.now - start >= 3.0


@pytest.mark.slow
@pytest.mark.parametrize("how", ["kill -9", "Ctrl-C"])
def test_interrupted_batch_resumes_exactly_once(
    sandboxes: Sandboxes, tmp_path: Path, isolated_environment: Path, how: str
) -> None:
    seed = tmp_path / "seed.json"
    write_seed(seed, {"3000000005": 40})
    running = sandboxes.start("sb", seed=seed, rate_limit=0)
    # From the ninth write on, each is applied and journaled but its answer held back: the
    # batch is interrupted with its two workers each waiting on a write that landed.
    hold = running.hold_answers("POST", skip=8, limit=None)
    plan = plan_file(tmp_path, [f"3000000005,3000000005{i:04d},+7," for i in range(1, 41)])
    with spawn("apply", str(plan), "--yes", "--concurrency", "2") as process:
        hold.wait_held(2)
        process.send_signal(signal.SIGKILL if how == "kill -9" else signal.SIGINT)
        hold.release()
        _, stderr = process.communicate(timeout=60)
    if how == "Ctrl-C":
        assert process.returncode == 130, stderr
        assert "apply --resume" in stderr
    else:
        assert process.returncode == -signal.SIGKILL
    landed = sum(applied_counts(running.home).values())
    # After Ctrl-C a worker may still take a step or two before it sees the stop.
    assert landed == 10 if how == "kill -9" else 10 <= landed < 40
    # Every write that landed has its intent on record, the two in flight included.
    entries = audit_entries(isolated_environment)
    assert set(applied_counts(running.home)) == {
        entry["out_request_no"] for entry in entries if entry["type"] == "intent"
    }
    resumed = run("apply", "--resume", "--yes", "-o", "json")
    outcomes = [step["outcome"] for step in json.loads(resumed.stdout)]
    assert set(outcomes) <= {"applied", "done"}
    assert outcomes.count("applied") == 40 - landed
    counts = applied_counts(running.home)
    assert len(counts) == 40
    assert set(counts.values()) == {1}
    # Writes the interrupted run had in flight are settled in the audit journal too.
    assert all(entry["outcome"] for entry in json.loads(run("history", "-o", "json").stdout))
    for index in range(1, 41):
        assert caps("3000000005", f"3000000005{index:04d}")[0] == 10_007


def test_a_finished_batch_is_not_resumed_a_re_run_is_a_new_batch(
    seeded: RunningSandbox, tmp_path: Path
) -> None:
    plan = plan_file(tmp_path, ["3000000002,30000000020001,+1,"])
    run("apply", str(plan), "--yes")
    run("set-max", "3000000002", "30000000020001", "+50", "--yes")
    assert "nothing to resume" in run("apply", str(plan), "--resume", "--yes", expect=2).stderr
    result = run("apply", str(plan), "--yes", "-o", "json")
    assert "this is a new batch" in result.stderr
    (step,) = json.loads(result.stdout)
    assert (step["outcome"], step["from"], step["to"]) == ("applied", 10051, 10052)
    assert caps("3000000002", "30000000020001")[0] == 10052


def test_resume_without_any_batch(seeded: RunningSandbox) -> None:
    assert "nothing to resume" in run("apply", "--resume", "--yes", expect=2).stderr
    assert "missing PLAN" in run("apply", "--yes", expect=2).stderr


def test_plan_from_stdin(seeded: RunningSandbox) -> None:
    text = HEADER + "3000000002,30000000020003,12345,\n"
    run("apply", "-", "--yes", input=text)
    assert caps("3000000002", "30000000020003")[0] == 12345


def test_a_journal_belongs_to_one_plan_and_account(seeded: RunningSandbox, tmp_path: Path) -> None:
    journal = tmp_path / "batch.jsonl"
    first = plan_file(tmp_path, ["3000000002,30000000020003,21000,"], name="p1.csv")
    second = plan_file(tmp_path, ["3000000002,30000000020003,25000,"], name="p2.csv")
    run("apply", str(first), "--yes", "--journal", str(journal))
    result = run("apply", str(second), "--yes", "--journal", str(journal), expect=2)
    assert "belongs to another plan (" in result.stderr
    assert caps("3000000002", "30000000020003")[0] == 21000
    # --resume without a plan only finds batches of the profile's own account.
    assert (
        "nothing to resume"
        in run("-p", "sandbox-brand", "apply", "--resume", "--yes", expect=2).stderr
    )


@pytest.mark.slow
def test_progress_bar_on_a_terminal(seeded: RunningSandbox, tmp_path: Path) -> None:
    plan = plan_file(tmp_path, [f"3000000001,3000000001{i:04d},+3," for i in range(1, 7)])
    status, output = converse(["apply", str(plan)], [(b"[y/N]", b"y\n")])
    assert status == 0, output
    assert "Apply 6 change(s)?" in output
    assert "applying" in output
    assert "6/6" in output
    assert "[6/6]" not in output  # the plain progress lines are for non-terminals
