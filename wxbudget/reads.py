"""Many stocks of one coupon at once, for `show` and `check`: listed, or read in parallel.

Every read goes through the profile's rate limiter, whatever thread makes it: a handful of
named stocks are read with one GET each on a few threads (each with its own client and
connection pool), a coupon's every stock (or many named ones) through the list endpoint, 50 a
page. Either way each answer is verified before it is believed.
"""

from __future__ import annotations

import queue
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from wxbudget.client import Client
from wxbudget.errors import LocalCheckError, RejectedError, WxBudgetError
from wxbudget.i18n import _
from wxbudget.models import Stock
from wxbudget.readpool import ReadPool

# More named stocks than this are read with the list endpoint (one call per 50 stocks) rather
# than one GET each; the same threshold as batches use to read a plan's coupons.
LIST_THRESHOLD = 5
DEFAULT_WORKERS = 4


@dataclass(frozen=True)
class StockReading:
    """The stocks found, in the order asked for, and each named stock that was not."""

    stocks: tuple[Stock, ...]
    missing: tuple[tuple[str, WxBudgetError], ...] = field(default=())


def read_stocks(
    client: Client,
    product_coupon_id: str,
    stock_ids: Sequence[str] | None,
    *,
    make_client: Callable[[], Client] | None = None,
    workers: int = DEFAULT_WORKERS,
) -> StockReading:
    """The named stocks of a coupon (every stock of it when `stock_ids` is None).

    A named stock the API does not know (404, or absent from the list) is reported in
    `missing`; any other failure (network, verification, credentials) raises, because it says
    nothing about one stock in particular.
    """
    brand_id = client.settings.body_brand_id()
    if stock_ids is None:
        return StockReading(tuple(client.list_stocks(product_coupon_id, brand_id)))
    wanted = list(dict.fromkeys(stock_ids))  # a stock named twice is shown once
    if len(wanted) > LIST_THRESHOLD:
        listed = {
            stock.stock_id: stock
            for stock in client.list_stocks(product_coupon_id, brand_id)
            if stock.stock_id in wanted
        }
        missing = tuple(
            (stock_id, _not_in_coupon(stock_id, product_coupon_id))
            for stock_id in wanted
            if stock_id not in listed
        )
        return StockReading(tuple(listed[s] for s in wanted if s in listed), missing)
    found = _get_each(client, product_coupon_id, wanted, make_client, workers)
    stocks = tuple(result for result in found if isinstance(result, Stock))
    missing = tuple(
        (stock_id, result)
        for stock_id, result in zip(wanted, found, strict=True)
        if not isinstance(result, Stock)
    )
    return StockReading(stocks, missing)


def _get_each(
    client: Client,
    product_coupon_id: str,
    stock_ids: list[str],
    make_client: Callable[[], Client] | None,
    workers: int,
) -> list[Stock | RejectedError]:
    """One GET per stock on up to `workers` threads, each with a client of its own."""
    if make_client is None or len(stock_ids) == 1:
        return [_get(client, product_coupon_id, stock_id) for stock_id in stock_ids]
    idle: queue.SimpleQueue[Client] = queue.SimpleQueue()
    made = [make_client() for _worker in range(min(workers, len(stock_ids)))]
    for worker_client in made:
        idle.put(worker_client)

    def read(stock_id: str) -> Stock | RejectedError:
        worker_client = idle.get()
        try:
            return _get(worker_client, product_coupon_id, stock_id)
        finally:
            idle.put(worker_client)

    try:
        with ReadPool(len(made)) as pool:
            return list(pool.map(read, stock_ids))
    finally:
        for worker_client in made:
            worker_client.close()


def _get(client: Client, product_coupon_id: str, stock_id: str) -> Stock | RejectedError:
    try:
        return client.fetch_stock(product_coupon_id, stock_id)
    except RejectedError as error:
        return error


def _not_in_coupon(stock_id: str, product_coupon_id: str) -> WxBudgetError:
    return LocalCheckError(
        _(
            "stock {stock_id} is not in coupon {product_coupon_id}",
            stock_id=stock_id,
            product_coupon_id=product_coupon_id,
        )
    )
