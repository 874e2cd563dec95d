"""README.zh-CN.md is the README in Chinese: linked from the top of README.md, naming every
command, flag and exit code the English one does, with the same command examples (which
tests/test_readme.py runs; tests/test_i18n_cli.py runs them in Chinese)."""

from __future__ import annotations

import re
import shlex

from tests.helpers import messages
from tests.helpers.readme import README, readme_examples

CHINESE_README = README.with_name("README.zh-CN.md")
# `--flag` and `-f`, not inside a word (`sha256sum`, `pip-tools`) nor a number (`-10%`).
FLAG = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*|-[a-zA-Z])(?![\w-])")
EXIT_CODE_ROW = re.compile(r"^\| (\d+) \|", re.MULTILINE)


def english() -> str:
    return README.read_text(encoding="utf-8")


def chinese() -> str:
    return CHINESE_README.read_text(encoding="utf-8")


def test_each_readme_links_the_other_at_its_top() -> None:
    assert "(README.zh-CN.md)" in "\n".join(english().splitlines()[:4])
    assert "(README.md)" in "\n".join(chinese().splitlines()[:4])


def test_the_chinese_readme_names_every_command_the_english_one_does() -> None:
    commands = ["wxbudget " + " ".join(path) for path in messages.command_paths()[1:]]
    named = [command for command in commands if command in english()]
    assert "wxbudget set-max" in named
    assert [command for command in named if command not in chinese()] == []


def test_the_chinese_readme_names_every_flag_the_english_one_does() -> None:
    flags = set(FLAG.findall(english()))
    assert {"--yes", "--dry-run", "--language", "-p"} <= flags
    assert sorted(flags - set(FLAG.findall(chinese()))) == []


def test_the_chinese_readme_has_every_exit_code_of_the_english_one() -> None:
    codes = EXIT_CODE_ROW.findall(english())
    assert {"0", "4", "5", "130"} <= set(codes)
    assert EXIT_CODE_ROW.findall(chinese()) == codes


def test_the_chinese_readme_shows_the_same_command_examples() -> None:
    """Comments may be translated; the commands themselves are the English README's."""

    def commands(text: str) -> list[tuple[str, ...]]:
        return sorted(tuple(shlex.split(line, comments=True)) for _, line in readme_examples(text))

    assert commands(chinese()) == commands(english())
