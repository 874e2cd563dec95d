"""Input is strict and errors are never internal: sloppy TARGETs, absurd numbers, a stdout that
is closed or full, two sandboxes on one home. Each ends with one line and a documented code."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.helpers.cli import SCRIPT, run, script
from tests.helpers.logs import posts_of, request_log
from tests.helpers.sandboxes import PristineHomes, Sandboxes
from wxbudget.sandbox import RunningSandbox

COUPON = "1000000013"
STOCK = "1000000013002"  # total cap 50,000


@pytest.fixture
def sandbox(sandboxes: Sandboxes) -> RunningSandbox:
    return sandboxes.start(rate_limit=0)


def one_error_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: "), stderr
    return lines[0]


@pytest.mark.parametrize(
    "target",
    ["5,0000", "5,0,0,0,0", ",50000", "5__0000", " 100 ", "١٠٠٠٠٠", "１００", "+١٠%", "1.5", "10%"],
)
def test_a_sloppy_target_is_exit_2_naming_it_and_nothing_is_read(
    sandbox: RunningSandbox, target: str
) -> None:
    result = run("set-max", COUPON, STOCK, target, "--yes", expect=2)
    line = one_error_line(result.stderr)
    assert repr(target) in line
    assert request_log(sandbox.home) == []


def test_thousands_separators_in_groups_of_three_are_a_target(sandbox: RunningSandbox) -> None:
    run("set-max", COUPON, STOCK, "60,000", "--yes")
    run("set-max", COUPON, STOCK, "+1,000", "--yes")
    assert (
        json.loads(run("show", COUPON, STOCK, "-o", "json").stdout)["stock_send_rule"]["max_count"]
        == 61_000
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--timeout", "1e308"], "--timeout 1e+308 is outside 0.001..600 seconds"),
        (["--timeout", "nan"], "--timeout nan is outside"),
        (["--max-retries", "99999999999999999999999"], "--max-retries 9999999999... is outside"),
        (["--max-retries", "-1"], "--max-retries -1 is outside 0..10"),
    ],
)
def test_absurd_timeouts_and_retries_are_one_line_exit_2(
    sandbox: RunningSandbox, args: list[str], message: str
) -> None:
    result = run(*args, "show", COUPON, STOCK, expect=2)
    assert message in one_error_line(result.stderr)
    assert request_log(sandbox.home) == []


def test_profile_init_refuses_an_absurd_timeout_and_writes_nothing(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    import tomllib

    profile = tomllib.loads(sandbox.config_path.read_text())["profiles"]["sandbox"]
    path = tmp_path / "config.toml"
    args = [
        "profile",
        "init",
        "absurd",
        "--config",
        str(path),
        "--mchid",
        profile["mchid"],
        "--merchant-serial-no",
        profile["merchant_serial_no"],
        "--private-key-file",
        str(sandbox.home / profile["private_key_file"]),
        "--wechatpay-public-key-id",
        profile["wechatpay_public_key_id"],
        "--wechatpay-public-key-file",
        str(sandbox.home / profile["wechatpay_public_key_file"]),
    ]
    result = run(*args, "--timeout", "1e308", expect=3)
    assert "must be a number of seconds from 0.001 to 600" in one_error_line(result.stderr)
    assert not path.exists()
    result = run(*args, "--max-retries", "99999999999999999999999", expect=3)
    assert "max_retries" in one_error_line(result.stderr)
    assert not path.exists()


@pytest.mark.slow
def test_a_closed_stdout_is_refused_before_anything_is_sent(sandbox: RunningSandbox) -> None:
    result = subprocess.run(
        [SCRIPT, "set-max", COUPON, STOCK, "+1", "--yes"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        timeout=60,
        preexec_fn=lambda: os.close(1),
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert "stdout is closed" in one_error_line(result.stderr)
    assert request_log(sandbox.home) == []


@pytest.mark.slow
def test_a_full_stdout_is_one_line_and_an_applied_change_is_never_stacked(
    sandbox: RunningSandbox,
) -> None:
    with open("/dev/full", "w") as full:
        shown = subprocess.run(
            [SCRIPT, "show", COUPON, STOCK],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            check=False,
        )
        changed = subprocess.run(
            [SCRIPT, "set-max", COUPON, STOCK, "+1", "--yes"],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            check=False,
        )
    assert shown.returncode == 2
    assert "cannot write the result to stdout: No space left on device" in one_error_line(
        shown.stderr
    )
    assert changed.returncode == 2
    last = changed.stderr.strip().splitlines()[-1]
    assert "the change was applied (total cap now 50,001)" in last
    assert len(posts_of(sandbox.home)) == 1
    # A scheduler retrying the failed run does not apply +1 again unasked.
    again = script("set-max", COUPON, STOCK, "+1", "--yes", expect=5)
    assert "its run could not show its result" in again.stderr
    assert len(posts_of(sandbox.home)) == 1


@pytest.mark.slow
def test_a_second_sandbox_on_one_home_is_refused_naming_the_first(
    pristine_homes: PristineHomes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = pristine_homes.copy(tmp_path / "wxbudget" / "sandbox")  # the embedded home, too
    first = subprocess.Popen(
        [SCRIPT, "sandbox", "serve", "--home", str(home), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ | {"PYTHONUNBUFFERED": "1"},
    )
    try:
        assert first.stdout is not None
        url = first.stdout.readline().split()[-1]
        second = script("sandbox", "serve", "--home", str(home), "--port", "0", expect=2)
        line = one_error_line(second.stderr)
        assert f"sandbox home {home} is already served (pid {first.pid}, {url})" in line
        # The first still serves, and the profiles still point at it.
        monkeypatch.setenv("WXBUDGET_CONFIG", str(home / "config.toml"))
        run("show", COUPON, STOCK)
        # The embedded sandbox on a served home uses the running sandbox.
        monkeypatch.delenv("WXBUDGET_CONFIG")
        monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
        embedded = run("--sandbox", "show", COUPON, STOCK)
        assert f"using the sandbox serving {home} (pid {first.pid}, {url})" in embedded.stderr
    finally:
        first.terminate()
        first.communicate(timeout=60)


@pytest.mark.parametrize("cell", ['"5,0000"', " 100 ", "１００", "+١٠%", "5__0000", '",50000"'])
def test_a_sloppy_plan_cell_is_exit_2_naming_it_and_nothing_is_read(
    sandbox: RunningSandbox, tmp_path: Path, cell: str
) -> None:
    plan = tmp_path / "plan.csv"
    plan.write_text(
        "product_coupon_id,stock_id,max_count,max_count_per_day\n"
        f"{COUPON},1000000013001,+1,\n{COUPON},{STOCK},{cell},\n",
        encoding="utf-8",
    )
    result = run("apply", str(plan), "--yes", expect=2)
    line = one_error_line(result.stderr)
    assert "line 3, column max_count: TARGET" in line
    assert repr(cell.strip('"')) in line
    assert request_log(sandbox.home) == []


@pytest.mark.parametrize(("key", "value"), [("timeout", 1e308), ("max_retries", 10**19)])
def test_an_absurd_number_in_a_profile_is_one_line_exit_3(
    sandbox: RunningSandbox, key: str, value: object
) -> None:
    from tests.helpers.sandboxes import edit_profile

    edit_profile(sandbox, "sandbox", **{key: value})
    result = run("show", COUPON, STOCK, expect=3)
    assert f"{key} in profile 'sandbox' of" in one_error_line(result.stderr)
    assert request_log(sandbox.home) == []
