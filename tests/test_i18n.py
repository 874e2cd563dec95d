"""Languages: the Chinese catalog is complete and consistent, the language is chosen by one
precedence, and what machines read is the same in every language."""

from __future__ import annotations

import copy
import io
import json
import os
import pickle
import re
import subprocess
import sys
from collections.abc import Iterator
from gettext import GNUTranslations
from pathlib import Path

import pytest

from tests.helpers import messages
from tests.helpers.cli import run
from tests.helpers.cli import script as wxbudget
from wxbudget import catalog, config, i18n, language
from wxbudget.errors import ConfigError
from wxbudget.i18n import Message, _, localize, ngettext
from wxbudget.sandbox import RunningSandbox

GENERATED_NUMBER = re.compile(r"wxb-[0-9]{14}-[0-9a-f]{16}")
CHINESE = {"LANG": "zh_CN.UTF-8"}
ENGLISH = {"LANG": "C.UTF-8"}


@pytest.fixture
def chinese() -> Iterator[None]:
    """Chinese in-process for one test."""
    i18n.activate("zh")
    try:
        yield
    finally:
        i18n.activate("en")


def chinese_entries() -> dict[tuple[str, str | None], catalog.Entry]:
    entries = catalog.parse_po(catalog.po_path("zh_CN").read_text(encoding="utf-8"))
    return {(entry.msgid, entry.msgid_plural): entry for entry in entries if entry.msgid}


# The catalog --------------------------------------------------------------------------------


def test_every_marked_message_is_a_literal_whose_arguments_fill_its_fields() -> None:
    marked, problems = messages.marked_messages()
    assert marked, "no marked message found: the extraction is broken"
    assert problems == []
    wrong = []
    for message in marked:
        templates = [message.msgid] + ([message.msgid_plural] if message.msgid_plural else [])
        names = {name for template in templates for name, _c, _s in messages.fields(template)}
        if message.arguments is not None and message.arguments and names != message.arguments:
            wrong.append(f"{message.where}: fields {sorted(names)}, arguments {message.arguments}")
    assert wrong == []


def test_every_marked_message_has_a_chinese_translation_with_the_same_fields() -> None:
    entries = chinese_entries()
    marked, _problems = messages.marked_messages()
    missing: dict[tuple[str, str | None], str] = {}
    mismatched = []
    for message in marked:
        key = (message.msgid, message.msgid_plural)
        entry = entries.get(key)
        if entry is None or not entry.translated:
            missing.setdefault(key, message.where)
            continue
        for translation in entry.msgstr:
            if messages.fields(translation) != messages.fields(message.msgid):
                mismatched.append(f"{message.where}: {message.msgid!r} -> {translation!r}")
    stubs = "\n\n".join(
        messages.po_stub(msgid, plural, where) for (msgid, plural), where in missing.items()
    )
    assert not missing, (
        f"{len(missing)} messages lack a Chinese translation; add to "
        f"{catalog.po_path('zh_CN')}:\n\n{stubs}"
    )
    assert mismatched == [], "placeholders differ between English and Chinese"


def test_every_help_text_has_a_chinese_translation_with_the_same_fields() -> None:
    entries = chinese_entries()
    missing = []
    for text, where in messages.help_texts().items():
        entry = entries.get((text, None))
        if entry is None or not entry.translated:
            missing.append(messages.po_stub(text, None, f"(help) {where}"))
            continue
        assert messages.fields(entry.msgstr[0]) == messages.fields(text), where
    assert not missing, (
        f"{len(missing)} help texts lack a Chinese translation; add to "
        f"{catalog.po_path('zh_CN')}:\n\n" + "\n\n".join(missing)
    )


def test_the_catalog_holds_only_messages_the_source_still_has() -> None:
    marked, _problems = messages.marked_messages()
    known = {(message.msgid, message.msgid_plural) for message in marked}
    known |= {(text, None) for text in messages.help_texts()}
    stale = [msgid for msgid, plural in chinese_entries() if (msgid, plural) not in known]
    assert stale == [], "the English text changed or is gone: update or delete these entries"


def test_no_fuzzy_entries() -> None:
    fuzzy = [entry.msgid for entry in chinese_entries().values() if entry.fuzzy]
    assert fuzzy == []


def test_no_module_shadows_the_marker() -> None:
    assert messages.bindings_of_underscore() == []


def test_the_compiled_catalog_reads_back_every_translation() -> None:
    entries = catalog.parse_po(catalog.po_path("zh_CN").read_text(encoding="utf-8"))
    compiled = GNUTranslations(io.BytesIO(catalog.compile_mo(entries)))
    assert compiled.info()["language"] == "zh_CN"
    for entry in entries:
        if entry.msgid and entry.translated and entry.msgid_plural is None:
            assert compiled.gettext(entry.msgid) == entry.msgstr[0]


def test_the_catalog_reader_answers_as_gettext_does() -> None:
    # wxbudget reads .mo bytes with i18n.MoCatalog (messages decoded when shown); gettext's
    # own GNUTranslations over the same bytes is the reference, for every message and plural.
    entries = catalog.parse_po(catalog.po_path("zh_CN").read_text(encoding="utf-8"))
    data = catalog.compile_mo(entries)
    ours, reference = i18n.MoCatalog(data), GNUTranslations(io.BytesIO(data))
    assert len([entry for entry in entries if entry.msgid_plural]) > 0
    for entry in entries:
        if not entry.msgid:
            continue
        if entry.msgid_plural is None:
            assert ours.gettext(entry.msgid) == reference.gettext(entry.msgid), entry.msgid
            continue
        for n in (0, 1, 2, 7):
            assert ours.ngettext(entry.msgid, entry.msgid_plural, n) == reference.ngettext(
                entry.msgid, entry.msgid_plural, n
            )
    for missing in ("no such message {x}", "?"):
        assert ours.gettext(missing) == reference.gettext(missing) == missing
        assert ours.ngettext(missing, "many", 1) == reference.ngettext(missing, "many", 1)
        assert ours.ngettext(missing, "many", 3) == reference.ngettext(missing, "many", 3)


def test_the_catalog_reader_follows_the_plural_forms_header() -> None:
    two_forms = (
        'msgid ""\nmsgstr "Plural-Forms: nplurals=2; plural=(n != 1);\\n"\n\n'
        'msgid "{count} stock"\nmsgid_plural "{count} stocks"\n'
        'msgstr[0] "one {count}"\nmsgstr[1] "many {count}"\n'
    )
    data = catalog.compile_mo(catalog.parse_po(two_forms))
    ours, reference = i18n.MoCatalog(data), GNUTranslations(io.BytesIO(data))
    for n in (0, 1, 2):
        expected = reference.ngettext("{count} stock", "{count} stocks", n)
        assert ours.ngettext("{count} stock", "{count} stocks", n) == expected
    assert ours.ngettext("{count} stock", "{count} stocks", 1) == "one {count}"


def test_po_parsing_escapes_plurals_and_fuzzy() -> None:
    text = (
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n'
        '"Plural-Forms: nplurals=1; plural=0;\\n"\n\n'
        '# a comment\nmsgid "say \\"hi\\"\\tto\\\\"\nmsgstr "说\\"你好\\""\n\n'
        'msgid ""\n"two\\n"\n"lines"\nmsgstr "两行"\n\n'
        '#, fuzzy\nmsgid "unsure"\nmsgstr "不确定"\n\n'
        'msgid "{n} stock"\nmsgid_plural "{n} stocks"\nmsgstr[0] "{n} 个批次"\n'
    )
    entries = catalog.parse_po(text)
    assert [entry.msgid for entry in entries] == [
        "",
        'say "hi"\tto\\',
        "two\nlines",
        "unsure",
        "{n} stock",
    ]
    assert entries[1].msgstr == ['说"你好"']
    assert entries[3].fuzzy
    assert not entries[3].translated
    compiled = GNUTranslations(io.BytesIO(catalog.compile_mo(entries)))
    assert compiled.gettext("two\nlines") == "两行"
    assert compiled.gettext("unsure") == "unsure"  # fuzzy: left out, English shown
    assert compiled.ngettext("{n} stock", "{n} stocks", 5) == "{n} 个批次"
    with pytest.raises(ValueError, match="line 1"):
        catalog.parse_po('msgid "open\n')
    with pytest.raises(ValueError, match="unknown escape"):
        catalog.parse_po('msgid "\\q"\nmsgstr ""\n')


# Messages -----------------------------------------------------------------------------------


def test_a_message_is_its_english_text_for_machines(chinese: None) -> None:
    message = _("aborted")
    assert message == "aborted"
    assert json.dumps({"reason": message}) == '{"reason": "aborted"}'
    assert localize(message) == "已中止"
    nested = _("{message} (see '{command} --help')", message=message, command="wxbudget show")
    assert nested == "aborted (see 'wxbudget show --help')"
    assert localize(nested) == "已中止（参见 'wxbudget show --help'）"
    assert localize(copy.copy(nested)) == localize(nested)
    assert localize(pickle.loads(pickle.dumps(nested))) == localize(nested)  # noqa: S301
    assert localize("not a message of the catalog") == "not a message of the catalog"
    assert localize(42) == "42"


def test_english_plural_forms() -> None:
    assert ngettext("{n} stock", "{n} stocks", 1, n=1) == "1 stock"
    assert ngettext("{n} stock", "{n} stocks", 3, n=3) == "3 stocks"


def test_english_needs_no_catalog() -> None:
    i18n.activate("en")
    assert i18n._catalog is None
    assert localize(_("aborted")) == "aborted"


# Choosing the language ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "profile", "top_level", "expected", "source"),
    [
        ({}, None, None, "en", "the default"),
        ({"LANG": "zh_CN.UTF-8"}, None, None, "zh", "LANG=zh_CN.UTF-8"),
        ({"LANG": "zh_TW.UTF-8"}, None, None, "zh", "LANG=zh_TW.UTF-8"),
        ({"LANG": "en_US.UTF-8"}, None, None, "en", "LANG=en_US.UTF-8"),
        ({"LANG": "fr_FR.UTF-8"}, None, None, "en", "LANG=fr_FR.UTF-8"),
        # POSIX: LC_ALL beats LC_MESSAGES beats LANG, whatever they say.
        ({"LC_ALL": "C.UTF-8", "LANG": "zh_CN.UTF-8"}, None, None, "en", "LC_ALL=C.UTF-8"),
        ({"LC_MESSAGES": "zh_CN", "LANG": "C"}, None, None, "zh", "LC_MESSAGES=zh_CN"),
        ({"LANG": "zh_CN.UTF-8"}, None, "en", "en", "the config file"),
        ({"LANG": "C"}, "zh", "en", "zh", "profile 'prod'"),
        ({"WXBUDGET_LANG": "en", "LANG": "zh_CN.UTF-8"}, "zh", "zh", "en", "WXBUDGET_LANG"),
        ({"WXBUDGET_LANG": "zh-CN"}, None, None, "zh", "WXBUDGET_LANG"),
        ({"WXBUDGET_LANG": "klingon", "LANG": "zh_CN.UTF-8"}, None, None, "zh", "LANG=zh_CN.UTF-8"),
    ],
)
def test_language_precedence(
    env: dict[str, str], profile: str | None, top_level: str | None, expected: str, source: str
) -> None:
    chosen = language.choose(env, profile=profile, profile_name="prod", config_file=top_level)
    assert (chosen.language, chosen.source) == (expected, source)
    requested = env.get("WXBUDGET_LANG")
    assert chosen.ignored == (requested if requested == "klingon" else None)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["show", "1", "2"], None),
        (["-p", "prod", "show"], "prod"),
        (["show", "--profile", "a", "-pb"], "b"),
        (["--profile=x", "show"], "x"),
        (["show", "--", "-p", "y"], None),
        (["show", "-p"], None),
    ],
)
def test_profile_read_from_argv_before_parsing(argv: list[str], expected: str | None) -> None:
    assert language.option_value(argv, ("-p", "--profile")) == expected


def write_config(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o600)
    return path


def test_config_file_language_keys(tmp_path: Path) -> None:
    path = write_config(
        tmp_path / "config.toml",
        'language = "zh"\ndefault_profile = "a"\n[profiles.a]\nmchid = "1"\n'
        '[profiles.b]\nlanguage = "en"\n',
    )
    flags = config.Flags(config=path)
    assert config.resolve_language(flags, {}).language == "zh"
    chosen = config.resolve_language(config.Flags(config=path, profile="b"), {})
    assert (chosen.language, chosen.source) == ("en", "profile 'b'")
    assert config.resolve_language(flags, {"WXBUDGET_LANG": "en"}).language == "en"


def test_a_config_file_that_does_not_load_leaves_the_language_to_the_environment(
    tmp_path: Path,
) -> None:
    path = write_config(tmp_path / "config.toml", 'language = "zh"\n[[broken')
    chosen = config.resolve_language(config.Flags(config=path), {"LANG": "C"})
    assert chosen.language == "en"


@pytest.mark.parametrize("where", ["", "[profiles.a]\n"])
def test_a_language_other_than_zh_or_en_is_refused(tmp_path: Path, where: str) -> None:
    path = write_config(tmp_path / "config.toml", f'{where}language = "fr"\n')
    with pytest.raises(ConfigError, match='must be "zh"'):
        config.load(path)


# Framework texts ----------------------------------------------------------------------------


def test_every_usage_error_template_translates_its_own_english(chinese: None) -> None:
    from wxbudget.cli.localized import USAGE_ERRORS, translate_usage_error

    for template in USAGE_ERRORS:
        names = [name for name, _c, _s in messages.fields(template.template)]
        english = Message(
            template.template, {name: f"'v{index}'" for index, name in enumerate(names)}
        )
        translated = translate_usage_error(english)
        assert translated == localize(english), template.template
        assert translated != english, template.template


def test_every_command_shows_its_help_in_chinese(chinese: None) -> None:
    paths = messages.command_paths()
    assert ["bundle", "set-max"] in paths
    for path in paths:
        text = run(*path, "--help").stdout
        assert text.startswith("用法：wxbudget"), path
        assert "显示本帮助并退出。" in text, path
        assert "Usage:" not in text, path
        assert "Show this message" not in text, path


def test_a_usage_error_no_template_knows_stays_as_it_is(chinese: None) -> None:
    from wxbudget.cli.localized import translate_usage_error

    assert translate_usage_error("something typer never said") == "something typer never said"


# Through the installed script ---------------------------------------------------------------


def test_help_in_chinese_and_english() -> None:
    chinese_help = wxbudget("--help", env=CHINESE).stdout
    assert "用法：wxbudget [选项] 命令 [参数]..." in chinese_help
    assert "安全地修改微信支付商品券批次的发放预算" in chinese_help
    assert "显示本帮助并退出。" in chinese_help
    english_help = wxbudget("--help", env=CHINESE | {"WXBUDGET_LANG": "en"}).stdout
    assert "Usage: wxbudget [OPTIONS] COMMAND [ARGS]..." in english_help
    assert "Show this message and exit." in english_help
    assert english_help == wxbudget("--help", env=ENGLISH).stdout


@pytest.mark.parametrize(
    ("args", "chinese_line", "english_line"),
    [
        (
            ["set-max", "1000000013"],
            "错误：缺少参数 'stock_id'。（参见 'wxbudget set-max --help'）",
            "error: Missing argument 'stock_id'. (see 'wxbudget set-max --help')",
        ),
        (
            ["show", "1", "2", "--bogus"],
            "错误：没有选项 --bogus",
            "error: No such option: --bogus",
        ),
        (
            ["show", "1", "2", "-o", "xml"],
            "错误：'--output' / '-o' 的值无效：'xml' 不是 'table', 'json', 'csv' 之一。",
            "error: Invalid value for '--output' / '-o': 'xml' is not one of",
        ),
    ],
)
def test_usage_errors_in_chinese_and_english(
    args: list[str], chinese_line: str, english_line: str
) -> None:
    assert chinese_line in wxbudget(*args, expect=2, env=CHINESE).stderr
    overridden = wxbudget(*args, expect=2, env=CHINESE | {"WXBUDGET_LANG": "en"})
    assert english_line in overridden.stderr


@pytest.mark.parametrize("columns", [60, 80])
def test_chinese_help_wraps_within_the_terminal(columns: int) -> None:
    """Chinese breaks between characters and takes two columns each: lines are measured so."""
    from wxbudget.cli.helptext import _columns

    for command in (["--help"], ["apply", "--help"], ["doctor", "--help"], ["sandbox", "serve"]):
        args = command if command[-1] == "--help" else [*command, "--help"]
        text = wxbudget(*args, env=CHINESE | {"COLUMNS": str(columns)}).stdout
        assert "用法：" in text
        for line in text.splitlines():
            # Only a single unbreakable word (a long list of CSV columns) may stick out.
            assert _columns(line) <= columns or len(line.split()) == 1, (args, line)


def test_chinese_help_imports_no_network_or_crypto() -> None:
    probe = (
        "import sys\n"
        "sys.argv = ['wxbudget', 'set-max', '--help']\n"
        "from wxbudget.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('requests', 'cryptography', 'sqlite3') if m in sys.modules]\n"
        "print('HEAVY', heavy, file=sys.stderr)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        env=os.environ | CHINESE,
    )
    assert "用法：" in result.stdout
    assert "HEAVY []" in result.stderr


def test_the_config_file_chooses_the_language_before_help(tmp_path: Path) -> None:
    path = write_config(tmp_path / "config.toml", 'language = "zh"\n')
    assert "用法：" in wxbudget("--config", str(path), "show", "--help", env=ENGLISH).stdout
    assert (
        "Usage: "
        in wxbudget("show", "--help", "--config", str(path), env={"WXBUDGET_LANG": "en"}).stdout
    )


@pytest.mark.slow
def test_machine_output_is_the_same_in_both_languages(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    wxbudget("set-max", "1000000013", "1000000013001", "+1", "--yes", env=CHINESE)
    plan = tmp_path / "plan.csv"
    # A change, a refused row (a STOPPED stock) and a warned one (below today's issued count).
    plan.write_text(
        "product_coupon_id,stock_id,max_count,max_count_per_day\n"
        "1000000013,1000000013002,+10,\n"
        "1000000013,1000000013004,+10,\n"
        "1000000013,1000000013007,,1\n"
    )
    commands = [
        ["show", "1000000013", "1000000013001", "-o", "json"],
        ["list", "1000000013", "-o", "csv"],
        ["list", "1000000013", "-o", "json"],
        [
            "set-max",
            "1000000013",
            "1000000013002",
            "+10%",
            "--dry-run",
            "-o",
            "json",
            "--out-request-no",
            "fixed-number-1",
        ],
        ["bundle", "show", "1000000014", "712315129419284901", "-o", "json"],
        ["apply", str(plan), "--dry-run", "-o", "json"],
        ["profile", "list", "-o", "json"],
        ["history", "-o", "json"],
    ]
    for args in commands:
        chinese_run = wxbudget(*args, env=CHINESE).stdout
        english_run = wxbudget(*args, env=ENGLISH).stdout
        # Generated request numbers differ from run to run, whatever the language.
        assert GENERATED_NUMBER.sub("N", chinese_run) == GENERATED_NUMBER.sub("N", english_run)
        assert chinese_run.strip(), args


def test_a_wecom_message_in_chinese_and_the_json_document_unchanged() -> None:
    from wxbudget import notify

    line = notify.Line(
        _("{subject} of coupon {product_coupon_id}", subject="stock 2", product_coupon_id="1"),
        _("total cap"),
        100,
        None,
        "failed",
        _("cancelled: nothing was sent"),
        {"stock_id": "2"},
    )
    summary = notify.Summary("set-max", "partly applied", 8, "ops@host", "prod", "api", (line,))
    wecom = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k"
    other = "https://example.com/hook"
    english = (notify.message(wecom, summary), notify.message(other, summary))
    i18n.activate("zh")
    try:
        chinese = (notify.message(wecom, summary), notify.message(other, summary))
    finally:
        i18n.activate("en")
    content = json.loads(chinese[0])["markdown"]["content"]
    assert "部分生效" in content
    assert "商品券 1 的stock 2，发放次数总上限 100 -> 不限，失败：已取消：未发送任何请求" in content
    assert "partly applied" in json.loads(english[0])["markdown"]["content"]
    assert chinese[1] == english[1]  # the JSON document any other URL gets: the same bytes
