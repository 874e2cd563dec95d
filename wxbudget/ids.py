"""WeChat Pay's ids (product coupon, stock, stock bundle, brand): one parser for arguments, plan
files and answers, so what is checked is what is used.

Real ids are digits (`1000000013`, `1000000013001`, `712315129419284901`, brand `120344`, in
every official example). An id that is anything else is never sent, written to a plan file or
believed from an answer: it would at best come back as a confusing 404, and at worst reach a
spreadsheet as `=HYPERLINK(...)`.
"""

from __future__ import annotations

import re

from wxbudget.errors import UsageError
from wxbudget.i18n import _

# The longest id seen is a bundle id of 18 digits; 32 leaves room without inviting abuse.
ID_PATTERN = re.compile(r"[0-9]{1,32}")


def is_id(value: object) -> bool:
    """Whether `value` is an id exactly as an answer must carry it (no whitespace around)."""
    return isinstance(value, str) and ID_PATTERN.fullmatch(value) is not None


def parse_id(value: str, what: str) -> str:
    """An id typed or pasted by a person: surrounding whitespace (a paste from a chat or a
    spreadsheet brings a trailing space or newline) is dropped, because nothing else can be
    meant; anything else that is not digits is a usage error (exit 2) naming the id.
    """
    cleaned = value.strip()
    if is_id(cleaned):
        return cleaned
    shown = value if len(value) <= 40 else value[:36] + "..."
    raise UsageError(
        _(
            "{what} {shown!r} is not a WeChat Pay id: ids are digits, e.g. 1000000013",
            what=what,
            shown=shown,
        )
    )
