"""Every command example of the README, run as written: one test per README section.

Each table below maps the section's example lines (verbatim, as in the README) to what running
them must show. `test_every_readme_example_has_a_test` fails when the README and the tables
disagree, so an example added, changed or removed without its test shows.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from tests.helpers.cli import SCRIPT, converse, run, script, spawn, table_fields, table_rows
from tests.helpers.hostile import Answer, HostileServer
from tests.helpers.logs import posts_of, request_log
from tests.helpers.readme import (
    README,
    arguments,
    readme_examples,
    run_example,
    write_readme_config,
)
from tests.helpers.sandboxes import PristineHomes, Sandboxes
from tests.helpers.signing_client import SigningClient
from wxbudget.plan import parse_plan
from wxbudget.sandbox import RunningSandbox

DATA = Path(__file__).parent / "data"
# The README abbreviates the serial; this is the golden key's (tests/data), which it starts.
GOLDEN_SERIAL_NO = "1DDE55AD98ED71D6EDD4A4A16996DE7B47773A8C"
# What `profile init` on a terminal asks for, answered with the README's key files.
INIT_ANSWERS = [
    (b"mchid = ", b"1900000001\n"),
    (b"merchant_serial_no = ", GOLDEN_SERIAL_NO.encode() + b"\n"),
    (b"private_key_file = ", b"~/keys/apiclient_key.pem\n"),
    (b"wechatpay_public_key_id = ", b"PUB_KEY_ID_0000000001\n"),
    (b"wechatpay_public_key_file = ", b"~/keys/pub_key.pem\n"),
    (b"brand_id = ", b"120344\n"),  # a partner's default brand (optional)
    (b"language = ", b"\n"),  # Enter: follow WXBUDGET_LANG and the locale
]

QUICK_START = {
    "python3 -m venv .venv && . .venv/bin/activate && pip install . && wxbudget --sandbox show "
    "1000000013 1000000013001 && wxbudget --sandbox set-max 1000000013 1000000013001 +500 --yes "
    "&& wxbudget --sandbox show 1000000013 1000000013001": "10,000,500",
}
SHOW = {
    "wxbudget show 1000000013 1000000013002": "38,000",
    "wxbudget show 1000000013 1000000013002 -o json | jq .stock_send_rule": (
        '{"max_count": 50000, "max_count_per_day": 5000, "max_count_per_user": 1}'
    ),
    "wxbudget show 1000000013 1000000013002 1000000013007 1000000013003": (
        "1000000013002 SENDING 1000000013007 SENDING 1000000013003 PAUSED"
    ),
    "wxbudget show 1000000013 --all -o json > stocks.json   # an array of stock objects": (
        "stocks.json"
    ),
    "wxbudget show 1000000013 --all -o csv > plan.csv      # the same plan file as `list -o csv`": (
        "plan.csv"
    ),
}
SET_MAX_AND_SET_DAILY = {
    "wxbudget set-max   1000000013 1000000013001 20000            # absolute": 20000,
    "wxbudget set-max   1000000013 1000000013001 +500 --yes       # relative to the current cap": (
        10_000_500
    ),
    "wxbudget set-daily 1000000013 1000000013002 -10% --dry-run   "
    "# preview: plan + exact JSON body": 5000,
    "wxbudget set-max   1000000013 1000000013002 60000 --yes --expect-current 50000 -o json": 60000,
}
GUARD_RAILS = [
    "wxbudget set-max 1000000013 1000000013002 +1000 --dry-run      # ...; at stake +¥5,000.00",
    "wxbudget set-max 1000000013 1000000013002 +200000 --yes --override-limits",
    "wxbudget profile init prod --limit max_increase=100000 --limit max_exposure_increase=200000",
]
NOTIFICATIONS = [
    "wxbudget set-max 1000000013 1000000013002 +500 --yes --notify "
    "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=KEY",
    "wxbudget apply plan.csv --yes        # the profile's notify_url is told how the batch ended",
]
LIST = [
    "wxbudget list 1000000013",
    "wxbudget list 1000000013 --state SENDING -o csv > plan.csv   # a ready plan file",
]
APPLY = [
    "wxbudget apply plan.csv --dry-run          # the plan against live state; nothing sent",
    "wxbudget apply plan.csv --yes --concurrency 8",
    "wxbudget apply --resume --yes              # finish the latest interrupted batch",
    "cat plan.csv | wxbudget apply - --yes -o json",
    "wxbudget apply plan.csv --yes --again      # also stack on interrupted earlier changes",
]
CHECK = {
    "wxbudget check 1000000013 --min-remaining 1000 --min-remaining-today 10%   "
    "# cron: exit 9 on alert": 9,
    "wxbudget check 1000000013 1000000013002 --state SENDING -o json": 0,
    "wxbudget check 1000000013 --min-remaining 5% --watch 30                   "
    "# a live table until Ctrl-C": 130,
}
HISTORY = [
    "wxbudget history --since 24h",
    "wxbudget history --result no-outcome",
    "wxbudget history 1000000013 1000000013001 --since 2026-11-01 --limit 5 -o json",
]
UNDO_NUMBER = "wxb-20261129093923-6790398b53f89da2"
UNDO = [
    f"wxbudget undo {UNDO_NUMBER} --dry-run    # the way back, previewed",
    f"wxbudget undo {UNDO_NUMBER} --yes",
    "wxbudget undo --batch 3f2a9c1d0b7e4a55 --yes                     # every applied row of a "
    "batch",
]
BUNDLE = [
    "wxbudget bundle show 1000000014 712315129419284901",
    "wxbudget bundle show 1000000014 712315129419284901 -o csv > plan.csv   # edit, then "
    "`apply plan.csv`",
    "wxbudget bundle set-max 1000000014 712315129419284901 +1000 --yes",
    "wxbudget bundle set-daily 1000000014 712315129419284901 -10% --dry-run",
]
PROFILE = [
    "wxbudget profile init prod --default                 # on a terminal: asks for each key",
    "wxbudget profile init ci --mchid 1900000001 --merchant-serial-no 1DDE55AD... "
    "--private-key-file ~/keys/apiclient_key.pem --wechatpay-public-key-id PUB_KEY_ID_0000000001 "
    "--wechatpay-public-key-file ~/keys/pub_key.pem",
    "wxbudget profile list",
    "wxbudget profile show prod            "
    "# paths, permissions, SHA-256 key fingerprints; never keys",
    "wxbudget profile remove old --yes",
]
DOCTOR = [
    "wxbudget doctor",
    "wxbudget doctor -p prod --stock 1000000013 1000000013001",
    "wxbudget doctor -o json        # for monitoring",
]
CERTS = [
    "wxbudget certs download -p legacy",
    "wxbudget certs list -p legacy -o json",
]
SANDBOX_SERVE = [
    "wxbudget sandbox serve --home ./sb --port 8080        # prints: listening on http://127.0.0.1:8080",
    "wxbudget --config ./sb/config.toml show 1000000013 1000000013001",
    "wxbudget sandbox serve --home ./sb --fault 500=0.2:POST --fault drop=0.1 --fault-seed 7",
    "wxbudget sandbox serve --home ./sb --platform-cert",
    "wxbudget sandbox serve --home ./sb --strict           "
    "# the strict reading of every open point",
]
SHELL_COMPLETION = [
    "wxbudget --install-completion",
    'eval "$(_WXBUDGET_COMPLETE=source_bash wxbudget)"        # ~/.bashrc',
    'eval "$(_WXBUDGET_COMPLETE=source_zsh wxbudget)"         # ~/.zshrc',
    "_WXBUDGET_COMPLETE=source_fish wxbudget | source         # ~/.config/fish/config.fish",
]
# README lines no test can run, and why.
NOT_RUN = {
    "pip install -e '.[dev]' && ruff check . && ruff format --check . && mypy && "
    "python -m pytest": "the suite itself: .ci/run runs it",
    "python3 -m venv /tmp/bench && /tmp/bench/bin/pip install . && /tmp/bench/bin/python "
    "bench/startup.py && /tmp/bench/bin/python bench/batch.py": (
        "benchmarks measure time, which no test may"
    ),
}
TABLES: list[Any] = [
    QUICK_START,
    SHOW,
    SET_MAX_AND_SET_DAILY,
    GUARD_RAILS,
    NOTIFICATIONS,
    LIST,
    APPLY,
    CHECK,
    HISTORY,
    UNDO,
    BUNDLE,
    PROFILE,
    DOCTOR,
    CERTS,
    SANDBOX_SERVE,
    SHELL_COMPLETION,
]


def test_every_readme_example_has_a_test() -> None:
    found = readme_examples()
    tested = {example for table in TABLES for example in table} | set(NOT_RUN)
    missing = [f"  [{section}] {example}" for section, example in found if example not in tested]
    assert not missing, (
        "README command examples without a test:\n" + "\n".join(missing) + "\nAdd each line, "
        "verbatim, to the table of its section in tests/test_readme.py (the test named after "
        "the section runs every line of its table), with what it must show; or, if no test can "
        "run it, to NOT_RUN with the reason."
    )
    stale = sorted(tested - {example for _, example in found})
    assert not stale, (
        f"no longer in {README.name}, but still in tests/test_readme.py: {stale}; remove them "
        "(or update them to the README's new wording)"
    )


def test_the_readme_scanner_joins_continuations_and_keeps_sections() -> None:
    text = "## A\n```sh\nwxbudget x \\\n    --y 1   # why\n\nwxbudget z\n```\n### B\n```\nno\n```\n"
    assert readme_examples(text) == [("A", "wxbudget x --y 1   # why"), ("A", "wxbudget z")]


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture
def readme_sandbox(
    sandboxes: Sandboxes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> RunningSandbox:
    """A sandbox and a config holding the README's profiles: `prod` and `old` (partner),
    `legacy` (platform certificates); run from an empty working folder."""
    sandbox = sandboxes.start(platform_cert=True)
    config = write_readme_config(sandbox, tmp_path / "readme.toml")
    monkeypatch.setenv("WXBUDGET_CONFIG", str(config))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return sandbox


def max_count(stock: str, coupon: str = "1000000013") -> int:
    count: int = json.loads(run("show", coupon, stock, "-o", "json").stdout)["stock_send_rule"][
        "max_count"
    ]
    return count


# --- one test per README section --------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(("example", "shown"), QUICK_START.items())
def test_readme_quick_start(example: str, shown: str, isolated_environment: Path) -> None:
    # The venv and install steps are what this suite runs in (.ci/run does them from scratch).
    # A person types it at a terminal, or a script runs it with no terminal: both work.
    commands = [part.strip() for part in example.split("&&") if part.strip().startswith("wxb")]
    outputs = []
    for command in commands:
        code, output = converse(arguments(command), [])
        assert code == 0, output
        outputs.append(output)
    first, *_, last = outputs
    assert "using the embedded sandbox" in first
    assert table_fields(first)["total cap (max_count)"] == "10,000,000"
    assert table_fields(last)["total cap (max_count)"] == shown
    assert (isolated_environment / ".local/share/wxbudget/sandbox/sandbox.db").exists()
    unattended = [script(*arguments(command), input="") for command in commands]
    assert "using the embedded sandbox" in unattended[0].stderr
    assert table_fields(unattended[0].stdout)["total cap (max_count)"] == shown
    assert table_fields(unattended[-1].stdout)["total cap (max_count)"] == "10,001,000"


@pytest.mark.parametrize(("example", "shown"), SHOW.items())
def test_readme_show(example: str, shown: str, readme_sandbox: RunningSandbox) -> None:
    result = run_example(example)
    if "jq" in example:
        assert json.loads(result.stdout) == json.loads(shown)
    elif shown == "stocks.json":
        stocks = json.loads(Path(shown).read_text())
        assert len(stocks) == 7
        assert {stock["product_coupon_id"] for stock in stocks} == {"1000000013"}
    elif shown == "plan.csv":
        assert Path(shown).read_text() == run("list", "1000000013", "-o", "csv").stdout
    elif len(arguments(example)) > 3:  # several stocks: one table, a row each, in order
        assert [cell for row in table_rows(result.stdout) for cell in row[:2]] == shown.split()
    else:
        assert table_fields(result.stdout)["remaining total"] == shown


@pytest.mark.parametrize(("example", "cap"), SET_MAX_AND_SET_DAILY.items())
def test_readme_set_max_and_set_daily(
    example: str, cap: int, readme_sandbox: RunningSandbox
) -> None:
    words = arguments(example)
    coupon, stock = words[1], words[2]
    if "--yes" in words or "--dry-run" in words:
        result = run_example(example)
    else:  # asks on a terminal
        status, output = converse(words, [(b"Apply this change? [y/N]", b"y\n")])
        assert status == 0, output
    if "--dry-run" in words:
        body = json.loads(result.stdout)
        assert body["update_mode"] == "MAX_COUNT_PER_DAY"
        assert body["target_max_count_per_day"] == 4500
        assert posts_of(readme_sandbox.home) == []
        rule = json.loads(run("show", coupon, stock, "-o", "json").stdout)["stock_send_rule"]
        assert rule["max_count_per_day"] == cap
    else:
        assert max_count(stock, coupon) == cap
        assert [entry["applied"] for entry in posts_of(readme_sandbox.home)] == [True]
    if "-o" in words:
        assert json.loads(result.stdout)["stock_send_rule"]["max_count"] == cap


@pytest.mark.parametrize("example", LIST)
def test_readme_list(example: str, readme_sandbox: RunningSandbox) -> None:
    result = run_example(example)
    if "csv" in example:
        plan = parse_plan(Path("plan.csv").read_bytes(), "plan.csv")
        assert [row.stock_id for row in plan.rows] == [
            "1000000013001",
            "1000000013002",
            "1000000013007",
        ]
        assert result.stdout == Path("plan.csv").read_text()
    else:
        assert "7 stocks of coupon 1000000013" in result.stdout


PLAN = (
    "product_coupon_id,stock_id,max_count,max_count_per_day\n"
    "1000000013,1000000013001,+100,\n"
    "1000000013,1000000013002,+100,-10%\n"
)


@pytest.mark.parametrize("example", APPLY)
def test_readme_apply(example: str, readme_sandbox: RunningSandbox) -> None:
    Path("plan.csv").write_text(PLAN)
    if "--resume" in example:  # a batch interrupted with its first write in flight
        hold = readme_sandbox.hold_answers("POST")
        with spawn("apply", "plan.csv", "--yes", "--concurrency", "1") as process:
            hold.wait_held()
            process.send_signal(signal.SIGINT)
            hold.release()
            _, stderr = process.communicate(timeout=60)
        assert process.returncode == 130, stderr
    earlier = 0
    if "--again" in example:  # an earlier +100 on the first stock, killed with its write landed
        hold = readme_sandbox.hold_answers("POST")
        with spawn("set-max", "1000000013", "1000000013001", "+100", "--yes") as process:
            hold.wait_held()
            process.send_signal(signal.SIGKILL)
            process.wait()
        earlier = 100
        # Without --again the +100 of the plan would not stack on it: refused, exit 8.
        refused = run("apply", "plan.csv", "--dry-run")
        assert "pass --again to apply another one" in refused.stdout
    result = run_example(example)
    if "--dry-run" in example:
        assert "10,000,000 -> 10,000,100" in result.stdout
        assert posts_of(readme_sandbox.home) == []
        return
    assert max_count("1000000013001") == 10_000_100 + earlier
    assert max_count("1000000013002") == 50_100
    assert sum(entry["applied"] for entry in posts_of(readme_sandbox.home)) == 3 + bool(earlier)
    if "-o json" in example:
        assert [step["outcome"] for step in json.loads(result.stdout)] == ["applied"] * 3


@pytest.mark.parametrize("example", HISTORY)
def test_readme_history(example: str, readme_sandbox: RunningSandbox) -> None:
    run("set-max", "1000000013", "1000000013001", "+1", "--yes")
    run("set-max", "1000000013", "1000000013002", "+1", "--yes")
    result = run_example(example)
    if "--result no-outcome" in example:
        assert "no records match (2 operation(s) in" in result.stderr
        return
    if "-o json" not in example:
        assert result.stdout.count("applied, exit 0") == 2
        return
    since_november = datetime.now(UTC) >= datetime(2026, 11, 1, tzinfo=UTC)
    listed = json.loads(result.stdout)
    assert [entry["intent"]["stock_id"] for entry in listed] == (
        ["1000000013001"] if since_november else []
    )


@pytest.mark.parametrize(("example", "status"), CHECK.items())
def test_readme_check(example: str, status: int, readme_sandbox: RunningSandbox) -> None:
    if "--watch" in example:
        code, output = converse(
            arguments(example), [(b"Ctrl-C to stop", b"\x03")], controlling=True
        )
        assert code == status, output
        assert "1 of 5 stocks of coupon 1000000013 below a threshold" in output
        assert "stopped watching after 1 check;" in output
        return
    result = run_example(example, expect=status)
    if "-o json" in example:
        assert json.loads(result.stdout)["crossed"] is False
    else:
        # 1000000013007: 10 left in all, 5 of its 1,000 left today.
        assert [row[0] for row in table_rows(result.stdout)] == ["1000000013007"]


@pytest.mark.parametrize("example", BUNDLE)
def test_readme_bundle(example: str, readme_sandbox: RunningSandbox) -> None:
    result = run_example(example)
    stocks = ["1000000014001", "1000000014002", "1000000014003"]
    if "csv" in example:
        (row,) = parse_plan(Path("plan.csv").read_bytes(), "plan.csv").rows
        assert (row.stock_bundle_id, [t.text for _, t in row.targets]) == (
            "712315129419284901",
            ["30000", "3000"],
        )
    elif "show" in example:
        assert all(stock in result.stdout for stock in stocks)
    elif "--dry-run" in example:
        body = json.loads(result.stdout)
        assert body["update_mode"] == "MAX_COUNT_PER_DAY"
        assert posts_of(readme_sandbox.home) == []
    else:
        assert [max_count(stock, "1000000014") for stock in stocks] == [31_000] * 3


@pytest.fixture
def readme_keys(isolated_environment: Path) -> Path:
    """The README's key files, ~/keys/apiclient_key.pem and ~/keys/pub_key.pem (golden keys)."""
    folder = isolated_environment / "keys"
    folder.mkdir()
    for name, source in (
        ("apiclient_key.pem", "golden_private_key.pem"),
        ("pub_key.pem", "golden_public_key.pem"),
    ):
        shutil.copy(DATA / source, folder / name)
        (folder / name).chmod(0o600)
    return folder


