"""Falling due (DOMAIN.md §2): a performing loan enters overdue on its first day past due,
with a demand notice to the borrower; before that date no other rule applies to it.

Commercial Bank Law Art. 42: the borrower shall repay principal and interest when due;
Civil Code Art. 676: a loan not returned on time bears overdue interest.
"""

from __future__ import annotations

from datetime import date

from machines.loan_case import CaseState
from machines.policy import Policy
from machines.rules.base import CaseView, DayPlan, move, soonest

NAME = "fall_due"
BASIS = "Commercial Bank Law Art. 42; Civil Code Art. 676"
EVENTS = ("fall_due",)
CLOCKS: tuple[str, ...] = ()


def apply(view: CaseView, day: date, policy: Policy, plan: DayPlan) -> CaseView:
    if view.state != CaseState.performing.value:
        return view
    if day < view.first_past_due:
        plan.next_event_on = view.first_past_due
        plan.done = True
        return view
    return move(view, day, plan, NAME, "fall_due", "first day past due; demand notice to the borrower")


def next_date(view: CaseView, day: date, policy: Policy, plan: DayPlan | None = None) -> date | None:
    return soonest(day, [view.first_past_due]) if view.state == CaseState.performing.value else None
