"""Clocks under the law in force when the facts happened (models/domain/law.py).

Every expected date below is worked out by hand in the row's comment (Civil Code Arts. 200-204:
the start day is not counted; a period in months or years ends on the corresponding day, or on
the month's last day when there is none).
"""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.domain.deadlines import GuaranteeType
from models.domain.law import (
    ACKNOWLEDGEMENT,
    BORROWER,
    DEMAND,
    ENFORCEMENT_ACTS,
    ENFORCEMENT_APPLICATION,
    GENERAL_GUARANTEE_ACTS,
    JOINT_GUARANTEE_ACTS,
    LIMITATION_ACTS,
    SUIT,
    Act,
    Status,
    clock_status,
    enforcement_apply_by,
    guarantee_limitation_end,
    guarantee_limitation_start,
    guarantee_mode,
    guarantee_period_end,
    limitation_end,
    limitation_status,
)

D = date
JOINT, GENERAL = GuaranteeType.joint, GuaranteeType.general


# --- guarantee mode ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stated", "signed_on", "mode", "rule"),
    [
        # before 2021 an unstated mode is joint (Guarantee Law Art. 19)
        ("unstated", D(2007, 3, 1), JOINT, "Guarantee Law 1995 Art. 19"),
        ("unstated", D(2020, 12, 31), JOINT, "Guarantee Law 1995 Art. 19"),
        # from 2021 it is general (Civil Code Art. 686 ¶2)
        ("unstated", D(2021, 1, 1), GENERAL, "Civil Code Art. 686 ¶2"),
        ("unstated", D(2023, 5, 4), GENERAL, "Civil Code Art. 686 ¶2"),
        # a stated mode is kept, with the article defining it under each law
        ("general", D(2020, 12, 31), GENERAL, "Guarantee Law 1995 Art. 17"),
        ("joint", D(2020, 12, 31), JOINT, "Guarantee Law 1995 Art. 18"),
        ("general", D(2021, 1, 1), GENERAL, "Civil Code Art. 687"),
        ("joint", D(2021, 1, 1), JOINT, "Civil Code Art. 688"),
    ],
)
def test_guarantee_mode_follows_the_law_in_force_when_signed(stated, signed_on, mode, rule):
    ruled = guarantee_mode(stated, signed_on)
    assert (ruled.mode, ruled.rule) == (mode, rule)


def test_guarantee_signed_before_the_guarantee_law_says_its_law_is_missing():
    ruled = guarantee_mode("unstated", D(1994, 5, 1))
    assert ruled.mode is JOINT
    assert "Art. 133" in ruled.rule and "not in the reference texts" in ruled.rule


def test_an_unknown_guarantee_mode_is_refused():
    with pytest.raises(ValueError, match="joint, general or unstated"):
        guarantee_mode("several", D(2007, 3, 1))