def init_profile(name: str) -> None:
    run(
        "profile",
        "init",
        name,
        "--mchid",
        "1900000001",
        "--merchant-serial-no",
        GOLDEN_SERIAL_NO,
        "--private-key-file",
        "~/keys/apiclient_key.pem",
        "--wechatpay-public-key-id",
        "PUB_KEY_ID_0000000001",
        "--wechatpay-public-key-file",
        "~/keys/pub_key.pem",
    )


@pytest.mark.parametrize("example", PROFILE)
def test_readme_profile(example: str, readme_keys: Path, isolated_environment: Path) -> None:
    config = isolated_environment / ".config" / "wxbudget" / "config.toml"
    words = arguments(example, {"1DDE55AD...": GOLDEN_SERIAL_NO})
    if words[1] == "init" and "--mchid" not in words:  # on a terminal: asks for each key
        status, output = converse(words, INIT_ANSWERS)
        assert status == 0, output
        document = tomllib.loads(config.read_text())
        assert document["default_profile"] == "prod"
        assert document["profiles"]["prod"]["merchant_serial_no"] == GOLDEN_SERIAL_NO
        return
    init_profile("prod")
    init_profile("old")
    result = run_example(example, substitutions={"1DDE55AD...": GOLDEN_SERIAL_NO})
    profiles = tomllib.loads(config.read_text())["profiles"]
    match words[1]:
        case "init":
            assert profiles["ci"]["private_key_file"] == "~/keys/apiclient_key.pem"
        case "list":
            assert [row[1] for row in table_rows(result.stdout)] == ["prod", "old"]
        case "show":
            assert "mode 0600" in result.stdout
            assert "sha256 3ab2af98dc25bab1e5cb3c76e9096146104bd0aba52556c866a7a886b79911ec" in (
                result.stdout
            )
            assert "PRIVATE KEY" not in result.stdout + result.stderr
        case "remove":
            assert list(profiles) == ["prod"]


@pytest.mark.parametrize("example", GUARD_RAILS)
def test_readme_guard_rails_and_the_money_at_stake(
    example: str, request: pytest.FixtureRequest, isolated_environment: Path
) -> None:
    words = arguments(example)
    if words[:2] == ["profile", "init"]:  # on a terminal: asks for each required key
        request.getfixturevalue("readme_keys")
        status, output = converse(words, INIT_ANSWERS)
        assert status == 0, output
        config = isolated_environment / ".config" / "wxbudget" / "config.toml"
        limits = tomllib.loads(config.read_text())["profiles"]["prod"]["limits"]
        assert limits == {"max_increase": 100000, "max_exposure_increase": 200000}
        return
    sandbox: RunningSandbox = request.getfixturevalue("readme_sandbox")
    if "--dry-run" in words:
        assert "at stake +¥5,000.00" in run_example(example).stderr
        return
    config = Path(os.environ["WXBUDGET_CONFIG"])
    document = tomllib.loads(config.read_text())
    document["profiles"]["sandbox"]["limits"] = {"max_increase": 100000}
    config.write_text(tomli_w.dumps(document))
    refused = run(*words[:-1], expect=4)  # without --override-limits
    assert "max_increase 100,000: it adds 200,000" in refused.stderr
    run_example(example)
    assert max_count("1000000013002") == 250_000
    (post,) = posts_of(sandbox.home)
    assert post["applied"]


