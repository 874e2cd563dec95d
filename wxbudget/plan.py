"""Plan files: a CSV of stocks and the caps to give them, read strictly before any request.

Header: `product_coupon_id,stock_id,max_count,max_count_per_day` and an optional `brand_id`.
A cap cell is absolute (`20000`), relative (`+500`, `-10%`) or empty (leave the cap as it is).
"""

from __future__ import annotations

import csv
import hashlib
import io
import sys
from dataclasses import dataclass
from pathlib import Path

from wxbudget.budget import MAX_CAP, MIN_CAP, Target, parse_target
from wxbudget.errors import UsageError
from wxbudget.ids import parse_id
from wxbudget.models import UpdateMode

REQUIRED_COLUMNS = ("product_coupon_id", "stock_id", "max_count", "max_count_per_day")
OPTIONAL_COLUMNS = ("brand_id",)
CAP_COLUMNS = {"max_count": UpdateMode.MAX_COUNT, "max_count_per_day": UpdateMode.MAX_COUNT_PER_DAY}


class PlanError(UsageError):
    """The plan file cannot be parsed; nothing was sent."""


@dataclass(frozen=True)
class PlanRow:
    line: int
    product_coupon_id: str
    stock_id: str
    brand_id: str | None
    targets: tuple[tuple[UpdateMode, Target], ...]


@dataclass(frozen=True)
class Plan:
    source: str
    rows: tuple[PlanRow, ...]
    digest: str  # sha256 of the file's bytes: names the batch journal
    text: str

    @property
    def step_count(self) -> int:
        return sum(len(row.targets) for row in self.rows)

    def out_of_range_rows(self) -> list[str]:
        """Absolute caps no stock could take, as "line N, column C: V" (relative ones depend
        on the current cap and are checked once it is read)."""
        found = []
        for row in self.rows:
            for mode, target in row.targets:
                if target.is_relative:
                    continue
                value = target.resolve(0)
                if not MIN_CAP <= value <= MAX_CAP:
                    column = "max_count" if mode is UpdateMode.MAX_COUNT else "max_count_per_day"
                    found.append(f"line {row.line}, column {column}: {target.text}")
        return found


def read_plan(source: str) -> Plan:
    """Read a plan from a path, or from stdin for `-`."""
    if source == "-":
        data = sys.stdin.buffer.read()
        name = "<stdin>"
    else:
        try:
            data = Path(source).read_bytes()
        except OSError as error:
            raise PlanError(f"cannot read plan file {source}: {error.strerror}") from error
        name = source
    return parse_plan(data, name)


def parse_plan(data: bytes, name: str) -> Plan:
    try:
        # utf-8-sig: spreadsheets save CSV with a byte-order mark.
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise PlanError(
            f"{name} is not UTF-8 text (byte {error.start}); save it as UTF-8 CSV"
        ) from error
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise PlanError(
            f"{name} is empty; it needs a header: {','.join(REQUIRED_COLUMNS)}"
        ) from None
    except csv.Error as error:
        raise PlanError(f"{name} line 1: {error}") from error
    columns = [cell.strip() for cell in header]
    _check_header(columns, name)
    rows: list[PlanRow] = []
    seen: dict[tuple[str, str], int] = {}
    try:
        for cells in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            row = _parse_row(columns, cells, line, name)
            key = (row.product_coupon_id, row.stock_id)
            if key in seen:
                raise PlanError(
                    f"{name} line {line}: stock {row.stock_id} of coupon "
                    f"{row.product_coupon_id} is already planned on line {seen[key]}"
                )
            seen[key] = line
            rows.append(row)
    except csv.Error as error:
        raise PlanError(f"{name} line {reader.line_num}: {error}") from error
    if not rows:
        raise PlanError(f"{name} has a header but no rows")
    return Plan(source=name, rows=tuple(rows), digest=hashlib.sha256(data).hexdigest(), text=text)


def _check_header(columns: list[str], name: str) -> None:
    known = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
    for index, column in enumerate(columns, start=1):
        if column not in known:
            raise PlanError(
                f"{name} line 1, column {index}: unknown column {column!r}; "
                f"the header is {','.join(REQUIRED_COLUMNS)}[,brand_id]"
            )
        if columns.index(column) != index - 1:
            raise PlanError(f"{name} line 1, column {index}: column {column!r} appears twice")
    missing = [column for column in REQUIRED_COLUMNS if column not in columns]
    if missing:
        raise PlanError(f"{name} line 1: missing column {missing[0]!r}")


def _parse_row(columns: list[str], cells: list[str], line: int, name: str) -> PlanRow:
    if len(cells) != len(columns):
        raise PlanError(
            f"{name} line {line}: {len(cells)} cells for {len(columns)} columns; "
            "check for a stray or missing comma"
        )
    values = {column: cell.strip() for column, cell in zip(columns, cells, strict=True)}
    for column in ("product_coupon_id", "stock_id", "brand_id"):
        value = values.get(column)
        if not value:
            if column == "brand_id":
                continue  # optional: the profile's brand_id applies
            raise PlanError(f"{name} line {line}, column {column}: empty")
        try:
            values[column] = parse_id(value, column)
        except UsageError as error:
            raise PlanError(f"{name} line {line}, column {column}: {error.message}") from error
    targets: list[tuple[UpdateMode, Target]] = []
    for column, mode in CAP_COLUMNS.items():
        cell = values[column]
        if not cell:
            continue
        try:
            targets.append((mode, parse_target(cell)))
        except UsageError as error:
            raise PlanError(f"{name} line {line}, column {column}: {error.message}") from error
    return PlanRow(
        line=line,
        product_coupon_id=values["product_coupon_id"],
        stock_id=values["stock_id"],
        brand_id=values.get("brand_id") or None,
        targets=tuple(targets),
    )


def plan_csv(stocks: list[tuple[str, str, int, int | None, str | None]]) -> str:
    """A ready plan file holding the given caps, for `list -o csv`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*REQUIRED_COLUMNS, "brand_id"])
    for product_coupon_id, stock_id, max_count, per_day, brand_id in stocks:
        writer.writerow(
            [
                product_coupon_id,
                stock_id,
                max_count,
                "" if per_day is None else per_day,
                brand_id or "",
            ]
        )
    return buffer.getvalue()
