"""Every README command example, run through the installed script in Chinese
(LANG=zh_CN.UTF-8) and, side by side, in English (the same locale with WXBUDGET_LANG=en).

The two runs happen in two identical worlds (a sandbox started from the same keys and stocks,
a home, a working folder each), example after example in the README's order, the two worlds
in parallel. For each example:

- what a person reads is Chinese: every line of stderr (and of stdout, unless it is JSON, CSV
  or a shell script) that holds words holds Chinese too, once the allowed tokens are taken out
  (`machine_words`: ids, flags, URLs, paths, API field names and codes, which WeChat Pay's own
  Chinese documents write in Latin letters too);
- the exit code is the English run's;
- stdout of `-o json` / `-o csv` and of the completion scripts is the English run's, byte for
  byte (once the values that differ from run to run by nature are masked: generated request
  numbers, batch ids, times).

Lines that stay as they are by design (a line scripts wait for, the exchange of a `-v` trace)
are listed in `VERBATIM_LINES`.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import tomllib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import tomli_w

from tests.helpers.cli import SCRIPT, SUBPROCESS_SECONDS, converse, read_until, spawn
from tests.helpers.hostile import Answer, HostileServer
from tests.helpers.readme import readme_examples, write_readme_config
from tests.helpers.sandboxes import PristineHomes
from tests.test_readme import (
    DATA,
    GOLDEN_SERIAL_NO,
    INIT_ANSWERS,
    NOT_RUN,
    PLAN,
    PROFILE,
    UNDO_NUMBER,
)
from wxbudget.sandbox import RunningSandbox, start_in_background
from wxbudget.sandbox.faults import KINDS as FAULT_KINDS
from wxbudget.settings import PROFILE_KEYS

README_BATCH = "3f2a9c1d0b7e4a55"
ROBOT = "https://qyapi.weixin.qq.com"
# README lines that are no wxbudget command run against a sandbox, and why: those no test runs.
EXCLUDED = NOT_RUN
# The quick start's first steps make the virtualenv this suite already runs in.
QUICK_START_SETUP = ("python3 ", ". .venv/", "pip install")
# The README's `profile init ci --mchid ...`, which makes a profile without asking.
INIT_CI = next(example for example in PROFILE if "init ci --mchid" in example)

# Lines that stay as they are in every language: `sandbox serve`'s first line, which scripts
# wait for (README: "prints: listening on ..."), and the exchange a `-v` trace shows verbatim
# (request line, headers, status, body; its own words are translated).
VERBATIM_LINES = (
    re.compile(r"listening on http://127\.0\.0\.1:\d+"),
    re.compile(r"> (?:GET|POST) \S+"),
    re.compile(r"[<>] [A-Z][A-Za-z0-9]*(?:-[A-Z][A-Za-z0-9]*)*: .*"),  # Header-Name: value
    re.compile(r"< \d{3}"),
    re.compile(r"< [{\[].*"),
)
# wxbudget's commands, typed ("run 'wxbudget undo --batch ...'", "list、show、bundle show").
COMMANDS = "show|set-max|set-daily|list|apply|check|undo|history|bundle|doctor|profile|init|remove"
COMMANDS += "|certs|download|sandbox"
# Tokens that read the same in a Chinese interface: they are typed or pasted, not read as
# words (WeChat Pay's Chinese pages write them in Latin letters too).
MACHINE_TOKENS = re.compile(
    r"""
      \b(?:PROFILE_KEYS)\b                      # profile keys, as written in config.toml
    | \b(?:FAULT_KINDS)\b                       # sandbox serve --fault KIND=P
    | [a-z][a-z0-9+.-]*://\S+                  # URLs
    | (?:~|\.{1,2})?(?:/[\w.@+-]*)+/?           # paths
    | [\w.-]+\.(?:csv|json|toml|pem|db|jsonl|log|sh)\b  # file names
    | (?<![\w-])--?[a-zA-Z][\w-]*               # flags
    | \b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b        # API codes and fields: MAX_COUNT, PARAM_ERROR
    | \b[A-Z]{2,}[0-9]*\b                     # states and codes: SENDING, POST, RSA2048
    | \b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b        # JSON fields: max_count, out_request_no
    | \b[\w-]*\d[\w-]*\b                      # ids and numbers: wxb-2026..., 1DDE55AD...
    | \b(?:wxbudget|COMMANDS)\b                 # commands to type: wxbudget undo, bundle show
    | \b(?:json|csv|table)\b                  # -o's values
    | \b(?:jq|cron|CI|JSON|CSV|HTTP|HTTPS|API|APIv3|WeCom|PEM|Ctrl-C|TTY|UTC)\b
    """.replace("PROFILE_KEYS", "|".join(PROFILE_KEYS))
    .replace("COMMANDS", COMMANDS)
    .replace("FAULT_KINDS", "|".join(FAULT_KINDS)),
    re.VERBOSE,
)
LETTERS = re.compile(r"[A-Za-z]{2,}")
PHRASE = re.compile(r"[A-Za-z]{2,}[ ,;:'()]+[A-Za-z]{2,}")
CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
# Values that differ from run to run by nature, masked before machine output is compared.
VARYING = (
    (re.compile(r"wxb-\d{14}-[0-9a-f]{16}"), "wxb-N"),
    (re.compile(r"\b[0-9a-f]{16}\b"), "BATCH"),
    (re.compile(r"\b[0-9a-f]{32}\b"), "OPERATION"),
    (re.compile(r'"process": "[^"]*"'), '"process": "HOST:PID"'),
    (re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)?"), "TIME"),
    (re.compile(r"127\.0\.0\.1:\d+"), "127.0.0.1:PORT"),
    (re.compile(r"\b[0-9A-F]{40}-\d+\b"), "REQUEST-ID"),  # the sandbox's Request-ID
    (re.compile(r"\b\d+ ms\b"), "N ms"),
    # doctor's clock check: a second either way between the two runs' reads of the clock
    (re.compile(r"in step with the server|\d+ s (?:ahead of|behind) the server"), "CLOCK"),
    (re.compile(r'"(elapsed|duration|seconds|ms|latency)[a-z_]*": [0-9.]+'), r'"\1": N'),
)


@dataclass
class Outcome:
    example: str
    code: int
    stdout: str
    stderr: str
    machine_stdout: bool = False  # JSON, CSV or a shell script: compared, not read

    def read(self) -> str:
        """What a person reads: stderr, and stdout unless a machine reads it."""
        return self.stderr + ("" if self.machine_stdout else self.stdout)


@dataclass
class World:
    """One language's run of the README: its sandbox, home, working folder and environment."""

    name: str
    language: dict[str, str]
    root: Path
    sandbox: RunningSandbox
    receiver: HostileServer
    pristine: PristineHomes
    background: list[RunningSandbox] = field(default_factory=list)

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def work(self) -> Path:
        return self.root / "work"

    @property
    def config(self) -> Path:
        return self.root / "readme.toml"

    def environment(self, example: str) -> dict[str, str]:
        home = self.home
        env = (
            dict(os.environ)
            | {
                "HOME": str(home),
                "XDG_CONFIG_HOME": str(home / ".config"),
                "XDG_DATA_HOME": str(home / ".local" / "share"),
                "XDG_STATE_HOME": str(home / ".local" / "state"),
                "WXBUDGET_CONFIG": str(self.config),
                "PATH": os.pathsep.join([str(Path(SCRIPT).parent), os.environ.get("PATH", "")]),
            }
            | self.language
        )
        if "--sandbox" in example or " profile " in example or "--config" in example:
            # The quick start has no config file; profile examples edit the user's own one.
            del env["WXBUDGET_CONFIG"]  # (the test's own environment holds none)
        return env

    # Running -------------------------------------------------------------------------------

    def script(self, words: list[str], env: dict[str, str], stdin: str | None = None) -> Outcome:
        completed = subprocess.run(
            [SCRIPT, *words],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=SUBPROCESS_SECONDS,
            check=False,
            env=env,
            cwd=self.work,
        )
        machine = any(word in ("json", "csv") for word in words)
        return Outcome(
            " ".join(words), completed.returncode, completed.stdout, completed.stderr, machine
        )

    def terminal(
        self,
        words: list[str],
        env: dict[str, str],
        answers: list[tuple[bytes, bytes]],
        **options: bool,
    ) -> Outcome:
        cwd = os.getcwd()
        status, output = converse(words, answers, env=env, **options)
        assert os.getcwd() == cwd
        return Outcome(" ".join(words), status, "", output)

    def run(self, example: str) -> Outcome:
        env = self.environment(example)
        words = shlex.split(example, comments=True)
        if example.startswith("python3 -m venv .venv"):
            return self.quick_start(example, env)
        if words == ["wxbudget", "--install-completion"]:
            completed = subprocess.run(
                # As bash's child, so bash is the shell it detects (a lone command would be
                # exec'd by `bash -c` and see the shell that started pytest).
                ["bash", "-c", "wxbudget --install-completion && echo"],
                capture_output=True,
                text=True,
                env=env,
                cwd=self.work,
                timeout=SUBPROCESS_SECONDS,
                check=False,
            )
            return Outcome(example, completed.returncode, completed.stdout, completed.stderr)
        if words[0] == "eval" or words[0].startswith("_WXBUDGET_COMPLETE="):
            variable = re.search(r"_WXBUDGET_COMPLETE=(\w+)", example)
            assert variable is not None
            outcome = self.script([], env | {"_WXBUDGET_COMPLETE": variable.group(1)})
            outcome.machine_stdout = True
            return outcome
        if words[:3] == ["wxbudget", "sandbox", "serve"]:
            return self.serve(words, env)
        return self.command(example, words, env)

    def command(self, example: str, words: list[str], env: dict[str, str]) -> Outcome:
        stdin = None
        if words[0] == "cat":
            stdin = (self.work / words[1]).read_text(encoding="utf-8")
            words = words[3:]
        target = None
        if ">" in words:
            at = words.index(">")
            target, words = words[at + 1], words[:at]
        if "|" in words:  # `| jq FILTER`: jq reads the JSON this test compares
            words = words[: words.index("|")]
        assert words[0] == "wxbudget", example
        args = words[1:]
        if args[0] in ("set-max", "set-daily") and not {"--yes", "--dry-run"} & set(args):
            return self.terminal(args, env, [(b"[y/N] ", b"y\n")])
        if args[:2] == ["profile", "init"] and "--mchid" not in args:
            return self.terminal(args, env, INIT_ANSWERS)
        if "--watch" in args:
            return self.terminal(args, env, [(b"Ctrl-C", b"\x03")], controlling=True)
        outcome = self.script(args, env, stdin)
        if target is not None:
            (self.work / target).write_text(outcome.stdout, encoding="utf-8")
            outcome.machine_stdout = True
        return outcome

    def quick_start(self, example: str, env: dict[str, str]) -> Outcome:
        """The quick start's wxbudget commands, one after the other, on the embedded sandbox."""
        outcomes = [
            self.script(shlex.split(part)[1:], env)
            for part in (piece.strip() for piece in example.split("&&"))
            if not part.startswith(QUICK_START_SETUP)
        ]
        assert len(outcomes) == 3, example
        failed = [outcome for outcome in outcomes if outcome.code != 0]
        return Outcome(
            example,
            failed[0].code if failed else 0,
            "".join(outcome.stdout for outcome in outcomes),
            "".join(outcome.stderr for outcome in outcomes),
        )

    def serve(self, words: list[str], env: dict[str, str]) -> Outcome:
        """`sandbox serve` until it listens (and has said what it serves), then SIGTERM."""
        if "--port" in words:  # another suite may hold 8080: a free port instead
            words[words.index("--port") + 1] = "0"
        home = self.work / "sb"
        shutil.rmtree(home, ignore_errors=True)
        self.pristine.copy(home, platform_cert="--platform-cert" in words)
        with spawn(*words[1:], env=env | {"PYTHONUNBUFFERED": "1"}, cwd=self.work) as process:
            assert process.stdout is not None
            listening = process.stdout.readline()
            assert listening.startswith("listening on http://127.0.0.1:"), listening
            process.send_signal(signal.SIGTERM)
            stdout, stderr = process.communicate(timeout=SUBPROCESS_SECONDS)
        return Outcome(" ".join(words), process.returncode, listening + stdout, stderr)

    # The README's situations, made before the examples that need them ------------------------

    def prepare(self, example: str) -> str:
        """Make the situation `example` is written for; the example as this world runs it."""
        env = self.environment(example)
        words = shlex.split(example, comments=True)
        if "apply plan.csv --dry-run" in example:
            (self.work / "plan.csv").write_text(PLAN)
        if "--resume" in words:  # a batch interrupted with its first write in flight
            hold = self.sandbox.hold_answers("POST")
            with spawn(
                "apply", "plan.csv", "--yes", "--concurrency", "1", env=env, cwd=self.work
            ) as process:
                hold.wait_held()
                process.send_signal(signal.SIGINT)
                # Released once the CLI said it got the signal (in either language, the line
                # names it): the write then ends as an interrupted one in both worlds, never
                # as an ordinary one that the signal arrived after.
                read_until(process, "SIGINT")
                hold.release()
                process.communicate(timeout=SUBPROCESS_SECONDS)
            assert process.returncode == 130
        if "--again" in words:  # an earlier change killed with its write landed
            hold = self.sandbox.hold_answers("POST")
            with spawn(
                "set-max", "1000000013", "1000000013001", "+100", "--yes", env=env
            ) as process:
                hold.wait_held()
                process.send_signal(signal.SIGKILL)
                process.wait()
        if UNDO_NUMBER in example and "--dry-run" in words:
            self.script(
                [
                    "set-max",
                    "1000000013",
                    "1000000013002",
                    "+1000",
                    "--yes",
                    "--out-request-no",
                    UNDO_NUMBER,
                ],
                env,
            )
        if README_BATCH in example:
            history = json.loads(self.script(["history", "-o", "json"], env).stdout)
            batch = next(
                op["intent"]["batch"]
                for op in reversed(history)
                if op["intent"].get("batch") and not op["intent"].get("undoes")
            )
            example = example.replace(README_BATCH, batch)
        if words[1:3] == ["profile", "remove"]:
            made = INIT_CI.replace(" ci ", " old ").replace("1DDE55AD...", GOLDEN_SERIAL_NO)
            self.script(shlex.split(made, comments=True)[1:], env)
        if "--override-limits" in words:
            self.edit_profile(limits={"max_increase": 100000})
        if "--limit" in words:  # guard rails: a fresh user config, so `init prod` is a first
            shutil.rmtree(self.home / ".config", ignore_errors=True)
        if ROBOT in example:
            example = example.replace(ROBOT, self.receiver.base_url)
        if words[:2] == ["wxbudget", "apply"] and "notify_url" in example:
            self.edit_profile(notify_url=self.receiver.base_url + "/hook")
        if "--config" in words:
            home = self.work / "sb"
            shutil.rmtree(home, ignore_errors=True)
            self.pristine.copy(home)
            self.background.append(start_in_background(home))
        return example.replace("1DDE55AD...", GOLDEN_SERIAL_NO)

    def edit_profile(self, **changes: object) -> None:
        document = tomllib.loads(self.config.read_text())
        document["profiles"]["sandbox"].update(changes)
        self.config.write_text(tomli_w.dumps(document))

    def run_all(self, examples: list[str]) -> list[Outcome]:
        return [self.step(example) for example in examples]

    def step(self, example: str) -> Outcome:
        try:
            return self.run(self.prepare(example))
        finally:
            for sandbox in self.background:
                sandbox.stop()
            self.background.clear()


