"""Installment schedules (strategy 5): a monthly amount from a first due date."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.domain.dates import add_months
from models.domain.money import to_fen
from models.domain.schedule import MAX_LINES, Line, apply_to_lines, schedule

WANG_MOUMOU_TOTAL = to_fen(Decimal("47000"))
MONTHLY = to_fen(Decimal("1500"))


def test_wang_moumou_47000_at_1500_a_month_takes_32_installments_the_last_of_500():
    lines = schedule(WANG_MOUMOU_TOTAL, MONTHLY, date(2009, 1, 15))
    assert len(lines) == 32
    assert [line.seq for line in lines] == list(range(1, 33))
    assert all(line.amount_fen == 150_000 for line in lines[:-1])
    assert lines[-1].amount_fen == 50_000
    assert sum(line.amount_fen for line in lines) == 4_700_000


def test_wang_moumou_balance_after_twelve_installments_is_29000():
    lines = schedule(WANG_MOUMOU_TOTAL, MONTHLY, date(2009, 1, 15))
    amounts = [line.amount_fen for line in lines]
    paid = [0] * len(lines)
    for _ in range(12):
        paid = apply_to_lines(paid, amounts, MONTHLY)
    assert WANG_MOUMOU_TOTAL - sum(paid) == 2_900_000
    assert paid[:12] == amounts[:12]
    assert paid[12:] == [0] * 20


def test_monthly_due_dates_follow_month_end_rules_from_the_first_date():
    lines = schedule(600_00, 100_00, date(2008, 1, 31))
    assert [line.due_on for line in lines] == [
        date(2008, 1, 31),
        date(2008, 2, 29),
        date(2008, 3, 31),
        date(2008, 4, 30),
        date(2008, 5, 31),
        date(2008, 6, 30),
    ]


def test_an_exact_multiple_has_no_short_last_line():
    assert schedule(300_00, 100_00, date(2009, 1, 1)) == [
        Line(1, date(2009, 1, 1), 100_00),
        Line(2, date(2009, 2, 1), 100_00),
        Line(3, date(2009, 3, 1), 100_00),
    ]


def test_a_monthly_amount_above_the_total_gives_one_line():
    assert schedule(500, 1_000, date(2009, 1, 1)) == [Line(1, date(2009, 1, 1), 500)]


@pytest.mark.parametrize("monthly", [0, -150_000])
def test_a_non_positive_monthly_amount_is_refused(monthly):
    with pytest.raises(ValueError, match="monthly amount must be positive"):
        schedule(WANG_MOUMOU_TOTAL, monthly, date(2009, 1, 15))


@pytest.mark.parametrize("total", [0, -1])
def test_a_schedule_for_nothing_owed_is_refused(total):
    with pytest.raises(ValueError, match="nothing is owed"):
        schedule(total, MONTHLY, date(2009, 1, 15))


def test_a_schedule_longer_than_fifty_years_is_refused():
    with pytest.raises(ValueError, match=str(MAX_LINES)):
        schedule(MAX_LINES + 1, 1, date(2009, 1, 15))
    assert len(schedule(MAX_LINES, 1, date(2009, 1, 15))) == MAX_LINES


def test_a_payment_fills_the_oldest_unpaid_lines_first_and_partially():
    assert apply_to_lines([100, 40, 0], [100, 100, 100], 90) == [100, 100, 30]


def test_a_payment_beyond_the_schedule_leaves_lines_full_not_overpaid():
    assert apply_to_lines([0, 0], [100, 100], 500) == [100, 100]


@given(
    total=st.integers(min_value=1, max_value=10**9),
    monthly=st.integers(min_value=1, max_value=10**9),
    first=st.dates(min_value=date(1950, 1, 1), max_value=date(2100, 12, 31)),
)
def test_schedule_lines_add_up_to_the_total_and_fall_monthly(total, monthly, first):
    if -(-total // monthly) > MAX_LINES:
        with pytest.raises(ValueError):
            schedule(total, monthly, first)
        return
    lines = schedule(total, monthly, first)
    assert sum(line.amount_fen for line in lines) == total
    assert all(0 < line.amount_fen <= monthly for line in lines)
    assert all(line.amount_fen == monthly for line in lines[:-1])
    assert [line.due_on for line in lines] == [add_months(first, i) for i in range(len(lines))]
