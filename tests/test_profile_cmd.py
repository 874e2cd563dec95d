"""`wxbudget profile init|list|show|remove`: the file written, the checks before writing, no key
material ever printed, and the interactive path on a real pseudo-terminal."""

from __future__ import annotations

import hashlib
import json
import shutil
import stat
import tomllib
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from tests.helpers.cli import converse, run
from wxbudget import config, signing
from wxbudget.config import Flags
from wxbudget.sandbox import RunningSandbox
from wxbudget.settings import DEFAULT_BASE_URL

DATA = Path(__file__).parent / "data"
PUBLIC_KEY_ID = "PUB_KEY_ID_0000000000000024101100397200000006"
SERIAL_NO = "1DDE55AD98ED71D6EDD4A4A16996DE7B47773A8C"


@pytest.fixture
def keys(tmp_path: Path) -> Path:
    """The golden key pair: private.pem (0600), loose.pem (0644, same key), public.pem."""
    folder = tmp_path / "keys"
    folder.mkdir()
    for name, source, mode in (
        ("private.pem", "golden_private_key.pem", 0o600),
        ("loose.pem", "golden_private_key.pem", 0o644),
        ("public.pem", "golden_public_key.pem", 0o644),
    ):
        shutil.copy(DATA / source, folder / name)
        (folder / name).chmod(mode)
    (folder / "garbage.pem").write_text("-----BEGIN PUBLIC KEY-----\nnot a key\n")
    return folder


def partner_flags(keys: Path, **overrides: str | None) -> list[str]:
    values: dict[str, str | None] = {
        "--mchid": "1900000001",
        "--merchant-serial-no": SERIAL_NO,
        "--private-key-file": str(keys / "private.pem"),
        "--wechatpay-public-key-id": PUBLIC_KEY_ID,
        "--wechatpay-public-key-file": str(keys / "public.pem"),
    }
    values.update(overrides)
    return [part for flag, value in values.items() if value is not None for part in (flag, value)]


def init(path: Path, name: str, *flags: str, expect: int = 0) -> str:
    return run("profile", "init", name, "--config", str(path), *flags, expect=expect).stderr


def document(path: Path) -> dict[str, Any]:
    return tomllib.loads(path.read_text())


def sandbox_profile(sandbox: RunningSandbox, name: str) -> dict[str, str]:
    profile: dict[str, str] = tomllib.loads(sandbox.config_path.read_text())["profiles"][name]
    return profile


