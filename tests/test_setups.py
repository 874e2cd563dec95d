"""Every merchant setup against the sandbox: brand-direct, stock bundles, platform certificates."""

from __future__ import annotations

import json
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import tomli_w

from tests.helpers.certificates import new_key, self_signed
from tests.helpers.cli import run
from tests.helpers.logs import audit_entries, posts_of, request_log
from tests.helpers.sandboxes import BOTH_MODES, Sandboxes
from tests.helpers.signing_client import COUPONS, SigningClient
from wxbudget import config, platform_crypto, signing
from wxbudget.client import Client
from wxbudget.config import Flags
from wxbudget.sandbox import RunningSandbox, rotate_platform_certificate
from wxbudget.verifier import Verifier

COUPON = "1000000013"
DAILY_STOCK = "1000000013002"
BUNDLE_COUPON = "1000000014"
BUNDLE = "712315129419284901"


# --- brand-direct profiles -------------------------------------------------------------------


@BOTH_MODES
def test_brand_profile_reads_and_writes_through_the_brand_api(sandbox: RunningSandbox) -> None:
    shown = json.loads(run("-p", "sandbox-brand", "show", COUPON, DAILY_STOCK, "-o", "json").stdout)
    assert "brand_id" not in shown  # brand answers carry no brand_id
    dry = run("-p", "sandbox-brand", "set-max", COUPON, DAILY_STOCK, "+10", "--dry-run")
    assert "brand_id" not in json.loads(dry.stdout)
    run("-p", "sandbox-brand", "set-max", COUPON, DAILY_STOCK, "+10", "--yes")
    # Every request of the brand profile went to the brand API, without a brand_id query.
    brand_requests = [(entry["method"], entry["path"]) for entry in request_log(sandbox.home)]
    stock_path = f"/brand/marketing/product-coupon/product-coupons/{COUPON}/stocks/{DAILY_STOCK}"
    assert brand_requests == [
        ("GET", stock_path),  # show
        ("GET", stock_path),  # set-max --dry-run reads the current cap
        ("GET", stock_path),  # set-max reads it again...
        ("POST", stock_path + "/update-budget"),  # ...and writes
    ]
    # The partner sees the brand's change: one stock, two ways in.
    partner = json.loads(run("show", COUPON, DAILY_STOCK, "-o", "json").stdout)
    assert partner["stock_send_rule"]["max_count"] == 50010
    assert request_log(sandbox.home)[-1]["path"].startswith("/v3/marketing/partner/")


def test_brand_profile_lists_and_applies(sandbox: RunningSandbox, tmp_path: Path) -> None:
    listed = json.loads(run("-p", "sandbox-brand", "list", COUPON, "-o", "json").stdout)
    assert len(listed) == 7
    plan = tmp_path / "plan.csv"
    plan.write_text(
        f"product_coupon_id,stock_id,max_count,max_count_per_day\n{COUPON},{DAILY_STOCK},+1,-1\n"
    )
    steps = json.loads(run("-p", "sandbox-brand", "apply", str(plan), "--yes", "-o", "json").stdout)
    assert [step["outcome"] for step in steps] == ["applied", "applied"]
    # Every read and write of the brand profile, the list included, went to the brand API.
    paths = [entry["path"] for entry in request_log(sandbox.home)]
    assert [path for path in paths if not path.startswith("/brand/marketing/")] == []
    assert len(posts_of(sandbox.home)) == 2


def test_brand_plan_for_another_brand_is_refused(sandbox: RunningSandbox, tmp_path: Path) -> None:
    plan = tmp_path / "plan.csv"
    plan.write_text(
        "product_coupon_id,stock_id,max_count,max_count_per_day,brand_id\n"
        f"{COUPON},{DAILY_STOCK},+1,,999999\n"
    )
    result = run("-p", "sandbox-brand", "apply", str(plan), "--yes", expect=2)
    assert "a brand can only change its own stocks" in result.stderr


