"""Restructured assets (2023 measures Art. 20): observation period, restarts, the floor it sets."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.domain.classification import Category, dpd_floor
from models.domain.dates import add_months
from models.domain.errors import BadInput, ObservationBelowStatute
from models.domain.restructuring import (
    Restructured,
    observation_floor,
    observation_period,
    observation_until,
    restructured,
)

POLICY = {"min_periods": 2, "min_months": 12}
# Issue 15's example: plan signed 2008-12-28, first installment 2010-01-20, monthly.
SIGNED = date(2008, 12, 28)
MONTHLY = [add_months(date(2010, 1, 20), i) for i in range(36)]  # 2010-01-20 .. 2012-12-20


def state(as_of: date, *, npl: bool = True, dpd: int = 0, missed=(), dates=MONTHLY, on=SIGNED, **policy) -> Restructured:
    return restructured(
        on, dates, as_of=as_of, non_performing_before=npl, dpd=dpd, missed=missed, **{**POLICY, **policy}
    )


# --- the observation period -----------------------------------------------------------------------


def test_observation_starts_on_first_agreed_repayment_date_not_on_signing():
    # first repayment 2010-01-20; one year to 2011-01-20 (Civil Code Art. 202: corresponding day);
    # two periods (2010-01-20, 2010-02-20) end earlier, so the year governs
    assert observation_period(MONTHLY, **POLICY) == (date(2010, 1, 20), date(2011, 1, 20), False)


def test_observation_covers_two_repayment_periods_when_they_outlast_the_year():
    # yearly-and-a-half schedule: 2010-01-20 and 2011-07-20; the second period ends after the year
    dates = [date(2010, 1, 20), date(2011, 7, 20)]
    assert observation_period(dates, **POLICY) == (date(2010, 1, 20), date(2011, 7, 20), False)


def test_policy_may_lengthen_the_observation():
    assert observation_until(date(2010, 1, 20), MONTHLY, min_periods=2, min_months=18) == date(2011, 7, 20)
    # six periods of a quarterly plan: 2010-01-20, 04-20, 07-20, 10-20, 2011-01-20, 2011-04-20
    # -> the sixth repayment date, past the year, governs
    quarterly = [add_months(date(2010, 1, 20), 3 * i) for i in range(8)]
    assert observation_until(date(2010, 1, 20), quarterly, min_periods=6, min_months=12) == date(2011, 4, 20)


@pytest.mark.parametrize("policy", [{"min_periods": 1, "min_months": 12}, {"min_periods": 2, "min_months": 11}])
def test_policy_shorter_than_article_20_is_refused(policy):
    with pytest.raises(ObservationBelowStatute, match="Art. 20"):
        observation_period(MONTHLY, **policy)


def test_missed_payment_during_observation_restarts_it_from_that_date():
    # missed 2010-05-20: new observation 2010-05-20 .. 2011-05-20 (a year; the two periods after
    # the miss, 2010-06-20 and 2010-07-20, end earlier)
    assert observation_period(MONTHLY, [date(2010, 5, 20)], **POLICY) == (date(2010, 5, 20), date(2011, 5, 20), True)


def test_each_miss_inside_the_current_observation_restarts_it_again():
    missed = [date(2010, 5, 20), date(2011, 3, 20)]  # the second is inside the restarted period
    assert observation_period(MONTHLY, missed, **POLICY) == (date(2011, 3, 20), date(2012, 3, 20), True)


def test_miss_after_the_observation_ended_does_not_restart_it():
    # observation ends 2011-01-20; the next installment, 2011-02-20, falls after it
    assert observation_period(MONTHLY, [date(2011, 2, 20)], **POLICY) == (date(2010, 1, 20), date(2011, 1, 20), False)


def test_miss_on_the_last_day_of_observation_restarts_it():
    assert observation_period(MONTHLY, [date(2011, 1, 20)], **POLICY)[0] == date(2011, 1, 20)


def test_restart_on_the_last_installment_still_lasts_a_year():
    dates = [date(2010, 1, 20), date(2010, 2, 20)]
    assert observation_period(dates, [date(2010, 2, 20)], **POLICY) == (date(2010, 2, 20), date(2011, 2, 20), True)


# --- the floor ------------------------------------------------------------------------------------


def test_npl_loan_is_substandard_from_signing_until_observation_ends_then_falls_to_dpd_floor():
    # issue 15: it became normal on 2009-12-29, before the first installment; now it stays
    # substandard to 2011-01-20 inclusive and falls to the DPD floor (normal, 0 DPD) on 2011-01-21
    assert state(date(2008, 12, 27)).floor == Category.normal  # not yet restructured
    assert state(SIGNED).floor == Category.substandard
    assert state(date(2009, 12, 29)).floor == Category.substandard
    assert state(date(2011, 1, 20)).floor == Category.substandard
    assert state(date(2011, 1, 21)).floor == Category.normal


def test_performing_loan_is_special_mention_during_observation_not_normal_the_next_day():
    on, dates = date(2023, 8, 1), [add_months(date(2023, 9, 1), i) for i in range(24)]
    assert state(date(2023, 8, 2), npl=False, on=on, dates=dates).floor == Category.special_mention
    assert state(date(2024, 9, 1), npl=False, on=on, dates=dates).floor == Category.special_mention
    assert state(date(2024, 9, 2), npl=False, on=on, dates=dates).floor == Category.normal


def test_a_miss_counts_the_day_after_its_due_date_and_lowers_the_floor_one_category():
    missed = [date(2010, 5, 20)]
    on_due_day = state(date(2010, 5, 20), missed=missed)
    assert (on_due_day.observation_from, on_due_day.floor) == (date(2010, 1, 20), Category.substandard)
    day_after = state(date(2010, 5, 21), missed=missed, dpd=1)
    assert day_after == Restructured(SIGNED, date(2010, 5, 20), date(2011, 5, 20), Category.doubtful)
    assert state(date(2010, 5, 21), npl=False, missed=missed, dpd=1).floor == Category.substandard


def test_dpd_floor_worse_than_observation_floor_governs():
    assert state(date(2010, 3, 1), dpd=300).floor == Category.doubtful  # 271-360 DPD
    assert state(date(2012, 3, 1), dpd=400).floor == Category.loss  # after observation


def test_first_repayment_before_the_restructuring_is_refused():
    with pytest.raises(BadInput, match="before the restructuring"):
        state(date(2010, 1, 1), on=date(2010, 2, 1))


def test_observation_floor_by_history():
    assert observation_floor(non_performing_before=True) == Category.substandard
    assert observation_floor(non_performing_before=False) == Category.special_mention
    assert observation_floor(non_performing_before=True, missed_during_observation=True) == Category.doubtful


# --- properties -----------------------------------------------------------------------------------

days = st.dates(min_value=date(2000, 1, 1), max_value=date(2040, 12, 31))


@st.composite
def plans(draw):
    first = draw(st.dates(min_value=date(2005, 1, 1), max_value=date(2030, 12, 31)))
    step = draw(st.sampled_from([1, 3, 6, 12, 18]))
    dates = [add_months(first, step * i) for i in range(draw(st.integers(1, 30)))]
    missed = draw(st.lists(st.sampled_from(dates), max_size=5))
    on = draw(st.dates(min_value=date(2004, 1, 1), max_value=first))
    return on, dates, missed


@given(plans(), days, st.integers(0, 800), st.booleans(), st.integers(2, 6), st.integers(12, 36))
def test_floor_is_never_better_than_dpd_floor_nor_observation_floor(plan, as_of, dpd, npl, periods, months):
    on, dates, missed = plan
    r = restructured(on, dates, as_of=as_of, non_performing_before=npl, dpd=dpd, missed=missed,
                     min_periods=periods, min_months=months)
    assert r.floor.rank >= dpd_floor(dpd).rank
    if on <= as_of <= r.observation_until:
        assert r.floor.rank >= observation_floor(non_performing_before=npl).rank
    else:
        assert r.floor == dpd_floor(dpd)
    assert r.observation_until >= add_months(r.observation_from, months)
    ahead = sorted(d for d in dates if d >= r.observation_from)  # periods from the start on
    if ahead:
        assert r.observation_until >= ahead[min(periods, len(ahead)) - 1]