def make_world(
    name: str,
    language: dict[str, str],
    root: Path,
    pristine: PristineHomes,
    receiver: HostileServer,
) -> World:
    root.mkdir()
    sandbox_home = pristine.copy(root / "sandbox", platform_cert=True)
    sandbox = start_in_background(sandbox_home, platform_cert=True)
    world = World(name, language, root, sandbox, receiver, pristine)
    (world.work).mkdir()
    keys = world.home / "keys"
    keys.mkdir(parents=True)
    for target, source in (
        ("apiclient_key.pem", "golden_private_key.pem"),
        ("pub_key.pem", "golden_public_key.pem"),
    ):
        shutil.copy(DATA / source, keys / target)
        (keys / target).chmod(0o600)
    # The quick start's embedded sandbox, its keys made already (as a second run would find it).
    pristine.copy(world.home / ".local" / "share" / "wxbudget" / "sandbox")
    write_readme_config(sandbox, world.config)
    return world


def machine_words(line: str) -> str:
    return MACHINE_TOKENS.sub(" ", line)


def untranslated(text: str) -> list[str]:
    """The lines of `text` a person reads that hold English words and no Chinese, or Chinese
    and an English phrase (two words in a row: an English message inside a Chinese one)."""
    found = []
    for line in text.splitlines():
        if any(pattern.fullmatch(line.strip()) for pattern in VERBATIM_LINES):
            continue
        words = machine_words(line)
        if (PHRASE if CJK.search(line) else LETTERS).search(words):
            found.append(line)
    return found


