"""The messages of the source: every `_()` / `ngettext()` call, found by reading the code (ast).

A test compares them with the Chinese catalog; on a failure `po_stub` prints the entries to add,
ready to paste into wxbudget/locale/zh_CN/LC_MESSAGES/wxbudget.po.
"""

from __future__ import annotations

import ast
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PACKAGE = Path(__file__).resolve().parent.parent.parent / "wxbudget"
MARKERS = ("_", "ngettext")


@dataclass(frozen=True)
class Marked:
    """One marked message at one place of the source."""

    msgid: str
    msgid_plural: str | None
    arguments: frozenset[str] | None  # the keyword names given (None: passed as **mapping)
    where: str


def fields(template: str) -> frozenset[tuple[str, str, str]]:
    """The `{name!conversion:spec}` fields of a str.format template."""
    found = set()
    for _literal, name, spec, conversion in string.Formatter().parse(template):
        if name is not None:
            found.add((name, conversion or "", spec or ""))
    return frozenset(found)


def importers_of_markers(tree: ast.Module) -> set[str]:
    """The marker names a module imports from wxbudget.i18n."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "wxbudget.i18n":
            names |= {alias.asname or alias.name for alias in node.names} & set(MARKERS)
    return names


def marked_messages(root: Path = PACKAGE) -> tuple[list[Marked], list[str]]:
    """Every marked message of the package, and every marker call whose message is not a string
    literal (which no catalog could hold)."""
    marked: list[Marked] = []
    problems: list[str] = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        markers = importers_of_markers(tree)
        if path.name == "i18n.py" and path.parent == root:
            continue  # the definitions themselves
        for node in ast.walk(tree):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in markers
            ):
                continue
            where = f"{path.relative_to(root.parent)}:{node.lineno}"
            literal_count = 2 if node.func.id == "ngettext" else 1
            texts = node.args[:literal_count]
            if len(texts) < literal_count or not all(
                isinstance(text, ast.Constant) and isinstance(text.value, str) for text in texts
            ):
                problems.append(f"{where}: the message is not a string literal")
                continue
            values = [
                text.value
                for text in texts
                if isinstance(text, ast.Constant) and isinstance(text.value, str)
            ]
            if any(keyword.arg is None for keyword in node.keywords):
                arguments = None
            else:
                arguments = frozenset(str(keyword.arg) for keyword in node.keywords)
            marked.append(
                Marked(
                    msgid=values[0],
                    msgid_plural=values[1] if len(values) > 1 else None,
                    arguments=arguments,
                    where=where,
                )
            )
    return marked, problems


def bindings_of_underscore(root: Path = PACKAGE) -> list[str]:
    """Places that bind `_` in a module that imports the marker `_`: the marker would be
    shadowed there (`path, _ = ...` makes `_("...")` call a tuple item)."""
    found = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        if "_" not in importers_of_markers(tree):
            continue
        for node in ast.walk(tree):
            bound = (isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)) or isinstance(
                node, ast.arg | ast.ExceptHandler
            )
            name = (
                getattr(node, "id", None)
                or getattr(node, "arg", None)
                or getattr(node, "name", None)
            )
            if bound and name == "_":
                found.append(f"{path.relative_to(root.parent)}:{getattr(node, 'lineno', '?')}")
    return found


def quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\t", "\\t")
    lines = escaped.split("\n")
    if len(lines) == 1:
        return f'"{escaped}"'
    parts = [line + "\\n" for line in lines[:-1]] + ([lines[-1]] if lines[-1] else [])
    return '""\n' + "\n".join(f'"{part}"' for part in parts)


def po_stub(msgid: str, msgid_plural: str | None = None, where: str = "") -> str:
    lines = [f"#: {where}"] if where else []
    lines.append(f"msgid {quote(msgid)}")
    if msgid_plural is None:
        lines.append('msgstr ""')
    else:
        lines += [f"msgid_plural {quote(msgid_plural)}", 'msgstr[0] ""']
    return "\n".join(lines)


def command_paths() -> list[list[str]]:
    """Every command of the CLI as the words that name it (["bundle", "show"], ...)."""
    import typer.main

    from wxbudget.cli import app

    root = typer.main.get_command(app)
    context = root.make_context("wxbudget", [], resilient_parsing=True)
    found: list[list[str]] = []

    def visit(command: Any, path: list[str]) -> None:
        found.append(path)
        if hasattr(command, "list_commands"):
            for name in command.list_commands(context):
                visit(command.get_command(context, name), [*path, name])

    visit(root, [])
    return found


def help_texts() -> dict[str, str]:
    """Every help text of every command and option, as the CLI builds them: text -> where."""
    import typer.main

    from wxbudget.cli import app

    root = typer.main.get_command(app)
    context = root.make_context("wxbudget", [], resilient_parsing=True)
    found: dict[str, str] = {}

    def visit(command: Any, path: str) -> None:
        for attribute in ("help", "short_help", "epilog"):
            text = getattr(command, attribute, None)
            if text:
                found.setdefault(str(text), f"{path} ({attribute})")
        for param in command.get_params(context):
            if getattr(param, "help", None):
                found.setdefault(str(param.help), f"{path} {param.name}")
        if hasattr(command, "list_commands"):
            for name in command.list_commands(context):
                visit(command.get_command(context, name), f"{path} {name}")

    visit(root, "wxbudget")
    return found
