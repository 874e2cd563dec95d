"""Views of stocks: one stock's budget, many stocks in a table, and a change before it is sent."""

from __future__ import annotations

from typing import TYPE_CHECKING

from wxbudget import exposure
from wxbudget.render import table
from wxbudget.render.bars import usage
from wxbudget.render.console import count, notice, stdout

if TYPE_CHECKING:
    from wxbudget.budget import Change
    from wxbudget.models import Stock, UpdateMode


def stock_table(
    stock: Stock, *, changed: UpdateMode | None = None, before: int | None = None
) -> None:
    """The stock's state and budget; the changed cap is highlighted with its old value."""
    from rich.text import Text

    from wxbudget.models import UpdateMode

    def cap_cell(mode: UpdateMode) -> Text:
        value = count(stock.cap(mode))
        if changed is mode:
            return Text(f"{value}  (was {count(before)})", style="bold green")
        return Text(value)

    rows: list[tuple[str, Text | str]] = [
        ("state", stock.state),
        ("total cap (max_count)", cap_cell(UpdateMode.MAX_COUNT)),
        ("daily cap (max_count_per_day)", cap_cell(UpdateMode.MAX_COUNT_PER_DAY)),
        ("per-user cap", count(stock.max_count_per_user)),
        ("sent total", count(stock.sent_total)),
        ("sent today", count(stock.sent_today)),
        ("used (sent / total cap)", usage(stock.sent_total, stock.max_count)),
        ("used today (sent / daily cap)", usage(stock.sent_today, stock.max_count_per_day)),
        ("remaining total", count(stock.remaining_total)),
        ("remaining today", count(stock.remaining_today)),
        ("at stake (left x discount)", exposure.at_stake(stock).text()),
        ("code mode", stock.coupon_code_mode or "-"),
    ]
    if stock.bundle_id is not None:
        rows.append(("stock bundle", stock.bundle_id))
    if stock.brand_id is not None:
        rows.append(("brand", stock.brand_id))
    table.show(
        stdout(),
        f"stock {stock.stock_id} of coupon {stock.product_coupon_id}",
        [table.Column("field"), table.Column("value", table.NUMBER)],
        rows,
        pairs=True,
        caption=_why_na([stock]),
    )


def _percent(delta: int, current: int) -> str:
    """The change as a percentage, never a misleading +0.0% or -0.0% for a small one."""
    share = delta / current
    if delta and abs(share) < 0.0005:
        return f"{'+' if delta > 0 else '-'}<0.1%"
    return f"{share:+.1%}"


def plan(change: Change) -> None:
    """before -> after on stderr, for the human deciding whether to confirm."""
    delta = change.target - change.current
    sign = "+" if delta >= 0 else ""
    percent = f", {_percent(delta, change.current)}" if change.current else ""
    if change.bundle_id is not None:
        about = f"{len(change.bundle_stocks)} stocks"
    else:
        about = change.stock.state
    if change.bundle_id is None and change.stock.cap(change.mode) is None:
        before, delta_text = "unlimited", ""
    else:
        before, delta_text = f"{change.current:,}", f" ({sign}{delta:,}{percent})"
    money = exposure.of_change(change).explained(signed=True)
    notice(
        f"{change.subject} (coupon {change.stock.product_coupon_id}, {about}): "
        f"{change.mode.label} {before} -> {change.target:,}{delta_text}; at stake {money}"
    )
    for warning in change.warnings:
        notice(f"warning: {warning}")


STOCK_LIST_COLUMNS = (
    "stock",
    "state",
    "total cap",
    "daily cap",
    "sent total",
    "sent today",
    "used",
    "used today",
    "at stake",
    "bundle",
)


def stocks_table(title: str, stocks: list[Stock], *, changed: UpdateMode | None = None) -> None:
    """Many stocks, one row each; the changed cap column is highlighted."""
    from wxbudget.models import UpdateMode

    labels = {UpdateMode.MAX_COUNT: "total cap", UpdateMode.MAX_COUNT_PER_DAY: "daily cap"}
    highlighted = labels[changed] if changed is not None else None
    columns = [
        table.Column(
            name,
            table.NUMBER if name not in ("stock", "state", "bundle") else table.ID,
            style="bold green" if name == highlighted else None,
        )
        for name in STOCK_LIST_COLUMNS
    ]
    rows = [
        (
            stock.stock_id,
            stock.state,
            count(stock.max_count),
            count(stock.max_count_per_day),
            count(stock.sent_total),
            count(stock.sent_today),
            usage(stock.sent_total, stock.max_count),
            usage(stock.sent_today, stock.max_count_per_day),
            exposure.at_stake(stock).text(),
            stock.bundle_id or "",
        )
        for stock in stocks
    ]
    table.show(stdout(), f"{len(stocks)} stocks of {title}", columns, rows, caption=_why_na(stocks))


def _why_na(stocks: list[Stock]) -> str | None:
    """Why "at stake" says n/a, once per reason, under the table."""
    reasons: dict[str, int] = {}
    for stock in stocks:
        reason = exposure.why_not(stock) if exposure.at_stake(stock).fen is None else None
        if reason is not None:
            reasons[reason] = reasons.get(reason, 0) + 1
    if not reasons:
        return None
    return "at stake n/a: " + "; ".join(f"{why} ({n})" for why, n in reasons.items())
