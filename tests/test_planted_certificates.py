"""A planted platform certificate is never a trust anchor: the cache holds what WeChat Pay sent
(the AEAD_AES_256_GCM ciphertext, its nonce and associated data) and is opened with the APIv3
key on every load, so only certificates that came through a download are believed."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from tests.helpers.certificates import new_key, self_signed
from tests.helpers.cli import run
from tests.helpers.hostile import HostileServer, WechatPayKey
from tests.helpers.logs import request_log
from tests.helpers.sandboxes import Sandboxes
from wxbudget import platform_crypto
from wxbudget.sandbox import RunningSandbox

COUPON = "1000000013"
STOCK = "1000000013002"
FORGED_CAP = 99_999_999
PLANTED_SERIAL = "5EEDBADC0FFEE0"
VERIFICATION_EXIT = 6


@pytest.fixture
def cert_sandbox(sandboxes: Sandboxes, monkeypatch: pytest.MonkeyPatch) -> RunningSandbox:
    monkeypatch.setenv("WXBUDGET_PROFILE", "sandbox-cert")
    running = sandboxes.start(platform_cert=True)
    run("certs", "download")
    return running


def cache_of(sandbox: RunningSandbox) -> Path:
    return sandbox.home / "platform-certs"


@pytest.fixture
def forging_server() -> Iterator[HostileServer]:
    """A server holding the planted certificate's key: it signs a forged cap for every call
    (the certificate listing included, which is then not a listing)."""
    key = WechatPayKey(new_key(), PLANTED_SERIAL)
    body = json.dumps(
        {
            "product_coupon_id": COUPON,
            "stock_id": STOCK,
            "state": "SENDING",
            "stock_send_rule": {"max_count": FORGED_CAP, "max_count_per_day": 5000},
            "sent_count_info": {"total_count": 1, "today_count": 1},
            "brand_id": "120344",
        }
    ).encode()
    server = HostileServer(lambda _: key.signed(body))
    server.planted_key = key  # type: ignore[attr-defined]
    yield server
    server.stop()


def config_for(sandbox: RunningSandbox, folder: Path, base_url: str) -> str:
    document = tomllib.loads(sandbox.config_path.read_text())
    profile: dict[str, Any] = document["profiles"]["sandbox-cert"]
    for key in ("private_key_file", "apiv3_key_file", "platform_cert_dir"):
        profile[key] = str(sandbox.config_path.parent / profile[key])
    profile |= {"base_url": base_url, "max_retries": 0}
    path = folder / "forging.toml"
    path.write_text(tomli_w.dumps({"profiles": {"sandbox-cert": profile}}))
    path.chmod(0o600)
    return str(path)


def forged_answer_refused(config: str) -> str:
    result = run("--config", config, "show", COUPON, STOCK, expect=VERIFICATION_EXIT)
    assert f"{FORGED_CAP:,}" not in result.stdout + result.stderr
    assert str(FORGED_CAP) not in result.stdout
    assert result.stderr.count("\n") == 1, result.stderr
    return result.stderr


def test_a_planted_pem_certificate_is_not_believed(
    cert_sandbox: RunningSandbox, forging_server: HostileServer, tmp_path: Path
) -> None:
    planted = self_signed(forging_server.planted_key.private_key, serial=PLANTED_SERIAL)  # type: ignore[attr-defined]
    target = cache_of(cert_sandbox) / f"{PLANTED_SERIAL}.pem"
    target.write_bytes(planted)
    target.chmod(0o600)
    line = forged_answer_refused(config_for(cert_sandbox, tmp_path, forging_server.base_url))
    assert f"unknown serial {PLANTED_SERIAL}" in line


def test_a_planted_entry_sealed_with_another_key_is_not_believed(
    cert_sandbox: RunningSandbox, forging_server: HostileServer, tmp_path: Path
) -> None:
    # Everything a download would have written, except that the attacker has no APIv3 key.
    planted = self_signed(forging_server.planted_key.private_key, serial=PLANTED_SERIAL)  # type: ignore[attr-defined]
    nonce = "0123456789ab"
    entry = {
        "serial_no": PLANTED_SERIAL,
        "encrypt_certificate": {
            "algorithm": platform_crypto.AEAD_ALGORITHM,
            "nonce": nonce,
            "associated_data": platform_crypto.CERTIFICATE_ASSOCIATED_DATA,
            "ciphertext": platform_crypto.aead_encrypt(b"x" * 32, nonce, "certificate", planted),
        },
    }
    target = cache_of(cert_sandbox) / f"{PLANTED_SERIAL}.json"
    target.write_text(json.dumps(entry))
    target.chmod(0o600)
    config = config_for(cert_sandbox, tmp_path, forging_server.base_url)
    line = forged_answer_refused(config)
    assert f"unknown serial {PLANTED_SERIAL}" in line
    listed = run("--config", config, "certs", "list", "-o", "json")
    assert PLANTED_SERIAL not in json.loads(listed.stdout)["certificates"].__repr__()
    assert f"ignored {target} (not believed: decryption failed" in listed.stderr


def test_the_cache_holds_the_sealed_listing_entries(cert_sandbox: RunningSandbox) -> None:
    cached = sorted(cache_of(cert_sandbox).iterdir())
    assert cached
    assert all(path.suffix == ".json" for path in cached)
    for path in cached:
        entry = json.loads(path.read_text())
        assert entry["serial_no"] == path.stem
        assert b"BEGIN CERTIFICATE" not in path.read_bytes()  # only the ciphertext is stored
        assert entry["encrypt_certificate"]["algorithm"] == platform_crypto.AEAD_ALGORITHM
        assert path.stat().st_mode & 0o022 == 0  # only its user can rewrite it


def test_an_old_plain_pem_cache_is_downloaded_again(cert_sandbox: RunningSandbox) -> None:
    # What an earlier wxbudget cached: the decrypted certificate as <serial>.pem.
    apiv3_key = (cert_sandbox.home / "keys" / "apiv3_key.txt").read_bytes().strip()
    for path in list(cache_of(cert_sandbox).glob("*.json")):
        sealed = json.loads(path.read_text())["encrypt_certificate"]
        pem = platform_crypto.aead_decrypt(
            apiv3_key, sealed["nonce"], sealed["associated_data"], sealed["ciphertext"]
        )
        path.with_suffix(".pem").write_bytes(pem)
        path.unlink()
    before = len(request_log(cert_sandbox.home))
    shown = run("show", COUPON, STOCK, "-o", "json")
    assert json.loads(shown.stdout)["stock_id"] == STOCK
    calls = [entry["path"] for entry in request_log(cert_sandbox.home)[before:]]
    assert "/v3/certificates" in calls  # the legacy files were not believed: downloaded again
    names = {path.suffix for path in cache_of(cert_sandbox).iterdir()}
    assert names == {".json"}  # and replaced by sealed ones
