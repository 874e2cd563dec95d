"""`wxbudget profile init|list|show|remove`: manage the profiles of the config file.

None of these starts the embedded sandbox or needs a usable profile: they edit or inspect the
file `config.locate` picks (--config, WXBUDGET_CONFIG, or the XDG default).
"""

from __future__ import annotations

import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from wxbudget.cli.options import ConfigOption, DebugOption, GlobalOptions, with_global_options
from wxbudget.i18n import _

profile_app = typer.Typer(
    # Plain (click) help: it wraps between words at any width, where rich panels cut words.
    rich_markup_mode=None,
    help="Create, list, inspect and remove profiles in the config file.",
    no_args_is_help=True,
)


class ProfileKind(StrEnum):
    partner = "partner"
    brand = "brand"


class Language(StrEnum):
    zh = "zh"
    en = "en"


def _value(flag: str, text: str, metavar: str = "TEXT") -> Any:
    return typer.Option(flag, help=text, metavar=metavar, show_default=False)


ProfileName = Annotated[str, typer.Argument(help="Profile name, e.g. prod", show_default=False)]


@profile_app.command("init")
def init(
    context: typer.Context,
    name: ProfileName,
    kind: Annotated[
        ProfileKind | None,
        typer.Option(
            "--kind",
            help="partner: service provider, /v3/... (default); brand: brand-direct, /brand/...",
            show_default=False,
        ),
    ] = None,
    mchid: Annotated[str | None, _value("--mchid", "Merchant id (partner)")] = None,
    merchant_serial_no: Annotated[
        str | None, _value("--merchant-serial-no", "Merchant API certificate serial (partner)")
    ] = None,
    brand_serial_no: Annotated[
        str | None, _value("--brand-serial-no", "Brand API certificate serial (brand)")
    ] = None,
    private_key_file: Annotated[
        str | None, _value("--private-key-file", "API private key PEM, chmod 600", "PATH")
    ] = None,
    merchant_cert_file: Annotated[
        str | None, _value("--merchant-cert-file", "Merchant API certificate PEM", "PATH")
    ] = None,
    wechatpay_public_key_id: Annotated[
        str | None, _value("--wechatpay-public-key-id", "PUB_KEY_ID_...", "ID")
    ] = None,
    wechatpay_public_key_file: Annotated[
        str | None, _value("--wechatpay-public-key-file", "WeChat Pay public key PEM", "PATH")
    ] = None,
    apiv3_key_file: Annotated[
        str | None,
        _value("--apiv3-key-file", "File holding the APIv3 key (partner, with a cert dir)", "PATH"),
    ] = None,
    platform_cert_dir: Annotated[
        str | None,
        _value("--platform-cert-dir", "Folder of platform certificates (partner)", "DIR"),
    ] = None,
    brand_id: Annotated[str | None, _value("--brand-id", "Brand id")] = None,
    base_url: Annotated[
        str | None, _value("--base-url", "API host (default WeChat Pay's)", "URL")
    ] = None,
    timeout: Annotated[float | None, _value("--timeout", "Seconds (default 10)", "S")] = None,
    max_retries: Annotated[int | None, _value("--max-retries", "Retries (default 3)", "N")] = None,
    rate_limit: Annotated[
        int | None, _value("--rate-limit", "Requests/second (default 20; 0 = none)", "N")
    ] = None,
    audit_log: Annotated[str | None, _value("--audit-log", "Audit journal file", "PATH")] = None,
    limit: Annotated[
        list[str] | None,
        _value(
            "--limit",
            "A guard rail of [limits], repeatable: max_total_cap, max_daily_cap, max_increase, "
            "max_increase_percent, max_exposure_increase (yuan), max_rows",
            "KEY=N",
        ),
    ] = None,
    language: Annotated[
        Language | None,
        typer.Option(
            "--language",
            help="zh (中文) or en (English); default: WXBUDGET_LANG, then the locale (LANG)",
            show_default=False,
        ),
    ] = None,
    default: Annotated[bool, typer.Option("--default", help="Make it the default_profile")] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Replace an existing profile of that name")
    ] = False,
    config_file: ConfigOption = None,
    # Accepted so `--debug` works here too; the error boundary reads it from argv.
    debug: DebugOption = None,
) -> None:
    """Create (or with --force replace) a profile; on a terminal, ask for what is missing.

    Key files are given by path, never by content. A relative path is taken from the current
    folder (where it was typed) and stored absolute; a ~ path is stored as typed. The profile
    is checked exactly as every command would check it (keys loaded, private key chmod 600)
    before the file is written, atomically and 0600. Without a terminal every required key
    must come as a flag.

    Examples:

      wxbudget profile init prod --default    # on a terminal: asks for each key

      \b
      wxbudget profile init ci --mchid 1900000001 \\
        --merchant-serial-no 1DDE55AD98ED71D6 \\
        --private-key-file ~/keys/apiclient_key.pem \\
        --wechatpay-public-key-id PUB_KEY_ID_0000000001 \\
        --wechatpay-public-key-file ~/keys/pub_key.pem
    """
    from wxbudget import config, profile_editor, profiles, render
    from wxbudget.errors import UsageError
    from wxbudget.limits import parse_limit_flags

    before = context.find_object(GlobalOptions) or GlobalOptions()
    flags = config.Flags(config=config_file or before.config)
    path, _named = config.locate(flags, os.environ)
    profile_editor.check_new_name(profiles.read_document(path), name, force=force)
    given: dict[str, object | None] = {
        "kind": (kind or ProfileKind.partner).value,
        "mchid": mchid,
        "merchant_serial_no": merchant_serial_no,
        "brand_serial_no": brand_serial_no,
        "private_key_file": private_key_file,
        "merchant_cert_file": merchant_cert_file,
        "wechatpay_public_key_id": wechatpay_public_key_id,
        "wechatpay_public_key_file": wechatpay_public_key_file,
        "apiv3_key_file": apiv3_key_file,
        "platform_cert_dir": platform_cert_dir,
        "brand_id": brand_id,
        "base_url": base_url,
        "timeout": timeout,
        "max_retries": max_retries,
        "rate_limit": rate_limit,
        "audit_log": audit_log,
        "limits": parse_limit_flags(limit) if limit else None,
        "language": language.value if language is not None else None,
    }
    # As typed, before a relative path is made absolute: a key is refused whatever it looks like.
    profile_editor.refuse_key_material({k: v for k, v in given.items() if v is not None})
    values = {
        key: profile_editor.typed_path(key, value)
        for key, value in given.items()
        if value is not None
    }
    missing = profile_editor.missing_keys(values)
    if missing and not sys.stdin.isatty():
        raise UsageError(
            _(
                "a {kind} profile needs {flags} (no terminal to ask on)",
                kind=values["kind"],
                flags=", ".join(profile_editor.flag(key) for key in missing),
            )
        )
    for key in missing:
        values[key] = _ask(path, key)
    if sys.stdin.isatty() and values["kind"] == "partner" and "brand_id" not in values:
        # Optional for a partner, but every stock command needs one (or --brand-id each time).
        answer = _ask(path, "brand_id", optional=True)
        if answer:
            values["brand_id"] = answer
    if sys.stdin.isatty() and "language" not in values:
        # Asked on a terminal, as cloud CLIs' configure does; Enter follows the environment.
        answer = _ask(path, "language", optional=True)
        if answer:
            values["language"] = answer
    written = profile_editor.save(
        path, name, values, make_default=default, force=force, env=os.environ
    )
    if written.replaced:
        render.notice(_("replaced profile '{name}' in {path}", name=name, path=written.path))
    else:
        render.notice(_("added profile '{name}' in {path}", name=name, path=written.path))
    if written.is_default:
        render.notice(_("'{name}' is the default profile", name=name))
    if written.dropped_comments:
        render.notice(
            _(
                "note: the comments in {path} were not kept (the file is rewritten)",
                path=written.path,
            )
        )


