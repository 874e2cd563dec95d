"""`wxbudget certs download|list`: the platform-certificate cache of a partner profile."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import typer

from wxbudget.cli.options import GlobalOptions, with_global_options
from wxbudget.i18n import _

if TYPE_CHECKING:
    from wxbudget.certs import CachedCertificate

certs_app = typer.Typer(
    # Plain (click) help: it wraps between words at any width, where rich panels cut words.
    rich_markup_mode=None,
    help="Platform certificates (平台证书) for profiles that verify with them.",
    no_args_is_help=True,
)


@certs_app.command("download")
@with_global_options
def download(*, options: GlobalOptions) -> None:
    """Download the platform certificates, decrypt them with the APIv3 key, verify and cache them.

    Needs apiv3_key_file and platform_cert_dir in the profile. wxbudget also refreshes the cache
    by itself when an answer is signed by a certificate it has not seen.

    Example: wxbudget certs download -p legacy
    """
    from wxbudget import render
    from wxbudget.cli.stock import open_client

    with open_client(options) as client:
        downloaded = client.download_certificates()
        folder = client.settings.platform_cert_dir
    render.notice(
        _("{count} valid certificate(s) cached in {folder}", count=len(downloaded), folder=folder)
    )
    _show(options, downloaded, client.settings.wechatpay_public_key_id)


@certs_app.command("list")
@with_global_options
def list_certificates(*, options: GlobalOptions) -> None:
    """List the cached platform certificates and the public key id answers may be signed with.

    Example: wxbudget certs list -o json
    """
    from wxbudget import certs, render
    from wxbudget.cli.embedded import resolve_settings
    from wxbudget.errors import ConfigError
    from wxbudget.verifier import cache_key

    settings = resolve_settings(options.flags())
    if settings.platform_cert_dir is None:
        raise ConfigError(
            _(
                "profile '{profile}' has no platform_cert_dir: it verifies with the WeChat "
                "Pay public key {wechatpay_public_key_id} only",
                profile=settings.profile,
                wechatpay_public_key_id=settings.wechatpay_public_key_id,
            )
        )
    contents = certs.read_cache(settings.platform_cert_dir, cache_key(settings))
    for path, reason in contents.ignored:
        render.notice(
            _(
                "ignored {path} ({reason}); run: wxbudget certs download -p {profile}",
                path=path,
                reason=reason,
                profile=settings.profile,
            )
        )
    _show(options, contents.certificates, settings.wechatpay_public_key_id)


def _show(
    options: GlobalOptions, cached: Sequence[CachedCertificate], public_key_id: str | None
) -> None:
    import time

    from wxbudget import certs, render

    now = certs.utc_now(time.time())
    rows = [
        {
            "serial_no": c.serial_no,
            "not_before": c.certificate.not_before.isoformat(),
            "not_after": c.certificate.not_after.isoformat(),
            "valid": c.valid_at(now),
            "path": str(c.path) if c.path else None,
        }
        for c in cached
    ]
    if options.json:
        render.json_result({"certificates": rows, "wechatpay_public_key_id": public_key_id})
    else:
        render.certificates_table(rows, public_key_id)
