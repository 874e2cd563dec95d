"""What the README promises without a command example, each named after the section saying it:
exit codes, output on a real terminal, profile defaults, batches, the sandbox's own flags."""

from __future__ import annotations

import math
import os
import re
import signal
import subprocess
import sys
import threading
import time
import tomllib
from pathlib import Path
from typing import ClassVar

import pytest
import tomli_w
import typer

from tests.helpers.cli import converse, run, spawn
from tests.helpers.clock import FrozenClock
from tests.helpers.logs import posts_of, request_log
from tests.helpers.sandboxes import PristineHomes, Sandboxes, edit_profile, write_seed
from tests.helpers.signing_client import BRAND, COUPONS, SigningClient
from wxbudget import config
from wxbudget.cli.options import DebugOption, WxBudgetGroup
from wxbudget.sandbox import RunningSandbox

COUPON = "1000000013"
STOCK = "1000000013002"
REPOSITORY = Path(__file__).resolve().parents[1]

# --- Exit codes -------------------------------------------------------------------------------


def test_exit_codes_a_403_is_a_credentials_error_and_not_retried(
    sandboxes: Sandboxes, isolated_environment: Path
) -> None:
    sandbox = sandboxes.start(faults=["403=1"])
    result = run("show", COUPON, STOCK, expect=3)
    assert result.stderr.startswith("error: ")
    assert "403 NO_AUTH" in result.stderr
    assert result.stderr.count("\n") == 1
    assert [entry["status"] for entry in request_log(sandbox.home)] == [403]


def test_exit_codes_a_403_on_the_write_changes_nothing(sandboxes: Sandboxes) -> None:
    sandbox = sandboxes.start(faults=["403=1:POST"])
    result = run("set-max", COUPON, STOCK, "+1", "--yes", expect=3)
    assert "403 NO_AUTH" in result.stderr.splitlines()[-1]
    assert [(entry["status"], entry["applied"]) for entry in posts_of(sandbox.home)] == [
        (403, False)
    ]


def explode() -> None:
    """A command failing the way only a bug does."""
    raise RuntimeError("a bug")


def exploding_cli() -> None:
    """wxbudget's own root group and error boundary, with one command that has a bug."""

    class Exploding(WxBudgetGroup):
        lazy_commands: ClassVar[dict[str, tuple[str, str, dict[str, bool], str]]] = {
            "explode": (__name__, "explode", {}, "Fail like a bug.")
        }

    app = typer.Typer(cls=Exploding, add_completion=False, pretty_exceptions_enable=False)

    @app.callback()
    def root(debug: DebugOption = None) -> None:
        """The root options that matter here."""

    app()