def test_init_with_every_flag_writes_a_private_file_that_resolves_and_works(
    sandbox: RunningSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    values = sandbox_profile(sandbox, "sandbox")
    path = tmp_path / "fresh" / "wxbudget" / "config.toml"
    init(
        path,
        "mine",
        "--kind",
        "partner",
        "--mchid",
        values["mchid"],
        "--merchant-serial-no",
        values["merchant_serial_no"],
        "--private-key-file",
        str(sandbox.home / "keys" / "merchant_private_key.pem"),
        "--merchant-cert-file",
        str(sandbox.home / "keys" / "merchant_cert.pem"),
        "--wechatpay-public-key-id",
        values["wechatpay_public_key_id"],
        "--wechatpay-public-key-file",
        str(sandbox.home / "keys" / "wechatpay_public_key.pem"),
        "--brand-id",
        "120344",
        "--base-url",
        sandbox.base_url,
        "--timeout",
        "5",
        "--max-retries",
        "1",
        "--rate-limit",
        "0",
        "--audit-log",
        "audit.jsonl",
    )
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert not [entry for entry in path.parent.iterdir() if entry != path]  # no temp left
    assert document(path)["default_profile"] == "mine"  # the first profile of a new file
    settings = config.resolve(Flags(config=path, profile="mine"), {})
    assert (settings.mchid, settings.base_url, settings.timeout) == (
        "1900000001",
        sandbox.base_url,
        5,
    )
    assert (settings.max_retries, settings.rate_limit) == (1, 0)
    # A relative path means where it was typed (the current folder), stored absolute.
    assert settings.audit_log == tmp_path / "audit.jsonl"
    assert document(path)["profiles"]["mine"]["audit_log"] == str(tmp_path / "audit.jsonl")
    shown = run("show", "1000000013", "1000000013001", "-p", "mine", "--config", str(path))
    assert "1000000013001" in shown.stdout


def test_init_keeps_other_profiles_and_the_default_and_default_moves_it(
    sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Typed from the sandbox's folder: relative paths mean that folder (issue 10).
    monkeypatch.chdir(sandbox.home)
    before = document(sandbox.config_path)
    brand = sandbox_profile(sandbox, "sandbox-brand")
    flags = [
        "--kind",
        "brand",
        "--brand-id",
        brand["brand_id"],
        "--brand-serial-no",
        brand["brand_serial_no"],
        "--private-key-file",
        "keys/brand_private_key.pem",
        "--wechatpay-public-key-id",
        brand["wechatpay_public_key_id"],
        "--wechatpay-public-key-file",
        "keys/brand_wechatpay_public_key.pem",
        "--base-url",
        sandbox.base_url,
    ]
    init(sandbox.config_path, "mybrand", *flags)
    after = document(sandbox.config_path)
    assert after["default_profile"] == "sandbox"
    profiles = after["profiles"]
    assert isinstance(profiles, dict)
    assert {name: profiles[name] for name in before["profiles"]} == before["profiles"]
    # A relative path means the folder it was typed in; it is stored absolute.
    assert profiles["mybrand"]["private_key_file"] == str(
        sandbox.home / "keys" / "brand_private_key.pem"
    )
    settings = config.resolve(Flags(config=sandbox.config_path, profile="mybrand"), {})
    assert (settings.kind, settings.identity, settings.serial_no) == (
        "brand",
        brand["brand_id"],
        brand["brand_serial_no"],
    )
    listed = json.loads(run("profile", "list", "-o", "json").stdout)
    assert {"name": "mybrand", "kind": "brand", "identity": brand["brand_id"]}.items() <= next(
        row for row in listed if row["name"] == "mybrand"
    ).items()
    run("show", "1000000013", "1000000013001", "-p", "mybrand")

    init(sandbox.config_path, "mybrand", *flags, "--force", "--default")
    assert document(sandbox.config_path)["default_profile"] == "mybrand"


def test_a_second_profile_pins_the_implicit_default(tmp_path: Path, keys: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[profiles.only]\n" + _toml_profile(keys))
    init(path, "second", *partner_flags(keys))
    assert document(path)["default_profile"] == "only"
    assert config.resolve(Flags(config=path), {}).profile == "only"


def test_replacing_needs_force(tmp_path: Path, keys: Path) -> None:
    path = tmp_path / "config.toml"
    init(path, "prod", *partner_flags(keys))
    original = path.read_bytes()
    stderr = init(path, "prod", *partner_flags(keys, **{"--mchid": "222"}), expect=2)
    assert "already exists" in stderr
    assert "--force" in stderr
    assert path.read_bytes() == original
    assert "replaced profile 'prod'" in init(
        path, "prod", *partner_flags(keys, **{"--mchid": "222"}), "--force"
    )
    assert config.resolve(Flags(config=path), {}).mchid == "222"


@pytest.mark.parametrize(
    ("flags", "named"),
    [
        (["--mchid", "1900000001"], ["--merchant-serial-no", "--private-key-file", "--wechatpay"]),
        (["--kind", "brand"], ["--brand-id", "--brand-serial-no", "--wechatpay-public-key-id"]),
        (["--apiv3-key-file", "k"], ["--platform-cert-dir"]),
    ],
)
def test_missing_keys_without_a_terminal_exit_2_naming_them(
    tmp_path: Path, flags: list[str], named: list[str]
) -> None:
    path = tmp_path / "config.toml"
    stderr = init(path, "prod", *flags, expect=2)
    for flag in named:
        assert flag in stderr
    assert "no terminal" in stderr
    assert not path.exists()


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"--wechatpay-public-key-file": "garbage.pem"}, "not a PEM RSA public key"),
        ({"--private-key-file": "loose.pem"}, "chmod 600"),
        ({"--private-key-file": "absent.pem"}, "does not exist"),
        ({"--wechatpay-public-key-id": "0000000000000024101100397200000006"}, "PUB_KEY_ID_"),
        ({"--mchid": "19000 00001"}, "digits"),
        ({"--base-url": "http://example.com"}, "plain http"),
        ({"--timeout": "0"}, "timeout"),
    ],
)
def test_a_bad_profile_is_exit_3_and_nothing_is_written(
    tmp_path: Path,
    keys: Path,
    override: dict[str, str],
    message: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(keys.parent)  # relative paths are typed from here
    path = keys.parent / "config.toml"
    init(path, "good", *partner_flags(keys))
    original = path.read_bytes()
    entries = sorted(keys.parent.iterdir())
    relative = {
        flag: f"keys/{value}" if value.endswith(".pem") else value
        for flag, value in override.items()
    }
    stderr = init(path, "bad", *partner_flags(keys, **relative), expect=3)
    assert message in stderr
    assert stderr.count("\n") == 1
    assert path.read_bytes() == original
    assert sorted(keys.parent.iterdir()) == entries  # no temp file left behind


def test_key_material_is_never_accepted(tmp_path: Path, keys: Path) -> None:
    path = tmp_path / "config.toml"
    pem = (keys / "private.pem").read_text()
    stderr = init(path, "p", *partner_flags(keys, **{"--private-key-file": pem}), expect=2)
    assert "key material" in stderr
    assert "PRIVATE" not in stderr
    # An APIv3 key typed where its file belongs: refused, not stored and not echoed.
    apiv3 = ["--apiv3-key-file", "0123456789abcdef0123456789abcdef", "--platform-cert-dir", "c"]
    stderr = init(path, "p", *partner_flags(keys), *apiv3, expect=2)
    assert "key material" in stderr
    assert "0123456789abcdef" not in stderr
    assert not path.exists()
    (keys / "apiv3.txt").write_text("0123456789abcdef0123456789abcdef")
    (keys / "apiv3.txt").chmod(0o600)
    init(path, "p", *partner_flags(keys), "--apiv3-key-file", str(keys / "apiv3.txt"), *apiv3[2:])
    assert config.resolve(Flags(config=path), {}).apiv3_key_file == keys / "apiv3.txt"


def test_list_marks_the_default_and_speaks_json(
    tmp_path: Path, keys: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "config.toml"
    init(path, "a", *partner_flags(keys, **{"--mchid": "111"}))
    init(path, "b", *partner_flags(keys, **{"--mchid": "222"}), "--base-url", "http://127.0.0.1:9")
    monkeypatch.setenv("WXBUDGET_CONFIG", str(path))
    table = run("profile", "list").stdout
    rows = [
        [cell.strip() for cell in line.split("│")[1:-1]]
        for line in table.splitlines()
        if line.startswith("│")
    ]
    assert rows == [
        ["*", "a", "partner (service provider)", "111", DEFAULT_BASE_URL],
        ["", "b", "partner (service provider)", "222", "http://127.0.0.1:9"],
    ]
    listed = json.loads(run("profile", "list", "-o", "json").stdout)
    assert listed == [
        {
            "name": "a",
            "kind": "partner",
            "identity": "111",
            "base_url": DEFAULT_BASE_URL,
            "default": True,
        },
        {
            "name": "b",
            "kind": "partner",
            "identity": "222",
            "base_url": "http://127.0.0.1:9",
            "default": False,
        },
    ]


def test_list_without_a_config_says_so_and_starts_no_sandbox(isolated_environment: Path) -> None:
    listed = run("profile", "list")
    assert "no profiles" in listed.stderr
    assert "wxbudget profile init" in listed.stderr
    assert json.loads(run("profile", "list", "-o", "json").stdout) == []
    assert not (isolated_environment / ".local" / "share" / "wxbudget").exists()
    assert "does not exist" in run("profile", "show", expect=3).stderr


def test_show_prints_fingerprints_and_never_key_material(tmp_path: Path, keys: Path) -> None:
    path = tmp_path / "config.toml"
    init(path, "prod", *partner_flags(keys))
    public_key = serialization.load_pem_public_key((keys / "public.pem").read_bytes())
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    fingerprint = hashlib.sha256(der).hexdigest()
    table = run("profile", "show", "prod", "--config", str(path))
    as_json = run("profile", "show", "--config", str(path), "-o", "json")
    report = json.loads(as_json.stdout)
    files = report["files"]
    # The golden private key is the pair of the golden public key: same fingerprint.
    assert files["private_key_file"]["sha256_fingerprint"] == fingerprint
    assert files["wechatpay_public_key_file"]["sha256_fingerprint"] == fingerprint
    assert files["private_key_file"]["mode"] == "0600"
    assert report["keys"]["wechatpay_public_key_id"] == PUBLIC_KEY_ID
    assert report["keys"]["private_key_file"] == str(keys / "private.pem")
    assert fingerprint in table.stdout
    assert PUBLIC_KEY_ID in table.stdout
    private_numbers = signing.load_private_key(
        (keys / "private.pem").read_bytes()
    ).private_numbers()
    secrets = [str(private_numbers.d), f"{private_numbers.d:x}", f"{private_numbers.p:x}"]
    for output in (table, as_json):
        text = output.stdout + output.stderr
        assert "BEGIN" not in text
        for key_file in ("private.pem", "public.pem"):
            for line in (keys / key_file).read_text().splitlines():
                if not line.startswith("-----"):
                    assert line not in text
        for secret in secrets:
            assert secret[:16] not in text


def test_show_reports_a_loose_private_key_without_its_content(tmp_path: Path, keys: Path) -> None:
    path = tmp_path / "config.toml"
    init(path, "prod", *partner_flags(keys))
    (keys / "private.pem").chmod(0o644)
    report = json.loads(run("profile", "show", "--config", str(path), "-o", "json").stdout)
    assert report["files"]["private_key_file"]["mode"] == "0644"
    assert "chmod 600" in report["files"]["private_key_file"]["problem"]
    (keys / "public.pem").unlink()
    table = run("profile", "show", "--config", str(path)).stdout
    assert "does not exist" in table


def test_remove_with_yes_clears_the_default(tmp_path: Path, keys: Path) -> None:
    path = tmp_path / "config.toml"
    init(path, "a", *partner_flags(keys))
    init(path, "b", *partner_flags(keys))
    assert "pass --yes" in run("profile", "remove", "a", "--config", str(path), expect=2).stderr
    assert set(document(path)["profiles"]) == {"a", "b"}
    removed = run("profile", "remove", "a", "--config", str(path), "--yes")
    assert "default_profile was 'a'" in removed.stderr
    after = document(path)
    assert "default_profile" not in after
    assert set(after["profiles"]) == {"b"}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # One profile left: it is selected without a default_profile.
    assert config.resolve(Flags(config=path), {}).profile == "b"


def test_remove_a_missing_profile_is_exit_3_listing_those_there(tmp_path: Path, keys: Path) -> None:
    path = tmp_path / "config.toml"
    init(path, "a", *partner_flags(keys))
    init(path, "b", *partner_flags(keys))
    stderr = run("profile", "remove", "nope", "--config", str(path), "--yes", expect=3).stderr
    assert "profile 'nope' is not in" in stderr
    assert "profiles there: a, b" in stderr


def test_rewriting_a_commented_file_says_the_comments_are_gone(tmp_path: Path, keys: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('# my notes\n[profiles.a]\nbase_url = "https://x.example/#frag"\n')
    stderr = run("profile", "remove", "a", "--config", str(path), "--yes").stderr
    assert "comments" in stderr
    path.write_text('[profiles.a]\nbase_url = "https://x.example/#frag"\n')
    assert "comments" not in run("profile", "remove", "a", "--config", str(path), "--yes").stderr


def _toml_profile(keys: Path) -> str:
    return (
        f'mchid = "1900000001"\nmerchant_serial_no = "{SERIAL_NO}"\n'
        f'private_key_file = "{keys / "private.pem"}"\n'
        f'wechatpay_public_key_id = "{PUBLIC_KEY_ID}"\n'
        f'wechatpay_public_key_file = "{keys / "public.pem"}"\n'
    )


@pytest.mark.slow
def test_init_on_a_terminal_asks_for_what_is_missing_and_re_asks(
    tmp_path: Path, keys: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the relative paths below are typed from here
    path = tmp_path / "config.toml"
    status, output = converse(
        ["profile", "init", "tty", "--config", str(path), "--mchid", "1900000001"],
        [
            (b"merchant_serial_no = ", SERIAL_NO.encode() + b"\n"),
            (b"private_key_file = ", b"keys/loose.pem\n"),
            (b"run: chmod 600", b""),
            (b"private_key_file = ", b"keys/private.pem\n"),
            (b"wechatpay_public_key_id = ", b"KEY_ID_1\n"),
            (b"must start with PUB_KEY_ID_", b""),
            (b"wechatpay_public_key_id = ", PUBLIC_KEY_ID.encode() + b"\n"),
            (b"wechatpay_public_key_file = ", b"keys/public.pem\n"),
            # A partner's default brand: optional, but asked, so the first `show` works.
            (b"brand_id = ", b"120344\n"),
            # The language is asked on a terminal too (Enter would follow the environment).
            (b"language = ", b"fr\n"),
            (b"must be zh", b""),
            (b"language = ", b"zh\n"),
        ],
    )
    assert status == 0, output
    assert "WeChat Pay public key id" in output  # each key is explained before it is asked
    assert "added profile 'tty'" in output
    stored = document(path)["profiles"]["tty"]
    assert stored["private_key_file"] == str(keys / "private.pem")
    assert stored["brand_id"] == "120344"
    assert stored["language"] == "zh"
    assert stored["wechatpay_public_key_id"] == PUBLIC_KEY_ID
    assert config.resolve(Flags(config=path), {}).serial_no == SERIAL_NO