def _ask(path: Path, key: str, *, optional: bool = False) -> str:
    """Ask until the answer passes the same check the profile will face (empty: optional)."""
    from wxbudget import profile_editor, render
    from wxbudget.errors import WxBudgetError

    meaning = profile_editor.KEY_MEANINGS[key]
    if optional:
        meaning = _("{meaning}; optional: press Enter to skip", meaning=meaning)
    while True:
        try:
            typed = render.ask(key, meaning)
        except EOFError:
            raise typer.Abort() from None
        try:
            profile_editor.refuse_key_material({key: typed})
        except WxBudgetError as error:
            render.notice(_("{problem}; try again", problem=error.line()))
            continue
        answer = str(profile_editor.typed_path(key, typed))
        if not answer:
            if optional:
                return ""
            render.notice(_("{key} is required", key=key))
            continue
        try:
            profile_editor.check_value(path, key, answer)
        except WxBudgetError as error:
            render.notice(_("{problem}; try again", problem=error.line()))
            continue
        return answer


@profile_app.command("list")
@with_global_options
def list_profiles(*, options: GlobalOptions) -> None:
    """List the profiles of the config file; * marks the default. Loads no key.

    Examples:

      wxbudget profile list

      wxbudget profile list -o json
    """
    from wxbudget import config, profiles, render

    path, _named = config.locate(options.flags(), os.environ)
    summaries = profiles.summaries(profiles.read_document(path))
    if options.json:
        render.json_result([summary.to_json() for summary in summaries])
    elif not summaries:
        render.notice(
            _("no profiles in {path}; create one with: wxbudget profile init NAME", path=path)
        )
    else:
        render.profiles_table(path, summaries)