def masked(text: str, world: World) -> str:
    text = text.replace(str(world.root), "ROOT")
    for pattern, replacement in VARYING:
        text = pattern.sub(replacement, text)
    return text


def test_every_readme_example_runs_in_chinese(
    tmp_path: Path, pristine_homes: PristineHomes
) -> None:
    examples = [example for _, example in readme_examples() if example not in EXCLUDED]
    assert set(EXCLUDED) <= {example for _, example in readme_examples()}, "EXCLUDED is stale"
    receiver = HostileServer(lambda request: Answer(body=b'{"errcode":0,"errmsg":"ok"}'))
    chinese = make_world("zh", {"LANG": "zh_CN.UTF-8"}, tmp_path / "zh", pristine_homes, receiver)
    english = make_world(
        "en",
        {"LANG": "zh_CN.UTF-8", "WXBUDGET_LANG": "en"},
        tmp_path / "en",
        pristine_homes,
        receiver,
    )
    problems: list[str] = []
    try:
        # Each world runs the README from top to bottom in a thread of its own (no waiting for
        # the other at each example): the subprocesses keep both cores busy.
        with ThreadPoolExecutor(2) as pool:
            zh_runs, en_runs = pool.map(World.run_all, (chinese, english), (examples, examples))
        for example, zh, en in zip(examples, zh_runs, en_runs, strict=True):
            problems += compared(example, zh, en, chinese, english)
    finally:
        for world in (chinese, english):
            world.sandbox.stop()
        receiver.stop()
    assert not problems, "\n".join(problems)


def compared(example: str, zh: Outcome, en: Outcome, chinese: World, english: World) -> list[str]:
    """What is wrong with the Chinese run of `example`, next to the English one."""
    problems = [f"{example}\n  English left: {line!r}" for line in untranslated(zh.read())]
    if CJK.search(zh.read()) and not untranslated(en.read()):
        problems.append(f"{example}\n  WXBUDGET_LANG=en did not override LANG=zh_CN.UTF-8")
    if zh.code != en.code:
        problems.append(f"{example}\n  exit {zh.code} in Chinese, {en.code} in English")
        problems.append(f"  Chinese: {zh.stderr}\n  English: {en.stderr}")
    if zh.machine_stdout and masked(zh.stdout, chinese) != masked(en.stdout, english):
        problems.append(f"{example}\n  stdout differs:\n{zh.stdout}\n---\n{en.stdout}")
    return problems


def test_the_chinese_check_flags_english_and_lets_typed_tokens_through() -> None:
    assert untranslated("error: stock 1000000013004 is STOPPED") == [
        "error: stock 1000000013004 is STOPPED"
    ]
    assert untranslated("Completion will take effect once you restart the terminal") != []
    assert untranslated("< verification: ok") != []
    assert untranslated("attempt 1:") != []
    assert untranslated("错误：配置文件 c.toml：TOML 格式错误：Invalid value (at end of document)")
    assert untranslated("  run 'wxbudget undo --batch 3f2a9c1d0b7e4a55' to take it back") != []
    typed = [
        "│ 1000000013002 │ SENDING │ 50,000 │",
        "  mchid = 1900000001",
        "  out_request_no: wxb-20261129122754-601b5fec44da3cfb",
        "> GET http://127.0.0.1:8080/v3/marketing/partner/product-coupon/product-coupons/1",
        "> User-Agent: wxbudget/0.1.0 (Linux; Python 3.11.7)",
        "< Request-ID: 207C7BF32BD2A81E206C8D9C68AD1E1F480ED8EE-0",
        "wxbudget undo --batch 3f2a9c1d0b7e4a55",
        "listening on http://127.0.0.1:8080",
        "错误：批次 1000000013004 的状态是 已停止 STOPPED",
    ]
    assert [line for line in typed if untranslated(line)] == []
