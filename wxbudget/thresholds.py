"""Budget alerts: which stocks are below a threshold (`wxbudget check`).

A threshold is a floor on what a stock can still issue (in all, or today), given as a count
(`1000`) or as a percentage of the cap it is counted against (`10%`), or the states a stock is
expected to be in. A stock "crosses" a floor when it has fewer left than the floor.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from wxbudget.errors import UsageError
from wxbudget.i18n import _
from wxbudget.models import EXPIRED_STATES, Stock, state_name

STATES = ("AUDITING", "SENDING", "PAUSED", "STOPPED", "DEACTIVATED")
_COUNT = re.compile(r"\d+")
_PERCENT = re.compile(r"\d+(?:\.\d+)?%")


@dataclass(frozen=True)
class Floor:
    """`1000` (a count) or `10%` (of the cap it is counted against)."""

    text: str
    amount: Decimal
    percent: bool

    def of(self, cap: int) -> Decimal:
        return cap * self.amount / 100 if self.percent else self.amount


def parse_floor(text: str, option: str) -> Floor:
    cleaned = text.strip().replace(",", "").replace("_", "")
    if _COUNT.fullmatch(cleaned):
        return Floor(text.strip(), Decimal(cleaned), percent=False)
    if _PERCENT.fullmatch(cleaned) and Decimal(cleaned[:-1]) <= 100:
        return Floor(text.strip(), Decimal(cleaned[:-1]), percent=True)
    raise UsageError(
        _(
            "{option} {text!r} is not a threshold; use a number of coupons (1000) or a percentage "
            "of the cap (10%)",
            option=option,
            text=text,
        )
    )


def parse_states(values: list[str]) -> tuple[str, ...]:
    states = []
    for value in values:
        for part in value.split(","):
            state = part.strip().upper()
            if state not in STATES:
                raise UsageError(
                    _(
                        "--state {state!r} is not a state; use one of {states}",
                        state=part.strip(),
                        states=", ".join(STATES),
                    )
                )
            states.append(state)
    return tuple(dict.fromkeys(states))


@dataclass(frozen=True)
class Thresholds:
    min_remaining: Floor | None = None
    min_remaining_today: Floor | None = None
    states: tuple[str, ...] = ()

    @property
    def is_empty(self) -> bool:
        return self.min_remaining is None and self.min_remaining_today is None and not self.states

    def to_json(self) -> dict[str, Any]:
        return {
            "min_remaining": self.min_remaining.text if self.min_remaining else None,
            "min_remaining_today": (
                self.min_remaining_today.text if self.min_remaining_today else None
            ),
            "state": list(self.states),
        }


@dataclass(frozen=True)
class Crossing:
    """One threshold a stock crossed: which (the option's name) and a sentence saying how."""

    threshold: str
    message: str


@dataclass(frozen=True)
class Verdict:
    stock: Stock
    crossings: tuple[Crossing, ...]

    @property
    def crossed(self) -> bool:
        return bool(self.crossings)


def judge(stock: Stock, thresholds: Thresholds) -> Verdict:
    """Every threshold this stock crosses."""
    found: list[Crossing] = []
    floor = thresholds.min_remaining
    if floor is not None and stock.remaining_total < floor.of(stock.max_count):
        found.append(
            Crossing(
                "min_remaining",
                _(
                    "{remaining_total:,} left in all, below {shown}",
                    remaining_total=stock.remaining_total,
                    shown=_shown(floor, stock.max_count),
                ),
            )
        )
    floor = thresholds.min_remaining_today
    daily = stock.max_count_per_day
    # A percentage of a daily cap the stock does not have means nothing: only counts apply.
    if floor is not None and (daily is not None or not floor.percent):
        limit = floor.of(daily) if daily is not None else floor.amount
        if stock.remaining_today < limit:
            shown = _shown(floor, daily) if daily is not None else floor.text
            message = _(
                "{remaining_today:,} left today, below {shown}",
                remaining_today=stock.remaining_today,
                shown=shown,
            )
            found.append(Crossing("min_remaining_today", message))
    if thresholds.states and stock.state not in thresholds.states:
        found.append(
            Crossing(
                "state",
                _(
                    "state {state}, not {states}",
                    state=state_name(stock.state),
                    states=" or ".join(thresholds.states),
                ),
            )
        )
    return Verdict(stock, tuple(found))


def _shown(floor: Floor, cap: int) -> str:
    if not floor.percent:
        return f"{int(floor.amount):,}"
    return _("{text} of {cap:,} ({amount:,.0f})", text=floor.text, cap=cap, amount=floor.of(cap))


def checked(stocks: list[Stock], *, named: bool) -> tuple[list[Stock], list[Stock]]:
    """The stocks to check, and the ended ones left out.

    A coupon's every stock (none named) leaves out the ended ones (STOPPED, DEACTIVATED): they
    can neither issue coupons nor change their budget, so an alert on them could never be acted
    on. Stocks named are always checked.
    """
    if named:
        return stocks, []
    return (
        [stock for stock in stocks if stock.state not in EXPIRED_STATES],
        [stock for stock in stocks if stock.state in EXPIRED_STATES],
    )
