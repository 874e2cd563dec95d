"""A key written into a config file where its path belongs is refused by the loader (exit 3,
one line naming the key, never the value) and never echoed: not by a command, not by
`doctor -o json`, not by `profile show -o json`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import tomli_w

from tests.helpers.cli import run
from wxbudget import config
from wxbudget.config import Flags

DATA = Path(__file__).parent / "data"
CONFIG_EXIT = 3
APIV3_KEY = "Zq8sL2vN4xR7tY1uW3eP5aS9dF6gH0jK"
PEM = (DATA / "golden_private_key.pem").read_text()
PEM_BODY = "".join(line for line in PEM.splitlines() if "-----" not in line)
SECRET_PARTS = (PEM.splitlines()[1][:40], PEM_BODY[40:80], APIV3_KEY)


def write_config(folder: Path, **values: str) -> Path:
    """A partner profile with platform certificates whose `values` replace the key paths."""
    keys = folder / "keys"
    keys.mkdir(exist_ok=True)
    shutil.copy(DATA / "golden_private_key.pem", keys / "private.pem")
    (keys / "private.pem").chmod(0o600)
    (keys / "apiv3.txt").write_text(APIV3_KEY)
    (keys / "apiv3.txt").chmod(0o600)
    profile = {
        "mchid": "1900000001",
        "merchant_serial_no": "1DDE55AD98ED71D6EDD4A4A16996DE7B47773A8C",
        "private_key_file": str(keys / "private.pem"),
        "apiv3_key_file": str(keys / "apiv3.txt"),
        "platform_cert_dir": str(folder / "certs"),
        "brand_id": "120344",
        "base_url": "http://127.0.0.1:9",
    } | values
    path = folder / "config.toml"
    path.write_text(tomli_w.dumps({"profiles": {"p": profile}}))
    path.chmod(0o600)
    return path


def assert_never_echoed(text: str) -> None:
    for part in SECRET_PARTS:
        assert part not in text


HOSTILE_VALUES = [
    pytest.param({"private_key_file": PEM}, "private_key_file", id="pem-in-private_key_file"),
    pytest.param({"private_key_file": PEM_BODY}, "private_key_file", id="pem-body-no-armour"),
    pytest.param({"apiv3_key_file": APIV3_KEY}, "apiv3_key_file", id="apiv3-key-in-its-path"),
    pytest.param({"merchant_serial_no": PEM}, "merchant_serial_no", id="pem-in-a-header-value"),
]


@pytest.mark.parametrize(("values", "key"), HOSTILE_VALUES)
def test_key_material_in_a_config_is_refused_and_never_echoed(
    tmp_path: Path, values: dict[str, str], key: str
) -> None:
    path = write_config(tmp_path, **values)
    args = ("--config", str(path))
    result = run(*args, "show", "1000000013", "1000000013002", expect=CONFIG_EXIT)
    assert result.stderr.count("\n") == 1, result.stderr
    assert f"{key} in profile 'p' of {path} holds key material" in result.stderr
    assert_never_echoed(result.stdout + result.stderr)

    doctor = run(*args, "doctor", "-o", "json", expect=CONFIG_EXIT)
    report = json.loads(doctor.stdout)
    (check,) = [c for c in report["checks"] if c["name"] == "config"]
    assert check["status"] == "fail"
    assert "holds key material" in check["detail"]
    assert_never_echoed(doctor.stdout + doctor.stderr)

    shown = run(*args, "profile", "show", "p", "-o", "json", expect=CONFIG_EXIT)
    assert_never_echoed(shown.stdout + shown.stderr)
    listed = run(*args, "profile", "list", "-o", "json", expect=CONFIG_EXIT)
    assert_never_echoed(listed.stdout + listed.stderr)


def test_a_file_named_like_an_apiv3_key_is_a_file(tmp_path: Path) -> None:
    # Thirty-two letters and digits that name an existing file are a path after all.
    (tmp_path / APIV3_KEY).write_text(APIV3_KEY)
    (tmp_path / APIV3_KEY).chmod(0o600)
    path = write_config(tmp_path, apiv3_key_file=APIV3_KEY)
    assert config.resolve(Flags(config=path), {}).apiv3_key_file == tmp_path / APIV3_KEY
