"""The Authorization header of an APIv3 request, read back: its scheme and its name="value"
fields (the sandbox checks them; `-v` traces show them with the signature elided)."""

from __future__ import annotations

import re
from dataclasses import dataclass

_AUTH_FIELD = re.compile(r'\s*([a-z_]+)="([^"]*)"\s*')


@dataclass(frozen=True, eq=False)
class Authorization:
    scheme: str
    fields: dict[str, str]


def parse_authorization(header: str) -> Authorization | None:
    """Parse an Authorization header; fields may come in any order. None when malformed."""
    scheme, _space, rest = header.strip().partition(" ")
    if not scheme or not rest:
        return None
    fields: dict[str, str] = {}
    for part in _split_fields(rest):
        match = _AUTH_FIELD.fullmatch(part)
        if match is None or match.group(1) in fields:
            return None
        fields[match.group(1)] = match.group(2)
    return Authorization(scheme=scheme, fields=fields)


def _split_fields(text: str) -> list[str]:
    # Commas inside quoted values never occur in base64 or ids, but split on quotes to be safe.
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    for char in text:
        if char == '"':
            quoted = not quoted
        if char == "," and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts
