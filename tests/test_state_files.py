"""Journals and locks are read back as input: planted or shared ones are refused, never used."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.helpers.cli import run
from tests.helpers.logs import audit_path, posts_of
from wxbudget import config
from wxbudget.batch_journal import BatchJournal
from wxbudget.plan import parse_plan
from wxbudget.sandbox import RunningSandbox

COUPON = "1000000013"
DAILY_STOCK = "1000000013002"  # SENDING, total 50,000, daily 5,000
PLAN = f"product_coupon_id,stock_id,max_count,max_count_per_day\n{COUPON},{DAILY_STOCK},+10,\n"


def total_cap() -> int:
    stock = json.loads(run("show", COUPON, DAILY_STOCK, "-o", "json").stdout)
    cap: int = stock["stock_send_rule"]["max_count"]
    return cap


def one_error_line(stderr: str) -> str:
    assert stderr.count("\n") == 1, stderr
    assert stderr.startswith("error: ")
    return stderr


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    """A file an attacker would like wxbudget to write to or truncate."""
    path = tmp_path / "victim.txt"
    path.write_text("precious\n")
    return path


def test_a_symlinked_audit_journal_is_refused_and_nothing_is_sent(
    sandbox: RunningSandbox, isolated_environment: Path, victim: Path
) -> None:
    journal = audit_path(isolated_environment)
    journal.parent.mkdir(parents=True, mode=0o700)
    journal.symlink_to(victim)
    result = run("set-max", COUPON, DAILY_STOCK, "+1", "--yes", expect=3)
    assert "is a symbolic link" in one_error_line(result.stderr)
    assert str(journal) in result.stderr
    assert victim.read_text() == "precious\n"
    assert posts_of(sandbox.home) == []
    assert total_cap() == 50000
    # history reads it back: refused the same way.
    assert "symbolic link" in run("history", expect=3).stderr


def test_a_dangling_symlink_is_not_followed_to_create_its_target(
    sandbox: RunningSandbox, isolated_environment: Path, tmp_path: Path
) -> None:
    journal = audit_path(isolated_environment)
    journal.parent.mkdir(parents=True, mode=0o700)
    target = tmp_path / "created-by-the-link.txt"
    journal.symlink_to(target)
    run("set-max", COUPON, DAILY_STOCK, "+1", "--yes", expect=3)
    assert not target.exists()


def test_a_planted_batch_lock_link_is_refused_and_its_target_kept(
    sandbox: RunningSandbox, isolated_environment: Path, victim: Path, tmp_path: Path
) -> None:
    plan_file = tmp_path / "plan.csv"
    plan_file.write_text(PLAN)
    # The lock's name is predictable from the plan and the account: plant it there.
    settings = config.resolve(config.Flags())
    journal = BatchJournal.default_path(settings, parse_plan(PLAN.encode(), str(plan_file)))
    journal.parent.mkdir(parents=True, mode=0o700)
    journal.with_name(journal.name + ".lock").symlink_to(victim)
    result = run("apply", str(plan_file), "--yes", expect=3)
    assert "batch lock" in one_error_line(result.stderr)
    assert "symbolic link" in result.stderr
    assert victim.read_text() == "precious\n"
    assert posts_of(sandbox.home) == []


@pytest.mark.parametrize("mode", [0o666, 0o620, 0o602])
def test_a_journal_others_can_write_is_refused_untouched(
    sandbox: RunningSandbox, isolated_environment: Path, mode: int
) -> None:
    journal = audit_path(isolated_environment)
    journal.parent.mkdir(parents=True, mode=0o700)
    journal.write_text("")
    journal.chmod(mode)
    result = run("set-max", COUPON, DAILY_STOCK, "+1", "--yes", expect=3)
    assert f"mode {mode:04o}" in one_error_line(result.stderr)
    assert f"chmod go-w {journal}" in result.stderr
    assert journal.read_text() == ""
    assert posts_of(sandbox.home) == []


def test_a_journal_folder_others_can_write_is_refused(
    sandbox: RunningSandbox, isolated_environment: Path
) -> None:
    folder = audit_path(isolated_environment).parent
    folder.mkdir(parents=True)
    folder.chmod(0o777)
    result = run("set-max", COUPON, DAILY_STOCK, "+1", "--yes", expect=3)
    assert f"chmod go-w {folder}" in one_error_line(result.stderr)
    assert posts_of(sandbox.home) == []
    assert list(folder.iterdir()) == []


def test_a_sticky_shared_folder_is_fine_for_a_journal_of_ones_own(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)  # like /tmp: nobody else can remove or rename our files here
    plan_file = tmp_path / "plan.csv"
    plan_file.write_text(PLAN)
    run("apply", str(plan_file), "--yes", "--journal", str(shared / "batch.jsonl"))
    assert total_cap() == 50010


@pytest.mark.skipif(os.geteuid() != 0, reason="planting another user's file needs root")
def test_a_journal_of_another_user_is_refused(
    sandbox: RunningSandbox, isolated_environment: Path
) -> None:
    journal = audit_path(isolated_environment)
    journal.parent.mkdir(parents=True, mode=0o700)
    journal.write_text("")
    os.chown(journal, 4242, -1)
    result = run("set-max", COUPON, DAILY_STOCK, "+1", "--yes", expect=3)
    assert "another user (uid 4242)" in one_error_line(result.stderr)
    assert posts_of(sandbox.home) == []


def test_an_audit_log_that_is_not_a_regular_file_is_refused(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    folder = tmp_path / "folder"
    folder.mkdir()
    for target, kind in ((fifo, "a named pipe"), (folder, "a folder"), ("/dev/full", "device")):
        edited = tmp_path / "edited.toml"
        document = (sandbox.config_path.read_text()).replace(
            "[profiles.sandbox]\n", f'[profiles.sandbox]\naudit_log = "{target}"\n', 1
        )
        edited.write_text(document.replace('= "keys/', f'= "{sandbox.home}/keys/'))
        args = ("--config", str(edited), "set-max", COUPON, DAILY_STOCK, "+1", "--yes")
        result = run(*args, expect=3)
        assert kind in one_error_line(result.stderr)
        history = run("--config", str(edited), "history", expect=3)
        assert "is not a regular file" in one_error_line(history.stderr)
    assert posts_of(sandbox.home) == []


def test_a_planted_intent_cannot_choose_the_cap_sent(
    sandbox: RunningSandbox, isolated_environment: Path
) -> None:
    """The issue's attack: same stock, mode and target text as the command; only `to` forged."""
    journal = audit_path(isolated_environment)
    journal.parent.mkdir(parents=True, mode=0o700)
    planted = {
        "type": "intent",
        "operation": "f" * 32,
        "time": "2026-01-01T00:00:00+00:00",
        "mchid": "1900000001",
        "product_coupon_id": COUPON,
        "stock_id": DAILY_STOCK,
        "stock_bundle_id": None,
        "update_mode": "MAX_COUNT",
        "target": "+1",
        "from": 50000,
        "to": 99999999,
        "out_request_no": "ops-ticket-42",
    }
    journal.write_text(json.dumps(planted) + "\n")
    journal.chmod(0o600)
    args = ("set-max", COUPON, DAILY_STOCK, "+1", "--out-request-no", "ops-ticket-42", "--yes")
    result = run(*args, expect=5)
    line = one_error_line(result.stderr)
    assert "50000 -> 99999999" in line  # the recorded change
    assert "+1 from 50000" in line  # and the command's own
    assert posts_of(sandbox.home) == []
    assert total_cap() == 50000


