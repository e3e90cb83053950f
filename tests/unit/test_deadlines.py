"""Legal deadlines (DOMAIN.md §4): guarantee period, limitation, enforcement, foreclosed assets."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.domain.dates import add_months
from models.domain.deadlines import (
    GuaranteeStatus,
    GuaranteeType,
    RequiredAct,
    enforcement_apply_by,
    foreclosed_dispose_by,
    guarantee_period_end,
    guarantee_status,
    limitation_end,
    required_act,
)

dates = st.dates(min_value=date(1950, 1, 1), max_value=date(2150, 12, 31))


# --- guarantee period (Civil Code Arts. 686, 692, 693) ----------------------------------


@pytest.mark.parametrize(
    ("maturity", "end"),
    [(date(2008, 6, 30), date(2008, 12, 30)), (date(2006, 9, 13), date(2007, 3, 13))],
)
def test_guarantee_period_without_agreement_ends_six_months_after_maturity(maturity, end):
    assert guarantee_period_end(maturity, None) == end


def test_guarantee_period_from_august_31_ends_on_the_last_day_of_february():
    assert guarantee_period_end(date(2008, 8, 31), None) == date(2009, 2, 28)
    assert guarantee_period_end(date(2007, 8, 31), None) == date(2008, 2, 29)


def test_agreed_guarantee_period_after_maturity_is_kept():
    assert guarantee_period_end(date(2008, 6, 30), date(2010, 6, 30)) == date(2010, 6, 30)
    assert guarantee_period_end(date(2008, 6, 30), date(2008, 7, 1)) == date(2008, 7, 1)


@pytest.mark.parametrize("agreed", [date(2008, 6, 30), date(2008, 1, 1)])
def test_agreed_guarantee_period_ending_on_or_before_maturity_falls_back_to_six_months(agreed):
    assert guarantee_period_end(date(2008, 6, 30), agreed) == date(2008, 12, 30)


def test_joint_guarantee_requires_a_demand_on_the_guarantor():
    assert required_act(GuaranteeType.joint) is RequiredAct.demand_guarantor


def test_general_guarantee_requires_suing_the_borrower():
    assert required_act(GuaranteeType.general) is RequiredAct.sue_borrower


def test_guarantee_modes_are_joint_and_general_with_stored_values():
    # Art. 686 (unstated mode is general) is applied by callers defaulting to GuaranteeType.general
    assert {g.value for g in GuaranteeType} == {"joint", "general"}
    assert GuaranteeType("general") is GuaranteeType.general


def test_joint_guarantee_demanded_within_the_period_keeps_the_guarantor_liable_after_it():
    status = guarantee_status(GuaranteeType.joint, date(2008, 6, 30), None, date(2008, 12, 30), None)
    assert status == GuaranteeStatus(date(2008, 12, 30), RequiredAct.demand_guarantor, date(2008, 12, 30))
    assert status.preserved
    assert status.liable_on(date(2009, 6, 1))


def test_joint_guarantee_without_demand_frees_the_guarantor_after_the_period():
    status = guarantee_status(GuaranteeType.joint, date(2008, 6, 30), None, None, None)
    assert not status.preserved
    assert status.liable_on(date(2008, 12, 30))
    assert not status.liable_on(date(2008, 12, 31))


def test_demand_after_the_period_does_not_preserve_the_guarantee():
    status = guarantee_status(GuaranteeType.joint, date(2008, 6, 30), None, date(2008, 12, 31), None)
    assert not status.preserved
    assert not status.liable_on(date(2009, 1, 1))


def test_demand_before_maturity_does_not_preserve_the_guarantee():
    status = guarantee_status(GuaranteeType.joint, date(2008, 6, 30), None, date(2008, 6, 1), None)
    assert status.act_done_on is None
    assert not status.preserved


def test_general_guarantee_is_preserved_by_suing_the_borrower_not_by_a_demand():
    demanded_only = guarantee_status(GuaranteeType.general, date(2006, 9, 13), None, date(2006, 10, 1), None)
    assert not demanded_only.preserved
    sued = guarantee_status(GuaranteeType.general, date(2006, 9, 13), None, None, date(2006, 10, 1))
    assert sued.act is RequiredAct.sue_borrower
    assert sued.preserved


def test_guarantee_lead_date_is_lead_days_before_the_period_end():
    status = guarantee_status(GuaranteeType.joint, date(2008, 6, 30), None, None, None)
    assert status.lead_date(30) == date(2008, 11, 30)


# --- limitation, enforcement, foreclosed assets ------------------------------------------


def test_limitation_ends_three_years_after_maturity():
    assert limitation_end(date(2008, 6, 30)) == date(2011, 6, 30)


def test_limitation_restarts_from_the_latest_interruption():
    assert limitation_end(date(2008, 6, 30), [date(2009, 3, 1), date(2010, 5, 20)]) == date(2013, 5, 20)


def test_interruption_before_maturity_does_not_shorten_limitation():
    assert limitation_end(date(2008, 6, 30), [date(2008, 1, 1)]) == date(2011, 6, 30)


def test_limitation_from_february_29_ends_on_february_28():
    assert limitation_end(date(2008, 2, 29)) == date(2011, 2, 28)


def test_enforcement_must_be_applied_for_within_two_years_of_perform_by():
    assert enforcement_apply_by(date(2007, 3, 15)) == date(2009, 3, 15)


def test_foreclosed_assets_must_be_disposed_of_within_two_years():
    assert foreclosed_dispose_by(date(2008, 2, 29)) == date(2010, 2, 28)


# --- properties: a deadline never precedes its start --------------------------------------


@given(maturity=dates, agreed=st.none() | dates)
def test_guarantee_period_always_ends_after_maturity(maturity, agreed):
    end = guarantee_period_end(maturity, agreed)
    assert end > maturity
    if agreed is None or agreed <= maturity:
        assert end == add_months(maturity, 6)
    else:
        assert end == agreed


@given(maturity=dates, interruptions=st.lists(dates, max_size=5))
def test_limitation_never_ends_before_maturity_or_any_interruption(maturity, interruptions):
    end = limitation_end(maturity, interruptions)
    assert end > maturity
    assert all(end > d for d in interruptions)


@given(perform_by=dates)
def test_enforcement_deadline_never_precedes_perform_by(perform_by):
    assert enforcement_apply_by(perform_by) > perform_by
    assert foreclosed_dispose_by(perform_by) > perform_by


def test_a_preserved_joint_guarantee_debt_has_its_own_three_year_limitation_from_the_demand():
    # Art. 694 (2): the guarantee debt's limitation runs from the creditor's demand on the guarantor
    status = guarantee_status(GuaranteeType.joint, date(2008, 6, 30), None, date(2008, 11, 30), None)
    assert status.debt_limitation_end() == date(2011, 11, 30)
    assert status.liable_on(date(2011, 11, 30))
    assert not status.liable_on(date(2011, 12, 1))


def test_a_later_demand_on_or_payment_by_the_guarantor_restarts_the_guarantee_debts_limitation():
    # Art. 195: a demand or the obligor's performance interrupts; the period runs anew
    status = guarantee_status(GuaranteeType.joint, date(2008, 6, 30), None, date(2008, 11, 30), None, date(2010, 3, 15))
    assert status.debt_limitation_end() == date(2013, 3, 15)
    assert status.liable_on(date(2012, 1, 1))


def test_only_a_preserved_joint_guarantee_has_a_running_guarantee_debt_limitation():
    unpreserved = guarantee_status(GuaranteeType.joint, date(2008, 6, 30), None, None, None)
    general = guarantee_status(GuaranteeType.general, date(2008, 6, 30), None, None, date(2008, 9, 1))
    assert unpreserved.debt_limitation_end() is None
    assert general.preserved and general.debt_limitation_end() is None  # starts after enforcement: not recorded
    assert general.liable_on(date(2020, 1, 1))
