"""What every command on stocks shares: id arguments, the client, the stock views."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer

from wxbudget.cli.options import GlobalOptions
from wxbudget.i18n import _

if TYPE_CHECKING:
    from wxbudget.client import Client
    from wxbudget.models import Stock, UpdateMode


def id_argument(what: str) -> Callable[[str | None], str | None]:
    """A callback that checks an id argument as it is parsed, before anything is read or signed."""

    def check(value: str | None) -> str | None:
        from wxbudget.ids import parse_id

        return None if value is None else parse_id(value, what)

    return check


ProductCouponId = Annotated[
    str,
    typer.Argument(
        help="Product coupon id (商品券ID)",
        show_default=False,
        callback=id_argument(_("product coupon id")),
    ),
]
StockId = Annotated[
    str,
    typer.Argument(
        help="Stock id (批次ID)", show_default=False, callback=id_argument(_("stock id"))
    ),
]
BundleId = Annotated[
    str,
    typer.Argument(
        help="Stock bundle id (批次组ID, stock_bundle_id)",
        show_default=False,
        callback=id_argument(_("stock bundle id")),
    ),
]


def print_stocks(
    options: GlobalOptions,
    stocks: tuple[Stock, ...],
    *,
    bundle: str | None = None,
    changed: UpdateMode | None = None,
    before: int | None = None,
) -> None:
    """A single stock as a detailed table; a bundle's stocks as one list (json: the objects)."""
    from wxbudget import render

    if bundle is not None:
        if options.json:
            render.json_result({"stock_bundle_id": bundle, "stock_list": [s.raw for s in stocks]})
        else:
            render.stocks_table(
                _("stock bundle {bundle}", bundle=bundle), list(stocks), changed=changed
            )
    elif options.json:
        render.json_result(stocks[0].raw)
    else:
        render.stock_table(stocks[0], changed=changed, before=before)


@contextmanager
def open_client(options: GlobalOptions, *, rate_limited: bool = False) -> Iterator[Client]:
    """Resolve settings and hold one client (one connection pool) for the command."""
    from wxbudget import render
    from wxbudget.cli.embedded import resolve_settings
    from wxbudget.client import Client
    from wxbudget.interrupts import INTERRUPTS
    from wxbudget.ratelimit import RateLimiter

    settings = resolve_settings(options.flags())
    client = Client(
        settings,
        trace=render.trace if options.verbose else None,
        limiter=RateLimiter(settings.rate_limit) if rate_limited else None,
        stop=INTERRUPTS.stop,
    )
    try:
        yield client
    finally:
        client.close()
