"""简体中文 through the installed script: the README's commands with LANG=zh_CN.UTF-8 (the words
they must show; tests/test_readme_in_chinese.py runs every README example in both languages and
compares exit codes and machine output), a refusal (exit 4), conflicts (exit 5), prompts on a
pseudo-terminal, WXBUDGET_LANG=en over the locale, the -v trace, completion and profile hints."""

from __future__ import annotations

import os
import re
import socket
import subprocess
from pathlib import Path

import pytest

from tests.helpers.cli import converse
from tests.helpers.cli import script as wxbudget
from tests.helpers.sandboxes import PristineHomes
from tests.test_readme_in_chinese import untranslated
from wxbudget.sandbox import RunningSandbox

CHINESE = {"LANG": "zh_CN.UTF-8"}
OVERRIDDEN = CHINESE | {"WXBUDGET_LANG": "en"}
COUPON = "1000000013"
SENDING = "1000000013002"  # SENDING, total 50,000, daily 5,000
STOPPED = "1000000013004"
GENERATED_NUMBER = re.compile(r"wxb-[0-9]{14}-[0-9a-f]{16}")
# Words that only the English interface prints: none may be left in a Chinese run.
ENGLISH_ONLY = (
    "error:",
    "warning:",
    "nothing was sent",
    "Usage:",
    "stocks of coupon",
    " of coupon ",
)


def chinese(*args: str, expect: int = 0) -> tuple[str, str]:
    result = wxbudget(*args, expect=expect, env=CHINESE)
    for words in ENGLISH_ONLY:
        assert words not in result.stdout + result.stderr, (args, words, result.stderr)
    machine = any(word in ("json", "csv") for word in args)
    assert untranslated(result.stderr + ("" if machine else result.stdout)) == [], args
    return result.stdout, result.stderr


# The README's command examples, in Chinese --------------------------------------------------


@pytest.mark.parametrize(
    ("args", "shown"),
    [
        (["show", COUPON, "1000000013001"], "发放次数总上限（max_count）"),
        (["show", COUPON, "1000000013001", SENDING], "商品券 1000000013 的 2 个批次"),
        (["list", COUPON], "商品券 1000000013 的 7 个批次"),
        (["list", COUPON, "--state", "SENDING"], "发放中 SENDING"),
        (["bundle", "show", "1000000014", "712315129419284901"], "批次组 712315129419284901"),
        (["profile", "list"], "中的配置"),
    ],
)
def test_readme_reads_in_chinese(args: list[str], shown: str, sandbox: RunningSandbox) -> None:
    stdout, _stderr = chinese(*args)
    assert shown in stdout


def test_readme_set_max_preview_change_and_history_in_chinese(sandbox: RunningSandbox) -> None:
    _stdout, stderr = chinese("set-max", COUPON, SENDING, "-10%", "--dry-run")
    assert "批次 1000000013002（商品券 1000000013，发放中 SENDING）：发放次数总上限" in stderr
    assert "50,000 -> 45,000 (-5,000, -10.0%)" in stderr
    assert "试运行：未发送任何请求；请求体将是：" in stderr
    stdout, stderr = chinese("set-max", COUPON, SENDING, "+500", "--yes")
    assert "完成：批次 1000000013002 的发放次数总上限现为 50,500" in stderr
    assert "50,500  （原为 50,000）" in stdout
    stdout, _stderr = chinese("history")
    assert "预算修改记录" in stdout
    assert "已生效，退出码 0" in stdout


def test_readme_check_apply_and_doctor_in_chinese(sandbox: RunningSandbox, tmp_path: Path) -> None:
    stdout, _stderr = chinese(
        "check", COUPON, "--min-remaining", "10%", "--state", "SENDING", expect=9
    )
    assert "低于阈值" in stdout
    assert "状态为 已暂停 PAUSED，不是 SENDING" in stdout
    plan = tmp_path / "plan.csv"
    plan.write_text(
        "product_coupon_id,stock_id,max_count,max_count_per_day\n"
        f"{COUPON},{SENDING},+10,\n"
        f"{COUPON},{STOPPED},+10,\n"
    )
    stdout, stderr = chinese("apply", str(plan), "--dry-run")
    assert "计划：" in stdout
    assert "被拒绝" in stdout
    assert "计划中有 1 个修改将被拒绝（见列表）" in stderr
    stdout, _stderr = chinese("doctor")
    assert "语言：中文（zh），由 LANG=zh_CN.UTF-8 决定" in stdout
    assert "通过" in stdout


# Refusals and conflicts ---------------------------------------------------------------------


def test_a_refusal_exit_4_in_chinese_and_english(sandbox: RunningSandbox) -> None:
    _stdout, stderr = chinese("set-max", COUPON, STOPPED, "+10", "--yes", expect=4)
    assert (
        "错误：批次 1000000013004 的状态是 已停止 STOPPED：已过期或已失效的批次不能修改" in stderr
    )
    english = wxbudget("set-max", COUPON, STOPPED, "+10", "--yes", expect=4, env=OVERRIDDEN)
    assert (
        "error: stock 1000000013004 is STOPPED: an expired or deactivated stock" in english.stderr
    )


