"""Profiles: precedence, and every refusal with exit 3 and one line."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path

import pytest
import tomli_w

from wxbudget import config
from wxbudget.config import Flags
from wxbudget.errors import ConfigError, ExitCode
from wxbudget.limits import LIMIT_KEYS
from wxbudget.settings import PROFILE_KEYS

DATA = Path(__file__).parent / "data"
PUBLIC_KEY_ID = "PUB_KEY_ID_0000000000000024101100397200000006"


def profile(**overrides: object) -> dict[str, object]:
    values: dict[str, object] = {
        "mchid": "1900000001",
        "merchant_serial_no": "1DDE55AD98ED71D6EDD4A4A16996DE7B47773A8C",
        "private_key_file": "keys/private.pem",
        "wechatpay_public_key_id": PUBLIC_KEY_ID,
        "wechatpay_public_key_file": "keys/public.pem",
        "brand_id": "120344",
    }
    values.update(overrides)
    return {k: v for k, v in values.items() if v is not None}


def write_config(folder: Path, document: Mapping[str, object]) -> Path:
    keys = folder / "keys"
    keys.mkdir(parents=True, exist_ok=True)
    shutil.copy(DATA / "golden_private_key.pem", keys / "private.pem")
    (keys / "private.pem").chmod(0o600)
    shutil.copy(DATA / "golden_public_key.pem", keys / "public.pem")
    path = folder / "config.toml"
    path.write_text(tomli_w.dumps(document))
    return path


TWO_PROFILES = {
    "default_profile": "a",
    "profiles": {"a": profile(mchid="111111"), "b": profile(mchid="222222")},
}


@pytest.mark.parametrize(
    ("flag", "env_var", "xdg", "expected"),
    [
        ("flag.toml", "env.toml", "/xdg", "flag.toml"),
        (None, "env.toml", "/xdg", "env.toml"),
        (None, None, "/xdg", "/xdg/wxbudget/config.toml"),
        (None, None, None, "~/.config/wxbudget/config.toml"),
    ],
)
def test_config_file_precedence(
    flag: str | None, env_var: str | None, xdg: str | None, expected: str
) -> None:
    env = {}
    if env_var:
        env["WXBUDGET_CONFIG"] = env_var
    if xdg:
        env["XDG_CONFIG_HOME"] = xdg
    path, named = config.locate(Flags(config=Path(flag) if flag else None), env)
    assert path == Path(expected).expanduser()
    assert named is bool(flag or env_var)


@pytest.mark.parametrize(
    ("flag", "env_var", "expected_mchid"),
    [("b", "a", "222222"), (None, "b", "222222"), (None, None, "111111")],
)
def test_profile_precedence(
    tmp_path: Path, flag: str | None, env_var: str | None, expected_mchid: str
) -> None:
    path = write_config(tmp_path, TWO_PROFILES)
    env = {"WXBUDGET_PROFILE": env_var} if env_var else {}
    settings = config.resolve(Flags(config=path, profile=flag), env)
    assert settings.mchid == expected_mchid


def test_brand_id_flag_overrides_profile(tmp_path: Path) -> None:
    path = write_config(tmp_path, TWO_PROFILES)
    assert config.resolve(Flags(config=path), {}).brand_id == "120344"
    assert config.resolve(Flags(config=path, brand_id="999"), {}).brand_id == "999"


def test_single_profile_needs_no_default(tmp_path: Path) -> None:
    path = write_config(tmp_path, {"profiles": {"only": profile()}})
    assert config.resolve(Flags(config=path), {}).profile == "only"


def test_defaults_and_relative_paths(tmp_path: Path) -> None:
    path = write_config(tmp_path, {"profiles": {"p": profile()}})
    settings = config.resolve(Flags(config=path), {})
    assert settings.base_url == "https://api.mch.weixin.qq.com"
    assert settings.timeout == 10.0
    assert settings.private_key_file == tmp_path / "keys" / "private.pem"


def test_tilde_paths_expand(tmp_path: Path, isolated_environment: Path) -> None:
    path = write_config(tmp_path, {"profiles": {"p": profile(private_key_file="~/k.pem")}})
    shutil.copy(tmp_path / "keys" / "private.pem", isolated_environment / "k.pem")
    (isolated_environment / "k.pem").chmod(0o600)
    assert config.resolve(Flags(config=path), {}).private_key_file == isolated_environment / "k.pem"


def refusal(path: Path, flags: Flags | None = None, env: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as caught:
        config.resolve(flags or Flags(config=path), env or {})
    assert caught.value.exit_code is ExitCode.CONFIG
    line = caught.value.line()
    assert "\n" not in line
    return line


def test_bad_toml_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('default_profile = "a"\n[profiles.a]\nmchid = 19\nbroken = \n')
    line = refusal(path)
    assert str(path) in line
    assert "line 4" in line


def test_unknown_key_suggests_the_closest(tmp_path: Path) -> None:
    path = write_config(tmp_path, {"profiles": {"p": profile(mch_id="1")}})
    assert "unknown key 'mch_id'" in refusal(path)
    assert "did you mean 'mchid'?" in refusal(path)


def test_unknown_top_level_key(tmp_path: Path) -> None:
    path = write_config(tmp_path, {"defualt_profile": "p", "profiles": {"p": profile()}})
    assert "did you mean 'default_profile'?" in refusal(path)


def test_missing_profile_lists_existing(tmp_path: Path) -> None:
    path = write_config(tmp_path, TWO_PROFILES)
    line = refusal(path, Flags(config=path, profile="prod"))
    assert "profile 'prod' is not in" in line
    assert "profiles there: a, b" in line


def test_missing_config_named_explicitly(tmp_path: Path) -> None:
    assert "does not exist" in refusal(tmp_path / "nope.toml")


def test_missing_required_key(tmp_path: Path) -> None:
    path = write_config(tmp_path, {"profiles": {"p": profile(mchid=None)}})
    assert "lacks required key 'mchid'" in refusal(path)


def test_non_string_mchid(tmp_path: Path) -> None:
    path = write_config(tmp_path, {"profiles": {"p": profile(mchid=1900000001)}})
    assert f"mchid in profile 'p' of {path} must be a non-empty string in quotes" in refusal(path)


@pytest.mark.parametrize("key", ["private_key_file", "wechatpay_public_key_file", "audit_log"])
def test_a_nul_character_in_a_value_is_refused_in_one_line(tmp_path: Path, key: str) -> None:
    path = write_config(tmp_path, {"profiles": {"p": profile(**{key: "keys/\x00.pem"})}})
    assert refusal(path).endswith(
        f"{key} in profile 'p' of {path} contains a NUL character (\\0); remove it"
    )


def test_missing_key_file(tmp_path: Path) -> None:
    path = write_config(tmp_path, {"profiles": {"p": profile(private_key_file="keys/none.pem")}})
    assert "none.pem does not exist" in refusal(path)


def test_unparsable_private_key(tmp_path: Path) -> None:
    path = write_config(tmp_path, {"profiles": {"p": profile()}})
    (tmp_path / "keys" / "private.pem").write_text("not a key")
    assert "is not an unencrypted PEM RSA private key" in refusal(path)


def test_unparsable_public_key(tmp_path: Path) -> None:
    path = write_config(tmp_path, {"profiles": {"p": profile()}})
    (tmp_path / "keys" / "public.pem").write_text("not a key")
    assert "is not a PEM RSA public key" in refusal(path)


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644])
def test_private_key_readable_by_others(tmp_path: Path, mode: int) -> None:
    path = write_config(tmp_path, {"profiles": {"p": profile()}})
    key = tmp_path / "keys" / "private.pem"
    key.chmod(mode)
    assert f"run: chmod 600 {key}" in refusal(path)


def test_public_key_id_prefix(tmp_path: Path) -> None:
    path = write_config(tmp_path, {"profiles": {"p": profile(wechatpay_public_key_id="ABC")}})
    assert "must start with PUB_KEY_ID_" in refusal(path)


PLAIN_HTTP = "uses plain http to a non-loopback host; use https://"
NOT_HTTPS = "must be an https:// URL"


@pytest.mark.parametrize(
    ("base_url", "problem"),
    [
        ("https://api2.mch.weixin.qq.com", None),
        ("http://127.0.0.1:8080", None),
        ("http://localhost:1", None),
        ("http://[::1]:9", None),
        ("http://api.mch.weixin.qq.com", PLAIN_HTTP),
        ("http://10.0.0.1", PLAIN_HTTP),
        ("ftp://x", NOT_HTTPS),
        ("not a url", NOT_HTTPS),
        # urlsplit reads 127.0.0.1, urllib3 (which connects) evil.example: refused.
        ("http://evil.example\\@127.0.0.1", f"{NOT_HTTPS}: it holds a backslash"),
        ("https://api.mch.weixin.qq.com@evil.example", f"{NOT_HTTPS}: it holds user information"),
        ("http://127.0.0.1:8080/?next=evil", f"{NOT_HTTPS}: it holds a query"),
        ("https://api.mch.weixin.qq.com#x", f"{NOT_HTTPS}: it holds a fragment"),
        ("https://api.mch.weixin.qq.com/%2e%2e", f"{NOT_HTTPS}: its path holds characters"),
        ("https://api.mch.weixin.qq.com /v3", f"{NOT_HTTPS}: it holds whitespace"),
    ],
)
def test_base_url_must_be_https_unless_loopback(
    tmp_path: Path, base_url: str, problem: str | None
) -> None:
    path = write_config(tmp_path, {"profiles": {"p": profile(base_url=base_url)}})
    if problem is None:
        assert config.resolve(Flags(config=path), {}).base_url == base_url
    else:
        assert f"base_url {base_url!r} in profile 'p' of {path} {problem}" in refusal(path)


def test_base_url_is_rebuilt_from_what_urllib3_parsed(tmp_path: Path) -> None:
    path = write_config(
        tmp_path, {"profiles": {"p": profile(base_url="HTTPS://API.mch.weixin.qq.com:443/")}}
    )
    assert config.resolve(Flags(config=path), {}).base_url == "https://api.mch.weixin.qq.com:443"


@pytest.mark.parametrize("timeout", [0, -1, "10", True, 1e308, 601, 0.0009])
def test_bad_timeout(tmp_path: Path, timeout: object) -> None:
    path = write_config(tmp_path, {"profiles": {"p": profile(timeout=timeout)}})
    assert refusal(path).endswith(
        f"timeout in profile 'p' of {path} must be a number of seconds from 0.001 to 600, e.g. 10"
    )


@pytest.mark.parametrize("retries", [-1, 11, 99999999999999999999, "3", True])
def test_bad_max_retries(tmp_path: Path, retries: object) -> None:
    path = write_config(tmp_path, {"profiles": {"p": profile(max_retries=retries)}})
    assert refusal(path).endswith(
        f"max_retries in profile 'p' of {path} must be a whole number from 0 to 10 "
        "(0 disables retries)"
    )


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (Flags(timeout=1e308), "--timeout 1e+308 is outside 0.001..600 seconds"),
        (Flags(timeout=0), "--timeout 0 is outside 0.001..600 seconds"),
        (Flags(max_retries=10**22), "--max-retries 1000000000... is outside 0..10"),
        (Flags(max_retries=-1), "--max-retries -1 is outside 0..10"),
    ],
)
def test_flags_out_of_range_are_usage_errors(tmp_path: Path, flags: Flags, message: str) -> None:

    from wxbudget.errors import UsageError

    path = write_config(tmp_path, {"profiles": {"p": profile()}})
    with pytest.raises(UsageError) as caught:
        config.resolve(flags._replace(config=path), {})
    assert message in caught.value.message
    assert caught.value.exit_code is ExitCode.USAGE


def test_no_profile_selected_with_several(tmp_path: Path) -> None:
    path = write_config(tmp_path, {"profiles": {"a": profile(), "b": profile()}})
    assert "no profile selected" in refusal(path)


def test_missing_brand_id_is_a_config_error(tmp_path: Path) -> None:
    path = write_config(tmp_path, {"profiles": {"p": profile(brand_id=None)}})
    settings = config.resolve(Flags(config=path), {})
    with pytest.raises(ConfigError, match="pass --brand-id"):
        settings.require_brand_id()


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("mchid", "商户1900"),
        ("mchid", "19 00"),
        ("merchant_serial_no", "not-hex"),
        ("wechatpay_public_key_id", 'PUB_KEY_ID_1",x="2'),
    ],
)
def test_header_values_must_be_plain_tokens(tmp_path: Path, key: str, value: str) -> None:
    path = write_config(tmp_path, {"profiles": {"p": profile(**{key: value})}})
    assert f"{key} {value!r}" in refusal(path)


def test_example_config_names_every_profile_key_and_loads() -> None:
    example = Path(__file__).parent.parent / "config.example.toml"
    document = config.load(example)  # unknown keys or bad TOML would raise
    used = {key for profile in document["profiles"].values() for key in profile}
    assert used == set(PROFILE_KEYS)
    limits = {key for profile in document["profiles"].values() for key in profile.get("limits", {})}
    assert limits == set(LIMIT_KEYS)
    assert set(document) == set(config.TOP_LEVEL_KEYS)