def test_brand_profile_key_rules(sandbox: RunningSandbox, tmp_path: Path) -> None:
    document = tomllib.loads(sandbox.config_path.read_text())
    brand = document["profiles"]["sandbox-brand"]
    for key in ("private_key_file", "wechatpay_public_key_file"):
        brand[key] = str(sandbox.home / brand[key])
    brand["mchid"] = "1900000001"
    path = tmp_path / "c.toml"
    path.write_text(tomli_w.dumps(document))
    result = run(
        "-p", "sandbox-brand", "show", COUPON, DAILY_STOCK, "--config", str(path), expect=3
    )
    assert "mchid is not used by a brand profile" in result.stderr


# --- stock bundles ---------------------------------------------------------------------------


@BOTH_MODES
def test_bundle_show_and_set_max_change_every_stock(sandbox: RunningSandbox) -> None:
    shown = json.loads(run("bundle", "show", BUNDLE_COUPON, BUNDLE, "-o", "json").stdout)
    assert shown["stock_bundle_id"] == BUNDLE
    assert [s["stock_id"] for s in shown["stock_list"]] == [
        "1000000014001",
        "1000000014002",
        "1000000014003",
    ]
    result = run("bundle", "set-max", BUNDLE_COUPON, BUNDLE, "+1000", "--yes", "-o", "json")
    answered = json.loads(result.stdout)
    assert {s["stock_send_rule"]["max_count"] for s in answered["stock_list"]} == {31000}
    assert "stock bundle 712315129419284901 (coupon 1000000014, 3 stocks)" in result.stderr
    again = json.loads(run("bundle", "show", BUNDLE_COUPON, BUNDLE, "-o", "json").stdout)
    assert {s["stock_send_rule"]["max_count"] for s in again["stock_list"]} == {31000}
    posts = posts_of(sandbox.home)
    assert [e["path"].rsplit("/", 2)[-2] for e in posts] == [BUNDLE]


@BOTH_MODES
def test_bundle_set_daily_and_dry_run_body(sandbox: RunningSandbox) -> None:
    dry = run(
        "bundle",
        "set-daily",
        BUNDLE_COUPON,
        BUNDLE,
        "-10%",
        "--dry-run",
        "--out-request-no",
        "bundle-dry-1",
    )
    assert json.loads(dry.stdout) == {
        "out_request_no": "bundle-dry-1",
        "update_mode": "MAX_COUNT_PER_DAY",
        "current_max_count_per_day": 3000,
        "target_max_count_per_day": 2700,
        "brand_id": "120344",
    }
    run("bundle", "set-daily", BUNDLE_COUPON, BUNDLE, "-10%", "--yes")
    table = run("bundle", "show", BUNDLE_COUPON, BUNDLE).stdout
    assert table.count("2,700") == 3


def test_bundled_stock_points_to_the_exact_bundle_command(sandbox: RunningSandbox) -> None:
    result = run("set-max", BUNDLE_COUPON, "1000000014002", "+5", "--yes", expect=4)
    assert f"wxbudget bundle set-max {BUNDLE_COUPON} {BUNDLE} +5" in result.stderr
    result = run("set-daily", BUNDLE_COUPON, "1000000014002", "-1", "--yes", expect=4)
    assert f"wxbudget bundle set-daily {BUNDLE_COUPON} {BUNDLE} -1" in result.stderr


def test_unknown_bundle_and_journal(sandbox: RunningSandbox, isolated_environment: Path) -> None:
    assert "has no stocks" in run("bundle", "show", BUNDLE_COUPON, "999", expect=4).stderr
    run("bundle", "set-max", BUNDLE_COUPON, BUNDLE, "+1", "--yes", "--out-request-no", "bundle-1")
    intent = audit_entries(isolated_environment)[0]
    assert intent["stock_bundle_id"] == BUNDLE
    assert intent["stock_id"] is None
    # The same number for the same bundle change is a replay: nothing sent twice.
    again = run(
        "bundle", "set-max", BUNDLE_COUPON, BUNDLE, "+1", "--yes", "--out-request-no", "bundle-1"
    )
    assert "nothing to do" in again.stderr
    assert len(posts_of(sandbox.home)) == 1


