"""Guard rails a profile sets on itself (`[profiles.NAME.limits]`): changes beyond them are
refused before anything is sent, unless `--override-limits` says otherwise (and the journal
records it).

These are the operator's own limits, not WeChat Pay's rules: they stop a fat finger (`+50000`
for `+500`) or a runaway plan from reaching the API.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import TYPE_CHECKING, Any, NamedTuple

from wxbudget import i18n
from wxbudget.errors import ConfigError, LocalCheckError, UnknownKeyError
from wxbudget.i18n import _

if TYPE_CHECKING:
    from wxbudget.budget import Change

# key -> what it limits, for config.example.toml, `profile init --help` and doctor.
LIMIT_KEYS = {
    "max_total_cap": _("highest total cap (max_count) a change may set"),
    "max_daily_cap": _("highest daily cap (max_count_per_day) a change may set"),
    "max_increase": _("most a change may raise a cap by, in coupons"),
    "max_increase_percent": _("most a change may raise a cap by, in percent of the current cap"),
    "max_exposure_increase": _("most a change may raise the money at stake by, in yuan"),
    "max_rows": _("most rows of a plan one apply may change"),
}
WHOLE_KEYS = ("max_total_cap", "max_daily_cap", "max_increase", "max_rows")
OVERRIDE_HINT = _("pass --override-limits to go beyond them (it is recorded in the audit journal)")


class Limits(NamedTuple):
    """The limits of one profile; None means "no limit"."""

    profile: str = ""
    max_total_cap: int | None = None
    max_daily_cap: int | None = None
    max_increase: int | None = None
    max_increase_percent: Decimal | None = None
    max_exposure_increase: Decimal | None = None  # yuan
    max_rows: int | None = None

    def set(self) -> dict[str, int | Decimal]:
        """The limits given, by key."""
        return {
            name: value
            for name, value in self._asdict().items()
            if name != "profile" and value is not None
        }

    def breaches(self, change: Change) -> tuple[str, ...]:
        """Each limit this change goes beyond, as "KEY N: what the change does"."""
        from wxbudget import exposure
        from wxbudget.models import UpdateMode

        found: list[str] = []
        current = change.stock.cap(change.mode)  # a bundle's first stock carries its caps
        # A daily cap set on a stock without one lowers what it may issue: never an increase.
        rising = current is not None and change.target > current
        ceiling = self.max_total_cap if change.mode is UpdateMode.MAX_COUNT else self.max_daily_cap
        if ceiling is not None and rising and change.target > ceiling:
            key = "max_total_cap" if change.mode is UpdateMode.MAX_COUNT else "max_daily_cap"
            found.append(
                _(
                    "{key} {ceiling:,}: the target is {target:,}",
                    key=key,
                    ceiling=ceiling,
                    target=change.target,
                )
            )
        if rising and current is not None:
            delta = change.target - current
            if self.max_increase is not None and delta > self.max_increase:
                found.append(
                    _(
                        "max_increase {max_increase:,}: it adds {delta:,}",
                        max_increase=self.max_increase,
                        delta=delta,
                    )
                )
            percent = self.max_increase_percent
            if percent is not None and (current == 0 or Decimal(delta * 100) / current > percent):
                share = "from 0" if current == 0 else f"{Decimal(delta * 100) / current:.1f}%"
                found.append(
                    _(
                        "max_increase_percent {percent:g}: it adds {share}",
                        percent=percent,
                        share=share,
                    )
                )
        money = exposure.of_change(change)
        ceiling_yuan = self.max_exposure_increase
        if (
            ceiling_yuan is not None
            and money.fen is not None
            and money.fen > ceiling_yuan * exposure.FEN_PER_YUAN
        ):
            found.append(
                _(
                    "max_exposure_increase ¥{ceiling_yuan:,}: it adds {text}",
                    ceiling_yuan=ceiling_yuan,
                    text=money.text(),
                )
            )
        return tuple(found)

    def refusal(self, subject: str, breaches: tuple[str, ...]) -> LocalCheckError:
        return LocalCheckError(
            _(
                "{subject}: beyond the limits of profile '{profile}' ({breaches}); "
                "nothing was sent; {override_hint}",
                subject=subject,
                profile=self.profile,
                breaches=i18n.join("; ", breaches),
                override_hint=OVERRIDE_HINT,
            )
        )

    def rows_breach(self, rows: int) -> str | None:
        if self.max_rows is not None and rows > self.max_rows:
            return _(
                "max_rows {max_rows:,}: the plan changes {rows:,} rows",
                max_rows=self.max_rows,
                rows=rows,
            )
        return None


def parse_limit_flags(texts: list[str]) -> dict[str, int | float]:
    """`--limit KEY=N` flags (profile init), checked with the config file's own rules."""
    from wxbudget.errors import UsageError

    found: dict[str, int | float] = {}
    for text in texts:
        key, _equals, number = text.partition("=")
        key, number = key.strip(), number.strip().replace(",", "").replace("_", "")
        try:
            value: int | float = int(number) if number.isdigit() else float(number)
            parse_limits({key: value}, "", "--limit")
        except (ValueError, ConfigError) as error:
            reason = error.message if isinstance(error, ConfigError) else _("N is not a number")
            raise UsageError(
                _(
                    "--limit {text!r}: {reason}; use KEY=N with KEY one of {limit_keys}",
                    text=text,
                    reason=reason,
                    limit_keys=", ".join(LIMIT_KEYS),
                )
            ) from None
        found[key] = value
    return found


def parse_limits(value: Any, profile: str, where: str) -> Limits:
    """`[profiles.NAME.limits]`, checked: known keys, positive numbers (whole ones for counts)."""
    if not isinstance(value, dict):
        raise ConfigError(
            _(
                "limits in {where} must be a table: [profiles.{profile}.limits] with keys "
                "{limit_keys}",
                where=where,
                profile=profile,
                limit_keys=", ".join(LIMIT_KEYS),
            )
        )
    given: dict[str, Any] = {}
    for key, number in value.items():
        if key not in LIMIT_KEYS:
            import difflib

            close = difflib.get_close_matches(key, list(LIMIT_KEYS), n=1, cutoff=0.5)
            hint = (
                _("; did you mean '{close}'?", close=close[0])
                if close
                else _("; keys: {limit_keys}", limit_keys=", ".join(LIMIT_KEYS))
            )
            raise UnknownKeyError(
                _(
                    "unknown key '{key}' in the limits of {where}{hint}",
                    key=key,
                    where=where,
                    hint=hint,
                )
            )
        if key in WHOLE_KEYS:
            if isinstance(number, bool) or not isinstance(number, int) or number < 0:
                raise ConfigError(
                    _("limits.{key} in {where} must be a whole number >= 0", key=key, where=where)
                )
            given[key] = number
            continue
        if (
            isinstance(number, bool)
            or not isinstance(number, int | float)
            or not math.isfinite(number)
            or number < 0
        ):
            raise ConfigError(
                _("limits.{key} in {where} must be a number >= 0", key=key, where=where)
            )
        given[key] = Decimal(str(number))
    return Limits(profile=profile, **given)
