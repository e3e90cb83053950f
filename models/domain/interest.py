"""Accrued contractual and penalty interest, ACT/360, exact to the fen.

Model (documented in the README): from the accrual base date to ``end``
- principal not yet past due earns contractual interest at the annual rate;
- principal past due earns penalty interest at rate × (1 + uplift) from the day after it fell
  due, and after final maturity the whole outstanding principal is past due;
- no interest on interest; while an installment agreement runs nothing accrues (the agreed
  schedule is the debt).
Each accrual is rounded half-up to the fen once, when it is added to the balance.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction

from models.domain.money import RATE_SCALE

DAY_BASIS = 360
DEFAULT_UPLIFT = Decimal("0.5")


def round_half_up(value: Fraction) -> int:
    """The nearest integer, halves away from zero."""
    sign = -1 if value < 0 else 1
    return sign * int(abs(value) + Fraction(1, 2))


def interest_fen(principal_fen: int, rate_ppm: int, days: int, multiplier: Decimal = Decimal(1)) -> int:
    """Simple ACT/360 interest in fen on ``principal_fen`` for ``days`` days."""
    if days <= 0 or principal_fen <= 0:
        return 0
    mult = Fraction(multiplier)
    numerator = principal_fen * rate_ppm * days * mult.numerator
    denominator = RATE_SCALE * DAY_BASIS * mult.denominator
    return (2 * numerator + denominator) // (2 * denominator)  # half-up, all integers


@dataclass(frozen=True)
class Accrual:
    interest_fen: int
    penalty_fen: int


def accrue(
    *,
    outstanding_fen: int,
    overdue_fen: int,
    rate_ppm: int,
    maturity_on: date,
    overdue_since: date | None,
    start: date,
    end: date,
    uplift: Decimal = DEFAULT_UPLIFT,
) -> Accrual:
    """Interest and penalty earned after ``start`` up to and including ``end``."""
    if end <= start or outstanding_fen <= 0:
        return Accrual(0, 0)
    penalty_mult = 1 + uplift
    overdue_fen = min(max(overdue_fen, 0), outstanding_fen) if overdue_since else 0
    normal_fen = outstanding_fen - overdue_fen

    def span(a: date, b: date) -> int:
        lo, hi = max(a, start), min(b, end)
        return max((hi - lo).days, 0)

    far = date.max
    # not-yet-due principal: contractual to maturity, penalty after it
    contractual_days_normal = span(date.min, maturity_on)
    penalty_days_normal = span(maturity_on, far)
    # already-due principal: contractual until it fell due, penalty after
    since = min(overdue_since, maturity_on) if overdue_since else maturity_on
    contractual_days_overdue = span(date.min, since)
    penalty_days_overdue = span(since, far)

    interest = interest_fen(normal_fen, rate_ppm, contractual_days_normal) + interest_fen(
        overdue_fen, rate_ppm, contractual_days_overdue
    )
    penalty = interest_fen(normal_fen, rate_ppm, penalty_days_normal, penalty_mult) + interest_fen(
        overdue_fen, rate_ppm, penalty_days_overdue, penalty_mult
    )
    return Accrual(interest, penalty)