def test_a_conflict_exit_5_in_chinese_and_english(sandbox: RunningSandbox) -> None:
    args = ["set-max", COUPON, SENDING, "+10", "--expect-current", "49999", "--yes"]
    _stdout, stderr = chinese(*args, expect=5)
    assert "的发放次数总上限是 50000，不是 --expect-current 指定的 49999；未发送任何请求" in stderr
    english = wxbudget(*args, expect=5, env=OVERRIDDEN)
    assert "error: stock 1000000013002's total cap is 50000, not 49999" in english.stderr


def test_an_undo_of_a_cap_changed_since_is_a_conflict_in_chinese(sandbox: RunningSandbox) -> None:
    number = "raise-zh-1"
    wxbudget("set-max", COUPON, SENDING, "+10", "--yes", "--out-request-no", number, env=CHINESE)
    wxbudget("set-max", COUPON, SENDING, "+5", "--yes", env=CHINESE)
    _stdout, stderr = chinese("undo", number, "--yes", expect=5)
    assert "批次 1000000013002 的发放次数总上限现为 50,015，不是 out_request_no" in stderr
    assert "撤销会覆盖那次修改；未发送任何请求" in stderr


# Prompts on a terminal ----------------------------------------------------------------------


def test_the_confirmation_prompt_in_chinese(sandbox: RunningSandbox) -> None:
    status, output = converse(
        ["set-max", COUPON, SENDING, "+1"],
        [("确认执行此修改？ [y/N] ".encode(), b"n\n")],
        env=CHINESE,
    )
    assert status == 2, output
    assert "发放次数总上限 50,000 -> 50,001 (+1, +<0.1%)" in output
    assert "已取消：未发送任何请求" in output
    status, output = converse(
        ["set-max", COUPON, SENDING, "+1"],
        [("确认执行此修改？ [y/N] ".encode(), b"y\n")],
        env=CHINESE,
    )
    assert status == 0, output
    assert "完成：批次 1000000013002 的发放次数总上限现为 50,001" in output


def test_the_prompt_follows_wxbudget_lang_over_the_locale(sandbox: RunningSandbox) -> None:
    status, output = converse(
        ["set-max", COUPON, SENDING, "+1"], [(b"Apply this change? [y/N] ", b"n\n")], env=OVERRIDDEN
    )
    assert status == 2, output
    assert "cancelled: nothing was sent" in output


# Help and usage errors ----------------------------------------------------------------------


def test_help_and_a_usage_error_in_chinese_and_english() -> None:
    stdout, _stderr = chinese("set-max", "--help")
    assert stdout.startswith("用法：wxbudget set-max [选项] ")
    assert "修改批次的发放次数总上限（MAX_COUNT）。" in stdout
    _stdout, stderr = chinese("set-max", COUPON, expect=2)
    assert "错误：缺少参数 'stock_id'。（参见 'wxbudget set-max --help'）" in stderr
    english = wxbudget("set-max", "--help", env=OVERRIDDEN).stdout
    assert english.startswith("Usage: wxbudget set-max [OPTIONS] ")


# The -v trace, completion and profile hints -------------------------------------------------


def test_the_trace_says_its_words_in_chinese_and_shows_the_exchange_verbatim(
    sandbox: RunningSandbox,
) -> None:
    args = ["-v", "show", COUPON, SENDING]
    _stdout, stderr = chinese(*args)
    english = wxbudget(*args, env=OVERRIDDEN).stderr
    assert "第 1 次尝试：" in stderr.splitlines()
    assert "< 验签：通过" in stderr.splitlines()
    (signing,) = [line for line in stderr.splitlines() if line.startswith("> 签名串：")]
    assert signing.startswith('> 签名串："GET\\n/v3/marketing/partner/product-coupon/')
    for words in ("attempt 1:", "signing message", "verification"):
        assert words not in stderr
        assert words in english
    # Headers, the request line, the status and the body: exactly as in English (what differs
    # run to run, nonces, times and signatures, aside).
    assert _exchange(stderr) == _exchange(english)
    assert "> Accept: application/json" in _exchange(stderr)
    assert "< Content-Type: application/json" in _exchange(stderr)


VARYING_IN_TRACE = re.compile(
    r'((?:nonce_str|timestamp)=)"[^"]*"|((?:Wechatpay-(?:Nonce|Timestamp)|Date|Request-ID): ).+'
)


def _exchange(trace: str) -> list[str]:
    words = ("> signing message: ", "< verification: ", "> 签名串：", "< 验签：")
    verbatim = [
        line
        for line in trace.splitlines()
        if line.startswith(("> ", "< ")) and not line.startswith(words)
    ]
    return [VARYING_IN_TRACE.sub(r"\1\2*", line) for line in verbatim]


