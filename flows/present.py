"""The edges' formatting of the services' typed results: money as the contract prints it (a
string with two decimals), dates as ISO strings, result dataclasses as JSON objects in their
field order (a field's ``json`` metadata gives the contract's name where Python cannot, e.g.
``from``). The command line and the Prefect flows both print through here."""

from __future__ import annotations

from dataclasses import fields, is_dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from models.domain.money import CENT


def money(value: Decimal) -> str:
    """An amount as the contract prints it: ``"1234.50"``."""
    return f"{value.quantize(CENT):.2f}"


def jsonable(value: Any) -> Any:
    """``value`` in JSON's terms: every Decimal is money, every date ISO."""
    if is_dataclass(value) and not isinstance(value, type):
        return {f.metadata.get("json", f.name): jsonable(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, Decimal):
        return money(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    return value