# --- guarantee period -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("signed_on", "maturity", "agreed", "until_repaid", "mode", "end", "rule"),
    [
        # 2008-06-30 + 6 months = 2008-12-30 (Guarantee Law Art. 26, joint)
        (D(2007, 1, 10), D(2008, 6, 30), None, False, JOINT, D(2008, 12, 30),
         "Guarantee Law 1995 Art. 26"),
        # 2006-08-31 + 6 months: February has no 31st -> its last day, 2007-02-28 (Art. 25, general)
        (D(2006, 3, 1), D(2006, 8, 31), None, False, GENERAL, D(2007, 2, 28),
         "Guarantee Law 1995 Art. 25"),
        # agreed end equal to maturity counts as none: 2008-06-30 + 6 months = 2008-12-30
        (D(2007, 1, 10), D(2008, 6, 30), D(2008, 6, 30), False, JOINT, D(2008, 12, 30),
         "Guarantee Law 1995 Art. 26; SPC 2000 interpretation Art. 32 ¶1"),
        # agreed end before maturity counts as none: 2008-12-30 again
        (D(2007, 1, 10), D(2008, 6, 30), D(2008, 5, 1), False, JOINT, D(2008, 12, 30),
         "Guarantee Law 1995 Art. 26; SPC 2000 interpretation Art. 32 ¶1"),
        # agreed end after maturity is kept as agreed
        (D(2007, 1, 10), D(2008, 6, 30), D(2009, 6, 30), False, JOINT, D(2009, 6, 30),
         "Guarantee Law 1995 Art. 26 (agreed period)"),
        # "until repaid": 2008-06-30 + 2 years = 2010-06-30 (ran out long before 2021: no Art. 27)
        (D(2007, 1, 10), D(2008, 6, 30), None, True, JOINT, D(2010, 6, 30),
         "Guarantee Law 1995 Art. 26; SPC 2000 interpretation Art. 32 ¶2"),
        # "until repaid", due 2019-01-02: two years end 2021-01-02, still running on 2021-01-01,
        # so temporal-effect Art. 27 keeps the two years
        (D(2018, 1, 2), D(2019, 1, 2), None, True, None, D(2021, 1, 2),
         "Guarantee Law 1995 Arts. 25, 26; SPC 2000 interpretation Art. 32 ¶2; "
         "SPC 2020 temporal-effect Art. 27"),
        # "until repaid", due 2019-01-01: two years end 2021-01-01, a full two years from maturity
        # to the Civil Code's first day, so Art. 27 (less than two years) is not cited
        (D(2018, 1, 2), D(2019, 1, 1), None, True, JOINT, D(2021, 1, 1),
         "Guarantee Law 1995 Art. 26; SPC 2000 interpretation Art. 32 ¶2"),
        # no agreement, signed the last day before the Civil Code: 2020-12-31 + 6 months = 2021-06-30
        (D(2020, 12, 31), D(2020, 12, 31), None, False, JOINT, D(2021, 6, 30),
         "Guarantee Law 1995 Art. 26"),
        # signed 2020, "until repaid", due 2021-03-31: the earlier reading, 6 months = 2021-09-30
        (D(2020, 12, 31), D(2021, 3, 31), None, True, JOINT, D(2021, 9, 30),
         "Civil Code Art. 692 ¶2; SPC 2020 guarantee interpretation Art. 32 (signed before 2021, "
         "due after: the earlier of the readings, SPC 2020 temporal-effect Arts. 1 ¶3, 27)"),
        # from 2021, no agreement: 2022-06-30 + 6 months = 2022-12-30 (Civil Code Art. 692)
        (D(2021, 1, 1), D(2022, 6, 30), None, False, JOINT, D(2022, 12, 30), "Civil Code Art. 692 ¶2"),
        # from 2021, "until repaid" is unclear: six months too, 2022-12-30
        (D(2021, 1, 1), D(2022, 6, 30), None, True, GENERAL, D(2022, 12, 30),
         "Civil Code Art. 692 ¶2; SPC 2020 guarantee interpretation Art. 32"),
        # from 2021, agreed end equal to maturity counts as none: 2022-12-30
        (D(2021, 1, 1), D(2022, 6, 30), D(2022, 6, 30), False, JOINT, D(2022, 12, 30),
         "Civil Code Art. 692 ¶2"),
        # from 2021, agreed end after maturity is kept: 2023-01-31
        (D(2021, 1, 1), D(2022, 6, 30), D(2023, 1, 31), False, JOINT, D(2023, 1, 31),
         "Civil Code Art. 692 ¶2 (agreed period)"),
        # from 2021, due 2023-08-31 + 6 months: 2024 is a leap year -> 2024-02-29
        (D(2021, 1, 1), D(2023, 8, 31), None, False, JOINT, D(2024, 2, 29), "Civil Code Art. 692 ¶2"),
    ],
)
def test_guarantee_period_end_follows_the_law_in_force_when_signed(
    signed_on, maturity, agreed, until_repaid, mode, end, rule
):
    ruled = guarantee_period_end(signed_on, maturity, agreed, until_repaid, mode=mode)
    assert (ruled.date, ruled.rule) == (end, rule)


