"""All terminal output, one view module per thing shown; the only importer of rich.

`console` holds the two streams (results on stdout, everything human on stderr) and the plain
messages; each other module is the view of one thing: a stock, a batch, the journal, profiles,
certificates, a doctor report. A view may know the domain's types; nothing below the CLI imports
a view. The names are re-exported here for the commands (`render.notice(...)`); modules inside
the package import each other directly, never through this `__init__`.
"""

from wxbudget.render.batch import BatchProgress, batch_summary, plan_table
from wxbudget.render.certs import certificates_table
from wxbudget.render.check import Watch as CheckWatch
from wxbudget.render.check import alerts as check_alerts
from wxbudget.render.check import on_terminal
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
from wxbudget.render.doctor import doctor_report
from wxbudget.render.history import history_table
from wxbudget.render.profiles import profile_report, profiles_table
from wxbudget.render.stock import plan, stock_table, stocks_table

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
