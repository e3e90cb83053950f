"""Settle (DOMAIN.md §2): a case whose balance reaches zero closes, whatever its state; the
closing reason follows who paid the last amount.

Civil Code Art. 557(1): the claim ends when the debt has been performed (债务已经履行).
"""

from __future__ import annotations

from datetime import date

from machines.loan_case import ClosedReason
from machines.policy import Policy
from machines.rules.base import CaseView, DayPlan, move

NAME = "settle"
BASIS = "Civil Code Art. 557"
EVENTS = ("settle",)
CLOCKS: tuple[str, ...] = ()

CLOSED_REASON_BY_PAYER = {
    "borrower": ClosedReason.repaid.value,
    "guarantor": ClosedReason.settled_by_guarantor.value,
    "court": ClosedReason.recovered_by_court.value,
}


def apply(view: CaseView, day: date, policy: Policy, plan: DayPlan) -> CaseView:
    if view.balance_fen != 0:
        return view
    reason = CLOSED_REASON_BY_PAYER.get(view.last_payer or "borrower", ClosedReason.repaid.value)
    plan.done = True  # nothing else happens to a closed case
    return move(view, day, plan, NAME, "settle", "balance reached zero", closed_reason=reason)


def next_date(view: CaseView, day: date, policy: Policy, plan: DayPlan | None = None) -> date | None:
    return None  # a payment, not a date, brings it about (the payment touches the case)
