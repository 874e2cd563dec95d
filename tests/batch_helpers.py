"""Moved to tests/helpers/; kept only while branches written before the move land."""

from tests.helpers.cli import SCRIPT
from tests.helpers.logs import (
    applied_counts,
    audit_entries,
    fault_counts,
    outcome_of,
    posts_of,
    request_log,
    wait_for_log,
)
from tests.helpers.sandboxes import BRAND, stock_object, write_seed

__all__ = [
    "BRAND",
    "SCRIPT",
    "applied_counts",
    "audit_entries",
    "fault_counts",
    "outcome_of",
    "posts_of",
    "request_log",
    "stock_object",
    "wait_for_log",
    "write_seed",
]