@pytest.mark.parametrize("example", UNDO)
def test_readme_undo(example: str, readme_sandbox: RunningSandbox) -> None:
    if "--batch" in example:
        Path("plan.csv").write_text(
            "product_coupon_id,stock_id,max_count,max_count_per_day\n"
            "1000000013,1000000013002,+100,\n1000000013,1000000013001,+5,\n"
        )
        applied = run("apply", "plan.csv", "--yes")
        batch = json.loads(run("history", "-o", "json").stdout)[-1]["intent"]["batch"]
        assert f"wxbudget undo --batch {batch}" in applied.stderr
        run_example(example, substitutions={"3f2a9c1d0b7e4a55": batch})
        assert (max_count("1000000013002"), max_count("1000000013001")) == (50000, 10_000_000)
        return
    run("set-max", "1000000013", "1000000013002", "+1000", "--yes", "--out-request-no", UNDO_NUMBER)
    result = run_example(example)
    assert "total cap of stock 1000000013002 50,000 -> 51,000: back to 50,000" in result.stderr
    assert max_count("1000000013002") == (51000 if "--dry-run" in example else 50000)


@pytest.mark.parametrize("example", NOTIFICATIONS)
def test_readme_telling_the_team_notifications(
    example: str, readme_sandbox: RunningSandbox
) -> None:
    receiver = HostileServer(lambda request: Answer(body=b'{"errcode":0,"errmsg":"ok"}'))
    robot = "https://qyapi.weixin.qq.com"
    try:
        if example.startswith("wxbudget apply"):
            Path("plan.csv").write_text(
                "product_coupon_id,stock_id,max_count,max_count_per_day\n"
                "1000000013,1000000013002,+100,\n"
            )
            config = Path(os.environ["WXBUDGET_CONFIG"])
            document = tomllib.loads(config.read_text())
            document["profiles"]["sandbox"]["notify_url"] = receiver.base_url + "/hook"
            config.write_text(tomli_w.dumps(document))
        result = run_example(example, substitutions={robot: receiver.base_url})
    finally:
        receiver.stop()
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning")]
    if "--notify" in example:  # the README's own advice: the key belongs in the profile
        assert [line for line in warnings if "process list" not in line] == []
        assert len(warnings) == 1
    else:
        assert warnings == []
    (request,) = receiver.received
    told = json.loads(request.body)
    if example.startswith("wxbudget apply"):
        assert (told["result"], told["counts"]) == ("applied", {"applied": 1})
        return
    assert request.target == "/cgi-bin/webhook/send?key=KEY"
    assert "total cap 50,000 -> 50,500, applied" in told["markdown"]["content"]


