"""What the daily run does to one case on one business date: pure rules, no session.

``plan_day`` reads a ``CaseView`` (plain values the service loads) and returns the ordered
steps for that date: machine events to fire, actions to record, flags to set, and the next date
on which anything can happen to the case. The service then fires the events through the real
``LoanCase`` machine, which has the last word on every move.

The rules themselves live one per module in ``machines.rules``; this module folds them over a
case (``plan_day``) and takes the earliest of their next dates (``next_event_on``).
"""

from __future__ import annotations

from datetime import date

from machines.loan_case import CaseState
from machines.policy import Policy
from machines.rules import RULES
from machines.rules.base import (
    INSIDER_ORIGINS,
    PRESSURE_EMPLOYERS,
    CaseView,
    DayPlan,
    GuaranteeView,
    JudgmentView,
    PromiseView,
    Step,
)
from machines.rules.settle import CLOSED_REASON_BY_PAYER
from machines.rules.time_limits import state_deadline, state_limit

__all__ = [
    "CLOSED_REASON_BY_PAYER", "INSIDER_ORIGINS", "PRESSURE_EMPLOYERS", "CaseView", "DayPlan", "GuaranteeView",
    "JudgmentView", "PromiseView", "Step", "next_event_on", "plan_day", "state_deadline", "state_limit",
]


def plan_day(view: CaseView, day: date, policy: Policy) -> DayPlan:
    """Every rule of DOMAIN.md §2–4 that applies to the case on ``day``, in ``RULES`` order."""
    plan = DayPlan()
    if view.state == CaseState.closed.value:
        return plan
    for rule in RULES:
        view = rule.apply(view, day, policy, plan)
        if plan.done:
            return plan
    plan.next_event_on = next_event_on(view, day, policy, plan)
    return plan


def next_event_on(v: CaseView, day: date, policy: Policy, plan: DayPlan | None = None) -> date | None:
    """The first date after ``day`` on which any rule can apply to the case."""
    if v.state == CaseState.closed.value:
        return None
    dates = [d for rule in RULES if (d := rule.next_date(v, day, policy, plan)) is not None]
    return min(dates) if dates else None
