"""`wxbudget sandbox ...`: run the local emulator of the WeChat Pay product-coupon API."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from wxbudget.sandbox.defaults import DEFAULT_FAULT_DELAY_SECONDS

sandbox_app = typer.Typer(
    # Plain (click) help: it wraps between words at any width, where rich panels cut words.
    rich_markup_mode=None,
    help="Run a faithful local emulator of the WeChat Pay product-coupon API.",
    no_args_is_help=True,
)


@sandbox_app.callback()
def _group() -> None:
    # A callback keeps `serve` a named subcommand even while it is the group's only command.
    pass


@sandbox_app.command("serve")
def serve_command(
    home: Annotated[
        Path | None,
        typer.Option(
            "--home",
            metavar="DIR",
            help="Sandbox folder (keys, database, config.toml, requests.jsonl), created on "
            "first start; default $XDG_DATA_HOME/wxbudget/sandbox "
            "(~/.local/share/wxbudget/sandbox).",
            file_okay=False,
        ),
    ] = None,
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="Port on 127.0.0.1; 0 picks a free one.")
    ] = 0,
    seed: Annotated[
        Path | None,
        typer.Option(
            "--seed",
            metavar="FILE",
            help="JSON array of API stock objects, upserted at every start.",
            dir_okay=False,
        ),
    ] = None,
    rate_limit: Annotated[
        int,
        typer.Option(
            "--rate-limit", min=0, help="Requests per second per endpoint; 0 = unlimited."
        ),
    ] = 20,
    fault: Annotated[
        list[str] | None,
        typer.Option(
            "--fault",
            metavar="KIND=PROBABILITY[:METHOD]",
            help="Misbehave on purpose (repeatable; the first fault drawn wins). KIND: 500, 429, "
            "403 (nothing applied), drop (applied, connection closed unanswered), delay (applied, "
            "answer held --fault-delay seconds), badsig, unsigned, skew, probe, badheader "
            "(applied, answer fails verification), race (update-budget only: another writer "
            "adds 1 to the cap just before the request runs). METHOD GET or POST; default both.",
        ),
    ] = None,
    fault_seed: Annotated[
        int | None,
        typer.Option(
            "--fault-seed", metavar="N", help="Seed for reproducible fault draws; default random."
        ),
    ] = None,
    fault_delay: Annotated[
        float,
        typer.Option(
            "--fault-delay",
            metavar="SECONDS",
            min=0,
            help="How long a delay fault holds an answer.",
        ),
    ] = DEFAULT_FAULT_DELAY_SECONDS,
    fault_limit: Annotated[
        int | None,
        typer.Option(
            "--fault-limit",
            metavar="N",
            min=0,
            help="Stop injecting after N faults in total; default unlimited.",
        ),
    ] = None,
    platform_cert: Annotated[
        bool,
        typer.Option(
            "--platform-cert",
            help="Also act as a merchant with platform certificates (平台证书): serve "
            "GET /v3/certificates, sign answers to requests without a public key id in "
            "Wechatpay-Serial with the newest certificate, and write the sandbox-cert profile.",
        ),
    ] = False,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict",
            help="The strict reading of every point the official pages leave open: refuse the "
            "other update_mode's fields, unknown fields, targets outside 1..100000000, AUDITING "
            "stocks, adding a daily cap, a daily target below today's issued count; business "
            "refusals carry only the documented message. Default: lenient there (the official "
            "PHP sample's request is applied as sent).",
        ),
    ] = False,
) -> None:
    """Serve the sandbox in the foreground until Ctrl-C.

    Once ready it prints `listening on http://127.0.0.1:PORT`.

    Every start points the sandbox profiles of DIR/config.toml at the port in use: sandbox
    (partner, /v3), sandbox-brand (品牌API, /brand) and, with --platform-cert, sandbox-cert.

    Faults are drawn only for requests that pass the signature and rate-limit checks, and each
    one is recorded in DIR/requests.jsonl as "fault".

    Examples:

        wxbudget sandbox serve --home ./sb --port 8080

        wxbudget sandbox serve --fault 500=0.2:POST --fault-seed 7

        wxbudget sandbox serve --platform-cert

        wxbudget sandbox serve --strict     # the strictest reading
    """
    from wxbudget.cli.embedded import embedded_home
    from wxbudget.sandbox import serve

    serve(
        home or embedded_home(os.environ),
        port=port,
        seed=seed,
        rate_limit=rate_limit,
        faults=fault or (),
        fault_seed=fault_seed,
        fault_delay=fault_delay,
        fault_limit=fault_limit,
        platform_cert=platform_cert,
        strict=strict,
    )