def test_completion_describes_undoable_changes_in_chinese_on_one_line(
    sandbox: RunningSandbox,
) -> None:
    wxbudget("set-max", COUPON, SENDING, "+5", "--yes", "--out-request-no", "raise-zh-2")
    offered = _complete("fish", "wxbudget undo raise-", CHINESE)
    (line,) = offered.splitlines()
    word, description = line.split("\t")
    assert word == "raise-zh-2"
    assert description.endswith(" 批次 1000000013002：50000 -> 50005")
    english = _complete("fish", "wxbudget undo raise-", OVERRIDDEN)
    assert english.endswith(" stock 1000000013002: 50000 -> 50005\n")
    # Option descriptions: one line each (a wrapped one would be offered as a word of its
    # own), in the user's language, `[limits]` kept.
    words = "wxbudget set-max 1000000013 1000000013002 +1 --"
    for language, limits in ((CHINESE, "突破本配置的 [limits] 限额"), (OVERRIDDEN, "[limits]")):
        lines = _complete("fish", words, language).splitlines()
        assert all(line.startswith("--") and "\t" in line for line in lines), lines
        assert limits in dict(line.split("\t") for line in lines)["--override-limits"]


def _complete(shell: str, words: str, language: dict[str, str]) -> str:
    return wxbudget(
        env=language
        | {
            "_WXBUDGET_COMPLETE": f"complete_{shell}",
            "_TYPER_COMPLETE_ARGS": words,
            "COMP_WORDS": words,
            "COMP_CWORD": str(len(words.split(" ")) - 1),
            "_TYPER_COMPLETE_FISH_ACTION": "get-args",
        }
    ).stdout


def test_a_profile_value_of_the_wrong_kind_is_hinted_in_chinese(tmp_path: Path) -> None:
    keys = ["--private-key-file", str(tmp_path / "k.pem"), "--wechatpay-public-key-id"]
    keys += ["PUB_KEY_ID_1", "--wechatpay-public-key-file", str(tmp_path / "p.pem")]
    serial = ["--merchant-serial-no", "1DDE55AD98ED71D6EDD4A4A16996DE7B47773A8C"]
    _stdout, stderr = chinese("profile", "init", "x", "--mchid", "12a", *serial, *keys, expect=3)
    assert "mchid '12a' 格式应如 \"1900000001\"（数字）" in stderr
    args = ["profile", "init", "x", "--mchid", "12", "--merchant-serial-no", "XYZ", *keys]
    _stdout, stderr = chinese(*args, expect=3)
    assert "（十六进制）" in stderr


def test_install_completion_in_a_shell_it_cannot_serve_says_so_in_chinese(
    isolated_environment: Path,
) -> None:
    from tests.helpers.cli import SCRIPT

    # `sh` runs it as its child (not exec'd: a command list follows), so `sh` is detected.
    completed = subprocess.run(
        ["sh", "-c", f"'{SCRIPT}' --install-completion && echo"],
        capture_output=True,
        text=True,
        env=os.environ | CHINESE,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 1
    assert re.fullmatch(r"不支持 Shell \w+。\n", completed.stderr), completed.stderr
    assert not (isolated_environment / ".bashrc").exists()


def test_the_operating_systems_words_are_translated_too(
    sandbox: RunningSandbox, tmp_path: Path, pristine_homes: PristineHomes
) -> None:
    _stdout, stderr = chinese("apply", str(tmp_path / "nothing.csv"), "--dry-run", expect=2)
    assert stderr.endswith("nothing.csv：没有那个文件或目录\n"), stderr
    english = wxbudget(
        "apply", str(tmp_path / "nothing.csv"), "--dry-run", expect=2, env=OVERRIDDEN
    )
    assert english.stderr.endswith("nothing.csv: No such file or directory\n")
    home = pristine_homes.copy(tmp_path / "sb")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        _stdout, stderr = chinese("sandbox", "serve", "--home", str(home), "--port", port, expect=2)
    assert f"错误：无法监听 127.0.0.1:{port}：地址已被占用" in stderr


def test_sandbox_serves_refusals_in_chinese(tmp_path: Path, pristine_homes: PristineHomes) -> None:
    home = str(pristine_homes.copy(tmp_path / "sb"))
    _stdout, stderr = chinese("sandbox", "serve", "--home", home, "--fault", "bogus=2", expect=2)
    assert "错误：'bogus=2' 中的故障类型 'bogus' 未知；可用的类型：500, 429" in stderr
    seed = tmp_path / "seed.json"
    seed.write_text('[{"product_coupon_id": "1"}]')
    _stdout, stderr = chinese("sandbox", "serve", "--home", home, "--seed", str(seed), expect=2)
    assert "：第 0 个元素：stock_id 缺失或不是非空字符串" in stderr