@profile_app.command("show")
@with_global_options
def show(
    name: Annotated[
        str | None,
        typer.Argument(help="Profile name; default: the one -p/env/default_profile selects"),
    ] = None,
    *,
    options: GlobalOptions,
) -> None:
    """Show a profile: its keys, resolved paths, and each key file's mode and fingerprint.

    A fingerprint is the SHA-256 of the public key's DER SubjectPublicKeyInfo in lower-case hex
    (for the private key, of its public half), as `openssl pkey -pubin -in pub_key.pem -outform
    DER | sha256sum` prints it. Key contents are never shown.

    Examples:

      wxbudget profile show prod

      wxbudget profile show -o json
    """
    from wxbudget import config, profiles, render

    path, _named = config.locate(options.flags(), os.environ)
    report = profiles.describe(path, name or options.profile, os.environ)
    if options.json:
        render.json_result(report.to_json())
    else:
        render.profile_report(report)


@profile_app.command("remove")
@with_global_options
def remove(
    name: ProfileName,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Remove without asking (for scripts)")
    ] = False,
    *,
    options: GlobalOptions,
) -> None:
    """Remove a profile; default_profile is cleared when it named this one.

    Example: wxbudget profile remove staging --yes
    """
    from wxbudget import config, profile_editor, profiles, render
    from wxbudget.errors import UsageError

    path, _named = config.locate(options.flags(), os.environ)
    profiles.require_profile(path, profiles.read_document(path), name)
    if not yes:
        if not sys.stdin.isatty():
            raise UsageError(
                _(
                    "refusing to remove profile '{name}' without confirmation: stdin is not a "
                    "terminal; pass --yes",
                    name=name,
                )
            )
        if not render.confirm(_("Remove profile '{name}' from {path}?", name=name, path=path)):
            render.notice(_("cancelled: nothing was changed"))
            raise typer.Exit(2)
    written = profile_editor.remove(path, name)
    render.notice(_("removed profile '{name}' from {path}", name=name, path=written.path))
    if written.cleared_default:
        render.notice(_("default_profile was '{name}' and is now unset", name=name))
    if written.dropped_comments:
        render.notice(
            _(
                "note: the comments in {path} were not kept (the file is rewritten)",
                path=written.path,
            )
        )
