"""Payment allocation (Civil Code Art. 561): costs → penalty → interest → principal."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.domain.allocation import (
    JUDGMENT_ORDER,
    ORDER,
    Allocation,
    Balances,
    JudgmentAllocation,
    JudgmentBalances,
    allocate,
    allocate_judgment,
)

OWED = Balances(principal=10_000, interest=300, penalty=200, costs=100)


def test_payment_pays_costs_first():
    assert allocate(60, OWED) == Allocation(costs=60, penalty=0, interest=0, principal=0, remainder=0)


def test_payment_pays_penalty_before_interest():
    assert allocate(250, OWED) == Allocation(costs=100, penalty=150, interest=0, principal=0, remainder=0)


def test_payment_pays_interest_before_principal():
    assert allocate(500, OWED) == Allocation(costs=100, penalty=200, interest=200, principal=0, remainder=0)


def test_payment_pays_penalty_before_principal():
    allocation = allocate(1_000, OWED)
    assert allocation.penalty == 200
    assert allocation.principal == 400


def test_overpayment_is_reported_as_remainder():
    allocation = allocate(11_000, OWED)
    assert allocation == Allocation(costs=100, penalty=200, interest=300, principal=10_000, remainder=400)
    assert allocation.applied == OWED


def test_zero_payment_applies_nothing():
    assert allocate(0, OWED) == Allocation(0, 0, 0, 0, 0)


def test_negative_payment_is_refused():
    with pytest.raises(ValueError, match="negative"):
        allocate(-1, OWED)


def test_agreed_order_can_put_principal_first():
    order = ("principal", "costs", "penalty", "interest")
    assert allocate(10_050, OWED, order) == Allocation(costs=50, penalty=0, interest=0, principal=10_000, remainder=0)


@pytest.mark.parametrize("order", [("costs", "penalty", "interest"), ("costs", "costs", "interest", "principal")])
def test_order_must_name_each_part_once(order):
    with pytest.raises(ValueError, match="each of"):
        allocate(100, OWED, order)


def test_balances_after_payment_are_owed_minus_applied():
    left = OWED.minus(allocate(1_000, OWED).applied)
    assert left == Balances(principal=9_600, interest=0, penalty=0, costs=0)
    assert left.total == OWED.total - 1_000


fen = st.integers(min_value=0, max_value=10**12)
balances = st.builds(Balances, principal=fen, interest=fen, penalty=fen, costs=fen)


@given(amount=fen, owed=balances, order=st.permutations(ORDER))
def test_allocation_parts_and_remainder_add_up_to_the_payment_exactly(amount, owed, order):
    a = allocate(amount, owed, tuple(order))
    assert a.costs + a.penalty + a.interest + a.principal + a.remainder == amount
    assert a.applied.total + a.remainder == amount


@given(amount=fen, owed=balances, order=st.permutations(ORDER))
def test_allocation_never_pays_a_part_more_than_is_owed(amount, owed, order):
    a = allocate(amount, owed, tuple(order))
    for name in ORDER:
        assert 0 <= getattr(a, name) <= getattr(owed, name)
    assert a.remainder >= 0
    assert a.remainder == max(amount - owed.total, 0)


@given(amount=fen, owed=balances, order=st.permutations(ORDER))
def test_allocation_pays_a_later_part_only_once_earlier_parts_are_paid_in_full(amount, owed, order):
    a = allocate(amount, owed, tuple(order))
    for i, name in enumerate(order):
        if getattr(a, name) > 0:
            assert all(getattr(a, earlier) == getattr(owed, earlier) for earlier in order[:i])
    if a.remainder > 0:
        assert a.applied == owed


# --- a payment on a judgment debt (SPC 2014 interpretation Art. 4) ---------------------------------

JUDGMENT = JudgmentBalances(principal=10_000, interest=300, penalty=200, costs=100, delayed=500)


def test_judgment_debt_is_paid_before_delayed_performance_interest():
    # 10,600 = the whole money debt the judgment determined; nothing left for the doubled interest
    assert allocate_judgment(10_600, JUDGMENT) == JudgmentAllocation(
        costs=100, penalty=200, interest=300, principal=10_000, delayed=0, remainder=0
    )


def test_delayed_performance_interest_takes_what_is_left_after_the_judgment_debt():
    assert allocate_judgment(10_601, JUDGMENT).delayed == 1
    assert allocate_judgment(11_200, JUDGMENT) == JudgmentAllocation(100, 200, 300, 10_000, 500, 100)


def test_within_the_judgment_debt_the_civil_code_order_applies():
    assert allocate_judgment(250, JUDGMENT) == JudgmentAllocation(100, 150, 0, 0, 0, 0)


def test_parties_may_agree_another_order_for_a_judgment_debt():
    order = ("delayed", "costs", "penalty", "interest", "principal")
    assert allocate_judgment(600, JUDGMENT, order) == JudgmentAllocation(100, 0, 0, 0, 500, 0)


@pytest.mark.parametrize("order", [ORDER, ("delayed", "delayed", "costs", "penalty", "interest")])
def test_judgment_order_must_name_each_part_once(order):
    with pytest.raises(ValueError, match="each of"):
        allocate_judgment(100, JUDGMENT, order)


def test_negative_payment_on_a_judgment_debt_is_refused():
    with pytest.raises(ValueError, match="negative"):
        allocate_judgment(-1, JUDGMENT)


judgments = st.builds(JudgmentBalances, principal=fen, interest=fen, penalty=fen, costs=fen, delayed=fen)


@given(amount=fen, owed=judgments, order=st.permutations(JUDGMENT_ORDER))
def test_judgment_allocation_parts_add_up_to_the_payment_exactly(amount, owed, order):
    a = allocate_judgment(amount, owed, tuple(order))
    assert a.total == amount
    assert a.remainder == max(amount - owed.total, 0)
    for name in JUDGMENT_ORDER:
        assert 0 <= getattr(a, name) <= getattr(owed, name)


@given(amount=fen, owed=judgments)
def test_delayed_performance_interest_is_paid_only_once_the_judgment_debt_is_paid_in_full(amount, owed):
    a = allocate_judgment(amount, owed)
    if a.delayed > 0:
        assert (a.costs, a.penalty, a.interest, a.principal) == (owed.costs, owed.penalty, owed.interest, owed.principal)


# --- issue 15 rule 4: compound interest and delayed-performance interest on the pay path ------------

FULL = Balances(principal=10_000, interest=300, penalty=200, costs=100, compound=50, delayed=500)


def test_compound_interest_is_paid_after_penalty_and_before_contractual_interest():
    assert allocate(320, FULL) == Allocation(costs=100, penalty=200, interest=0, principal=0, remainder=0, compound=20)
    assert allocate(400, FULL) == Allocation(costs=100, penalty=200, interest=50, principal=0, remainder=0, compound=50)


def test_delayed_performance_interest_is_paid_last_after_the_principal():
    assert allocate(10_650, FULL).delayed == 0
    assert allocate(10_651, FULL) == Allocation(100, 200, 300, 10_000, 0, compound=50, delayed=1)


def test_an_agreed_order_of_the_four_core_parts_keeps_compound_after_penalty_and_delayed_last():
    order = ("principal", "costs", "penalty", "interest")
    assert allocate(10_100, FULL, order) == Allocation(costs=100, penalty=0, interest=0, principal=10_000, remainder=0)
    assert allocate(10_351, FULL, order) == Allocation(100, 200, 1, 10_000, 0, compound=50, delayed=0)


full_balances = st.builds(Balances, principal=fen, interest=fen, penalty=fen, costs=fen, compound=fen, delayed=fen)


@given(amount=fen, owed=full_balances, order=st.permutations(ORDER))
def test_the_parts_of_a_payment_with_compound_and_delayed_interest_always_add_up_to_it(amount, owed, order):
    a = allocate(amount, owed, tuple(order))
    assert a.costs + a.penalty + a.compound + a.interest + a.principal + a.delayed + a.remainder == amount == a.total
    assert owed.minus(a.applied).total == owed.total - (amount - a.remainder)
    for name in ORDER:
        assert 0 <= getattr(a, name) <= getattr(owed, name)


@given(amount=fen, owed=full_balances)
def test_the_pay_path_order_is_the_judgment_order_with_compound_interest_counted_in_penalty(amount, owed):
    # SPC 2014 interpretation Art. 4: the judgment's money debt first, the doubled interest last
    a = allocate(amount, owed)
    j = allocate_judgment(amount, JudgmentBalances(owed.principal, owed.interest, owed.penalty + owed.compound, owed.costs, owed.delayed))
    assert (a.costs, a.penalty + a.compound, a.interest, a.principal, a.delayed, a.remainder) == (
        j.costs, j.penalty, j.interest, j.principal, j.delayed, j.remainder)
