"""Property tests: any input ends with a documented exit code and one stderr line, never exit 1."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from tests.helpers.sandboxes import PristineHomes
from wxbudget.cli import app
from wxbudget.sandbox import RunningSandbox, start_in_background

DOCUMENTED = {0, 2, 3, 4, 5, 6, 7}
EXAMPLES = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@pytest.fixture(scope="module")
def shared_sandbox(
    pristine_homes: PristineHomes, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningSandbox]:
    home = pristine_homes.copy(tmp_path_factory.mktemp("property-sandbox") / "sb")
    running = start_in_background(home)
    yield running
    running.stop()


def invoke(args: list[str]) -> tuple[int, str]:
    result = CliRunner().invoke(app, args)
    assert result.exit_code in DOCUMENTED, (args, result.exit_code, result.stderr, result.exception)
    if result.exit_code != 0:
        lines = result.stderr.splitlines()
        assert len(lines) == 1, (args, result.stderr)
        assert lines[0].startswith("error: ")
    return result.exit_code, result.stderr


@EXAMPLES
@given(target=st.text(max_size=20))
def test_any_target(shared_sandbox: RunningSandbox, target: str) -> None:
    args = ["set-max", "1000000013", "1000000013002", target, "--dry-run"]
    invoke([*args, "--config", str(shared_sandbox.config_path)])


@EXAMPLES
@given(
    coupon=st.text(min_size=1, max_size=20),
    stock=st.text(min_size=1, max_size=20),
    target=st.sampled_from(["+1", "-1", "20000", "+10%"]),
)
def test_any_ids(shared_sandbox: RunningSandbox, coupon: str, stock: str, target: str) -> None:
    config = ["--config", str(shared_sandbox.config_path)]
    invoke(["show", coupon, stock, *config])
    invoke(["set-daily", coupon, stock, target, "--dry-run", *config])


@EXAMPLES
@given(out_request_no=st.text(max_size=45))
def test_any_out_request_no(shared_sandbox: RunningSandbox, out_request_no: str) -> None:
    config = ["--config", str(shared_sandbox.config_path)]
    invoke(
        [
            "set-max",
            "1000000013",
            "1000000013002",
            "+1",
            "--dry-run",
            "--out-request-no",
            out_request_no,
            *config,
        ]
    )


TOML_VALUES = st.one_of(
    st.text(max_size=12),
    st.integers(),
    st.floats(allow_nan=False),
    st.booleans(),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(min_size=1, max_size=5), st.integers(), max_size=2),
)
SAFE_URLS = ["http://127.0.0.1:9", "ftp://127.0.0.1", "not a url", "http://10.0.0.1", ""]
PROFILE_KEYS = [
    "mchid",
    "merchant_serial_no",
    "private_key_file",
    "wechatpay_public_key_id",
    "wechatpay_public_key_file",
    "brand_id",
    "base_url",
    "backup_base_url",
    "timeout",
    "max_retries",
    "audit_log",
    "mch_id",
    "unknown",
]


@EXAMPLES
@given(
    changes=st.dictionaries(st.sampled_from(PROFILE_KEYS), TOML_VALUES, max_size=3),
    removed=st.sets(st.sampled_from(PROFILE_KEYS), max_size=2),
)
# Found by a CI run: a control character that str.splitlines() breaks on, in a quoted path.
@example(changes={"private_key_file": "0\x1e"}, removed=set())
@example(changes={"apiv3_key_file": "a\u2028b\x85c"}, removed=set())
def test_any_profile_contents(
    shared_sandbox: RunningSandbox, tmp_path: Path, changes: dict[str, Any], removed: set[str]
) -> None:
    import tomllib

    document = tomllib.loads(shared_sandbox.config_path.read_text())
    profile = document["profiles"]["sandbox"]
    for key in ("private_key_file", "wechatpay_public_key_file"):
        profile[key] = str(shared_sandbox.config_path.parent / profile[key])
    profile["audit_log"] = str(tmp_path / "audit.jsonl")
    for key in removed:
        profile.pop(key, None)
    for key in ("base_url", "backup_base_url"):
        # Random host names would send DNS queries off this machine; keep URLs on loopback.
        if isinstance(changes.get(key), str):
            changes[key] = SAFE_URLS[len(changes[key]) % len(SAFE_URLS)]
    profile.update(changes)
    path = tmp_path / f"profile-{os.getpid()}.toml"
    path.write_text(tomli_w.dumps(document))
    invoke(
        [
            "show",
            "1000000013",
            "1000000013002",
            "--config",
            str(path),
            "--max-retries",
            "0",
            "--timeout",
            "2",
        ]
    )