@BOTH_MODES
def test_brand_profile_changes_a_bundle(sandbox: RunningSandbox) -> None:
    result = run(
        "-p",
        "sandbox-brand",
        "bundle",
        "set-max",
        BUNDLE_COUPON,
        BUNDLE,
        "40000",
        "--yes",
        "-o",
        "json",
    )
    assert {s["stock_send_rule"]["max_count"] for s in json.loads(result.stdout)["stock_list"]} == {
        40000
    }


# --- platform certificates -------------------------------------------------------------------


@pytest.fixture
def cert_sandbox(sandboxes: Sandboxes, monkeypatch: pytest.MonkeyPatch) -> RunningSandbox:
    running = sandboxes.start(platform_cert=True)
    monkeypatch.setenv("WXBUDGET_PROFILE", "sandbox-cert")
    return running


def cache_folder(sandbox: RunningSandbox) -> Path:
    return sandbox.home / "platform-certs"


def test_platform_certificates_are_downloaded_on_first_use(cert_sandbox: RunningSandbox) -> None:
    assert not cache_folder(cert_sandbox).exists()
    assert json.loads(run("certs", "list", "-o", "json").stdout)["certificates"] == []
    shown = json.loads(run("show", COUPON, DAILY_STOCK, "-o", "json").stdout)
    assert shown["stock_id"] == DAILY_STOCK
    cached = list(cache_folder(cert_sandbox).glob("*.json"))
    assert len(cached) == 1
    listed = json.loads(run("certs", "list", "-o", "json").stdout)["certificates"]
    assert [c["serial_no"] for c in listed] == [cached[0].stem]
    assert listed[0]["valid"] is True
    downloads = [e for e in request_log(cert_sandbox.home) if e["path"] == "/v3/certificates"]
    assert len(downloads) == 1
    # Known now: the next command does not download again.
    run("show", COUPON, DAILY_STOCK)
    assert len([e for e in request_log(cert_sandbox.home) if e["path"] == "/v3/certificates"]) == 1


def test_rotated_certificate_is_fetched_on_unknown_serial(
    cert_sandbox: RunningSandbox, sandboxes: Sandboxes
) -> None:
    run("certs", "download")
    first = {path.stem for path in cache_folder(cert_sandbox).glob("*.json")}
    sandboxes.stop("sandbox")
    new_serial = rotate_platform_certificate(cert_sandbox.home)
    sandboxes.start(platform_cert=True)
    run("set-max", COUPON, DAILY_STOCK, "+3", "--yes")
    now = {path.stem for path in cache_folder(cert_sandbox).glob("*.json")}
    assert new_serial in now
    assert first <= now


def test_wrong_apiv3_key_is_a_config_error(cert_sandbox: RunningSandbox) -> None:
    (cert_sandbox.home / "keys" / "apiv3_key.txt").write_text("X" * 32)
    result = run("certs", "download", expect=3)
    assert "cannot decrypt platform certificate" in result.stderr
    assert "apiv3_key_file" in result.stderr


def test_certs_need_a_partner_profile_with_a_cache(cert_sandbox: RunningSandbox) -> None:
    result = run("-p", "sandbox", "certs", "list", expect=3)
    assert "verifies with the WeChat Pay public key" in result.stderr


