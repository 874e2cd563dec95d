"""The trust rule for files wxbudget takes keys, trust anchors and settings from.

Only their user may change them (and read them, for secrets); each refusal is exit 3 with one
line naming the file and the command that fixes it, and nothing is sent.
"""

from __future__ import annotations

import json
import os
import pwd
from pathlib import Path

import pytest

from tests.helpers.cli import run
from tests.helpers.logs import request_log
from tests.helpers.sandboxes import Sandboxes, sandbox_profile_copy
from wxbudget import trust
from wxbudget.sandbox import RunningSandbox

COUPON = "1000000013"
STOCK = "1000000013002"
CONFIG_EXIT = 3
# Any uid that is not this user's nor root's.
OTHER_UID = 65534


def key_path(sandbox: RunningSandbox, name: str) -> Path:
    return sandbox.home / "keys" / name


def requests_sent(sandbox: RunningSandbox) -> int:
    return len(request_log(sandbox.home))


def refused(sandbox: RunningSandbox, *args: str) -> str:
    """Run `show`, expect exit 3 with one stderr line, and check nothing reached the sandbox."""
    before = requests_sent(sandbox)
    result = run(*args, "show", COUPON, STOCK, expect=CONFIG_EXIT)
    assert requests_sent(sandbox) == before
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_a_config_others_can_rewrite_is_refused(sandbox: RunningSandbox) -> None:
    sandbox.config_path.chmod(0o666)
    line = refused(sandbox)
    assert f"config file {sandbox.config_path} can be rewritten by group or others" in line
    assert f"run: chmod go-w {sandbox.config_path}" in line


def test_a_config_others_can_only_read_is_fine(sandbox: RunningSandbox) -> None:
    # It holds paths and ids, never keys.
    sandbox.config_path.chmod(0o644)
    run("show", COUPON, STOCK)


def test_a_config_owned_by_another_user_is_refused(sandbox: RunningSandbox) -> None:
    os.chown(sandbox.config_path, OTHER_UID, -1)
    line = refused(sandbox)
    assert f"is owned by another user (uid {OTHER_UID})" in line
    me = pwd.getpwuid(os.geteuid()).pw_name
    assert line.endswith(f"run: chown {me} {sandbox.config_path}")


@pytest.mark.parametrize(
    ("mode", "problem"),
    [
        (0o640, "is readable by group or others (mode 0640)"),
        (0o604, "is readable by group or others (mode 0604)"),
        (0o660, "can be read and rewritten by group or others (mode 0660)"),
    ],
)
def test_the_private_key_must_be_owner_only(
    sandbox: RunningSandbox, mode: int, problem: str
) -> None:
    private_key = key_path(sandbox, "merchant_private_key.pem")
    private_key.chmod(mode)
    line = refused(sandbox)
    assert f"private key file {private_key} {problem}; run: chmod 600 {private_key}" in line


def test_a_private_key_owned_by_another_user_is_refused(sandbox: RunningSandbox) -> None:
    private_key = key_path(sandbox, "merchant_private_key.pem")
    os.chown(private_key, OTHER_UID, -1)
    assert "is owned by another user" in refused(sandbox)


def test_a_public_key_others_can_rewrite_is_refused(sandbox: RunningSandbox) -> None:
    public_key = key_path(sandbox, "wechatpay_public_key.pem")
    public_key.chmod(0o644)
    run("show", COUPON, STOCK)  # a public key may be read by anyone...
    public_key.chmod(0o666)  # ...but whoever rewrites it decides which answers are believed
    line = refused(sandbox)
    assert f"WeChat Pay public key file {public_key} can be rewritten by group or others" in line
    assert f"run: chmod go-w {public_key}" in line


@pytest.fixture
def cert_sandbox(sandboxes: Sandboxes, monkeypatch: pytest.MonkeyPatch) -> RunningSandbox:
    monkeypatch.setenv("WXBUDGET_PROFILE", "sandbox-cert")
    return sandboxes.start(platform_cert=True)


@pytest.mark.parametrize("mode", [0o640, 0o644, 0o666])
def test_an_apiv3_key_others_can_read_is_refused(cert_sandbox: RunningSandbox, mode: int) -> None:
    apiv3_key = key_path(cert_sandbox, "apiv3_key.txt")
    apiv3_key.chmod(mode)
    line = refused(cert_sandbox)
    assert f"apiv3_key_file {apiv3_key} " in line
    assert f"run: chmod 600 {apiv3_key}" in line


def test_a_certificate_folder_others_can_write_is_refused(cert_sandbox: RunningSandbox) -> None:
    run("certs", "download")
    folder = cert_sandbox.home / "platform-certs"
    folder.chmod(0o777)
    line = refused(cert_sandbox)
    assert f"platform_cert_dir {folder} can be rewritten by group or others (mode 0777)" in line
    assert f"run: chmod go-w {folder}" in line
    folder.chmod(0o755)
    run("show", COUPON, STOCK)


def test_a_cached_certificate_others_can_rewrite_is_refused(cert_sandbox: RunningSandbox) -> None:
    run("certs", "download")
    (cached,) = (cert_sandbox.home / "platform-certs").glob("*.json")
    cached.chmod(0o666)
    line = refused(cert_sandbox)
    assert f"cached platform certificate {cached} can be rewritten by group or others" in line


def test_doctor_says_a_writable_config_can_be_rewritten(sandbox: RunningSandbox) -> None:
    sandbox.config_path.chmod(0o664)
    result = run("doctor", "-o", "json", expect=CONFIG_EXIT)
    found = {check["name"]: check for check in json.loads(result.stdout)["checks"]}
    assert found["config"]["status"] == "fail"
    assert "can be rewritten by group or others (mode 0664)" in found["config"]["detail"]
    assert "read" not in found["config"]["detail"].replace("rewritten", "")
    assert found["config"]["fix"] == f"chmod go-w {sandbox.config_path}"


def test_doctor_flags_a_public_key_others_can_rewrite(sandbox: RunningSandbox) -> None:
    public_key = key_path(sandbox, "wechatpay_public_key.pem")
    public_key.chmod(0o646)
    result = run("doctor", "-o", "json", expect=CONFIG_EXIT)
    files = {check["name"]: check for check in json.loads(result.stdout)["checks"]}["files"]
    assert files["status"] == "fail"
    assert "can be rewritten by group or others (mode 0646)" in files["detail"]
    assert files["fix"] == f"chmod go-w {public_key}"


def test_a_copied_profile_is_held_to_the_same_rule(sandbox: RunningSandbox, tmp_path: Path) -> None:
    copy = sandbox_profile_copy(sandbox, tmp_path)
    copy.chmod(0o622)
    result = run("--config", str(copy), "show", COUPON, STOCK, expect=CONFIG_EXIT)
    assert "can be rewritten by group or others (mode 0622)" in result.stderr


def test_exposure_of_a_trusted_file_and_a_secret(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_text("x")
    path.chmod(0o600)
    assert trust.exposure(path, secret=True) is None
    path.chmod(0o644)
    assert trust.exposure(path, secret=False) is None
    found = trust.exposure(path, secret=True)
    assert found is not None
    assert found.fix == f"chmod 600 {path}"
