"""ACT/360 contractual and penalty interest, exact to the fen."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.domain.errors import PenaltyUpliftOutOfRange
from models.domain.interest import (
    DEFAULT_UPLIFT,
    Accrual,
    InterestDue,
    accrue,
    compound_fen,
    delayed_performance_fen,
    interest_fen,
    round_half_up,
    validate_uplift,
)
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


# --- penalty uplift bounds (PBoC 2003 notice, item 三) ----------------------------------------------


@pytest.mark.parametrize("uplift", ["0.3", "0.4", "0.5"])
def test_overdue_uplift_within_30_to_50_percent_is_accepted(uplift):
    assert validate_uplift(Decimal(uplift)) == Decimal(uplift)


@pytest.mark.parametrize(("uplift", "bound"), [("0.29", "at least 0.3"), ("0", "at least 0.3"), ("0.51", "at most 0.5"), ("1", "at most 0.5")])
def test_overdue_uplift_outside_30_to_50_percent_is_refused_naming_the_bound(uplift, bound):
    with pytest.raises(PenaltyUpliftOutOfRange, match=bound):
        validate_uplift(Decimal(uplift))


@pytest.mark.parametrize("uplift", ["0.5", "0.75", "1"])
def test_misused_loan_uplift_within_50_to_100_percent_is_accepted(uplift):
    assert validate_uplift(Decimal(uplift), misused=True) == Decimal(uplift)


@pytest.mark.parametrize(("uplift", "bound"), [("0.49", "at least 0.5"), ("0.3", "at least 0.5"), ("1.01", "at most 1")])
def test_misused_loan_uplift_outside_50_to_100_percent_is_refused_naming_the_bound(uplift, bound):
    with pytest.raises(PenaltyUpliftOutOfRange, match=bound):
        validate_uplift(Decimal(uplift), misused=True)


def test_default_uplift_is_allowed_for_both_kinds_of_loan():
    assert validate_uplift(DEFAULT_UPLIFT) == validate_uplift(DEFAULT_UPLIFT, misused=True) == Decimal("0.5")


# --- compound interest (PBoC 2003 notice, item 三) -------------------------------------------------

# 1,000.00 of contractual interest due 2010-03-20; rate 6.57%, uplift 50%: penalty rate 9.855%,
# a day's compound interest = 100,000 fen x 0.09855 / 360 = 27.375 fen
RATE = rate_to_ppm(parse_rate("0.0657"))
DUE_ON = date(2010, 3, 20)


def compound(paid_on, start=date(2010, 1, 1), end=date(2010, 12, 31), **kwargs):
    return compound_fen([InterestDue(DUE_ON, 100_000, paid_on)], RATE, start=start, end=end, **kwargs)


def test_interest_paid_on_its_due_date_bears_no_compound_interest():
    assert compound(DUE_ON) == 0


def test_interest_paid_the_day_after_bears_one_day():
    assert compound(date(2010, 3, 21)) == 27  # 27.375 -> 27


def test_interest_paid_ten_days_late_bears_ten_days():
    assert compound(date(2010, 3, 30)) == 274  # 273.75 -> 274


def test_unpaid_interest_compounds_within_the_accrual_window_only():
    # window (2010-03-25, 2010-03-30]: 5 days, 136.875 -> 137
    assert compound(None, start=date(2010, 3, 25), end=date(2010, 3, 30)) == 137
    # a window opening before the due date counts from the day after it: 10 days
    assert compound(None, start=date(2010, 3, 1), end=date(2010, 3, 30)) == 274
    assert compound(None, start=date(2010, 3, 1), end=DUE_ON) == 0


def test_compound_interest_uses_the_loan_uplift():
    # 0.0657 x 1.3 = 0.08541; 100,000 x 0.08541 x 10 / 360 = 237.25 -> 237
    assert compound(date(2010, 3, 30), uplift=Decimal("0.3")) == 237


def test_compound_interest_is_summed_exactly_and_rounded_once():
    items = [InterestDue(DUE_ON, 100_000, date(2010, 3, 21)), InterestDue(date(2010, 4, 20), 100_000, date(2010, 4, 21))]
    assert compound_fen(items, RATE, start=date(2010, 1, 1), end=date(2010, 12, 31)) == 55  # 54.75, not 27 + 27


def test_compound_switch_off_gives_none():
    assert compound(None, compound=False) == 0


@given(
    st.lists(
        st.tuples(
            st.dates(min_value=date(2000, 1, 1), max_value=date(2030, 12, 31)),
            st.integers(0, 10**9),
            st.one_of(st.none(), st.integers(-400, 4000)),
        ),
        max_size=8,
    ),
    st.integers(0, 1_000_000),
    st.dates(min_value=date(2000, 1, 1), max_value=date(2035, 12, 31)),
    st.integers(0, 5000),
    st.sampled_from([Decimal("0.3"), Decimal("0.5"), Decimal("1")]),
)
def test_compound_interest_is_never_negative_and_zero_when_interest_is_paid_on_time(raw, rate, start, length, uplift):
    end = start + timedelta(days=length)
    items = [InterestDue(due, fen, None if lag is None else due + timedelta(days=lag)) for due, fen, lag in raw]
    assert compound_fen(items, rate, start=start, end=end, uplift=uplift) >= 0
    on_time = [InterestDue(i.due_on, i.fen, i.due_on) for i in items]
    early = [InterestDue(i.due_on, i.fen, i.paid_on) for i in items if i.paid_on is not None and i.paid_on <= i.due_on]
    assert compound_fen(on_time, rate, start=start, end=end, uplift=uplift) == 0
    assert compound_fen(early, rate, start=start, end=end, uplift=uplift) == 0


@given(
    st.lists(st.tuples(st.dates(min_value=date(2000, 1, 1), max_value=date(2030, 12, 31)), st.integers(-10, 10**9),
                       st.one_of(st.none(), st.integers(-400, 4000))), max_size=8),
    st.integers(0, 1_000_000), st.dates(min_value=date(2000, 1, 1), max_value=date(2035, 12, 31)), st.integers(0, 5000),
    st.sampled_from([Decimal("0.3"), Decimal("0.35"), Decimal("0.5"), Decimal("0.75"), Decimal("1")]),
)
def test_compound_interest_is_the_exact_sum_of_each_unpaid_amount_at_the_penalty_rate_rounded_half_up_once(raw, rate, start, length, uplift):
    end = start + timedelta(days=length)
    items = [InterestDue(due, fen, None if lag is None else due + timedelta(days=lag)) for due, fen, lag in raw]
    exact = Fraction(0)
    for i in items:
        days = ((min(i.paid_on, end) if i.paid_on else end) - max(i.due_on, start)).days
        if i.fen > 0 and days > 0:
            exact += Fraction(i.fen * rate * days) * (1 + Fraction(uplift)) / (1_000_000 * 360)
    assert compound_fen(items, rate, start=start, end=end, uplift=uplift) == int(exact + Fraction(1, 2))


# --- interest for delayed performance (Civil Procedure Law Art. 264; SPC 2014 Arts. 1-3) -----------

# judgment money debt 100,000.00 unperformed, performance date 2015-03-31:
# a day = 10,000,000 fen x 1.75 / 10,000 = 1,750 fen
DEBT = 10_000_000
PERFORM_BY = date(2015, 3, 31)


def delayed(end, start=date(2015, 3, 1), **kwargs):
    return delayed_performance_fen(DEBT, PERFORM_BY, start=start, end=end, **kwargs)


def test_no_delayed_performance_interest_on_the_performance_date():
    assert delayed(PERFORM_BY) == 0


def test_delayed_performance_interest_starts_the_day_after_the_performance_date():
    assert delayed(date(2015, 4, 1)) == 1_750


def test_delayed_performance_interest_runs_to_the_day_of_performance_inclusive():
    assert delayed(date(2015, 4, 30)) == 52_500  # 30 days (04-01 .. 04-30)
    assert delayed(date(2015, 4, 30), start=date(2015, 4, 10)) == 35_000  # 20 days (04-11 .. 04-30)


def test_stay_not_requested_by_the_debtor_bears_none():
    # stay 04-10 .. 04-19 (10 days) inside 30 days -> 20 days
    assert delayed(date(2015, 4, 30), excluded=[(date(2015, 4, 10), date(2015, 4, 19))]) == 35_000
    # a stay beginning before the delay counts only its days inside it: 04-01 .. 04-05 -> 25 days
    assert delayed(date(2015, 4, 30), excluded=[(date(2015, 3, 20), date(2015, 4, 5))]) == 43_750
    # overlapping stays count each day once: 04-10 .. 04-22 -> 13 days out, 17 days
    stays = [(date(2015, 4, 10), date(2015, 4, 19)), (date(2015, 4, 15), date(2015, 4, 22))]
    assert delayed(date(2015, 4, 30), excluded=stays) == 29_750


def test_delayed_performance_interest_rounds_half_up_to_the_fen():
    # 200.00 x 1.75/10,000 = 3.5 fen -> 4; 2,857 fen x 1.75/10,000 = 0.499975 -> 0
    assert delayed_performance_fen(20_000, PERFORM_BY, start=PERFORM_BY, end=date(2015, 4, 1)) == 4
    assert delayed_performance_fen(2_857, PERFORM_BY, start=PERFORM_BY, end=date(2015, 4, 1)) == 0


def test_nothing_unperformed_bears_nothing():
    assert delayed_performance_fen(0, PERFORM_BY, start=PERFORM_BY, end=date(2016, 1, 1)) == 0


# --- compound interest inside the accrual (issue 15 rule 4): when contractual interest is due --------

# 100,000.00 at 7.2 %, due 2008-06-30; penalty rate 10.8 %: a day's compound interest on 3,620.00 is 1.086


def loan(start: date, end: date, *, stored: int = 0, overdue_since: date | None = None, overdue_fen: int = 0,
         compound: bool = True) -> Accrual:
    return accrue(outstanding_fen=10_000_000, overdue_fen=overdue_fen, rate_ppm=72_000, maturity_on=date(2008, 6, 30),
                  overdue_since=overdue_since, start=start, end=end, stored_interest_fen=stored, compound=compound)


def test_interest_accrued_on_principal_not_yet_due_bears_no_compound_interest_up_to_maturity():
    assert loan(date(2008, 1, 1), date(2008, 6, 30)) == Accrual(362_000, 0, 0)


def test_interest_due_at_maturity_compounds_from_the_day_after():
    assert loan(date(2008, 1, 1), date(2008, 7, 1)).compound_fen == 109  # 108.6 fen: one day
    assert loan(date(2008, 1, 1), date(2008, 7, 10)).compound_fen == 1_086  # ten days


def test_stored_interest_is_due_on_the_oldest_due_date_and_compounds_from_the_day_after():
    # 1,000.00 of arrears, due since 2008-03-31 (principal part past due since then)
    arrears = dict(stored=100_000, overdue_since=date(2008, 3, 31), overdue_fen=1_000_000)
    assert loan(date(2008, 3, 20), date(2008, 3, 31), **arrears).compound_fen == 0  # due that day
    # one day: 30.0 fen on the arrears + 0.66 on the 22.00 accrued 03-20..03-31 on the principal past due
    assert loan(date(2008, 3, 20), date(2008, 4, 1), **arrears).compound_fen == 31
    # after the oldest due date the whole window counts
    assert loan(date(2008, 4, 1), date(2008, 4, 11), **arrears).compound_fen == 300


def test_stored_interest_on_a_loan_with_nothing_past_due_is_due_at_maturity():
    assert loan(date(2008, 6, 1), date(2008, 6, 30), stored=100_000).compound_fen == 0
    # on 07-01: the stored 1,000.00 and the 580.00 accrued 06-01..06-30 both compound for a day at 10.8 %
    assert loan(date(2008, 6, 1), date(2008, 7, 1), stored=100_000).compound_fen == 47  # 30.0 + 17.4 = 47.4


def test_the_compound_switch_off_keeps_interest_and_penalty_and_books_no_compound_interest():
    on, off = loan(date(2008, 1, 1), date(2008, 7, 10)), loan(date(2008, 1, 1), date(2008, 7, 10), compound=False)
    assert (off.interest_fen, off.penalty_fen, off.compound_fen) == (on.interest_fen, on.penalty_fen, 0)
    assert on.compound_fen > 0


def test_the_readme_example_l_0001_by_hand():
    acc = accrue(outstanding_fen=WANG_PRINCIPAL, overdue_fen=0, rate_ppm=WANG_RATE, maturity_on=WANG_DUE, overdue_since=None,
                 start=WANG_DISBURSED, end=WANG_PAID, compound=True)
    assert acc == Accrual(1_095_185, 108_315, 4_091)  # 10,951.85, 1,083.15, 40.91 (README "Interest by hand")


@given(st.integers(0, 10**9), st.integers(0, 10**8), st.integers(1, 200_000), st.integers(0, 800), st.integers(1, 800))
def test_compound_interest_never_comes_before_the_due_date_and_never_shrinks_with_time(principal, stored, rate, offset, length):
    maturity = date(2010, 1, 1)
    start = maturity - timedelta(days=offset)
    kw = dict(outstanding_fen=principal, overdue_fen=0, rate_ppm=rate, maturity_on=maturity, overdue_since=None,
              start=start, stored_interest_fen=stored, compound=True)
    assert accrue(end=min(maturity, start + timedelta(days=length)), **kw).compound_fen == 0
    end = start + timedelta(days=length)
    assert accrue(end=end + timedelta(days=1), **kw).compound_fen >= accrue(end=end, **kw).compound_fen >= 0