def test_until_repaid_gives_two_years_before_2021_and_six_months_after_for_the_same_debt():
    # the same debt due 2020-06-30: signed 2019 -> 2022-06-30; signed 2021 -> 2020-12-30
    old = guarantee_period_end(D(2019, 6, 1), D(2020, 6, 30), None, True)
    new = guarantee_period_end(D(2021, 1, 1), D(2020, 6, 30), None, True)
    assert (old.date, new.date) == (D(2022, 6, 30), D(2020, 12, 30))


def test_a_period_agreed_until_repaid_cannot_also_have_an_end_date():
    with pytest.raises(ValueError, match="until repaid"):
        guarantee_period_end(D(2007, 1, 10), D(2008, 6, 30), D(2009, 6, 30), True)


# --- limitation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "interruptions", "end", "expired_old", "rule"),
    [
        # 2006-09-13 + 2 years = 2008-09-13, before 2017-10-01: stays run out (SPC 2018 Art. 3)
        (D(2006, 9, 13), [], D(2008, 9, 13), True, "GPCL 1986 Art. 135, 140; SPC 2018 transition Art. 3"),
        # 2015-09-30 + 2 years = 2017-09-30, the day before 2017-10-01: ran out (Art. 3)
        (D(2015, 9, 30), [], D(2017, 9, 30), True, "GPCL 1986 Art. 135, 140; SPC 2018 transition Art. 3"),
        # 2015-10-01 + 2 years = 2017-10-01, its last day is the day the 2017 law took effect:
        # not yet run out, so three years from the start, 2018-10-01 (Art. 2)
        (D(2015, 10, 1), [], D(2018, 10, 1), False, "General Provisions 2017 Art. 188; SPC 2018 transition Art. 2"),
        # 2016-02-29 + 3 years: 2019 has no 29 February -> 2019-02-28 (Art. 2)
        (D(2016, 2, 29), [], D(2019, 2, 28), False, "General Provisions 2017 Art. 188; SPC 2018 transition Art. 2"),
        # from 2017-10-01: three years, 2020-10-01 (General Provisions Art. 188)
        (D(2017, 10, 1), [], D(2020, 10, 1), False, "General Provisions 2017 Art. 188, 195"),
        # 2020-12-31 + 3 years = 2023-12-31, still under the General Provisions
        (D(2020, 12, 31), [], D(2023, 12, 31), False, "General Provisions 2017 Art. 188, 195"),
        # 2021-01-01 + 3 years = 2024-01-01 under the Civil Code
        (D(2021, 1, 1), [], D(2024, 1, 1), False, "Civil Code Art. 188, 195"),
        # interrupted 2008-03-01 (before 2008-09-13): new two years to 2010-03-01, ran out before 2017
        (D(2006, 9, 13), [D(2008, 3, 1)], D(2010, 3, 1), True,
         "GPCL 1986 Art. 135, 140; SPC 2018 transition Art. 3"),
        # an interruption on the last day counts: 2008-09-13 + 2 years = 2010-09-13
        (D(2006, 9, 13), [D(2008, 9, 13)], D(2010, 9, 13), True,
         "GPCL 1986 Art. 135, 140; SPC 2018 transition Art. 3"),
        # the day after the end does not revive it: stays 2008-09-13
        (D(2006, 9, 13), [D(2008, 9, 14)], D(2008, 9, 13), True,
         "GPCL 1986 Art. 135, 140; SPC 2018 transition Art. 3"),
        # interrupted 2016-06-01: two years would end 2018-06-01, after 2017-10-01 -> three, 2019-06-01
        (D(2014, 6, 30), [D(2016, 6, 1)], D(2019, 6, 1), False,
         "General Provisions 2017 Art. 188; SPC 2018 transition Art. 2"),
        # start 2016-06-30 runs (Art. 2) to 2019-06-30; interrupted 2018-01-15 -> 2021-01-15 (2017 law)
        (D(2016, 6, 30), [D(2018, 1, 15)], D(2021, 1, 15), False, "General Provisions 2017 Art. 188, 195"),
        # start 2019-03-31 runs to 2022-03-31; interrupted 2021-02-28 -> 2024-02-28 (Civil Code)
        (D(2019, 3, 31), [D(2021, 2, 28)], D(2024, 2, 28), False, "Civil Code Art. 188, 195"),
        # two interruptions, given out of order: 2021-02-01 then 2023-11-30 -> 2026-11-30
        (D(2020, 6, 30), [D(2023, 11, 30), D(2021, 2, 1)], D(2026, 11, 30), False, "Civil Code Art. 188, 195"),
        # an act before the period began does not restart it: 2021-06-30 + 3 years = 2024-06-30
        (D(2021, 6, 30), [D(2021, 5, 1)], D(2024, 6, 30), False, "Civil Code Art. 188, 195"),
    ],
)
def test_limitation_end_follows_the_law_in_force_on_each_period_start(
    start, interruptions, end, expired_old, rule
):
    ruled = limitation_end(start, interruptions)
    assert (ruled.date, ruled.expired_under_old_law, ruled.rule) == (end, expired_old, rule)