@pytest.mark.parametrize("debug", [False, True])
def test_exit_codes_an_internal_error_is_exit_1_and_debug_shows_the_traceback(
    debug: bool,
) -> None:
    probe = f"from {__name__} import exploding_cli; exploding_cli()"
    arguments = ["--debug", "explode"] if debug else ["explode"]
    completed = subprocess.run(
        [sys.executable, "-c", probe, *arguments],
        capture_output=True,
        text=True,
        cwd=REPOSITORY,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 1, completed.stderr
    if debug:
        assert "Traceback (most recent call last)" in completed.stderr
        assert completed.stderr.rstrip().endswith("RuntimeError: a bug")
    else:
        assert completed.stderr == (
            "error: internal error: RuntimeError: a bug (rerun with --debug for the traceback, "
            "and please report it)\n"
        )


def test_exit_codes_debug_keeps_the_documented_code_and_adds_the_traceback(
    sandbox: RunningSandbox,
) -> None:
    result = run("show", COUPON, "1000000013999", "--debug", expect=4)
    assert "Traceback (most recent call last)" in result.stderr
    assert result.stderr.splitlines()[-1].startswith("error: WeChat Pay answered 404 NOT_FOUND")
    plain = run("show", COUPON, "1000000013999", expect=4)
    assert "Traceback" not in plain.stderr


# --- Output -----------------------------------------------------------------------------------

# An SGR parameter that sets a colour (foreground, background, default, 256 or true colour).
COLOUR_PARAMETER = re.compile(r"^(3[0-9]|4[0-9]|9[0-7]|10[0-7])$")


def colours(output: str) -> list[str]:
    """The colour parameters of every SGR escape in `output` (bold and the like left out)."""
    found = []
    for parameters in re.findall(r"\x1b\[([0-9;]*)m", output):
        found += [part for part in parameters.split(";") if COLOUR_PARAMETER.match(part)]
    return found


@pytest.mark.slow
@pytest.mark.parametrize("no_color", ["", "1"])
def test_output_colour_follows_the_terminal_and_no_color(
    sandbox: RunningSandbox, no_color: str
) -> None:
    # conftest sets NO_COLOR=1 for every test; a real terminal without it shows the colours.
    environment = {"NO_COLOR": no_color, "TERM": "xterm-256color"}
    args = ["set-max", COUPON, STOCK, "+100", "--yes"]
    status, output = converse(args, [], env=environment)
    assert status == 0, output
    (changed,) = [line for line in output.splitlines() if "total cap (max_count)" in line]
    assert "50,100" in changed
    if no_color:
        # no-color.org: no styling at all; the change still shows in words.
        assert "\x1b[" not in output, repr(output)
        assert "(was 50,000)" in changed
    else:
        assert colours(changed), repr(changed)  # the changed cap stands out in colour


def test_output_no_colour_when_stdout_is_not_a_terminal(sandbox: RunningSandbox) -> None:
    environment = {name: value for name, value in os.environ.items() if name != "NO_COLOR"}
    with spawn("set-max", COUPON, STOCK, "+1", "--yes", env=environment) as process:
        stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    assert "\x1b[" not in stdout + stderr


# --- Profiles ---------------------------------------------------------------------------------


def profile_with(sandbox: RunningSandbox, folder: Path, **changes: object) -> Path:
    """The sandbox profile with `changes` (None removes a key), keys made absolute."""
    document = tomllib.loads(sandbox.config_path.read_text())
    profile = document["profiles"]["sandbox"]
    for key in ("private_key_file", "wechatpay_public_key_file"):
        profile[key] = str(sandbox.home / profile[key])
    for key, value in changes.items():
        if value is None:
            profile.pop(key, None)
        else:
            profile[key] = value
    path = folder / "profile.toml"
    path.write_text(tomli_w.dumps(document))
    return path


@pytest.mark.parametrize(
    ("changes", "backup"),
    [
        ({"base_url": None}, "https://api2.mch.weixin.qq.com"),  # WeChat Pay's own default
        ({"base_url": "https://api.mch.weixin.qq.com"}, "https://api2.mch.weixin.qq.com"),
        ({"base_url": "https://gateway.example.com"}, None),  # a custom primary: no implicit one
        ({}, None),  # the sandbox on loopback
        (
            {"base_url": "https://gateway.example.com", "backup_base_url": "https://b.example"},
            "https://b.example",
        ),
    ],
)
def test_profiles_the_backup_host_defaults_only_for_wechat_pays_own(
    sandbox: RunningSandbox, tmp_path: Path, changes: dict[str, object], backup: str | None
) -> None:
    path = profile_with(sandbox, tmp_path, **changes)
    assert config.resolve(config.Flags(config=path), {}).backup_base_url == backup


@pytest.mark.parametrize(
    ("profile_timeout", "flag", "answer", "connect"),
    [(None, None, 10, 5), (30, None, 30, 5), (None, 2.0, 2, 2), (3, None, 3, 3)],
)
def test_profiles_connecting_waits_at_most_5_seconds(
    sandbox: RunningSandbox,
    tmp_path: Path,
    profile_timeout: int | None,
    flag: float | None,
    answer: float,
    connect: float,
) -> None:
    path = profile_with(sandbox, tmp_path, timeout=profile_timeout)
    settings = config.resolve(config.Flags(config=path, timeout=flag), {})
    assert (settings.timeout, settings.connect_timeout) == (answer, connect)


def test_profiles_rate_limit_reaches_the_commands_limiter(sandbox: RunningSandbox) -> None:
    from wxbudget.cli.options import GlobalOptions
    from wxbudget.cli.stock import open_client

    edit_profile(sandbox, rate_limit=3)
    with open_client(GlobalOptions(), rate_limited=True) as client:
        assert client.limiter is not None
        assert client.limiter.per_second == 3
    with open_client(GlobalOptions(), rate_limited=False) as client:
        assert client.limiter is None


# --- Batches: plan files and apply ------------------------------------------------------------


@pytest.mark.parametrize(("rows", "reads"), [(5, "single"), (6, "list")])
def test_batches_many_rows_of_a_coupon_are_read_with_the_list_endpoint(
    sandboxes: Sandboxes, tmp_path: Path, rows: int, reads: str
) -> None:
    seed = tmp_path / "seed.json"
    write_seed(seed, {"3000000006": 8})
    sandbox = sandboxes.start("sb", seed=seed, rate_limit=0)
    plan = tmp_path / "plan.csv"
    plan.write_text(
        "product_coupon_id,stock_id,max_count,max_count_per_day\n"
        + "".join(f"3000000006,3000000006{index:04d},+1,\n" for index in range(1, rows + 1))
    )
    run("apply", str(plan), "--dry-run")
    paths = [entry["path"] for entry in request_log(sandbox.home)]
    listed = [path for path in paths if path.startswith(f"{COUPONS}/3000000006/stocks?")]
    single = [path for path in paths if "/stocks/" in path]
    if reads == "list":
        assert (len(listed), single) == (1, [])
        assert "page_size=50" in listed[0]
    else:
        assert (listed, len(single)) == ([], rows)


def test_batches_list_pages_keep_to_the_rate_limit(sandboxes: Sandboxes, tmp_path: Path) -> None:
    from wxbudget.client import Client
    from wxbudget.ratelimit import RateLimiter

    seed = tmp_path / "seed.json"
    write_seed(seed, {"3000000007": 120})  # three pages
    clock = FrozenClock()
    sandbox = sandboxes.start("sb", seed=seed, rate_limit=1, rate_limit_clock=clock)
    settings = config.resolve(config.Flags(config=sandbox.config_path, max_retries=0), {})
    client = Client(settings, limiter=RateLimiter(1, clock=clock, sleep=clock.sleep))
    stocks = list(client.list_stocks("3000000007", BRAND))
    client.close()
    assert len(stocks) == 120
    assert [entry["status"] for entry in request_log(sandbox.home)] == [200, 200, 200]
    assert clock.now - 1000.0 >= 2.0  # one window per page after the first


# --- The sandbox ------------------------------------------------------------------------------


def test_the_sandbox_serve_flags_through_the_cli(
    pristine_homes: PristineHomes, tmp_path: Path
) -> None:
    home = tmp_path / "sb"
    pristine_homes.copy(home, platform_cert=True)
    seed = tmp_path / "seed.json"
    write_seed(seed, {"5000000001": 1})
    with spawn(
        "sandbox", "serve", "--home", str(home), "--port", "0", "--seed", str(seed),
        "--rate-limit", "1", "--platform-cert",
        env=os.environ | {"PYTHONUNBUFFERED": "1"},
    ) as process:  # fmt: skip
        assert process.stdout is not None
        listening = process.stdout.readline().strip()
        port = int(listening.rsplit(":", 1)[1])
        profiles = tomllib.loads((home / "config.toml").read_text())["profiles"]
        assert profiles["sandbox"]["base_url"] == f"http://127.0.0.1:{port}"
        client = SigningClient.of(home)
        client.wechatpay_serial = client.public_key_id  # answers signed by the public key
        # --seed: the seeded stock instead of the demo.
        seeded = f"{COUPONS}/5000000001/stocks/50000000010001?brand_id={BRAND}"
        assert client.call("GET", seeded).status_code == 200
        # (on the list endpoint: at one request a second, each endpoint has its own window)
        demo = client.call("GET", f"{COUPONS}/1000000013/stocks?brand_id={BRAND}")
        assert demo.status_code == 404
        # --platform-cert: the certificates endpoint and its profile.
        certificates = SigningClient.of(home, "sandbox-cert")
        assert certificates.send("GET", "/v3/certificates").status_code == 200
        certificates.close()
        # --rate-limit 1: a burst on one endpoint gets 429 beyond the first.
        started = time.monotonic()
        statuses = burst(client, seeded, 4)
        took = time.monotonic() - started
        client.close()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    # The limiter admitted the burst within `took` seconds (however slow the machine): at one
    # a second, that is at most one more than the whole seconds it spanned; the rest are 429.
    assert set(statuses) <= {200, 429}, statuses
    assert statuses.count(200) <= math.floor(took) + 1, (statuses, took)


def burst(client: SigningClient, target: str, count: int) -> list[int]:
    """`count` GETs released together, each on its own connection; their statuses."""
    barrier = threading.Barrier(count)
    statuses: list[int] = []
    lock = threading.Lock()

    def send() -> None:
        own = SigningClient(
            client.base_url, client.scheme, client.identity, client.serial_no,
            client.private_key, client.trusted, client.wechatpay_serial,
        )  # fmt: skip
        own.session.trust_env = False
        barrier.wait()
        status = own.send("GET", target).status_code
        own.close()
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=send) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses
