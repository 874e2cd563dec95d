"""Plan files: a CSV of stocks and the caps to give them, read strictly before any request.

Header: `product_coupon_id,stock_id,max_count,max_count_per_day` and the optional `brand_id` and
`stock_bundle_id`. A row names a stock (`stock_id`) or a stock bundle (`stock_bundle_id`, whose
stocks change together), never both. A cap cell is absolute (`20000`), relative (`+500`, `-10%`)
or empty (leave the cap as it is).
"""

from __future__ import annotations

import bisect
import csv
import hashlib
import itertools
import sys
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from wxbudget.budget import MAX_CAP, MIN_CAP, Target, parse_target
from wxbudget.errors import UsageError, os_reason
from wxbudget.i18n import _
from wxbudget.ids import parse_id
from wxbudget.models import UpdateMode

REQUIRED_COLUMNS = ("product_coupon_id", "stock_id", "max_count", "max_count_per_day")
OPTIONAL_COLUMNS = ("brand_id", "stock_bundle_id")
# The columns `list -o csv`, `show -o csv` and `bundle show -o csv` write, in this order.
EXPORT_COLUMNS = (
    "product_coupon_id",
    "stock_id",
    "stock_bundle_id",
    "max_count",
    "max_count_per_day",
    "brand_id",
)
CAP_COLUMNS = {"max_count": UpdateMode.MAX_COUNT, "max_count_per_day": UpdateMode.MAX_COUNT_PER_DAY}


class PlanError(UsageError):
    """The plan file cannot be parsed; nothing was sent."""


@dataclass(frozen=True)
class PlanRow:
    line: int
    product_coupon_id: str
    stock_id: str  # empty on a stock bundle's row
    brand_id: str | None
    targets: tuple[tuple[UpdateMode, Target], ...]
    stock_bundle_id: str | None = None

    @property
    def subject(self) -> str:
        """What the row changes, as messages name it."""
        if self.stock_bundle_id is not None:
            return _("stock bundle {stock_bundle_id}", stock_bundle_id=self.stock_bundle_id)
        return _("stock {stock_id}", stock_id=self.stock_id)

    @property
    def planned_key(self) -> int:
        """The row's entry in the plan's groups: its stock, or its bundle (prefixed, so a
        bundle never collides with a stock of the same digits)."""
        if self.stock_bundle_id is not None:
            return stock_key(f"bundle:{self.stock_bundle_id}")
        return stock_key(self.stock_id)


# Out-of-range caps listed by name before the rest are only counted (a whole bad file would
# otherwise make a message as long as the file).
MAX_LISTED_PROBLEMS = 20


@dataclass(frozen=True)
class Plan:
    """A checked plan file. Rows are not held: `iter_rows` parses them again from `text`, so
    a plan of 100,000 rows costs its text and a few bytes a row, not a row object each.

    `groups` has, for each coupon, the sorted hashes of its planned stock ids (8 bytes a row):
    how many rows it has (a coupon with many is read with the list endpoint) and which listed
    stocks to keep (`is_planned`).
    """

    source: str
    digest: str  # sha256 of the file's bytes: names the batch journal
    text: str
    row_count: int
    step_count: int
    groups: dict[str, array[int]]
    out_of_range: tuple[str, ...] = ()

    @property
    def rows(self) -> tuple[PlanRow, ...]:
        """Every row at once (small plans and tests; batches use `iter_rows`)."""
        return tuple(self.iter_rows())

    def iter_rows(self) -> Iterator[PlanRow]:
        reader = csv.reader(_lines(self.text))
        columns = [cell.strip() for cell in next(reader)]
        for cells in reader:
            if any(cell.strip() for cell in cells):
                yield _parse_row(columns, cells, reader.line_num, self.source)

    def out_of_range_rows(self) -> list[str]:
        """Absolute caps no stock could take, as "line N, column C: V" (relative ones depend
        on the current cap and are checked once it is read)."""
        return list(self.out_of_range)

    def is_planned(self, product_coupon_id: str, stock_id: str) -> bool:
        """Whether the plan has a row for this stock (a false yes is possible, never a false
        no: the caller looks the row up by its id anyway)."""
        planned = self.groups.get(product_coupon_id)
        if planned is None:
            return False
        key = stock_key(stock_id)
        index = bisect.bisect_left(planned, key)
        return index < len(planned) and planned[index] == key


def stock_key(stock_id: str) -> int:
    """A planned stock id as the plan's groups hold it: a 64-bit hash (this process's)."""
    return hash(stock_id)


def _lines(text: str) -> Iterator[str]:
    """The lines of `text`, endings kept, one at a time (io.StringIO would hold a copy of the
    whole text at four bytes a character)."""
    start, end = 0, len(text)
    while start < end:
        stop = text.find("\n", start)
        if stop < 0:
            yield text[start:]
            return
        yield text[start : stop + 1]
        start = stop + 1


def read_plan(source: str) -> Plan:
    """Read a plan from a path, or from stdin for `-`."""
    if source == "-":
        data = sys.stdin.buffer.read()
        name = "<stdin>"
    else:
        try:
            data = Path(source).read_bytes()
        except OSError as error:
            raise PlanError(
                _(
                    "cannot read plan file {source}: {strerror}",
                    source=source,
                    strerror=os_reason(error),
                )
            ) from error
        name = source
    return parse_plan(data, name)


def parse_plan(data: bytes, name: str) -> Plan:
    try:
        # utf-8-sig: spreadsheets save CSV with a byte-order mark.
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise PlanError(
            _(
                "{name} is not UTF-8 text (byte {start}); save it as UTF-8 CSV",
                name=name,
                start=error.start,
            )
        ) from error
    reader = csv.reader(_lines(text))
    try:
        header = next(reader)
    except StopIteration:
        raise PlanError(
            _(
                "{name} is empty; it needs a header: {required_columns}",
                name=name,
                required_columns=",".join(REQUIRED_COLUMNS),
            )
        ) from None
    except csv.Error as error:
        raise PlanError(_("{name} line 1: {error}", name=name, error=error)) from error
    columns = [cell.strip() for cell in header]
    _check_header(columns, name)
    groups: dict[str, array[int]] = {}
    out_of_range: list[str] = []
    row_count = step_count = 0
    try:
        for cells in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            row = _parse_row(columns, cells, line, name)
            planned = groups.get(row.product_coupon_id)
            if planned is None:
                planned = groups[row.product_coupon_id] = array("q")
            planned.append(row.planned_key)
            row_count += 1
            step_count += len(row.targets)
            out_of_range.extend(_out_of_range(row))
    except csv.Error as error:
        raise PlanError(
            _("{name} line {line}: {error}", name=name, line=reader.line_num, error=error)
        ) from error
    for planned in groups.values():
        ordered = sorted(planned)
        if any(a == b for a, b in itertools.pairwise(ordered)):
            _refuse_duplicate(text, columns, name)
        planned[:] = array("q", ordered)
    if not row_count:
        raise PlanError(_("{name} has a header but no rows", name=name))
    if len(out_of_range) > MAX_LISTED_PROBLEMS:
        more = len(out_of_range) - MAX_LISTED_PROBLEMS
        out_of_range[MAX_LISTED_PROBLEMS:] = [_("and {more} more", more=more)]
    return Plan(
        source=name,
        digest=hashlib.sha256(data).hexdigest(),
        text=text,
        row_count=row_count,
        step_count=step_count,
        groups=groups,
        out_of_range=tuple(out_of_range),
    )


def _refuse_duplicate(text: str, columns: list[str], name: str) -> None:
    """A stock planned twice (its hash seen twice): find both lines (only on this error path)."""
    seen: dict[tuple[str, str], int] = {}
    reader = csv.reader(_lines(text))
    next(reader)
    for cells in reader:
        if not any(cell.strip() for cell in cells):
            continue
        row = _parse_row(columns, cells, reader.line_num, name)
        key = (row.product_coupon_id, row.subject)
        if key in seen:
            raise PlanError(
                _(
                    "{name} line {line}: {subject} of coupon "
                    "{product_coupon_id} is already planned on line {seen}",
                    name=name,
                    line=row.line,
                    subject=row.subject,
                    product_coupon_id=row.product_coupon_id,
                    seen=seen[key],
                )
            )
        seen[key] = row.line
    # Two ids with one hash: not a duplicate after all (astronomically rare), so go on.


def _out_of_range(row: PlanRow) -> Iterator[str]:
    for mode, target in row.targets:
        if target.is_relative:
            continue
        value = target.resolve(0)
        if not MIN_CAP <= value <= MAX_CAP:
            column = "max_count" if mode is UpdateMode.MAX_COUNT else "max_count_per_day"
            yield _(
                "line {line}, column {column}: {text}",
                line=row.line,
                column=column,
                text=target.text,
            )


def _check_header(columns: list[str], name: str) -> None:
    known = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
    for index, column in enumerate(columns, start=1):
        if column not in known:
            raise PlanError(
                _(
                    "{name} line 1, column {index}: unknown column {column!r}; "
                    "the header is {required_columns}[,brand_id][,stock_bundle_id]",
                    name=name,
                    index=index,
                    column=column,
                    required_columns=",".join(REQUIRED_COLUMNS),
                )
            )
        if columns.index(column) != index - 1:
            raise PlanError(
                _(
                    "{name} line 1, column {index}: column {column!r} appears twice",
                    name=name,
                    index=index,
                    column=column,
                )
            )
    required: tuple[str, ...] = REQUIRED_COLUMNS
    if "stock_bundle_id" in columns:
        # Rows may then name bundles only: the stock_id column is optional.
        required = tuple(column for column in REQUIRED_COLUMNS if column != "stock_id")
    missing = [column for column in required if column not in columns]
    if missing:
        raise PlanError(
            _("{name} line 1: missing column {missing!r}", name=name, missing=missing[0])
        )


def _cell_error(name: str, line: int, column: str, error: UsageError) -> PlanError:
    """A cell the command line would refuse, refused with where it is in the plan."""
    return PlanError(
        _(
            "{name} line {line}, column {column}: {message}",
            name=name,
            line=line,
            column=column,
            message=error.message,
        )
    )


def _parse_row(columns: list[str], cells: list[str], line: int, name: str) -> PlanRow:
    if len(cells) != len(columns):
        raise PlanError(
            _(
                "{name} line {line}: {cells} cells for {columns} columns; "
                "check for a stray or missing comma",
                name=name,
                line=line,
                cells=len(cells),
                columns=len(columns),
            )
        )
    values = {column: cell.strip() for column, cell in zip(columns, cells, strict=True)}
    if values.get("stock_id") and values.get("stock_bundle_id"):
        raise PlanError(
            _(
                "{name} line {line}: a row names a stock_id or a stock_bundle_id, not both (a "
                "bundle's stocks change together, through the bundle)",
                name=name,
                line=line,
            )
        )
    for column in ("product_coupon_id", "stock_id", "brand_id", "stock_bundle_id"):
        value = values.get(column)
        if not value:
            if column in ("brand_id", "stock_bundle_id"):
                continue  # optional: the profile's brand_id applies; a stock row has no bundle
            if column == "stock_id" and values.get("stock_bundle_id"):
                continue  # a stock bundle's row
            also = _(" (give a stock_id or a stock_bundle_id)") if column == "stock_id" else ""
            raise PlanError(
                _(
                    "{name} line {line}, column {column}: empty{also}",
                    name=name,
                    line=line,
                    column=column,
                    also=also,
                )
            )
        try:
            values[column] = parse_id(value, column)
        except UsageError as error:
            raise _cell_error(name, line, column, error) from error
    raw = dict(zip(columns, cells, strict=True))
    targets: list[tuple[UpdateMode, Target]] = []
    for column, mode in CAP_COLUMNS.items():
        # A cap cell is read as written (" 100 " is refused like on the command line); only a
        # blank cell means "leave this cap".
        cell = raw[column] if raw[column].strip() else ""
        if not cell:
            continue
        try:
            targets.append((mode, parse_target(cell)))
        except UsageError as error:
            raise _cell_error(name, line, column, error) from error
    return PlanRow(
        line=line,
        product_coupon_id=values["product_coupon_id"],
        stock_id=values.get("stock_id") or "",
        brand_id=values.get("brand_id") or None,
        targets=tuple(targets),
        stock_bundle_id=values.get("stock_bundle_id") or None,
    )
