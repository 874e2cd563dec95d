"""Plan files written from live state: the caps of stocks as a ready plan (`list -o csv`,
`show -o csv`, `bundle show -o csv`), in the columns `apply` reads (`wxbudget.plan`)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable

from wxbudget.errors import VerificationError
from wxbudget.i18n import _
from wxbudget.models import Stock
from wxbudget.plan import EXPORT_COLUMNS

# One row of an exported plan: coupon, stock (or ""), bundle (or None), caps, brand.
ExportRow = tuple[str, str, str | None, int, int | None, str | None]


def stocks_csv(stocks: Iterable[Stock]) -> str:
    """A ready plan file holding these stocks' current caps (`list -o csv`, `show -o csv`,
    `bundle show -o csv`).

    The stocks of a bundle change together, so they make one row naming the bundle, at the
    place of its first stock listed, with the caps of its first stock in bundle order (the
    `current_*` the bundle commands send); `apply` sends it to the bundle endpoint.
    """
    stocks = list(stocks)
    heads: dict[tuple[str, str], Stock] = {}
    for stock in stocks:
        if stock.bundle_id is not None:
            key = (stock.product_coupon_id, stock.bundle_id)
            if key not in heads or stock.bundle_index < heads[key].bundle_index:
                heads[key] = stock
    rows: list[ExportRow] = []
    for stock in stocks:
        if stock.bundle_id is None:
            rows.append(_export_row(stock, stock.stock_id, None))
            continue
        head = heads.pop((stock.product_coupon_id, stock.bundle_id), None)
        if head is not None:  # the bundle's first stock listed: its one row
            rows.append(_export_row(head, "", stock.bundle_id))
    return plan_csv(rows)


def _export_row(stock: Stock, stock_id: str, bundle_id: str | None) -> ExportRow:
    return (
        stock.product_coupon_id,
        stock_id,
        bundle_id,
        stock.max_count,
        stock.max_count_per_day,
        stock.brand_id,
    )


def plan_csv(rows: list[ExportRow]) -> str:
    """A ready plan file holding the given caps.

    Every cell is an id or a whole number, so none can start with `=`, `+`, `-` or `@` and be
    run as a formula by a spreadsheet; a cell that is anything else is refused (exit 6), never
    written. Ids are already checked where an answer is read (`Stock.from_api`): this is the
    last line, for whatever column is added next.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    for product_coupon_id, stock_id, bundle_id, max_count, per_day, brand_id in rows:
        cells = [
            product_coupon_id,
            stock_id,
            bundle_id or "",
            str(max_count),
            "" if per_day is None else str(per_day),
            brand_id or "",
        ]
        for column, cell in zip(EXPORT_COLUMNS, cells, strict=True):
            if not _CSV_CELL.fullmatch(cell):
                raise VerificationError(
                    _(
                        "{column} {cell!r} is not an id or a whole number; not written to CSV",
                        column=column,
                        cell=cell,
                    )
                )
        writer.writerow(cells)
    return buffer.getvalue()


# What a plan file cell may hold: ASCII digits, or nothing.
_CSV_CELL = re.compile(r"[0-9]*")
