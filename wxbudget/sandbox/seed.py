"""`--seed FILE`: a JSON array of API stock objects, checked before anything is written."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from wxbudget.errors import UsageError
from wxbudget.i18n import _
from wxbudget.sandbox.replies import JsonObject

STOCK_STATES = ("AUDITING", "SENDING", "PAUSED", "STOPPED", "DEACTIVATED")


def load_seed(path: Path) -> list[JsonObject]:
    """Read and validate a seed file; any problem is one UsageError line naming file and element."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as error:
        raise UsageError(_("seed file {path}: not found", path=path)) from error
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(
            _("seed file {path}: cannot be read: {error}", path=path, error=error)
        ) from error
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise UsageError(
            _(
                "seed file {path}: invalid JSON at line {line} column {column}: {reason}",
                path=path,
                line=error.lineno,
                column=error.colno,
                reason=error.msg,
            )
        ) from error
    if not isinstance(data, list):
        raise UsageError(
            _(
                "seed file {path}: expected a JSON array of stock objects, found {kind}",
                path=path,
                kind=_kind(data),
            )
        )
    seen: set[tuple[str, str]] = set()
    coupon_brands: dict[str, str] = {}
    for index, element in enumerate(data):
        problem = _problem(element)
        if problem is None:
            key = (element["product_coupon_id"], element["stock_id"])
            brand = coupon_brands.setdefault(key[0], element["brand_id"])
            if key in seen:
                problem = _(
                    "stock {stock_id} of product coupon {product_coupon_id} appears twice",
                    stock_id=key[1],
                    product_coupon_id=key[0],
                )
            elif brand != element["brand_id"]:
                problem = _(
                    "brand_id {brand_id} differs from brand {brand} of the other stocks of "
                    "product coupon {product_coupon_id}",
                    brand_id=element["brand_id"],
                    brand=brand,
                    product_coupon_id=key[0],
                )
            seen.add(key)
        if problem is not None:
            raise UsageError(
                _(
                    "seed file {path}: element {index}: {problem}",
                    path=path,
                    index=index,
                    problem=problem,
                )
            )
    return data


def _problem(element: Any) -> str | None:
    if not isinstance(element, dict):
        return _("expected a stock object, found {kind}", kind=_kind(element))
    for name in ("product_coupon_id", "stock_id", "brand_id"):
        if not isinstance(element.get(name), str) or not element[name]:
            return _("{name} is missing or not a non-empty string", name=name)
    rule = element.get("stock_send_rule")
    if not isinstance(rule, dict):
        return _("{name} is missing or not an object", name="stock_send_rule")
    for name in ("max_count", "max_count_per_day", "max_count_per_user"):
        required = name == "max_count"
        if (required or name in rule) and not _is_count(rule.get(name)):
            return _(
                "{name} is missing or not a non-negative integer", name=f"stock_send_rule.{name}"
            )
    sent = element.get("sent_count_info")
    if not isinstance(sent, dict):
        return _("{name} is missing or not an object", name="sent_count_info")
    for name in ("total_count", "today_count"):
        if not _is_count(sent.get(name)):
            return _(
                "{name} is missing or not a non-negative integer", name=f"sent_count_info.{name}"
            )
    if element.get("state") not in STOCK_STATES:
        return _("state is missing or not one of {states}", states=", ".join(STOCK_STATES))
    bundle = element.get("stock_bundle_info")
    if bundle is not None and (
        not isinstance(bundle, dict)
        or not isinstance(bundle.get("stock_bundle_id"), str)
        or not _is_count(bundle.get("stock_bundle_index"))
    ):
        return _(
            "stock_bundle_info needs a string stock_bundle_id and an integer stock_bundle_index"
        )
    return None


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _kind(value: Any) -> str:
    kinds = {dict: _("an object"), list: _("an array"), str: _("a string"), bool: _("a boolean")}
    return kinds.get(type(value), _("a number") if isinstance(value, int | float) else "null")
