"""Accrued contractual and penalty interest, ACT/360, exact to the fen.

Model (documented in the README): from the accrual base date to ``end``
- principal not yet past due earns contractual interest at the annual rate;
- principal past due earns penalty interest at rate × (1 + uplift) from the day after it fell
  due, and after final maturity the whole outstanding principal is past due;
- contractual interest falls due with the principal it accrued on (at that principal's due date,
  at the latest at maturity); unpaid when due it bears compound interest at the penalty rate
  from the day after (PBoC 2003 notice, item 三): ``compound_fen``, an amount of its own which
  ``accrue`` adds when given ``due_interest_fen`` and ``compound=True``;
- while an installment agreement runs nothing accrues (the agreed schedule is the debt).
Each accrual is rounded half-up to the fen once, when it is added to the balance.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction

from models.domain.dates import add_days
from models.domain.errors import PenaltyUpliftOutOfRange
from models.domain.vocabulary import RATE_SCALE

DAY_BASIS = 360
DEFAULT_UPLIFT = Decimal("0.5")


def round_half_up(value: Fraction) -> int:
    """The nearest integer, halves away from zero."""
    sign = -1 if value < 0 else 1
    return sign * int(abs(value) + Fraction(1, 2))


@functools.lru_cache(maxsize=64)
def _fraction(value: Decimal) -> Fraction:
    """``Fraction(value)``, kept: a policy has a handful of multipliers, and every accrual reads them."""
    return Fraction(value)


def interest_fen(principal_fen: int, rate_ppm: int, days: int, multiplier: Decimal = Decimal(1)) -> int:
    """Simple ACT/360 interest in fen on ``principal_fen`` for ``days`` days."""
    if days <= 0 or principal_fen <= 0:
        return 0
    mult = _fraction(multiplier)
    numerator = principal_fen * rate_ppm * days * mult.numerator
    denominator = RATE_SCALE * DAY_BASIS * mult.denominator
    return (2 * numerator + denominator) // (2 * denominator)  # half-up, all integers


@dataclass(frozen=True)
class Accrual:
    interest_fen: int
    penalty_fen: int
    compound_fen: int = 0


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
    stored_interest_fen: int = 0,
    compound: bool = False,
) -> Accrual:
    """Interest, penalty and (``compound=True``) compound interest earned after ``start`` up to
    and including ``end``.

    Compound interest (PBoC 2003 notice, item 三: "对不能按时支付的利息，按罚息利率计收复利") is
    earned on contractual interest unpaid after it fell due, at the penalty rate:
    - ``stored_interest_fen``, the contractual interest owed on ``start``, fell due on the
      loan's oldest due date, ``overdue_since`` (at the latest maturity), or at maturity when
      nothing is past due;
    - the interest accrued in the window on principal already past due falls due with that
      principal (on ``overdue_since``), on the other principal at maturity.
    Each bears it from the day after it fell due (``compound_fen``)."""
    if end <= start or (outstanding_fen <= 0 and stored_interest_fen <= 0):
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

    interest_normal = interest_fen(normal_fen, rate_ppm, contractual_days_normal)
    interest_overdue = interest_fen(overdue_fen, rate_ppm, contractual_days_overdue)
    penalty = interest_fen(normal_fen, rate_ppm, penalty_days_normal, penalty_mult) + interest_fen(
        overdue_fen, rate_ppm, penalty_days_overdue, penalty_mult
    )
    compounded = 0
    if compound:
        due = (InterestDue(since, stored_interest_fen), InterestDue(since, interest_overdue),
               InterestDue(maturity_on, interest_normal))
        compounded = compound_fen(due, rate_ppm, start=start, end=end, uplift=uplift)
    return Accrual(interest_normal + interest_overdue, penalty, compounded)


# --- penalty uplift bounds (PBoC 2003 notice, item 三) ---------------------------------------------

# "逾期贷款……罚息利率……改为在借款合同载明的贷款利率水平上加收30%-50%;借款人未按合同约定用途使用借款的
# 罚息利率……改为在借款合同载明的贷款利率水平上加收50%-100%" (银发〔2003〕251号, item 三)
OVERDUE_UPLIFT_BOUNDS = (Decimal("0.3"), Decimal("0.5"))
MISUSED_UPLIFT_BOUNDS = (Decimal("0.5"), Decimal("1"))


def validate_uplift(uplift: Decimal, *, misused: bool = False) -> Decimal:
    """``uplift`` if the notice allows it: 30-50%, or 50-100% for a loan flagged as used against
    its agreed purpose; else :class:`PenaltyUpliftOutOfRange` naming the bound it crosses."""
    if isinstance(uplift, float):  # pragma: no cover - guarded by type, kept as a tripwire
        raise TypeError("an uplift never comes from a float")
    lower, upper = MISUSED_UPLIFT_BOUNDS if misused else OVERDUE_UPLIFT_BOUNDS
    value = Decimal(uplift)
    if not lower <= value <= upper:
        raise PenaltyUpliftOutOfRange(value, lower, upper, misused)
    return value


# --- compound interest on interest not paid when due (PBoC 2003 notice, item 三) --------------------


@dataclass(frozen=True)
class InterestDue:
    """``fen`` of contractual interest that fell due on ``due_on`` and was paid on ``paid_on``
    (None while unpaid). A part paid on another day is its own ``InterestDue``."""

    due_on: date
    fen: int
    paid_on: date | None = None


def compound_fen(
    unpaid_interest: Iterable[InterestDue],
    rate_ppm: int,
    *,
    start: date,
    end: date,
    uplift: Decimal = DEFAULT_UPLIFT,
    compound: bool = True,
) -> int:
    """Compound interest earned after ``start`` up to and including ``end`` (ACT/360).

    "对不能按时支付的利息，按罚息利率计收复利" (PBoC 2003 notice, item 三): contractual interest not
    paid when due bears interest at the penalty rate, rate × (1 + uplift), from the day after it
    fell due up to and including the day it is paid (the same convention as ``accrue``: interest
    paid on its due date bears none). Only contractual interest compounds: neither penalty
    interest nor compound interest itself bears more. The sum is exact and rounded half-up to
    the fen once. ``compound=False`` (the policy switch) gives 0.
    """
    if not compound or end <= start:
        return 0
    multiplier = _fraction(1 + uplift)
    total = 0  # Σ fen × rate × days: the exact sum is total × multiplier / (RATE_SCALE × DAY_BASIS)
    for item in unpaid_interest:
        if item.fen <= 0:
            continue
        lo = max(item.due_on, start)
        hi = min(item.paid_on, end) if item.paid_on is not None else end
        days = (hi - lo).days
        if days > 0:
            total += item.fen * rate_ppm * days
    # round_half_up(total × multiplier / (RATE_SCALE × DAY_BASIS)) in integers
    numerator, denominator = abs(total * multiplier.numerator), RATE_SCALE * DAY_BASIS * multiplier.denominator
    rounded = (2 * numerator + denominator) // (2 * denominator)
    return rounded if total * multiplier.numerator >= 0 else -rounded


# --- interest for delayed performance of a judgment (Civil Procedure Law Art. 264; SPC 2014) --------

# SPC interpretation 法释〔2014〕8号, Art. 1: "加倍部分债务利息=债务人尚未清偿的生效法律文书确定的除一般债务利息
# 之外的金钱债务×日万分之一点七五×迟延履行期间" — 1.75 per ten thousand a day (no day-count basis).
DELAYED_DAILY_RATE = Fraction(175, 1_000_000)


def delayed_performance_fen(
    unperformed_fen: int,
    performance_date: date,
    *,
    start: date,
    end: date,
    excluded: Iterable[tuple[date, date]] = (),
) -> int:
    """The doubled part of interest for delayed performance earned after ``start`` up to and
    including ``end`` on ``unperformed_fen``.

    Civil Procedure Law Art. 264: a debtor who does not pay money within the period a judgment
    sets pays double interest for the delay. SPC 2014 interpretation:
    - Art. 1: the doubled part = the money debt the judgment determined and still unpaid,
      *excluding* the ordinary interest for the delay period (which the judgment's own method
      gives, a separate component) × 1.75/10,000 × days of delay. ``unperformed_fen`` is that
      base; when part is paid the caller accrues up to the payment day and continues on the
      rest (Art. 3: each part to the day it is performed).
    - Art. 2: counted from the end of the performance period; the start day is not counted
      (Civil Code Art. 201), so the first day bearing it is the day after ``performance_date``.
      Installments ordered by the judgment each run from their own date: one call each.
    - Art. 3: up to and including the day of performance (or of the court's deduction, of the
      ruling confirming a sale); ``excluded`` are periods (first and last day included) of a
      stay of enforcement not requested by the debtor, which bear none (Art. 3 para. 3).
    Exact, rounded half-up to the fen once.
    """
    if unperformed_fen <= 0 or end <= start:
        return 0
    lo, hi = max(start, performance_date), end  # days lo+1 .. hi bear it
    if hi <= lo:
        return 0
    days = (hi - lo).days
    counted_out: set[date] = set()
    for first, last in excluded:
        a, b = max(first, add_days(lo, 1)), min(last, hi)
        day = a
        while day <= b:
            counted_out.add(day)
            day = add_days(day, 1)
    days -= len(counted_out)
    return round_half_up(Fraction(unperformed_fen * days) * DELAYED_DAILY_RATE)
