"""Cron re-applies and batch identity: a batch is its plan, profile and host; a finished batch is
never resumed, an unfinished one always is; --journal takes only batch journals; no stray locks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers.cli import run
from tests.helpers.logs import applied_counts, posts_of, request_log
from tests.helpers.sandboxes import Sandboxes, write_seed

HEADER = "product_coupon_id,stock_id,max_count,max_count_per_day\n"
COUPON = "3000000002"
STOCKS = [f"{COUPON}000{i}" for i in range(1, 4)]


@pytest.fixture
def seed(tmp_path: Path) -> Path:
    path = tmp_path / "seed.json"
    write_seed(path, {COUPON: 3})
    return path


def plan_file(tmp_path: Path, rows: list[str], name: str = "plan.csv") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + "".join(row + "\n" for row in rows))
    return path


def total_cap(stock: str) -> int:
    data = json.loads(run("show", COUPON, stock, "-o", "json").stdout)
    return int(data["stock_send_rule"]["max_count"])


def outcomes(result_stdout: str) -> list[str]:
    return [step["outcome"] for step in json.loads(result_stdout)]


def test_the_same_plan_on_another_sandbox_home_is_another_batch(
    sandboxes: Sandboxes, seed: Path, tmp_path: Path
) -> None:
    plan = plan_file(tmp_path, [f"{COUPON},{STOCKS[0]},+5,"])
    rehearsal = sandboxes.start("rehearsal", seed=seed, rate_limit=0)
    run("apply", str(plan), "--yes")
    real = sandboxes.start("real", seed=seed, rate_limit=0)
    # Same mchid, same 127.0.0.1, another home (profile of another config file): a new batch.
    result = run("apply", str(plan), "--yes", "-o", "json")
    assert outcomes(result.stdout) == ["applied"]
    assert total_cap(STOCKS[0]) == 10_005
    assert len(applied_counts(real.home)) == 1
    assert len(applied_counts(rehearsal.home)) == 1


def test_resume_only_picks_an_unfinished_batch_of_this_profile(
    sandboxes: Sandboxes, seed: Path, tmp_path: Path
) -> None:
    plan = plan_file(tmp_path, [f"{COUPON},{STOCKS[0]},+5,", f"{COUPON},{STOCKS[1]},+5,"])
    sandboxes.start("other", seed=seed, rate_limit=0, faults=["500=1:POST"], fault_limit=1)
    run("apply", str(plan), "--yes", "--concurrency", "1", "--max-retries", "0", expect=8)
    sandboxes.start("mine", seed=seed, rate_limit=0)
    assert "no unfinished batch" in run("apply", "--resume", "--yes", expect=2).stderr


def test_a_nightly_absolute_plan_sets_drifted_caps_again(
    sandboxes: Sandboxes, seed: Path, tmp_path: Path
) -> None:
    sandbox = sandboxes.start(seed=seed, rate_limit=0)
    plan = plan_file(tmp_path, [f"{COUPON},{stock},20000," for stock in STOCKS])
    assert outcomes(run("apply", str(plan), "--yes", "-o", "json").stdout) == ["applied"] * 3
    run("set-max", COUPON, STOCKS[1], "25000", "--yes")  # drift
    result = run("apply", str(plan), "--yes", "-o", "json")
    assert "this is a new batch" in result.stderr
    assert outcomes(result.stdout) == ["noop", "applied", "noop"]
    assert [total_cap(stock) for stock in STOCKS] == [20_000] * 3
    # Nothing drifted: every cap is in place, exit 0, nothing sent.
    before = len(posts_of(sandbox.home))
    again = run("apply", str(plan), "--yes")
    assert "nothing to do: every planned cap is in place" in again.stderr
    assert "3 in place" in again.stdout
    assert len(posts_of(sandbox.home)) == before


def test_an_unfinished_batch_is_resumed_and_a_moved_done_step_refused(
    sandboxes: Sandboxes, seed: Path, tmp_path: Path
) -> None:
    # The first write fails (500, no retries) and stays worth retrying: the batch is unfinished.
    sandboxes.start(seed=seed, rate_limit=0, faults=["500=1:POST"], fault_limit=1)
    plan = plan_file(tmp_path, [f"{COUPON},{STOCKS[0]},+1,", f"{COUPON},{STOCKS[1]},+1,"])
    first = run(
        "apply",
        str(plan),
        "--yes",
        "--concurrency",
        "1",
        "--max-retries",
        "0",
        "-o",
        "json",
        expect=8,
    )
    assert "retry them with their recorded out_request_no" in first.stderr
    failed = json.loads(first.stdout)[0]
    # The advice names what works for a batch step, not an option apply does not have.
    assert "re-run the same plan (or 'wxbudget apply --resume') to try again" in failed["reason"]
    assert "--out-request-no" not in failed["reason"]
    run("set-max", COUPON, STOCKS[1], "+50", "--yes")
    table = run("apply", str(plan), "--dry-run").stdout
    assert "10,051 -> 10,001" in table  # the refused row shows the cap it aims at, not "+1"
    result = run("apply", str(plan), "--yes", "-o", "json", expect=8)
    first_step, second_step = json.loads(result.stdout)
    assert first_step["outcome"] == "applied"
    assert second_step["outcome"] == "refused"
    assert "an earlier run applied 10000 -> 10001" in second_step["reason"]
    # Refused and done rows show the cap they aim at, not the raw cell.
    assert (second_step["from"], second_step["to"]) == (10_051, 10_001)
    assert [total_cap(stock) for stock in STOCKS[:2]] == [10_001, 10_051]


def test_journal_must_be_a_batch_journal(sandboxes: Sandboxes, seed: Path, tmp_path: Path) -> None:
    sandboxes.start(seed=seed, rate_limit=0)
    plan = plan_file(tmp_path, [f"{COUPON},{STOCKS[0]},+1,"])
    other = plan_file(tmp_path, [f"{COUPON},{STOCKS[1]},+1,"], name="other.csv")
    original = other.read_bytes()
    result = run("apply", str(plan), "--yes", "--journal", str(other), expect=2)
    assert f"--journal {other} is not a wxbudget batch journal" in result.stderr
    assert result.stderr.count("\n") == 1
    assert other.read_bytes() == original
    folder = run("apply", str(plan), "--yes", "--journal", str(tmp_path), expect=2)
    assert f"--journal {tmp_path} is a folder" in folder.stderr
    assert folder.stderr.count("\n") == 1
    assert total_cap(STOCKS[0]) == 10_000


def test_no_lock_files_are_left_behind(sandboxes: Sandboxes, seed: Path, tmp_path: Path) -> None:
    sandboxes.start(seed=seed, rate_limit=0)
    plan = plan_file(tmp_path, [f"{COUPON},{STOCKS[0]},+1,"])
    journal = tmp_path / "journal.jsonl"
    run("apply", str(plan), "--dry-run")
    run("apply", str(plan), "--dry-run")
    run("apply", str(plan), "--yes")
    run("apply", str(plan), "--yes", "--journal", str(journal))
    assert journal.exists()
    # No batch lock stays: not in the state folder, not next to --journal.
    assert not list((tmp_path / "home").rglob("*.lock"))
    assert not list(tmp_path.glob("*.lock"))


def test_a_plan_with_every_cap_cell_empty_has_nothing_to_do(
    sandboxes: Sandboxes, seed: Path, tmp_path: Path
) -> None:
    sandbox = sandboxes.start(seed=seed, rate_limit=0)
    plan = plan_file(tmp_path, [f"{COUPON},{stock},," for stock in STOCKS])
    for args in (["--dry-run"], ["--yes"], ["--dry-run", "-o", "json"]):
        result = run("apply", str(plan), *args)
        assert "nothing to do" in result.stderr
        assert "sets no cap" in result.stderr
        assert result.stdout == ""
    assert not [entry for entry in request_log(sandbox.home)]