@pytest.mark.parametrize("example", DOCTOR)
def test_readme_doctor(example: str, readme_sandbox: RunningSandbox) -> None:
    result = run_example(example)
    if "-o json" in example:
        assert json.loads(result.stdout)["ok"] is True
        return
    assert result.stdout.splitlines()[-1].startswith("ok: ")
    signed = [line for line in result.stdout.splitlines() if "signed-answer" in line]
    assert len(signed) == 1
    assert signed[0].split()[0] == ("PASS" if "--stock" in example else "SKIP")


@pytest.mark.parametrize("example", CERTS)
def test_readme_certs(example: str, readme_sandbox: RunningSandbox) -> None:
    if "list" in example:
        run("certs", "download", "-p", "legacy")
    result = run_example(example)
    cached = list((readme_sandbox.home / "platform-certs").glob("*.json"))
    assert len(cached) == 1
    if "-o json" in example:
        (listed,) = json.loads(result.stdout)["certificates"]
        assert (listed["serial_no"], listed["valid"]) == (cached[0].stem, True)


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.mark.parametrize("example", SANDBOX_SERVE)
def test_readme_sandbox_serve(
    example: str, pristine_homes: PristineHomes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    # A home with keys already made: the example's behaviour, without waiting for RSA keys.
    pristine_homes.copy(tmp_path / "sb", platform_cert="--platform-cert" in example)
    if "--config" in example:
        from wxbudget.sandbox import start_in_background

        with start_in_background(tmp_path / "sb"):
            assert table_fields(run_example(example).stdout)["state"] == "SENDING"
        return
    # Another suite may hold port 8080 on this machine: the example runs on a free one.
    port = str(free_port())
    words = arguments(example, {"8080": port})
    with spawn(*words, env=os.environ | {"PYTHONUNBUFFERED": "1"}) as process:
        assert process.stdout is not None
        assert process.stderr is not None
        listening = process.stdout.readline().strip()
        assert listening.startswith("listening on http://127.0.0.1:")
        if "--port" in words:
            assert listening == f"listening on http://127.0.0.1:{port}"
        if "--fault" in words:
            banner = process.stderr.readline().strip()
            assert banner == "injecting faults 500=0.2:POST drop=0.1 (--fault-seed 7)"
        if "--strict" in words:
            banner = process.stderr.readline().strip()
            assert banner.startswith("strict mode: the strict reading of every point")
        if "--platform-cert" in words:
            client = SigningClient.of(tmp_path / "sb", "sandbox-cert")
            assert client.send("GET", "/v3/certificates").status_code == 200
            client.close()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    assert request_log(tmp_path / "sb") == [] or "--platform-cert" in words


@pytest.mark.parametrize("example", SHELL_COMPLETION)
def test_readme_shell_completion(example: str, isolated_environment: Path) -> None:
    path = os.pathsep.join([str(Path(SCRIPT).parent), os.environ.get("PATH", "")])
    environment = os.environ | {"PATH": path}
    if example == "wxbudget --install-completion":
        # Run as bash's child, so bash is the shell it detects and installs for: a lone command
        # is exec'd by `bash -c` and would see whatever shell started pytest (`sh` when landing).
        assert "bash completion installed" in bash(f"{example} && echo done", environment)
        rc = (isolated_environment / ".bashrc").read_text()
        installed = isolated_environment / ".bash_completions" / "wxbudget.sh"
        assert f"source '{installed}'" in rc
        shown = bash(f"source '{installed}' && complete -p wxbudget", environment)
        assert shown.strip() == "complete -o default -F _wxbudget_completion wxbudget"
        return
    shell = "bash" if "source_bash" in example else "zsh" if "source_zsh" in example else "fish"
    if shell == "bash":
        shown = bash(example.split("#")[0] + "&& complete -p wxbudget", environment)
        assert shown.strip() == "complete -o default -F _wxbudget_completion wxbudget"
        return
    # zsh and fish need not be installed: the script they would source is checked instead.
    generated = bash(f"_WXBUDGET_COMPLETE=source_{shell} wxbudget", environment)
    marker = "#compdef wxbudget" if shell == "zsh" else "complete --command wxbudget --no-files"
    assert marker in generated


def bash(command: str, environment: dict[str, str]) -> str:
    completed = subprocess.run(
        ["bash", "-c", command],
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, (completed.stdout, completed.stderr)
    return completed.stdout
