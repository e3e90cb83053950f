"""Five-category classification: DPD floors, the restructuring floor, staff may only worsen."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.domain.classification import (
    Category,
    Classified,
    classify,
    classify_with_judgement,
    debtor_floor,
    days_past_due,
    dpd_floor,
    first_day_of,
    npl_ratio,
    oldest_unpaid_amount,
    oldest_unpaid_due,
    worst,
)
from models.domain.dates import add_days, add_months
from models.domain.errors import BadInput, ClassificationBetterThanFloor
from models.domain.restructuring import Restructured

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


# --- days past due from the oldest amount still unpaid (issue 15 rule 2) ----------------------------

# interest 500.00 due 2010-03-20; principal 10,000.00 and interest 300.00 due 2010-06-20 (in fen)
FELL_DUE = [(date(2010, 3, 20), 50_000), (date(2010, 6, 20), 1_000_000), (date(2010, 6, 20), 30_000)]


def test_amount_due_today_is_not_overdue_until_tomorrow():
    assert oldest_unpaid_amount(FELL_DUE, [], date(2010, 3, 20)) is None
    assert oldest_unpaid_amount(FELL_DUE, [], date(2010, 3, 21)) == date(2010, 3, 20)  # 1 DPD


def test_clearing_the_oldest_overdue_amount_moves_the_date_forward():
    # on 2010-07-01 nothing paid: 103 days from 2010-03-20
    assert days_past_due(date(2010, 7, 1), oldest_unpaid_amount(FELL_DUE, [], date(2010, 7, 1))) == 103
    # 500.00 paid on 2010-07-01 clears the 03-20 interest: 11 days from 2010-06-20
    paid = [(date(2010, 7, 1), 50_000)]
    assert oldest_unpaid_amount(FELL_DUE, paid, date(2010, 7, 1)) == date(2010, 6, 20)
    assert days_past_due(date(2010, 7, 1), oldest_unpaid_amount(FELL_DUE, paid, date(2010, 7, 1))) == 11


def test_one_fen_short_keeps_the_old_date():
    assert oldest_unpaid_amount(FELL_DUE, [(date(2010, 7, 1), 49_999)], date(2010, 7, 1)) == date(2010, 3, 20)


def test_payment_made_after_as_of_does_not_count_yet():
    assert oldest_unpaid_amount(FELL_DUE, [(date(2010, 7, 1), 50_000)], date(2010, 6, 30)) == date(2010, 3, 20)


def test_every_overdue_amount_paid_gives_zero_days_past_due():
    paid = [(date(2010, 7, 1), 50_000), (date(2010, 7, 2), 1_030_000)]
    oldest = oldest_unpaid_amount(FELL_DUE, paid, date(2010, 7, 2))
    assert oldest is None and days_past_due(date(2010, 7, 2), oldest) == 0


def test_unpaid_amount_not_yet_due_is_not_overdue():
    # 500.00 paid: the next unpaid amount falls due 2010-06-20, after as_of
    assert oldest_unpaid_amount(FELL_DUE, [(date(2010, 4, 1), 50_000)], date(2010, 4, 2)) is None


@given(
    st.lists(st.tuples(dates, st.integers(1, 10**7)), max_size=12),
    st.lists(st.tuples(dates, st.integers(1, 10**7)), max_size=12),
    dates,
)
def test_oldest_unpaid_amount_is_none_exactly_when_what_fell_due_is_covered(fell_due, payments, as_of):
    oldest = oldest_unpaid_amount(fell_due, payments, as_of)
    paid = sum(fen for on, fen in payments if on <= as_of)
    due = sum(fen for on, fen in fell_due if on < as_of)
    if paid >= due:
        assert oldest is None
    else:
        assert oldest is not None and oldest < as_of


# --- classification with staff judgement (issue 15 rules 3 and 8) ----------------------------------

OBSERVING = Restructured(date(2008, 12, 28), date(2010, 1, 20), date(2011, 1, 20), Category.substandard)


def test_no_days_past_due_and_no_judgement_is_normal():
    assert classify_with_judgement(0) == Classified(Category.normal, Category.normal, "nothing past due")


def test_dpd_floor_is_the_category_and_the_reason_says_so():
    result = classify_with_judgement(91)
    assert (result.category, result.floor) == (Category.substandard, Category.substandard)
    assert "91 days past due" in result.reason


def test_restructured_floor_governs_when_worse_than_dpd_floor():
    result = classify_with_judgement(0, restructured=OBSERVING)
    assert result.category == Category.substandard
    assert "restructured on 2008-12-28" in result.reason and "2011-01-20" in result.reason


def test_dpd_floor_governs_when_worse_than_restructured_floor():
    assert classify_with_judgement(271, restructured=OBSERVING).category == Category.doubtful


def test_staff_may_classify_worse_with_a_reason():
    result = classify_with_judgement(1, staff=Category.doubtful, staff_reason="borrower's business closed")
    assert result == Classified(
        Category.doubtful,
        Category.special_mention,
        "staff judgement: borrower's business closed (floor special_mention: 1 day past due: at least special_mention)",
    )


def test_staff_classification_worse_than_the_floor_needs_a_reason():
    with pytest.raises(BadInput, match="needs a reason"):
        classify_with_judgement(0, staff=Category.loss, staff_reason="  ")


def test_staff_may_not_classify_better_than_the_floor_and_the_error_names_it():
    with pytest.raises(ClassificationBetterThanFloor, match="the floor is substandard"):
        classify_with_judgement(91, staff=Category.special_mention, staff_reason="pays soon")
    with pytest.raises(ClassificationBetterThanFloor, match="restructured"):
        classify_with_judgement(0, restructured=OBSERVING, staff=Category.normal, staff_reason="x")


def test_staff_agreeing_with_the_floor_is_the_floor():
    assert classify_with_judgement(91, staff=Category.substandard).category == Category.substandard


def test_closed_loan_has_no_current_classification():
    assert classify_with_judgement(457, staff=Category.loss, staff_reason="x", closed=True) is None


def test_negative_days_past_due_is_refused():
    with pytest.raises(BadInput):
        classify_with_judgement(-1)


@given(dpd=st.integers(0, 2000), staff=st.one_of(st.none(), categories), restructured_floor=st.one_of(st.none(), categories))
def test_judged_classification_is_never_better_than_its_floor_nor_normal_when_past_due(dpd, staff, restructured_floor):
    r = None if restructured_floor is None else Restructured(DUE, DUE, DUE, restructured_floor)
    try:
        result = classify_with_judgement(dpd, restructured=r, staff=staff, staff_reason="judged")
    except ClassificationBetterThanFloor:
        assert staff is not None and staff.rank < worst(dpd_floor(dpd), restructured_floor).rank
        return
    assert result.floor is worst(dpd_floor(dpd), restructured_floor)
    assert result.category.rank >= result.floor.rank
    if dpd > 0:
        assert result.category is not Category.normal


# --- NPL ratio (issue 15 rule 7) ----------------------------------------------------------------


def test_npl_ratio_is_non_performing_principal_over_open_principal():
    loans = [
        (Category.substandard, 100),
        (Category.normal, 300),
        (Category.loss, 50),
        (Category.special_mention, 50),
        (None, 1_000),  # closed: in neither sum
    ]
    assert npl_ratio(loans) == Decimal("0.3000")  # 150 / 500


def test_npl_ratio_rounds_half_up_to_four_places():
    assert npl_ratio([(Category.doubtful, 1), (Category.normal, 19_999)]) == Decimal("0.0001")  # 0.00005
    assert npl_ratio([(Category.doubtful, 1), (Category.normal, 20_000)]) == Decimal("0.0000")  # 0.0000499..
    assert npl_ratio([(Category.doubtful, Decimal("1")), (Category.normal, Decimal("2"))]) == Decimal("0.3333")


def test_npl_ratio_without_open_principal_is_undefined():
    assert npl_ratio([]) is None
    assert npl_ratio([(None, 500), (Category.loss, 0)]) is None


def test_npl_ratio_refuses_negative_principal():
    with pytest.raises(BadInput):
        npl_ratio([(Category.loss, -1)])


# --- a non-retail debtor's claims together (2023 measures Art. 7 para. 2) ---------------------------


def test_more_than_ten_percent_non_performing_makes_all_claims_of_a_corporate_debtor_non_performing():
    # 1,001 of 10,000 non-performing = 10.01% > 10%
    claims = [(Category.substandard, 1_001), (Category.normal, 8_999)]
    assert debtor_floor(claims, retail=False) == Category.substandard


def test_exactly_ten_percent_is_not_more_than_ten_percent():
    claims = [(Category.doubtful, 1_000), (Category.normal, 9_000)]
    assert debtor_floor(claims, retail=False) is None


def test_debtor_wide_floor_does_not_apply_to_retail_debtors_nor_with_recognised_enhancement():
    claims = [(Category.loss, 5_000), (Category.normal, 5_000)]
    assert debtor_floor(claims, retail=True) is None
    assert debtor_floor(claims, retail=False, recognised_enhancement=True) is None
    assert debtor_floor([], retail=False) is None
