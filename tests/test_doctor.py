"""`wxbudget doctor`: every check passing against a real sandbox, and each failing on purpose."""

from __future__ import annotations

import json
import shutil
import time
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.helpers.certificates import new_key, self_signed
from tests.helpers.cli import run
from tests.helpers.sandboxes import Sandboxes, edit_profile
from wxbudget import doctor
from wxbudget.config import Flags
from wxbudget.doctor import Status
from wxbudget.sandbox import RunningSandbox

COUPON = "1000000013"
STOCK = "1000000013001"
STOCK_FLAGS = ("--stock", COUPON, STOCK)
CHECK_KEYS = {"name", "status", "detail", "fix"}
STATUSES = {"pass", "warn", "fail", "skip"}
CONFIG_EXIT = 3


def diagnose_json(*args: str, expect: int) -> dict[str, Any]:
    """`doctor -o json`, its exit code and JSON shape asserted; the checks keyed by name."""
    result = run("doctor", *args, "-o", "json", expect=expect)
    data: dict[str, Any] = json.loads(result.stdout)
    assert set(data) - {"sandbox"} == {"profile", "config", "checks", "ok"}
    assert [check["name"] for check in data["checks"]] == list(doctor.CHECK_NAMES)
    for check in data["checks"]:
        assert set(check) == CHECK_KEYS
        assert check["status"] in STATUSES
        # A failure or a warning always says what to do about it.
        assert (check["fix"] is not None) == (check["status"] in ("fail", "warn")), check
    assert data["ok"] is (expect == 0)
    return data


