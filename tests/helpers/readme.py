"""The README's examples: found in its ```sh blocks, and run the way a reader would type them."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import tomllib
from collections.abc import Mapping
from pathlib import Path

import tomli_w

from tests.helpers.cli import Result, run
from wxbudget.sandbox import RunningSandbox

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_examples(text: str | None = None) -> list[tuple[str, str]]:
    """(section, example) for every line of every ```sh block, under the heading it follows.

    A line ending in `\\` is joined with the next, as a shell would; blank lines are skipped.
    """
    section = ""
    found: list[tuple[str, str]] = []
    block: list[str] | None = None
    for line in (README.read_text(encoding="utf-8") if text is None else text).splitlines():
        if block is None:
            if line.startswith("#"):
                section = line.lstrip("#").strip()
            elif line.strip() == "```sh":
                block = []
            continue
        if line.strip() != "```":
            block.append(line)
            continue
        joined: list[str] = []
        for raw in block:
            if joined and joined[-1].endswith("\\"):
                joined[-1] = joined[-1][:-1].rstrip() + " " + raw.strip()
            elif raw.strip():
                joined.append(raw.rstrip())
        found += [(section, example) for example in joined]
        block = None
    return found


def run_example(
    example: str,
    *,
    expect: int = 0,
    substitutions: Mapping[str, str] | None = None,
) -> Result:
    """Run one README command line in-process, in the current folder.

    Understood: `wxbudget ARGS`, a trailing `# comment`, `> FILE` (stdout written there),
    `cat FILE | wxbudget ...` (FILE on stdin) and `... | jq FILTER` (stdout becomes what jq
    prints; a plain `.a.b` path is followed here, anything else runs the real jq).
    `substitutions` replace README placeholders (`1DDE55AD...`) with working values.
    """
    line = example
    for placeholder, value in (substitutions or {}).items():
        line = line.replace(placeholder, value)
    words = shlex.split(line, comments=True)
    stdin = None
    if words[0] == "cat":
        source, bar, *words = words[1:]
        assert bar == "|", example
        stdin = Path(source).read_text(encoding="utf-8")
    target = None
    if ">" in words:
        at = words.index(">")
        target, words = words[at + 1], words[:at]
    jq_path = None
    if "|" in words:
        at = words.index("|")
        assert words[at + 1] == "jq", example
        jq_path, words = words[at + 2], words[:at]
    assert words[0] == "wxbudget", example
    result = run(*words[1:], input=stdin, expect=expect)
    if target is not None:
        Path(target).write_text(result.stdout, encoding="utf-8")
    if jq_path is not None:
        result = Result(result.exit_code, jq(jq_path, result.stdout), result.stderr)
    return result


def jq(program: str, text: str) -> str:
    """What `jq PROGRAM` prints for `text`."""
    if re.fullmatch(r"(\.[A-Za-z_][A-Za-z0-9_]*)+", program):
        value = json.loads(text)
        for key in program.split(".")[1:]:
            value = value[key]
        return json.dumps(value)
    found = shutil.which("jq")
    assert found is not None, f"the README's example needs jq for {program!r}: install jq"
    completed = subprocess.run(
        [found, program], input=text, capture_output=True, text=True, timeout=60, check=True
    )
    return completed.stdout


def arguments(example: str, substitutions: Mapping[str, str] | None = None) -> list[str]:
    """The arguments after `wxbudget` of a one-command example (its comment dropped)."""
    line = example
    for placeholder, value in (substitutions or {}).items():
        line = line.replace(placeholder, value)
    words = shlex.split(line, comments=True)
    assert words[0] == "wxbudget", example
    return words[1:]


def write_readme_config(sandbox: RunningSandbox, path: Path) -> Path:
    """A config holding the README's profiles on `sandbox`: `prod` and `old` (partner), `legacy`
    (platform certificates), its key paths absolute so it works from any folder."""
    document = tomllib.loads(sandbox.config_path.read_text())
    profiles = document["profiles"]
    for profile in profiles.values():
        for key, value in profile.items():
            if key.endswith(("_file", "_dir")):
                profile[key] = str(sandbox.home / value)
    profiles["prod"] = dict(profiles["sandbox"])
    profiles["old"] = dict(profiles["sandbox"])
    profiles["legacy"] = dict(profiles["sandbox-cert"])
    path.write_text(tomli_w.dumps(document))
    path.chmod(0o600)
    return path
