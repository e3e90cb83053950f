"""Installment schedules: a monthly amount from a first due date; the last line takes the rest."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from models.domain.dates import add_months

MAX_LINES = 600  # fifty years of monthly installments is the most an agreement may run


@dataclass(frozen=True)
class Line:
    seq: int
    due_on: date
    amount_fen: int


def schedule(total_fen: int, monthly_fen: int, first_due: date) -> list[Line]:
    """Lines of ``monthly_fen`` each month from ``first_due`` until ``total_fen`` is covered."""
    if monthly_fen <= 0:
        raise ValueError("the monthly amount must be positive")
    if total_fen <= 0:
        raise ValueError("nothing is owed: no schedule to sign")
    count = -(-total_fen // monthly_fen)
    if count > MAX_LINES:
        raise ValueError(f"a monthly amount this small needs {count} installments (at most {MAX_LINES})")
    lines = []
    for i in range(count):
        amount = min(monthly_fen, total_fen - i * monthly_fen)
        lines.append(Line(i + 1, add_months(first_due, i), amount))
    return lines


def apply_to_lines(paid_fen: list[int], amounts_fen: list[int], payment_fen: int) -> list[int]:
    """New paid amounts per line after ``payment_fen`` is applied to the oldest unpaid lines."""
    result = list(paid_fen)
    left = payment_fen
    for i, amount in enumerate(amounts_fen):
        if left <= 0:
            break
        take = min(left, amount - result[i])
        if take > 0:
            result[i] += take
            left -= take
    return result
