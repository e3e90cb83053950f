"""Period arithmetic (Civil Code Arts. 200-204): the start day is not counted; a period in
months ends on the corresponding day of the last month, or on its last day if there is none."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.domain.dates import add_days, add_months, add_years, days_between, parse_date

# far enough from date.min/date.max that adding decades never overflows
dates = st.dates(min_value=date(1950, 1, 1), max_value=date(2150, 12, 31))


def test_six_months_from_august_31_ends_on_february_28_in_a_common_year():
    assert add_months(date(2008, 8, 31), 6) == date(2009, 2, 28)


def test_six_months_from_august_31_ends_on_february_29_in_a_leap_year():
    assert add_months(date(2007, 8, 31), 6) == date(2008, 2, 29)


def test_three_years_from_february_29_ends_on_february_28():
    assert add_years(date(2008, 2, 29), 3) == date(2011, 2, 28)


def test_four_years_from_february_29_ends_on_february_29():
    assert add_years(date(2008, 2, 29), 4) == date(2012, 2, 29)


def test_a_month_period_ends_on_the_corresponding_day_when_it_exists():
    assert add_months(date(2008, 6, 30), 6) == date(2008, 12, 30)
    assert add_months(date(2006, 9, 13), 6) == date(2007, 3, 13)


def test_adding_months_crosses_year_boundaries():
    assert add_months(date(2008, 11, 15), 3) == date(2009, 2, 15)
    assert add_months(date(2009, 2, 15), -3) == date(2008, 11, 15)
    assert add_months(date(2008, 1, 31), 0) == date(2008, 1, 31)


def test_adding_days_does_not_count_the_start_day():
    assert add_days(date(2008, 6, 30), 1) == date(2008, 7, 1)
    assert days_between(date(2008, 6, 30), date(2008, 7, 1)) == 1
    assert days_between(date(2008, 7, 1), date(2008, 6, 30)) == -1


def test_parse_date_accepts_iso_dates_with_surrounding_blanks():
    assert parse_date(" 2008-06-30 ") == date(2008, 6, 30)


@pytest.mark.parametrize("text", ["2008-6-30", "30/06/2008", "20080630", "", "2008-06-30T00:00"])
def test_parse_date_rejects_anything_but_yyyy_mm_dd(text):
    with pytest.raises(ValueError, match="not an ISO date"):
        parse_date(text)


@pytest.mark.parametrize("text", ["2009-02-29", "2008-13-01", "2008-00-10"])
def test_parse_date_rejects_impossible_calendar_dates(text):
    with pytest.raises(ValueError, match="not a valid calendar date"):
        parse_date(text)


@given(start=dates, months=st.integers(min_value=0, max_value=600))
def test_adding_months_never_goes_before_the_start(start, months):
    end = add_months(start, months)
    assert end >= start
    if months > 0:
        assert end > start


@given(start=dates, months=st.integers(min_value=0, max_value=600))
def test_adding_months_lands_on_the_corresponding_day_or_the_month_end(start, months):
    end = add_months(start, months)
    assert (end.year * 12 + end.month) - (start.year * 12 + start.month) == months
    if end.day != start.day:
        assert end.day < start.day
        assert add_days(end, 1).day == 1  # it is the last day of its month


@given(start=dates, years=st.integers(min_value=0, max_value=50))
def test_adding_years_never_goes_before_the_start_and_is_twelve_months_each(start, years):
    end = add_years(start, years)
    assert end >= start
    assert end == add_months(start, 12 * years)
