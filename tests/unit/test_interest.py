"""ACT/360 contractual and penalty interest, exact to the fen."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest

from models.domain.interest import DEFAULT_UPLIFT, Accrual, accrue, interest_fen, round_half_up
from models.domain.money import parse_rate, rate_to_ppm, to_fen

WANG_PRINCIPAL = to_fen(Decimal("290000"))
WANG_RATE = rate_to_ppm(parse_rate("0.0747"))
WANG_DISBURSED = date(2008, 2, 18)
WANG_DUE = date(2008, 8, 18)
WANG_PAID = date(2008, 8, 30)


def wang(start: date, end: date, uplift: Decimal = DEFAULT_UPLIFT) -> Accrual:
    return accrue(
        outstanding_fen=WANG_PRINCIPAL,
        overdue_fen=0,
        rate_ppm=WANG_RATE,
        maturity_on=WANG_DUE,
        overdue_since=None,
        start=start,
        end=end,
        uplift=uplift,
    )


def test_default_penalty_uplift_is_fifty_percent():
    assert DEFAULT_UPLIFT == Decimal("0.5")


def test_wang_penalty_for_twelve_days_is_1083_15_yuan():
    # 290000 × 0.0747 × 1.5 × 12 / 360 = 1083.15
    assert wang(WANG_DUE, WANG_PAID) == Accrual(interest_fen=0, penalty_fen=108315)


def test_wang_contractual_interest_for_182_days_is_rounded_half_up_to_the_fen():
    assert (WANG_DUE - WANG_DISBURSED).days == 182
    exact = Decimal(290000) * Decimal("0.0747") * 182 / 360
    expected = to_fen(exact)
    assert expected == 1095185
    assert wang(WANG_DISBURSED, WANG_DUE) == Accrual(interest_fen=expected, penalty_fen=0)


def test_wang_whole_life_is_contractual_to_maturity_then_penalty():
    assert wang(WANG_DISBURSED, WANG_PAID) == Accrual(1095185, 108315)


def test_penalty_starts_the_day_after_the_due_date():
    assert wang(WANG_DUE, WANG_DUE) == Accrual(0, 0)
    one_day = wang(WANG_DUE, date(2008, 8, 19))
    assert one_day.interest_fen == 0
    assert one_day.penalty_fen == round_half_up(Fraction(WANG_PRINCIPAL * WANG_RATE * 3, 10**6 * 360 * 2))


def test_configurable_uplift_changes_the_penalty():
    # 290000 × 0.0747 × 1.3 × 12 / 360 = 938.73
    assert wang(WANG_DUE, WANG_PAID, uplift=Decimal("0.3")).penalty_fen == 93873
    # no uplift: the contract rate itself, 722.10
    assert wang(WANG_DUE, WANG_PAID, uplift=Decimal("0")).penalty_fen == 72210


def test_overdue_principal_before_maturity_earns_penalty_from_overdue_since():
    accrual = accrue(
        outstanding_fen=10_000_000,  # 100,000 yuan outstanding
        overdue_fen=1_000_000,  # 10,000 yuan of it overdue since 2008-05-01
        rate_ppm=72_000,  # 7.2 %
        maturity_on=date(2008, 12, 31),
        overdue_since=date(2008, 5, 1),
        start=date(2008, 4, 1),
        end=date(2008, 6, 1),
    )
    # the not-due 90,000 earns contractual interest for 61 days: 90000 × 0.072 × 61/360 = 1098.00;
    # the overdue 10,000 earns it for 30 days (to 2008-05-01): 10000 × 0.072 × 30/360 = 60.00,
    # then penalty for 31 days after it: 10000 × 0.072 × 1.5 × 31/360 = 93.00
    assert accrual == Accrual(interest_fen=109_800 + 6_000, penalty_fen=9_300)


def test_overdue_amount_is_ignored_without_an_overdue_since_date():
    with_amount = accrue(
        outstanding_fen=1_000_000, overdue_fen=500_000, rate_ppm=72_000, maturity_on=date(2008, 12, 31),
        overdue_since=None, start=date(2008, 1, 1), end=date(2008, 2, 1),
    )
    assert with_amount == Accrual(interest_fen(1_000_000, 72_000, 31), 0)


def test_nothing_accrues_on_an_empty_or_reversed_span():
    assert wang(WANG_PAID, WANG_DUE) == Accrual(0, 0)
    zero = accrue(
        outstanding_fen=0, overdue_fen=0, rate_ppm=WANG_RATE, maturity_on=WANG_DUE,
        overdue_since=None, start=WANG_DISBURSED, end=WANG_PAID,
    )
    assert zero == Accrual(0, 0)


@pytest.mark.parametrize(
    ("value", "rounded"),
    [(Fraction(5, 2), 3), (Fraction(-5, 2), -3), (Fraction(249, 100), 2), (Fraction(0), 0)],
)
def test_round_half_up_rounds_halves_away_from_zero(value, rounded):
    assert round_half_up(value) == rounded


def test_interest_on_nothing_or_for_no_days_is_zero():
    assert interest_fen(0, WANG_RATE, 30) == 0
    assert interest_fen(WANG_PRINCIPAL, WANG_RATE, 0) == 0