def checks(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {check["name"]: check for check in data["checks"]}


def statuses(data: dict[str, Any]) -> dict[str, str]:
    return {check["name"]: check["status"] for check in data["checks"]}


def profile_value(sandbox: RunningSandbox, key: str, name: str = "sandbox") -> str:
    value: str = tomllib.loads(sandbox.config_path.read_text())["profiles"][name][key]
    return value


def key_file(sandbox: RunningSandbox, name: str) -> Path:
    return sandbox.home / "keys" / name


# --- everything passes ------------------------------------------------------------------------


def test_every_check_passes_for_the_partner_sandbox_with_a_stock(sandbox: RunningSandbox) -> None:
    data = diagnose_json(*STOCK_FLAGS, expect=0)
    assert data["profile"] == "sandbox"
    assert data["config"] == str(sandbox.config_path)
    expected = dict.fromkeys(doctor.CHECK_NAMES, "pass") | {"backup-host": "skip"}
    assert statuses(data) == expected
    found = checks(data)
    serial = profile_value(sandbox, "merchant_serial_no")
    assert serial in found["private-key"]["detail"]  # the certificate's serial was compared
    answer = found["signed-answer"]["detail"]
    assert profile_value(sandbox, "wechatpay_public_key_id") in answer
    assert "Request-ID" in answer


def test_human_output_is_one_line_per_check_and_never_key_material(
    sandbox: RunningSandbox,
) -> None:
    out = run("doctor", *STOCK_FLAGS).stdout
    lines = out.splitlines()
    for name in doctor.CHECK_NAMES:
        assert sum(1 for line in lines if line.split()[1:2] == [name]) == 1, name
    assert lines[-1] == "ok: 8 pass, 0 warn, 0 fail, 1 skip"
    private_pem = key_file(sandbox, "merchant_private_key.pem").read_text()
    body_line = private_pem.splitlines()[1]
    assert "BEGIN" not in out
    assert body_line not in out


def test_every_check_passes_for_the_brand_sandbox(sandbox: RunningSandbox) -> None:
    data = diagnose_json("-p", "sandbox-brand", *STOCK_FLAGS, expect=0)
    assert data["profile"] == "sandbox-brand"
    assert statuses(data) == dict.fromkeys(doctor.CHECK_NAMES, "pass") | {"backup-host": "skip"}
    assert (
        profile_value(sandbox, "wechatpay_public_key_id", "sandbox-brand")
        in (checks(data)["signed-answer"]["detail"])
    )


def test_without_stock_the_clock_is_read_from_an_error_answer(sandbox: RunningSandbox) -> None:
    found = checks(diagnose_json(expect=0))
    assert found["clock-skew"]["status"] == "pass"
    assert "Wechatpay-Timestamp" in found["clock-skew"]["detail"]
    assert found["signed-answer"]["status"] == "skip"
    assert "--stock" in found["signed-answer"]["detail"]


def test_platform_certificate_profile_reports_the_cache(sandboxes: Sandboxes) -> None:
    running = sandboxes.start(platform_cert=True, use=False)
    config = ("--config", str(running.config_path), "-p", "sandbox-cert")
    empty = checks(diagnose_json(*config, expect=0))["wechatpay-key"]
    assert empty["status"] == "warn"
    assert "no valid platform certificate cached" in empty["detail"]
    assert "wxbudget certs download -p sandbox-cert" in empty["fix"]
    cache = running.home / "platform-certs"
    cache.mkdir(exist_ok=True)
    issued = running.home / "platform" / "platform_cert_0001.pem"
    shutil.copy(issued, cache / "cert.pem")  # a plain certificate: never a trust anchor
    stray = checks(diagnose_json(*config, expect=0))["wechatpay-key"]
    assert "cert.pem (a plain certificate, not sealed with the APIv3 key)" in stray["detail"]
    (cache / "cert.pem").unlink()
    run(*config, "certs", "download")
    cached = checks(diagnose_json(*config, expect=0))["wechatpay-key"]
    assert cached["status"] == "pass"
    assert "1 platform certificate(s) cached" in cached["detail"]


# --- 1. config --------------------------------------------------------------------------------


def test_invalid_toml_fails_the_config_check_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('default_profile = "prod"\n\n[profiles.prod\nmchid = "1"\n')
    path.chmod(0o600)
    data = diagnose_json("--config", str(path), expect=CONFIG_EXIT)
    config = checks(data)["config"]
    assert config["status"] == "fail"
    assert "line 3" in config["detail"]
    assert config["fix"] == f"fix the TOML syntax at line 3 of {path}"
    assert {name: status for name, status in statuses(data).items() if name != "config"} == (
        dict.fromkeys(doctor.CHECK_NAMES[1:], "skip")
    )


def test_unknown_key_fails_the_config_check(sandbox: RunningSandbox) -> None:
    edit_profile(sandbox, privat_key_file="keys/merchant_private_key.pem")
    config = checks(diagnose_json(expect=CONFIG_EXIT))["config"]
    assert config["status"] == "fail"
    assert "unknown key 'privat_key_file'" in config["detail"]
    assert "did you mean 'private_key_file'" in config["detail"]
    assert config["fix"] == f"rename or remove that key in {sandbox.config_path}"


def test_unknown_profile_fails_the_config_check(sandbox: RunningSandbox) -> None:
    data = diagnose_json("-p", "prod", expect=CONFIG_EXIT)
    assert data["profile"] == "prod"
    config = checks(data)["config"]
    assert "profile 'prod' is not in" in config["detail"]
    assert "pass -p NAME" in config["fix"]


def test_with_sandbox_doctor_checks_the_embedded_sandbox(isolated_environment: Path) -> None:
    # --sandbox: every command of this run uses the embedded sandbox, so doctor checks that.
    data = diagnose_json("--sandbox", "--stock", "1000000013", "1000000013001", expect=0)
    found = checks(data)
    home = isolated_environment / ".local" / "share" / "wxbudget" / "sandbox"
    assert data["config"] == str(home / "config.toml")
    assert data["sandbox"] is True
    assert found["config"]["status"] == "warn"
    assert "--sandbox: this run uses the embedded sandbox" in found["config"]["detail"]
    assert (
        found["config"]["fix"] == "for the real API, create a profile: wxbudget profile init NAME"
    )
    statuses = {name: check["status"] for name, check in found.items()}
    for name in ("files", "private-key", "wechatpay-key", "host", "signed-answer"):
        assert statuses[name] == "pass", found[name]


def test_on_a_fresh_install_without_a_terminal_doctor_names_the_opt_in(
    isolated_environment: Path,
) -> None:
    data = diagnose_json(expect=CONFIG_EXIT)
    config = checks(data)["config"]
    assert config["status"] == "fail"
    assert config["detail"] == (
        f"no config file at {isolated_environment / '.config' / 'wxbudget' / 'config.toml'}"
    )
    assert "wxbudget doctor --sandbox" in config["fix"]
    assert "sandbox" not in data
    assert not (isolated_environment / ".local" / "share" / "wxbudget" / "sandbox").exists()


# --- 2. files ---------------------------------------------------------------------------------


def test_private_key_readable_by_others_fails_with_chmod(sandbox: RunningSandbox) -> None:
    private_key = key_file(sandbox, "merchant_private_key.pem")
    private_key.chmod(0o644)
    data = diagnose_json(expect=CONFIG_EXIT)
    found = checks(data)
    assert found["files"]["status"] == "fail"
    assert "mode 0644" in found["files"]["detail"]
    assert found["files"]["fix"] == f"chmod 600 {private_key}"
    assert found["private-key"]["status"] == "pass"  # it parses; only its mode is wrong
    assert found["host"]["status"] == "pass"
    for dependent in ("clock-skew", "signed-answer"):
        assert found[dependent]["status"] == "skip"
        assert "readable by group or others" in found[dependent]["detail"]
    human = run("doctor", expect=CONFIG_EXIT).stdout
    assert f"fix: chmod 600 {private_key}" in human
    assert any(line.startswith("FAIL  files") for line in human.splitlines())
    assert human.splitlines()[-1].startswith("FAILED: ")


def test_group_readable_config_file_passes(sandbox: RunningSandbox) -> None:
    # The config holds paths and ids, not keys: only rewriting it is a danger (test_trust.py).
    sandbox.config_path.chmod(0o644)
    files = checks(diagnose_json(expect=0))["files"]
    assert files["status"] == "pass"


def test_missing_merchant_certificate_fails_the_files_check(sandbox: RunningSandbox) -> None:
    key_file(sandbox, "merchant_cert.pem").unlink()
    found = checks(diagnose_json(expect=CONFIG_EXIT))
    assert found["files"]["status"] == "fail"
    assert "merchant_cert_file" in found["files"]["detail"]
    assert "does not exist" in found["files"]["detail"]


# --- 3. private key and merchant certificate --------------------------------------------------


def test_garbage_private_key_fails(sandbox: RunningSandbox) -> None:
    private_key = key_file(sandbox, "merchant_private_key.pem")
    private_key.write_text("-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n")
    found = checks(diagnose_json(expect=CONFIG_EXIT))
    assert found["files"]["status"] == "pass"
    assert found["private-key"]["status"] == "fail"
    assert "is not an unencrypted PEM RSA private key" in found["private-key"]["detail"]
    assert "apiclient_key.pem" in found["private-key"]["fix"]
    assert found["clock-skew"]["status"] == "skip"


def certificate(key: rsa.RSAPrivateKey, serial_no: str, *, days_left: float) -> bytes:
    """A merchant certificate for `key`, issued 300 days ago, with serial `serial_no` (hex)."""
    issued = datetime.now(UTC) - timedelta(days=300)
    return self_signed(
        key, serial=serial_no, common_name="1900000001", not_before=issued, days_left=days_left
    )


def test_merchant_certificate_for_another_key_fails(sandbox: RunningSandbox) -> None:
    serial = profile_value(sandbox, "merchant_serial_no")
    someone_else = new_key()
    key_file(sandbox, "merchant_cert.pem").write_bytes(
        certificate(someone_else, serial, days_left=365)
    )
    data = diagnose_json(*STOCK_FLAGS, expect=CONFIG_EXIT)
    found = checks(data)
    assert found["private-key"]["status"] == "fail"
    detail = found["private-key"]["detail"]
    assert "merchant certificate merchant_cert.pem is for another key" in detail
    assert "issued together" in found["private-key"]["fix"]
    # Only the local comparison can notice: the API never sees the certificate file.
    assert [name for name, status in statuses(data).items() if status == "fail"] == ["private-key"]


def test_wrong_serial_in_the_profile_fails_and_names_both_serials(
    sandbox: RunningSandbox,
) -> None:
    real = profile_value(sandbox, "merchant_serial_no")
    wrong = "0123456789ABCDEF0123456789ABCDEF01234567"
    edit_profile(sandbox, merchant_serial_no=wrong.lower())
    found = checks(diagnose_json(*STOCK_FLAGS, expect=CONFIG_EXIT))
    key = found["private-key"]
    assert key["status"] == "fail"
    assert wrong.lower() in key["detail"]
    assert real in key["detail"]
    assert key["fix"] == (
        f"set merchant_serial_no = \"{real}\" in profile 'sandbox' of {sandbox.config_path}"
    )
    # The API refuses the serial too, and the fix names the keys that must agree.
    answer = found["signed-answer"]
    assert answer["status"] == "fail"
    assert "401 SIGN_ERROR" in answer["detail"]
    assert "merchant_serial_no" in answer["fix"]


def test_the_serial_is_compared_case_insensitively(sandbox: RunningSandbox) -> None:
    edit_profile(sandbox, merchant_serial_no=profile_value(sandbox, "merchant_serial_no").lower())
    report = doctor.diagnose(Flags(config=sandbox.config_path), {})
    assert report.check("private-key").status is Status.PASS


def test_a_certificate_about_to_expire_warns(sandbox: RunningSandbox) -> None:
    pem = key_file(sandbox, "merchant_private_key.pem").read_bytes()
    key = serialization.load_pem_private_key(pem, password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    serial = profile_value(sandbox, "merchant_serial_no")
    key_file(sandbox, "merchant_cert.pem").write_bytes(certificate(key, serial, days_left=10.05))
    found = checks(diagnose_json(expect=0))["private-key"]
    assert found["status"] == "warn"
    assert "expires in 10 days" in found["detail"]
    assert "renew the API certificate" in found["fix"]


# --- 4. WeChat Pay public key -----------------------------------------------------------------


def test_garbage_public_key_fails(sandbox: RunningSandbox) -> None:
    key_file(sandbox, "wechatpay_public_key.pem").write_text("not a key\n")
    found = checks(diagnose_json(expect=CONFIG_EXIT))
    assert found["wechatpay-key"]["status"] == "fail"
    assert "is not a PEM RSA public key" in found["wechatpay-key"]["detail"]
    assert "download the WeChat Pay public key again" in found["wechatpay-key"]["fix"]
    assert found["clock-skew"]["status"] == "skip"


def test_own_public_key_in_place_of_wechat_pays_fails(sandbox: RunningSandbox) -> None:
    edit_profile(sandbox, wechatpay_public_key_file="keys/merchant_public_key.pem")
    key = checks(diagnose_json(expect=CONFIG_EXIT))["wechatpay-key"]
    assert key["status"] == "fail"
    assert "public half of your own private key" in key["detail"]


# --- 5. hosts ---------------------------------------------------------------------------------


def test_a_host_refusing_connections_fails_and_skips_the_calls(sandbox: RunningSandbox) -> None:
    edit_profile(sandbox, base_url="http://127.0.0.1:9")
    found = checks(diagnose_json(*STOCK_FLAGS, expect=CONFIG_EXIT))
    host = found["host"]
    assert host["status"] == "fail"
    assert "http://127.0.0.1:9: cannot connect to 127.0.0.1:9" in host["detail"]
    assert "nothing listens on 127.0.0.1:9" in host["fix"]
    for dependent in ("clock-skew", "signed-answer"):
        assert found[dependent] == {
            "name": dependent,
            "status": "skip",
            "detail": "skipped: the primary host is unreachable",
            "fix": None,
        }


def test_an_unreachable_backup_host_only_warns(sandbox: RunningSandbox) -> None:
    edit_profile(sandbox, backup_base_url="http://127.0.0.1:9")
    found = checks(diagnose_json(expect=0))
    assert found["host"]["status"] == "pass"
    assert found["backup-host"]["status"] == "warn"
    assert "backup_base_url" in found["backup-host"]["fix"]


# --- 6. clock skew ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("skew", "status", "words"),
    [
        (0, Status.PASS, "in step with the server"),
        (0.4, Status.PASS, "in step with the server"),
        (60, Status.PASS, "60 s ahead of the server"),
        (-60, Status.PASS, "60 s behind the server"),
        (61, Status.WARN, "61 s ahead of the server"),
        (-61, Status.WARN, "61 s behind the server"),
        (300, Status.WARN, "300 s ahead of the server"),
        (301, Status.FAIL, "301 s ahead of the server"),
        (-900, Status.FAIL, "900 s behind the server"),
    ],
)
def test_skew_thresholds(skew: float, status: Status, words: str) -> None:
    check = doctor.classify_skew(skew)
    assert check.name == "clock-skew"
    assert check.status is status
    assert words in check.detail
    assert (check.fix == doctor.NTP_FIX) == (status is not Status.PASS)


def test_skew_is_measured_against_the_sandbox_clock(sandbox: RunningSandbox) -> None:
    """This machine's clock as doctor sees it, shifted: the sandbox keeps the real time."""
    flags = Flags(config=sandbox.config_path)
    ahead = doctor.diagnose(flags, {}, stock=(COUPON, STOCK), clock=lambda: time.time() + 120)
    skew = ahead.check("clock-skew")
    assert skew.status is Status.WARN
    assert any(f"{seconds} s ahead of the server" in skew.detail for seconds in (119, 120, 121))
    assert ahead.check("signed-answer").status is Status.PASS  # within 300 s everything works
    assert ahead.ok

    behind = doctor.diagnose(flags, {}, stock=(COUPON, STOCK), clock=lambda: time.time() - 400)
    skew = behind.check("clock-skew")
    assert skew.status is Status.FAIL
    assert "s behind the server" in skew.detail
    # The sandbox refuses a request stamped 400 s ago, as WeChat Pay does.
    answer = behind.check("signed-answer")
    assert answer.status is Status.FAIL
    assert "401 SIGN_ERROR" in answer.detail
    assert answer.fix == "fix the clock first (see clock-skew)"
    assert not behind.ok


def test_an_answer_stamped_in_the_past_fails_the_clock_check(sandboxes: Sandboxes) -> None:
    # The sandbox's `skew` fault stamps answers 600 s in the past: a server clock 600 s slow.
    running = sandboxes.start(faults=["skew=1"], use=False)
    data = diagnose_json("--config", str(running.config_path), *STOCK_FLAGS, expect=3)
    found = checks(data)
    assert found["clock-skew"]["status"] == "fail"
    assert any(f"{seconds} s ahead" in found["clock-skew"]["detail"] for seconds in (599, 600))
    assert found["clock-skew"]["fix"] == doctor.NTP_FIX
    assert found["signed-answer"]["status"] == "fail"
    assert "clock skew" in found["signed-answer"]["detail"]


# --- 7. a signed answer -----------------------------------------------------------------------


def test_an_unknown_stock_fails_with_the_api_error(sandbox: RunningSandbox) -> None:
    found = checks(diagnose_json("--stock", COUPON, "1000000013999", expect=CONFIG_EXIT))
    answer = found["signed-answer"]
    assert answer["status"] == "fail"
    assert "404 NOT_FOUND" in answer["detail"]
    assert "Request-ID" in answer["detail"]
    assert answer["fix"] == (
        f"check PRODUCT_COUPON_ID and STOCK_ID (wxbudget list {COUPON} lists the stocks)"
    )
    assert found["clock-skew"]["status"] == "pass"  # the error answer carried the time


def test_a_wrong_wechatpay_public_key_fails_verification(sandbox: RunningSandbox) -> None:
    # A valid RSA public key, just not the one that signs this merchant's answers.
    edit_profile(sandbox, wechatpay_public_key_file="keys/brand_wechatpay_public_key.pem")
    found = checks(diagnose_json(*STOCK_FLAGS, expect=CONFIG_EXIT))
    assert found["wechatpay-key"]["status"] == "pass"
    answer = found["signed-answer"]
    assert answer["status"] == "fail"
    assert "signature invalid" in answer["detail"]
    assert profile_value(sandbox, "wechatpay_public_key_id") in answer["detail"]
    assert "make wechatpay_public_key_file the WeChat Pay public key" in answer["fix"]


def test_a_partner_without_brand_id_is_told_how_to_give_one(sandbox: RunningSandbox) -> None:
    edit_profile(sandbox, brand_id=None)
    answer = checks(diagnose_json(*STOCK_FLAGS, expect=CONFIG_EXIT))["signed-answer"]
    assert answer["status"] == "fail"
    assert "no brand_id" in answer["detail"]
    assert "--brand-id" in answer["fix"]
    diagnose_json(*STOCK_FLAGS, "--brand-id", "120344", expect=0)


def test_help_has_examples() -> None:
    out = run("doctor", "--help").stdout
    assert "wxbudget doctor -p prod --stock 1000000013 1000000013001" in out
    assert "PRODUCT_COUPON_ID STOCK_ID" in out
