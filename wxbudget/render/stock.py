"""Views of stocks: one stock's budget, many stocks in a table, and a change before it is sent."""

from __future__ import annotations

from typing import TYPE_CHECKING

from wxbudget import exposure, i18n
from wxbudget.i18n import _, localize, ngettext
from wxbudget.render import table
from wxbudget.render.bars import usage
from wxbudget.render.console import UNLIMITED, count, notice, stdout

if TYPE_CHECKING:
    from wxbudget.budget import Change
    from wxbudget.models import Stock, UpdateMode


def stock_table(
    stock: Stock, *, changed: UpdateMode | None = None, before: int | None = None
) -> None:
    """The stock's state and budget; the changed cap is highlighted with its old value."""
    from rich.text import Text

    from wxbudget.models import UpdateMode, state_name

    def cap_cell(mode: UpdateMode) -> Text:
        value = count(stock.cap(mode))
        if changed is mode:
            shown = localize(_("{value}  (was {before})", value=value, before=count(before)))
            return Text(shown, style="bold green")
        return Text(value)

    rows: list[tuple[str, Text | str]] = [
        (_("state"), state_name(stock.state)),
        (_("total cap (max_count)"), cap_cell(UpdateMode.MAX_COUNT)),
        (_("daily cap (max_count_per_day)"), cap_cell(UpdateMode.MAX_COUNT_PER_DAY)),
        (_("per-user cap"), count(stock.max_count_per_user)),
        (_("sent total"), count(stock.sent_total)),
        (_("sent today"), count(stock.sent_today)),
        (_("used (sent / total cap)"), usage(stock.sent_total, stock.max_count)),
        (_("used today (sent / daily cap)"), usage(stock.sent_today, stock.max_count_per_day)),
        (_("remaining total"), count(stock.remaining_total)),
        (_("remaining today"), count(stock.remaining_today)),
        (_("at stake (left x discount)"), exposure.at_stake(stock).text()),
        (_("code mode"), stock.coupon_code_mode or "-"),
    ]
    if stock.bundle_id is not None:
        rows.append((_("stock bundle"), stock.bundle_id))
    if stock.brand_id is not None:
        rows.append((_("brand"), stock.brand_id))
    table.show(
        stdout(),
        _(
            "stock {stock_id} of coupon {product_coupon_id}",
            stock_id=stock.stock_id,
            product_coupon_id=stock.product_coupon_id,
        ),
        [table.Column(_("field")), table.Column(_("value"), table.NUMBER)],
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
    from wxbudget.models import state_name

    about: str
    before: str
    if change.bundle_id is not None:
        count_ = len(change.bundle_stocks)
        about = ngettext("{count} stock", "{count} stocks", count_, count=count_)
    else:
        about = state_name(change.stock.state)
    if change.bundle_id is None and change.stock.cap(change.mode) is None:
        before, delta_text = UNLIMITED, ""
    else:
        before, delta_text = f"{change.current:,}", f" ({sign}{delta:,}{percent})"
    money = exposure.of_change(change).explained(signed=True)
    notice(
        _(
            "{subject} (coupon {product_coupon_id}, {about}): "
            "{label} {before} -> {target:,}{delta}; at stake {money}",
            subject=change.subject,
            product_coupon_id=change.stock.product_coupon_id,
            about=about,
            label=change.mode.label,
            before=before,
            target=change.target,
            delta=delta_text,
            money=money,
        )
    )
    for warning in change.warnings:
        notice(_("warning: {warning}", warning=warning))


STOCK_LIST_COLUMNS = (
    _("stock"),
    _("state"),
    _("total cap"),
    _("daily cap"),
    _("sent total"),
    _("sent today"),
    _("used"),
    _("used today"),
    _("at stake"),
    _("bundle"),
)


def stocks_table(title: str, stocks: list[Stock], *, changed: UpdateMode | None = None) -> None:
    """Many stocks, one row each; the changed cap column is highlighted."""
    from wxbudget.models import UpdateMode, state_name

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
            state_name(stock.state),
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
    title = ngettext(
        "{count} stock of {title}",
        "{count} stocks of {title}",
        len(stocks),
        count=len(stocks),
        title=title,
    )
    table.show(stdout(), title, columns, rows, caption=_why_na(stocks))


def _why_na(stocks: list[Stock]) -> str | None:
    """Why "at stake" says n/a, once per reason, under the table."""
    reasons: dict[str, int] = {}
    for stock in stocks:
        reason = exposure.why_not(stock) if exposure.at_stake(stock).fen is None else None
        if reason is not None:
            reasons[reason] = reasons.get(reason, 0) + 1
    if not reasons:
        return None
    listed = i18n.join(
        "; ", (_("{reason} ({count})", reason=why, count=n) for why, n in reasons.items())
    )
    return _("at stake n/a: {reasons}", reasons=listed)