@pytest.mark.parametrize(
    "recorded", [{"from": "50000", "to": 50001}, {"from": 50000, "to": 50001.0}]
)
def test_a_recorded_change_of_the_wrong_types_is_not_replayed(
    sandbox: RunningSandbox, isolated_environment: Path, recorded: dict[str, object]
) -> None:
    journal = audit_path(isolated_environment)
    journal.parent.mkdir(parents=True, mode=0o700)
    line = {
        "type": "intent",
        "operation": "e" * 32,
        "mchid": "1900000001",
        "product_coupon_id": COUPON,
        "stock_id": DAILY_STOCK,
        "stock_bundle_id": None,
        "update_mode": "MAX_COUNT",
        "target": "+1",
        "out_request_no": "ops-ticket-43",
    } | recorded
    journal.write_text(json.dumps(line) + "\n")
    journal.chmod(0o600)
    args = ("set-max", COUPON, DAILY_STOCK, "+1", "--out-request-no", "ops-ticket-43", "--yes")
    run(*args, expect=5)
    assert posts_of(sandbox.home) == []


def test_a_genuine_replay_is_shown_and_still_works(sandbox: RunningSandbox) -> None:
    args = ("set-max", COUPON, DAILY_STOCK, "+7", "--out-request-no", "ops-ticket-44", "--yes")
    run(*args)
    again = run(*args)
    assert "recorded" in again.stderr
    assert "50000 -> 50007" in again.stderr
    assert total_cap() == 50007


def test_a_forged_batch_step_is_refused_not_sent(sandbox: RunningSandbox, tmp_path: Path) -> None:
    plan_file = tmp_path / "plan.csv"
    plan_file.write_text(PLAN)
    journal = tmp_path / "batch.jsonl"
    # An unfinished step whose recorded `to` the plan's +10 does not give from its `from`.
    run("apply", str(plan_file), "--dry-run", "--journal", str(journal))
    plan = parse_plan(PLAN.encode(), str(plan_file))
    settings = config.resolve(config.Flags())
    batch = BatchJournal(journal)
    batch.load()
    batch.record_plan(plan, settings)
    batch.write(
        {
            "type": "step",
            "key": f"{COUPON}/{DAILY_STOCK}/MAX_COUNT",
            "out_request_no": "wxb-forged-0001",
            "from": 50000,
            "to": 99999999,
        }
    )
    result = run("apply", str(plan_file), "--yes", "--journal", str(journal), expect=8)
    assert "50000 -> 99999999" in result.stderr
    assert "does not give" in result.stderr
    assert posts_of(sandbox.home) == []
    assert total_cap() == 50000