def test_limitation_never_runs_past_twenty_years_from_the_start():
    # start 2000-01-15; each interruption falls within the running two years, the last on
    # 2017-04-01 gives two years to 2019-04-01 (after 2017-10-01) -> three, 2020-04-01; but
    # twenty years from 2000-01-15 end on 2020-01-15 (General Provisions 2017 Art. 188 ¶2)
    acts = [D(2001, 12, 1), D(2003, 11, 1), D(2005, 10, 1), D(2007, 9, 1), D(2009, 8, 1),
            D(2011, 7, 1), D(2013, 6, 1), D(2015, 5, 1), D(2017, 4, 1)]
    ruled = limitation_end(D(2000, 1, 15), acts)
    assert ruled.date == D(2020, 1, 15)
    assert ruled.rule.endswith("General Provisions 2017 Art. 188 ¶2 (twenty years)")
    # an act after the twenty years restarts nothing
    assert limitation_end(D(2000, 1, 15), [*acts, D(2020, 2, 1)]).date == D(2020, 1, 15)


# --- guarantee debt limitation ----------------------------------------------------------------


def test_joint_guarantee_debt_limitation_runs_from_the_demand_under_the_law_of_that_day():
    # signed 2007, demand 2008-11-28: two years to 2010-11-28, ran out before 2017
    start = guarantee_limitation_start(JOINT, D(2007, 1, 10), demanded_on=D(2008, 11, 28))
    assert start is not None and (start.date, start.rule) == (D(2008, 11, 28), "SPC 2000 interpretation Art. 34 ¶2")
    end = guarantee_limitation_end(start)
    assert (end.date, end.expired_under_old_law) == (D(2010, 11, 28), True)
    assert end.rule == "SPC 2000 interpretation Art. 34 ¶2; GPCL 1986 Art. 135, 140; SPC 2018 transition Art. 3"
    # signed 2021, demand 2022-11-28: three years to 2025-11-28 (Civil Code Art. 694 ¶2, 188)
    start = guarantee_limitation_start(JOINT, D(2021, 1, 1), demanded_on=D(2022, 11, 28))
    assert start is not None
    end = guarantee_limitation_end(start)
    assert (end.date, end.rule) == (D(2025, 11, 28), "Civil Code Art. 694 ¶2; Civil Code Art. 188, 195")


def test_joint_guarantee_debt_limitation_restarts_on_a_later_demand():
    # demand 2018-03-01 -> 2021-03-01; a new demand 2020-05-06 -> 2023-05-06 (General Provisions)
    start = guarantee_limitation_start(JOINT, D(2016, 1, 1), demanded_on=D(2018, 3, 1))
    assert start is not None
    assert guarantee_limitation_end(start, [D(2020, 5, 6)]).date == D(2023, 5, 6)


