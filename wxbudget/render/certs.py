"""The view of the cached platform certificates."""

from __future__ import annotations

from typing import Any

from wxbudget.render.console import notice, stdout


def certificates_table(rows: list[dict[str, Any]], public_key_id: str | None) -> None:
    from rich.table import Table

    table = Table(title="platform certificates", header_style="bold")
    for column in ("serial_no", "valid from", "valid to", "status"):
        table.add_column(column)
    for row in rows:
        status = "valid" if row["valid"] else "expired or not yet valid"
        table.add_row(row["serial_no"], row["not_before"], row["not_after"], status)
    stdout().print(table)
    if public_key_id:
        notice(f"answers may also be signed with the WeChat Pay public key {public_key_id}")
