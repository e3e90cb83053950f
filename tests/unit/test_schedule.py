"""Installment schedules (strategy 5): a monthly amount from a first due date."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.domain.dates import add_days, add_months
from models.domain.money import to_fen
from models.domain.schedule import (
    MAX_LINES,
    Line,
    PlanStatus,
    apply_to_lines,
    missed_lines,
    paid_dates,
    plan_status,
    schedule,
)

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


# --- when lines are paid, missed lines, a broken plan (issue 15 rule 6) ----------------------------

# three lines of 1,000.00 due 2010-01-20, 2010-02-20, 2010-03-20; grace 15 days
PLAN = schedule(300_000, 100_000, date(2010, 1, 20))
GRACE = 15


def test_line_is_paid_on_the_day_the_payment_completing_it_is_made():
    payments = [(date(2010, 1, 10), 60_000), (date(2010, 1, 25), 60_000), (date(2010, 3, 1), 80_000)]
    # 60,000 + 60,000 completes line 1 on 01-25 (20,000 over); + 80,000 completes line 2 on 03-01
    assert paid_dates(PLAN, payments, date(2010, 12, 31)) == [date(2010, 1, 25), date(2010, 3, 1), None]


def test_payments_after_as_of_do_not_count():
    assert paid_dates(PLAN, [(date(2010, 1, 21), 100_000)], date(2010, 1, 20)) == [None, None, None]


def test_line_paid_on_its_due_date_is_not_missed_paid_the_day_after_is():
    on_time = [(date(2010, 1, 20), 100_000)]
    late = [(date(2010, 1, 21), 100_000)]
    assert missed_lines(PLAN, on_time, date(2010, 2, 1)) == []
    assert missed_lines(PLAN, late, date(2010, 2, 1)) == [date(2010, 1, 20)]


def test_line_due_today_is_not_missed_until_tomorrow():
    assert missed_lines(PLAN, [], date(2010, 1, 20)) == []
    assert missed_lines(PLAN, [], date(2010, 1, 21)) == [date(2010, 1, 20)]


def test_plan_breaks_the_day_after_the_grace_ends():
    # due 2010-01-20 + 15 days = 2010-02-04, the last day to pay; broken from 2010-02-05
    assert plan_status(PLAN, [], date(2010, 2, 4), grace_days=GRACE) == PlanStatus(date(2010, 1, 20), None, (date(2010, 1, 20),))
    status = plan_status(PLAN, [], date(2010, 2, 5), grace_days=GRACE)
    assert status.broken and status.broken_on == date(2010, 2, 5)


def test_paying_on_the_last_day_of_grace_keeps_the_plan_paying_the_day_after_breaks_it():
    kept = plan_status(PLAN, [(date(2010, 2, 4), 100_000)], date(2010, 2, 10), grace_days=GRACE)
    assert not kept.broken
    assert kept.dpd_from is None  # everything due is paid: 0 days past due
    assert kept.missed == (date(2010, 1, 20),)  # late all the same (restarts an observation)
    late = plan_status(PLAN, [(date(2010, 2, 5), 100_000)], date(2010, 2, 10), grace_days=GRACE)
    assert late.broken_on == date(2010, 2, 5) and late.dpd_from is None


def test_days_past_due_count_from_the_first_installment_still_unpaid():
    # line 1 paid late on 2010-02-01, line 2 (due 02-20) unpaid on 2010-03-01 -> DPD from 02-20
    status = plan_status(PLAN, [(date(2010, 2, 1), 100_000)], date(2010, 3, 1), grace_days=GRACE)
    assert status.dpd_from == date(2010, 2, 20)
    assert not status.broken  # 02-20 + 15 = 03-07 not yet passed


def test_negative_grace_is_refused():
    with pytest.raises(ValueError, match="grace"):
        plan_status(PLAN, [], date(2010, 1, 1), grace_days=-1)


@st.composite
def plan_and_payments(draw):
    lines = schedule(draw(st.integers(1, 10_000_000)), draw(st.integers(100_000, 3_000_000)), date(2010, 1, 20))
    payments = draw(
        st.lists(
            st.tuples(st.dates(min_value=date(2010, 1, 1), max_value=date(2014, 12, 31)), st.integers(1, 3_000_000)),
            max_size=20,
        )
    )
    return lines, payments


@given(plan_and_payments(), st.dates(min_value=date(2010, 1, 1), max_value=date(2015, 12, 31)), st.integers(0, 60))
def test_dpd_start_is_none_exactly_when_everything_due_is_paid(plan, as_of, grace):
    lines, payments = plan
    status = plan_status(lines, payments, as_of, grace_days=grace)
    paid = sum(fen for on, fen in payments if on <= as_of)
    due = sum(line.amount_fen for line in lines if line.due_on < as_of)
    assert (status.dpd_from is None) == (paid >= due)
    if status.broken_on is not None:
        assert status.broken_on <= as_of
        assert status.missed and status.broken_on > add_days(status.missed[0], grace)
