"""Payment allocation (Civil Code Art. 561): costs → penalty → interest → principal."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.domain.allocation import ORDER, Allocation, Balances, allocate

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