def test_guarantee_debt_limitation_has_not_started_without_its_event():
    assert guarantee_limitation_start(JOINT, D(2007, 1, 10)) is None
    # a demand 2008-12-31 after the period ended 2008-12-30 preserved nothing: no debt limitation
    late = guarantee_limitation_start(JOINT, D(2007, 1, 10), demanded_on=D(2008, 12, 31), period_end=D(2008, 12, 30))
    assert late is None
    on_time = guarantee_limitation_start(JOINT, D(2007, 1, 10), demanded_on=D(2008, 12, 30), period_end=D(2008, 12, 30))
    assert on_time is not None and on_time.date == D(2008, 12, 30)
    assert guarantee_limitation_start(GENERAL, D(2007, 1, 10)) is None
    assert guarantee_limitation_start(GENERAL, D(2021, 1, 1)) is None
    # a judgment alone does not end the defence of prior enforcement under the Civil Code
    assert guarantee_limitation_start(GENERAL, D(2021, 1, 1), judgment_effective_on=D(2022, 5, 1)) is None


@pytest.mark.parametrize(
    ("signed_on", "events", "start", "rule", "end"),
    [
        # signed 2007: from the judgment taking effect 2016-05-10; two years would end 2018-05-10,
        # after 2017-10-01 -> three years, 2019-05-10
        (D(2007, 1, 10), {"judgment_effective_on": D(2016, 5, 10)}, D(2016, 5, 10),
         "SPC 2000 interpretation Art. 34 ¶1", D(2019, 5, 10)),
        # signed 2020-12-31, judgment 2022-05-01 (after 2021): still the judgment, the earlier
        # start -> 2025-05-01; the later enforcement events do not move it
        (D(2020, 12, 31), {"judgment_effective_on": D(2022, 5, 1), "enforcement_received_on": D(2022, 7, 1)},
         D(2022, 5, 1), "SPC 2000 interpretation Art. 34 ¶1", D(2025, 5, 1)),
        # signed 2021: ruling ending enforcement delivered 2023-11-20, within a year of the
        # application received 2023-03-15 -> from 2023-11-20, three years to 2026-11-20
        (D(2021, 1, 1), {"enforcement_received_on": D(2023, 3, 15), "enforcement_ended_delivered_on": D(2023, 11, 20)},
         D(2023, 11, 20), "Civil Code Art. 694 ¶1; SPC 2020 guarantee interpretation Art. 28 ¶1(1)", D(2026, 11, 20)),
        # no ruling: one year after 2023-03-15 = 2024-03-15 -> 2027-03-15
        (D(2021, 1, 1), {"enforcement_received_on": D(2023, 3, 15)},
         D(2024, 3, 15), "Civil Code Art. 694 ¶1; SPC 2020 guarantee interpretation Art. 28 ¶1(2)", D(2027, 3, 15)),
        # ruling delivered 2024-05-01, after the year: the year's end 2024-03-15 -> 2027-03-15
        (D(2021, 1, 1), {"enforcement_received_on": D(2023, 3, 15), "enforcement_ended_delivered_on": D(2024, 5, 1)},
         D(2024, 3, 15), "Civil Code Art. 694 ¶1; SPC 2020 guarantee interpretation Art. 28 ¶1(2)", D(2027, 3, 15)),
        # ruling delivered on the year's last day 2024-03-15 counts as (1) -> 2027-03-15
        (D(2021, 1, 1), {"enforcement_received_on": D(2023, 3, 15), "enforcement_ended_delivered_on": D(2024, 3, 15)},
         D(2024, 3, 15), "Civil Code Art. 694 ¶1; SPC 2020 guarantee interpretation Art. 28 ¶1(1)", D(2027, 3, 15)),
        # the bank learnt of an Art. 687 ¶2 exception (borrower bankrupt) on 2022-08-08 -> 2025-08-08
        (D(2021, 1, 1), {"exception_known_on": D(2022, 8, 8), "enforcement_received_on": D(2023, 3, 15)},
         D(2022, 8, 8), "Civil Code Art. 694 ¶1; SPC 2020 guarantee interpretation Art. 28 ¶2", D(2025, 8, 8)),
    ],
)
def test_general_guarantee_debt_limitation_starts_when_the_law_of_the_contract_says(
    signed_on, events, start, rule, end
):
    ruled = guarantee_limitation_start(GENERAL, signed_on, **events)
    assert ruled is not None and (ruled.date, ruled.rule) == (start, rule)
    assert guarantee_limitation_end(ruled).date == end


# --- enforcement application ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("perform_by", "interruptions", "end", "rule"),
    [
        # 2009-03-13 + 2 years = 2011-03-13
        (D(2009, 3, 13), [], D(2011, 3, 13), "Civil Procedure Law 2023 Art. 250"),
        # either side of 2017-10-01 and 2021-01-01: the same two years
        (D(2017, 9, 30), [], D(2019, 9, 30), "Civil Procedure Law 2023 Art. 250"),
        (D(2017, 10, 1), [], D(2019, 10, 1), "Civil Procedure Law 2023 Art. 250"),
        (D(2020, 12, 31), [], D(2022, 12, 31), "Civil Procedure Law 2023 Art. 250"),
        (D(2021, 1, 1), [], D(2023, 1, 1), "Civil Procedure Law 2023 Art. 250"),
        # 2020-02-29 + 2 years: no 29 February in 2022 -> 2022-02-28
        (D(2020, 2, 29), [], D(2022, 2, 28), "Civil Procedure Law 2023 Art. 250"),
        # a settlement 2022-01-10 within the period (to 2023-01-31) restarts it: 2024-01-10
        (D(2021, 1, 31), [D(2022, 1, 10)], D(2024, 1, 10),
         "Civil Procedure Law 2023 Art. 250; SPC 2020 enforcement interpretation Art. 20"),
        # an act after 2023-01-31 restarts nothing
        (D(2021, 1, 31), [D(2023, 2, 1)], D(2023, 1, 31), "Civil Procedure Law 2023 Art. 250"),
        # a judgment before the 2007 amendment: two years kept, 2009-06-30, and the rule says so
        (D(2007, 6, 30), [], D(2009, 6, 30), "Civil Procedure Law 2023 Art. 250 (judgment before the "
         "2007 amendment: the earlier text is not in the reference set)"),
    ],
)
def test_enforcement_must_be_applied_for_within_two_years_of_the_performance_period(
    perform_by, interruptions, end, rule
):
    ruled = enforcement_apply_by(perform_by, interruptions)
    assert (ruled.date, ruled.rule) == (end, rule)


# --- clock status -----------------------------------------------------------------------------


def demand(on: date, party: str, evidence: str = "EMS 1234567890") -> Act:
    return Act(DEMAND, on, evidence, party, method="mail")


def test_a_demand_on_the_guarantor_within_the_period_preserves_the_guarantee():
    act = demand(D(2008, 11, 28), "Zhang")
    status = clock_status(D(2008, 12, 30), D(2009, 3, 1), [act], JOINT_GUARANTEE_ACTS, "Zhang",
                          start=D(2008, 6, 30), rule="Guarantee Law 1995 Art. 26")
    assert (status.status, status.act, status.end) == (Status.preserved, act, D(2008, 12, 30))
    assert status.rule == "Guarantee Law 1995 Art. 26"


def test_a_demand_on_another_guarantor_preserves_nothing_against_this_one():
    acts = [demand(D(2008, 11, 28), "Li")]
    # 2008-12-01 to 2008-12-30 is 29 days
    live = clock_status(D(2008, 12, 30), D(2008, 12, 1), acts, JOINT_GUARANTEE_ACTS, "Zhang")
    assert (live.status, live.act, live.days_left) == (Status.live, None, 29)
    lapsed = clock_status(D(2008, 12, 30), D(2008, 12, 31), acts, JOINT_GUARANTEE_ACTS, "Zhang")
    assert (lapsed.status, lapsed.act) == (Status.lapsed, None)


def test_a_demand_after_the_period_or_before_maturity_does_not_preserve_the_guarantee():
    late = [demand(D(2008, 12, 31), "Zhang")]
    assert clock_status(D(2008, 12, 30), D(2009, 1, 5), late, JOINT_GUARANTEE_ACTS, "Zhang").status is Status.lapsed
    early = [demand(D(2008, 6, 1), "Zhang")]
    status = clock_status(D(2008, 12, 30), D(2009, 1, 5), early, JOINT_GUARANTEE_ACTS, "Zhang", start=D(2008, 6, 30))
    assert status.status is Status.lapsed


def test_a_demand_on_the_last_day_preserves_and_on_that_day_a_live_clock_has_zero_days_left():
    assert clock_status(D(2008, 12, 30), D(2008, 12, 30), [], JOINT_GUARANTEE_ACTS, "Zhang").days_left == 0
    act = demand(D(2008, 12, 30), "Zhang")
    assert clock_status(D(2008, 12, 30), D(2009, 1, 5), [act], JOINT_GUARANTEE_ACTS, "Zhang").status is Status.preserved


def test_an_act_not_yet_in_effect_on_the_day_asked_does_not_count():
    act = demand(D(2008, 12, 20), "Zhang")
    status = clock_status(D(2008, 12, 30), D(2008, 12, 1), [act], JOINT_GUARANTEE_ACTS, "Zhang")
    assert status.status is Status.live


def test_a_general_guarantee_is_preserved_by_a_suit_against_the_borrower_not_by_a_demand():
    suit = Act(SUIT, D(2009, 3, 13), "complaint receipt, case (2009) 123", BORROWER)
    by_demand = clock_status(D(2009, 3, 13), D(2009, 4, 1), [demand(D(2009, 3, 1), BORROWER)],
                             GENERAL_GUARANTEE_ACTS, BORROWER)
    assert by_demand.status is Status.lapsed
    by_suit = clock_status(D(2009, 3, 13), D(2009, 4, 1), [suit], GENERAL_GUARANTEE_ACTS, BORROWER)
    assert (by_suit.status, by_suit.act) == (Status.preserved, suit)


def test_a_clock_without_an_end_is_not_applicable():
    status = clock_status(None, D(2009, 4, 1), [demand(D(2009, 3, 1), "Zhang")], JOINT_GUARANTEE_ACTS, "Zhang")
    assert (status.status, status.act, status.end) == (Status.not_applicable, None, None)


def test_the_enforcement_application_preserves_the_enforcement_clock():
    act = Act(ENFORCEMENT_APPLICATION, D(2010, 1, 5), "filing receipt", BORROWER)
    status = clock_status(D(2011, 3, 13), D(2012, 1, 1), [act], ENFORCEMENT_ACTS, BORROWER)
    assert (status.status, status.act) == (Status.preserved, act)


def test_the_borrowers_limitation_is_interrupted_by_a_recorded_demand_and_lapses_later():
    # start 2006-09-13; demand 2008-03-01 -> two years to 2010-03-01 (ran out before 2017)
    act = demand(D(2008, 3, 1), BORROWER)
    running = limitation_status(D(2006, 9, 13), D(2009, 3, 1), [act], LIMITATION_ACTS, BORROWER)
    # 2009-03-01 to 2010-03-01: 365 days
    assert (running.status, running.end, running.act, running.days_left) == (
        Status.interrupted, D(2010, 3, 1), act, 365)
    assert running.rule == "GPCL 1986 Art. 135, 140; SPC 2018 transition Art. 3"
    lapsed = limitation_status(D(2006, 9, 13), D(2010, 3, 2), [act], LIMITATION_ACTS, BORROWER)
    assert (lapsed.status, lapsed.end) == (Status.lapsed, D(2010, 3, 1))


def test_the_borrowers_limitation_ignores_acts_on_guarantors_and_acts_after_its_end():
    acts = [demand(D(2008, 3, 1), "Zhang"), Act(ACKNOWLEDGEMENT, D(2008, 9, 20), "part payment", BORROWER)]
    status = limitation_status(D(2006, 9, 13), D(2009, 1, 1), acts, LIMITATION_ACTS, BORROWER)
    assert (status.status, status.end, status.act) == (Status.lapsed, D(2008, 9, 13), None)


def test_a_limitation_still_running_in_2017_becomes_three_years_and_is_live():
    # start 2015-10-01: three years to 2018-10-01; 2018-01-01 to 2018-10-01 is 273 days
    status = limitation_status(D(2015, 10, 1), D(2018, 1, 1), [], LIMITATION_ACTS, BORROWER)
    assert (status.status, status.end, status.days_left) == (Status.live, D(2018, 10, 1), 273)


# --- properties -------------------------------------------------------------------------------

days = st.dates(min_value=date(1996, 1, 1), max_value=date(2040, 12, 31))
parties = st.sampled_from([BORROWER, "Zhang", "Li"])
kinds = st.sampled_from(sorted(LIMITATION_ACTS))
acts_strategy = st.lists(
    st.builds(Act, kind=kinds, on=days, evidence=st.just("receipt"), party=parties), max_size=8
)


@given(start=days, interruptions=st.lists(days, max_size=8))
def test_a_limitation_never_ends_before_its_start(start, interruptions):
    assert limitation_end(start, interruptions).date >= start


@given(start=days, interruptions=st.lists(days, max_size=6), extra=days)
def test_a_further_interruption_never_shortens_a_limitation(start, interruptions, extra):
    assert limitation_end(start, [*interruptions, extra]).date >= limitation_end(start, interruptions).date


@given(signed=days, maturity=days, agreed=st.none() | days, until_repaid=st.booleans())
def test_a_guarantee_period_never_ends_before_maturity(signed, maturity, agreed, until_repaid):
    if until_repaid:
        agreed = None
    assert guarantee_period_end(signed, maturity, agreed, until_repaid).date > maturity


@given(perform_by=days, interruptions=st.lists(days, max_size=6))
def test_an_enforcement_deadline_never_precedes_the_performance_period(perform_by, interruptions):
    assert enforcement_apply_by(perform_by, interruptions).date > perform_by


@given(mode=st.sampled_from([JOINT, GENERAL]), signed=days, a=days, b=days)
def test_a_guarantee_debt_limitation_never_ends_before_it_starts(mode, signed, a, b):
    start = guarantee_limitation_start(
        mode, signed, demanded_on=a, judgment_effective_on=a, enforcement_received_on=a,
        enforcement_ended_delivered_on=b,
    )
    assert start is not None
    assert guarantee_limitation_end(start).date >= start.date


@given(end=days, as_of=days, acts=acts_strategy, party=parties, start=st.none() | days,
       restarts=st.booleans())
def test_a_clock_is_preserved_or_interrupted_only_by_an_act_on_or_before_its_end(
    end, as_of, acts, party, start, restarts
):
    status = clock_status(end, as_of, acts, JOINT_GUARANTEE_ACTS, party, start=start, restarts=restarts)
    if status.status in (Status.preserved, Status.interrupted):
        assert status.act is not None and status.act in acts
        assert status.act.on <= end and status.act.on <= as_of
        assert status.act.party == party and status.act.kind in JOINT_GUARANTEE_ACTS


@given(start=days, as_of=days, acts=acts_strategy, party=parties)
def test_a_limitation_is_interrupted_only_by_an_act_within_the_period_it_restarted(start, as_of, acts, party):
    status = limitation_status(start, as_of, acts, LIMITATION_ACTS, party)
    if status.status is Status.interrupted:
        assert status.act is not None and status.act.party == party
        assert start <= status.act.on <= min(as_of, status.end)
        # the act fell within the period running before it: the period without it reached it
        earlier = [a.on for a in acts if a.party == party and a.on < status.act.on]
        assert limitation_end(start, earlier).date >= status.act.on


@given(end=st.none() | days, as_of=days, start=days, other=acts_strategy)
def test_with_no_act_for_the_party_every_clock_is_live_lapsed_or_not_applicable(end, as_of, start, other):
    acts = [a for a in other if a.party != "Zhang"]
    for restarts in (False, True):
        status = clock_status(end, as_of, acts, LIMITATION_ACTS, "Zhang", restarts=restarts)
        expected = {Status.not_applicable} if end is None else {Status.live, Status.lapsed}
        assert status.status in expected
    assert limitation_status(start, as_of, acts, LIMITATION_ACTS, "Zhang").status in (Status.live, Status.lapsed)
    assert limitation_status(start, as_of, [], LIMITATION_ACTS, BORROWER).status in (Status.live, Status.lapsed)