def test_expired_cached_certificates_are_not_trusted(cert_sandbox: RunningSandbox) -> None:
    folder = cache_folder(cert_sandbox)
    folder.mkdir()
    old = datetime.now(UTC) - timedelta(days=400)
    expired = self_signed(serial=0xABCDEF, not_before=old, not_after=old + timedelta(days=30))
    # As a download of long ago cached it: sealed with this profile's APIv3 key.
    apiv3_key = (cert_sandbox.home / "keys" / "apiv3_key.txt").read_bytes().strip()
    sealed = {
        "algorithm": platform_crypto.AEAD_ALGORITHM,
        "nonce": "0123456789ab",
        "associated_data": platform_crypto.CERTIFICATE_ASSOCIATED_DATA,
        "ciphertext": platform_crypto.aead_encrypt(
            apiv3_key, "0123456789ab", "certificate", expired
        ),
    }
    entry = {"serial_no": "ABCDEF", "encrypt_certificate": sealed}
    (folder / "ABCDEF.json").write_text(json.dumps(entry))
    listed = json.loads(run("certs", "list", "-o", "json").stdout)["certificates"]
    assert [(c["serial_no"], c["valid"]) for c in listed] == [("ABCDEF", False)]
    settings = config.resolve(Flags(config=cert_sandbox.config_path, profile="sandbox-cert"))
    assert Verifier(settings, lambda: datetime.now(UTC).timestamp()).preferred_serial() is None


def test_migration_accepts_either_serial(cert_sandbox: RunningSandbox, tmp_path: Path) -> None:
    """A profile with both the public key and platform certificates (mid-migration)."""
    run("certs", "download")
    document = tomllib.loads(cert_sandbox.config_path.read_text())
    both = dict(document["profiles"]["sandbox-cert"])
    public = document["profiles"]["sandbox"]
    both["wechatpay_public_key_id"] = public["wechatpay_public_key_id"]
    both["wechatpay_public_key_file"] = public["wechatpay_public_key_file"]
    document["profiles"]["migrating"] = both
    cert_sandbox.config_path.write_text(tomli_w.dumps(document))
    settings = config.resolve(Flags(config=cert_sandbox.config_path, profile="migrating"))
    client = Client(settings)
    # The client advertises the public key id, so answers come signed by the public key...
    stock, _ = client.get_stock(COUPON, DAILY_STOCK, "120344")
    assert stock.stock_id == DAILY_STOCK
    # ...and an answer signed by a platform certificate verifies too.
    signed_by_cert = client.verifier.verify(
        *platform_signed_answer(cert_sandbox, client), now=now()
    )
    assert signed_by_cert.ok, signed_by_cert.reason
    client.close()


def now() -> int:
    return int(datetime.now(UTC).timestamp())


def platform_signed_answer(sandbox: RunningSandbox, client: Client) -> tuple[dict[str, str], bytes]:
    """A real answer signed by the platform certificate: a request without Wechatpay-Serial."""
    raw = SigningClient.of(sandbox.home)
    target = f"{COUPONS}/{COUPON}/stocks/{DAILY_STOCK}?brand_id=120344"
    answer = raw.send("GET", target)
    raw.close()
    assert answer.status_code == 200
    assert answer.headers["Wechatpay-Serial"] != client.settings.wechatpay_public_key_id
    return dict(answer.headers), answer.content


def test_certificate_serials_with_leading_zeros_verify(cert_sandbox: RunningSandbox) -> None:
    """WeChat Pay may write a certificate serial with a leading zero its number does not keep."""
    from wxbudget.certs import CachedCertificate

    key = new_key()
    pem = self_signed(key, serial=0x0A1B2C3D)
    settings = config.resolve(Flags(config=cert_sandbox.config_path, profile="sandbox-cert"))
    verifier = Verifier(settings, lambda: float(now()))
    verifier.certificates = [
        CachedCertificate(platform_crypto.load_certificate(pem), "0A1B2C3D", {})
    ]
    body, timestamp, nonce = b'{"ok":true}', str(now()), "N" * 32
    headers = {
        "Wechatpay-Timestamp": timestamp,
        "Wechatpay-Nonce": nonce,
        "Wechatpay-Signature": signing.sign(key, signing.response_message(timestamp, nonce, body)),
        "Wechatpay-Serial": "0A1B2C3D",
    }
    assert verifier.verify(headers, body, now=now()).ok
