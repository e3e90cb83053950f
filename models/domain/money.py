"""Exact money: ``Decimal`` with two places at every boundary, integer fen inside the store."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from models.domain.vocabulary import RATE_SCALE  # re-exported: rates are integer millionths

CENT = Decimal("0.01")
_AMOUNT = re.compile(r"^[+-]?\d+(\.\d{1,2})?$", re.ASCII)  # ASCII digits only, as the importer
_RATE = re.compile(r"^\d+(\.\d{1,6})?$", re.ASCII)


def money(value: Decimal | int | str) -> Decimal:
    """A Decimal rounded half-up to the fen."""
    if isinstance(value, float):  # pragma: no cover - guarded by type, kept as a tripwire
        raise TypeError("money never comes from a float")
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def parse_amount(text: str, *, allow_negative: bool = False) -> Decimal:
    """Decimal text with at most two decimals (``1234.5``), else ValueError saying why."""
    text = text.strip() if text else ""
    if not text:
        raise ValueError("amount is empty")
    if "," in text:
        raise ValueError(f"write amounts without separators, with a point for decimals (1234.50): {text!r}")
    if not _AMOUNT.match(text):
        raise ValueError(f"not an amount with at most two decimals: {text!r}")
    value = Decimal(text)
    if value < 0 and not allow_negative:
        raise ValueError(f"amount must not be negative: {text}")
    if value >= Decimal("1e13"):
        raise ValueError(f"amount is implausibly large: {text}")
    return value.quantize(CENT)


def parse_rate(text: str) -> Decimal:
    """An annual rate as a fraction between 0 and 1 with at most six decimals (``0.0657``)."""
    text = text.strip() if text else ""
    if not _RATE.match(text):
        raise ValueError(f"not a rate fraction with at most six decimals: {text!r}")
    try:
        value = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the regex already excludes it
        raise ValueError(f"not a rate: {text!r}") from None
    if value > 1:
        raise ValueError(f"annual rate is a fraction and must be at most 1 (got {text})")
    return value


def to_fen(amount: Decimal) -> int:
    """Integer fen of an amount (rounded half-up to the fen first)."""
    return int(money(amount) * 100)


def from_fen(fen: int) -> Decimal:
    """The Decimal amount of integer fen."""
    return (Decimal(fen) / 100).quantize(CENT)


def rate_to_ppm(rate: Decimal) -> int:
    """An annual rate fraction as integer millionths (exact: rates carry at most six decimals)."""
    scaled = rate * RATE_SCALE
    if scaled != scaled.to_integral_value():
        raise ValueError(f"rate has more than six decimals: {rate}")
    return int(scaled)


def ppm_to_rate(ppm: int) -> Decimal:
    """The rate fraction of integer millionths."""
    return Decimal(ppm) / RATE_SCALE


def fmt(fen: int) -> str:
    """Money as the contract prints it: a string with two decimals."""
    return f"{from_fen(fen):.2f}"
