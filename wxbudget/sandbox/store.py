"""SQLite state: stocks as full API objects, their coupons, and the idempotency ledger.

One connection per call (cheap with WAL), `busy_timeout` so concurrent writers queue instead of
failing, and every write in `BEGIN IMMEDIATE` so check-then-write sequences cannot interleave.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

from wxbudget.sandbox.replies import (
    MESSAGE_IDEMPOTENCY_MISMATCH,
    SUB_CODE_IDEMPOTENCY_MISMATCH,
    ApiFailure,
    JsonObject,
    Reply,
    encode,
    invalid_request,
)

BUSY_TIMEOUT_MS = 10_000
USAGE_SINGLE = "SINGLE"
USAGE_PROGRESSIVE_BUNDLE = "PROGRESSIVE_BUNDLE"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS coupons (
    product_coupon_id TEXT PRIMARY KEY,
    brand_id TEXT NOT NULL,
    usage_mode TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS stocks (
    product_coupon_id TEXT NOT NULL,
    stock_id TEXT NOT NULL,
    brand_id TEXT NOT NULL,
    state TEXT NOT NULL,
    stock_bundle_id TEXT,
    body TEXT NOT NULL,
    PRIMARY KEY (product_coupon_id, stock_id)
);
CREATE TABLE IF NOT EXISTS idempotency (
    mchid TEXT NOT NULL,
    out_request_no TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status INTEGER NOT NULL,
    sub_code INTEGER NOT NULL,
    body TEXT NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (mchid, out_request_no)
);
"""


@dataclass(frozen=True)
class Coupon:
    product_coupon_id: str
    brand_id: str
    usage_mode: str


class Store:
    """The sandbox database at `path`; `created` tells whether this open made it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.created = not path.exists()
        with closing(self._connect()) as connection:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.executescript(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: transactions are opened explicitly, never implicitly.
        connection = sqlite3.connect(
            self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None
        )
        connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        return connection

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with closing(self._connect()) as connection:
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")

    def upsert_stocks(self, stocks: Iterable[JsonObject]) -> None:
        """Insert or replace stocks, then re-derive each touched coupon's brand and usage_mode."""
        with self._write() as connection:
            touched: dict[str, str] = {}
            for stock in stocks:
                _save_stock(connection, stock)
                touched[stock["product_coupon_id"]] = stock["brand_id"]
            for coupon_id, brand_id in touched.items():
                bundled = connection.execute(
                    "SELECT COUNT(*) FROM stocks WHERE product_coupon_id = ? "
                    "AND stock_bundle_id IS NOT NULL",
                    (coupon_id,),
                ).fetchone()[0]
                usage_mode = USAGE_PROGRESSIVE_BUNDLE if bundled else USAGE_SINGLE
                connection.execute(
                    "INSERT OR REPLACE INTO coupons VALUES (?, ?, ?)",
                    (coupon_id, brand_id, usage_mode),
                )

    def coupon(self, product_coupon_id: str) -> Coupon | None:
        with closing(self._connect()) as connection:
            row = connection.execute(
                "SELECT product_coupon_id, brand_id, usage_mode FROM coupons "
                "WHERE product_coupon_id = ?",
                (product_coupon_id,),
            ).fetchone()
        return None if row is None else Coupon(*row)

    def stock(self, product_coupon_id: str, stock_id: str) -> JsonObject | None:
        with closing(self._connect()) as connection:
            return _load_stock(connection, product_coupon_id, stock_id)

    def stocks(
        self, product_coupon_id: str, *, state: str | None, stock_bundle_id: str | None
    ) -> list[JsonObject]:
        """A coupon's stocks ordered by stock_id, optionally filtered."""
        query = "SELECT body FROM stocks WHERE product_coupon_id = ?"
        arguments: list[str] = [product_coupon_id]
        if state is not None:
            query += " AND state = ?"
            arguments.append(state)
        if stock_bundle_id is not None:
            query += " AND stock_bundle_id = ?"
            arguments.append(stock_bundle_id)
        query += " ORDER BY length(stock_id), stock_id"
        with closing(self._connect()) as connection:
            rows = connection.execute(query, arguments).fetchall()
        return [json.loads(row[0]) for row in rows]

    def bundle_stocks(self, product_coupon_id: str, stock_bundle_id: str) -> list[JsonObject]:
        """The stocks of a bundle in bundle order; empty when there is no such bundle."""
        with closing(self._connect()) as connection:
            return _load_bundle(connection, product_coupon_id, stock_bundle_id)

    def apply_once(
        self,
        *,
        mchid: str,
        out_request_no: str,
        fingerprint: str,
        product_coupon_id: str,
        stock_id: str,
        change: Callable[[JsonObject], JsonObject],
    ) -> Reply:
        """Run `change` on the stock at most once per (mchid, out_request_no).

        A repeat with the same fingerprint replays the recorded outcome; a repeat with another
        raises the mismatch error. `change` returns the new stock or raises ApiFailure for a
        business rule, and that failure is recorded too, as WeChat Pay would replay it.
        `mchid` is the caller's namespace: a brand's is distinct from every mchid.
        """

        def run(connection: sqlite3.Connection) -> JsonObject:
            stock = _load_stock(connection, product_coupon_id, stock_id)
            if stock is None:  # stocks are never deleted, but never trust a race either
                raise RuntimeError(f"stock {product_coupon_id}/{stock_id} vanished")
            updated = change(stock)
            _save_stock(connection, updated)
            return updated

        return self._once(mchid, out_request_no, fingerprint, run)

    def apply_bundle_once(
        self,
        *,
        mchid: str,
        out_request_no: str,
        fingerprint: str,
        product_coupon_id: str,
        stock_bundle_id: str,
        change: Callable[[list[JsonObject]], list[JsonObject]],
    ) -> Reply:
        """Like apply_once for every stock of a bundle, in one transaction: all change or none."""

        def run(connection: sqlite3.Connection) -> JsonObject:
            stocks = _load_bundle(connection, product_coupon_id, stock_bundle_id)
            if not stocks:
                raise RuntimeError(f"stock bundle {product_coupon_id}/{stock_bundle_id} vanished")
            updated = change(stocks)
            for stock in updated:
                _save_stock(connection, stock)
            return {"stock_bundle_id": stock_bundle_id, "stock_list": updated}

        return self._once(mchid, out_request_no, fingerprint, run)

    def _once(
        self,
        mchid: str,
        out_request_no: str,
        fingerprint: str,
        run: Callable[[sqlite3.Connection], JsonObject],
    ) -> Reply:
        with self._write() as connection:
            row = connection.execute(
                "SELECT fingerprint, status, sub_code, body FROM idempotency "
                "WHERE mchid = ? AND out_request_no = ?",
                (mchid, out_request_no),
            ).fetchone()
            if row is not None:
                if row[0] != fingerprint:
                    raise invalid_request(
                        MESSAGE_IDEMPOTENCY_MISMATCH, SUB_CODE_IDEMPOTENCY_MISMATCH
                    )
                return Reply(status=row[1], sub_code=row[2], body=json.loads(row[3]), replay=True)
            try:
                body = run(connection)
            except ApiFailure as failure:
                reply = failure.reply()
            else:
                reply = Reply(status=200, body=body, applied=True)
            connection.execute(
                "INSERT INTO idempotency VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    mchid,
                    out_request_no,
                    fingerprint,
                    reply.status,
                    reply.sub_code,
                    encode(reply.body).decode("utf-8"),
                    time.time(),
                ),
            )
            return reply


def _load_bundle(
    connection: sqlite3.Connection, product_coupon_id: str, stock_bundle_id: str
) -> list[JsonObject]:
    rows = connection.execute(
        "SELECT body FROM stocks WHERE product_coupon_id = ? AND stock_bundle_id = ?",
        (product_coupon_id, stock_bundle_id),
    ).fetchall()
    stocks: list[JsonObject] = [json.loads(row[0]) for row in rows]
    stocks.sort(key=lambda stock: stock["stock_bundle_info"]["stock_bundle_index"])
    return stocks


def _load_stock(
    connection: sqlite3.Connection, product_coupon_id: str, stock_id: str
) -> JsonObject | None:
    row = connection.execute(
        "SELECT body FROM stocks WHERE product_coupon_id = ? AND stock_id = ?",
        (product_coupon_id, stock_id),
    ).fetchone()
    if row is None:
        return None
    stock: JsonObject = json.loads(row[0])
    return stock


def _save_stock(connection: sqlite3.Connection, stock: JsonObject) -> None:
    bundle = stock.get("stock_bundle_info")
    connection.execute(
        "INSERT OR REPLACE INTO stocks VALUES (?, ?, ?, ?, ?, ?)",
        (
            stock["product_coupon_id"],
            stock["stock_id"],
            stock["brand_id"],
            stock["state"],
            bundle["stock_bundle_id"] if isinstance(bundle, dict) else None,
            encode(stock).decode("utf-8"),
        ),
    )
