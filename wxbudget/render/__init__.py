"""All terminal output, one view module per thing shown; the only importer of rich.

`console` holds the two streams (results on stdout, everything human on stderr) and the plain
messages; each other module is the view of one thing: a stock, a batch, the journal, profiles,
certificates, a doctor report. A view may know the domain's types; nothing below the CLI imports
a view. The names are re-exported here for the commands (`render.notice(...)`); modules inside
the package import each other directly, never through this `__init__`.

The views are imported when a command first asks for one (PEP 562 `__getattr__`): `show`
needs one view of eight, and importing them all cost it ~5 ms of every start (bench/startup.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from wxbudget.render.console import (
    ask,
    confirm,
    error,
    json_result,
    mark_sandbox,
    notice,
    raw_result,
    result_marks,
    streamed_result,
    trace,
    urgent_notice,
)

if TYPE_CHECKING:
    from wxbudget.render.batch import BatchProgress, batch_summary, plan_table
    from wxbudget.render.certs import certificates_table
    from wxbudget.render.check import Watch as CheckWatch
    from wxbudget.render.check import alerts as check_alerts
    from wxbudget.render.check import on_terminal
    from wxbudget.render.doctor import doctor_report
    from wxbudget.render.history import history_table
    from wxbudget.render.profiles import profile_report, profiles_table
    from wxbudget.render.stock import plan, stock_table, stocks_table

# name here -> (view module, name there)
_VIEWS = {
    "BatchProgress": ("batch", "BatchProgress"),
    "batch_summary": ("batch", "batch_summary"),
    "plan_table": ("batch", "plan_table"),
    "certificates_table": ("certs", "certificates_table"),
    "CheckWatch": ("check", "Watch"),
    "check_alerts": ("check", "alerts"),
    "on_terminal": ("check", "on_terminal"),
    "doctor_report": ("doctor", "doctor_report"),
    "history_table": ("history", "history_table"),
    "profile_report": ("profiles", "profile_report"),
    "profiles_table": ("profiles", "profiles_table"),
    "plan": ("stock", "plan"),
    "stock_table": ("stock", "stock_table"),
    "stocks_table": ("stock", "stocks_table"),
}


def __getattr__(name: str) -> Any:
    import importlib

    try:
        module, attribute = _VIEWS[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(importlib.import_module(f"{__name__}.{module}"), attribute)
    globals()[name] = value  # looked up once
    return value


__all__ = [
    "BatchProgress",
    "CheckWatch",
    "ask",
    "batch_summary",
    "certificates_table",
    "check_alerts",
    "confirm",
    "doctor_report",
    "error",
    "history_table",
    "json_result",
    "mark_sandbox",
    "notice",
    "on_terminal",
    "plan",
    "plan_table",
    "profile_report",
    "profiles_table",
    "raw_result",
    "result_marks",
    "stock_table",
    "stocks_table",
    "streamed_result",
    "trace",
    "urgent_notice",
]
