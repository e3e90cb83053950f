"""Five-category classification: DPD floors, the restructuring floor, staff may only worsen."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.domain.classification import (
    Category,
    classify,
    days_past_due,
    dpd_floor,
    first_day_of,
    oldest_unpaid_due,
    worst,
)
from models.domain.dates import add_days, add_months

dates = st.dates(min_value=date(1950, 1, 1), max_value=date(2150, 12, 31))
categories = st.sampled_from(list(Category))
DUE = date(2008, 6, 30)


def category_on(day: date, due: date = DUE) -> Category:
    return classify(days_past_due(day, due), as_of=day)


# --- DOMAIN.md §3 example: a loan due 2008-06-30 -------------------------------------------


@pytest.mark.parametrize(
    ("first_day", "category", "previous"),
    [
        (date(2008, 7, 1), Category.special_mention, Category.normal),
        (date(2008, 9, 29), Category.substandard, Category.special_mention),
        (date(2009, 3, 28), Category.doubtful, Category.substandard),
        (date(2009, 6, 26), Category.loss, Category.doubtful),
    ],
)
def test_loan_due_2008_06_30_reaches_each_category_on_the_documented_day(first_day, category, previous):
    assert category_on(first_day) is category
    assert category_on(add_days(first_day, -1)) is previous
    assert first_day_of(category, DUE) == first_day


def test_loan_is_normal_on_its_due_date():
    assert days_past_due(DUE, DUE) == 0
    assert category_on(DUE) is Category.normal


@pytest.mark.parametrize(
    ("dpd", "category"),
    [
        (0, Category.normal),
        (1, Category.special_mention),
        (90, Category.special_mention),
        (91, Category.substandard),
        (270, Category.substandard),
        (271, Category.doubtful),
        (360, Category.doubtful),
        (361, Category.loss),
        (10_000, Category.loss),
    ],
)
def test_dpd_floor_follows_the_2023_measures_table(dpd, category):
    assert dpd_floor(dpd) is category


def test_substandard_doubtful_and_loss_are_non_performing():
    assert [c.value for c in Category if c.non_performing] == ["substandard", "doubtful", "loss"]


def test_categories_rank_best_first():
    assert [c.rank for c in Category] == [0, 1, 2, 3, 4]
    assert worst(Category.doubtful, None, Category.special_mention) is Category.doubtful
    assert worst() is Category.normal


# --- days past due and the oldest unpaid amount ------------------------------------------


def test_days_past_due_is_zero_when_nothing_is_due():
    assert days_past_due(date(2008, 7, 1), None) == 0
    assert days_past_due(date(2008, 6, 1), DUE) == 0


def test_oldest_unpaid_is_none_before_maturity_without_arrears():
    assert oldest_unpaid_due(DUE, None, date(2008, 6, 30)) is None


def test_oldest_unpaid_is_maturity_once_it_has_passed():
    assert oldest_unpaid_due(DUE, None, date(2008, 7, 1)) == DUE


def test_oldest_unpaid_is_overdue_since_for_arrears_before_maturity():
    assert oldest_unpaid_due(DUE, date(2008, 3, 20), date(2008, 5, 1)) == date(2008, 3, 20)
    assert oldest_unpaid_due(DUE, date(2008, 3, 20), date(2008, 8, 1)) == date(2008, 3, 20)


def test_oldest_unpaid_never_ignores_a_passed_maturity_for_a_later_overdue_since():
    # the core system's date is later than the unpaid maturity: the maturity is the older amount
    assert oldest_unpaid_due(DUE, date(2008, 9, 1), date(2008, 10, 1)) == DUE


def test_oldest_unpaid_under_a_schedule_is_the_oldest_line_already_due():
    lines = [date(2009, 1, 15), date(2009, 2, 15), date(2009, 3, 15)]
    assert oldest_unpaid_due(DUE, DUE, date(2009, 1, 15), lines) is None
    assert oldest_unpaid_due(DUE, DUE, date(2009, 2, 20), lines) == date(2009, 1, 15)
    assert oldest_unpaid_due(DUE, DUE, date(2009, 2, 20), lines[1:]) == date(2009, 2, 15)


# --- staff view and restructuring -----------------------------------------------------------


def test_staff_may_classify_worse_than_the_floor():
    assert classify(0, as_of=DUE, staff=Category.doubtful) is Category.doubtful


def test_staff_may_not_classify_better_than_the_floor():
    assert classify(200, as_of=DUE, staff=Category.normal) is Category.substandard


def test_restructured_npl_stays_substandard_through_the_last_day_of_observation():
    signed = date(2009, 1, 15)
    kwargs = dict(restructured_on=signed, restructured_while_npl=True)
    assert classify(0, as_of=signed, **kwargs) is Category.substandard
    assert classify(0, as_of=date(2010, 1, 15), **kwargs) is Category.substandard
    assert classify(0, as_of=date(2010, 1, 16), **kwargs) is Category.normal


def test_restructuring_of_a_performing_loan_sets_no_floor():
    assert classify(0, as_of=date(2009, 2, 1), restructured_on=date(2009, 1, 15)) is Category.normal


def test_observation_period_length_is_configurable():
    kwargs = dict(restructured_on=date(2009, 1, 15), restructured_while_npl=True, observation_months=6)
    assert classify(0, as_of=date(2009, 7, 15), **kwargs) is Category.substandard
    assert classify(0, as_of=date(2009, 7, 16), **kwargs) is Category.normal


# --- properties ---------------------------------------------------------------------------------


@given(a=st.integers(min_value=0, max_value=5000), b=st.integers(min_value=0, max_value=5000))
def test_classification_never_improves_as_days_past_due_grow(a, b):
    low, high = sorted((a, b))
    assert dpd_floor(low).rank <= dpd_floor(high).rank


@given(due=dates, a=st.integers(min_value=0, max_value=2000), b=st.integers(min_value=0, max_value=2000))
def test_category_never_improves_as_time_passes_on_an_unpaid_loan(due, a, b):
    early, late = add_days(due, min(a, b)), add_days(due, max(a, b))
    assert category_on(early, due).rank <= category_on(late, due).rank


@given(dpd=st.integers(min_value=0, max_value=2000), staff=categories, as_of=dates)
def test_staff_classification_can_worsen_but_never_improve(dpd, staff, as_of):
    result = classify(dpd, as_of=as_of, staff=staff)
    assert result.rank >= dpd_floor(dpd).rank
    assert result.rank >= staff.rank
    assert result is worst(dpd_floor(dpd), staff)


@given(
    signed=dates,
    dpd=st.integers(min_value=0, max_value=2000),
    months=st.integers(min_value=0, max_value=36),
    offset=st.integers(min_value=0, max_value=1500),
)
def test_restructured_npl_is_at_least_substandard_during_observation_and_floor_only_after(
    signed, dpd, months, offset
):
    as_of = add_days(signed, offset)
    result = classify(
        dpd, as_of=as_of, restructured_on=signed, restructured_while_npl=True, observation_months=months
    )
    if as_of <= add_months(signed, months):
        assert result.rank >= Category.substandard.rank
        assert result is worst(dpd_floor(dpd), Category.substandard)
    else:
        assert result is dpd_floor(dpd)


def test_restructured_npl_observation_defaults_to_twelve_months():
    signed = date(2009, 1, 31)
    kwargs = dict(restructured_on=signed, restructured_while_npl=True)
    assert classify(0, as_of=date(2010, 1, 31), **kwargs) is Category.substandard
    assert classify(0, as_of=date(2010, 2, 1), **kwargs) is Category.normal
