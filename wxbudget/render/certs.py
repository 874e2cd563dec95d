"""The view of the cached platform certificates."""

from __future__ import annotations

from typing import Any

from wxbudget.i18n import _
from wxbudget.render import table
from wxbudget.render.console import notice, stdout


def certificates_table(rows: list[dict[str, Any]], public_key_id: str | None) -> None:
    columns = [
        table.Column(name) for name in ("serial_no", _("valid from"), _("valid to"), _("status"))
    ]
    shown = [
        (
            row["serial_no"],
            row["not_before"],
            row["not_after"],
            _("valid") if row["valid"] else _("expired or not yet valid"),
        )
        for row in rows
    ]
    table.show(stdout(), _("platform certificates"), columns, shown)
    if public_key_id:
        notice(
            _(
                "answers may also be signed with the WeChat Pay public key {public_key_id}",
                public_key_id=public_key_id,
            )
        )
