"""简体中文 through the installed script: the README's commands with LANG=zh_CN.UTF-8, a refusal
(exit 4), conflicts (exit 5), prompts on a pseudo-terminal, WXBUDGET_LANG=en over the locale,
and machine output (JSON, CSV) byte for byte the same in both languages."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.helpers.cli import converse
from tests.helpers.cli import script as wxbudget
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


# Machine output -----------------------------------------------------------------------------


def test_json_and_csv_are_byte_identical_in_both_languages(sandbox: RunningSandbox) -> None:
    for args in (
        ["show", COUPON, "--all", "-o", "csv"],
        ["show", COUPON, SENDING, "-o", "json"],
        ["check", COUPON, "--state", "SENDING", "-o", "json"],
    ):
        code = 9 if args[0] == "check" else 0
        chinese_run = wxbudget(*args, expect=code, env=CHINESE).stdout
        english_run = wxbudget(*args, expect=code, env=OVERRIDDEN).stdout
        assert chinese_run.strip(), args
        assert GENERATED_NUMBER.sub("N", chinese_run) == GENERATED_NUMBER.sub("N", english_run)
    # doctor's timings differ run to run: its checks, statuses and fixes must not.
    chinese_doctor = _doctor_shape(wxbudget("doctor", "-o", "json", env=CHINESE).stdout)
    assert chinese_doctor == _doctor_shape(wxbudget("doctor", "-o", "json", env=OVERRIDDEN).stdout)


def _doctor_shape(text: str) -> list[tuple[str, str, str | None]]:
    document = json.loads(text)
    return [(check["name"], check["status"], check.get("fix")) for check in document["checks"]]
