"""Internal time limits along the ladder (DOMAIN.md §2; the ``[limits]`` of the policy file):
a case that has stayed in its state longer than the state's limit moves on, unless a move only
a person may decide is already awaited.

- overdue, ``limits.overdue`` days → internal_review;
- internal_review, ``limits.internal_review`` days → visit; an insider or insider-introduced
  loan gets ``limits.internal_review_insider`` days, then its officer is suspended until it is
  collected (strategy 1) and visits start;
- visit, ``limits.visit`` days → guarantor_pressure if a guarantor is still liable, else an
  approved suit is awaited;
- guarantor_pressure, ``limits.guarantor_pressure`` days → an approved suit is awaited;
- revitalization, ``limits.revitalization_term`` days still unpaid → an approved suit is awaited.
"""

from __future__ import annotations

from datetime import date

from machines.loan_case import CaseState
from machines.policy import Policy
from machines.rules.base import INSIDER_ORIGINS, CaseView, DayPlan, await_approval, liable, move, soonest
from models.domain.dates import add_days

NAME = "time_limits"
BASIS = "policy [limits]"
EVENTS = ("review", "dispatch", "press")
CLOCKS: tuple[str, ...] = ()
LADDER_LIMITS = ("overdue", "internal_review", "visit", "guarantor_pressure")


def limit_key(state: str, origin: str) -> str | None:
    """The policy key of the time limit of ``state`` for a case of ``origin``, or None."""
    if state == CaseState.internal_review.value and origin in INSIDER_ORIGINS:
        return "internal_review_insider"
    if state == CaseState.revitalization.value:
        return "revitalization_term"
    if state in LADDER_LIMITS:
        return state
    return None


def state_limit(state: str, origin: str, policy: Policy) -> int | None:
    """The internal time limit of a state for a case of ``origin``, or None."""
    key = limit_key(state, origin)
    return None if key is None else policy.limit(key)


def state_deadline(view: CaseView, policy: Policy) -> date | None:
    limit = state_limit(view.state, view.origin, policy)
    if limit is None or view.state_entered_on is None:
        return None
    return add_days(view.state_entered_on, limit)


def basis(view: CaseView) -> str:
    key = limit_key(view.state, view.origin)
    return f"policy limits.{key}" if key else "policy [limits]"


def apply(view: CaseView, day: date, policy: Policy, plan: DayPlan) -> CaseView:
    for _ in range(4):  # with zero-day limits a case may climb several rungs on one date
        deadline = state_deadline(view, policy)
        if deadline is None or day < deadline or plan.awaiting is not None or view.awaiting_approval:
            break
        if view.state == CaseState.overdue.value:
            view = move(view, day, plan, NAME, "review", f"{policy.limit('overdue')} days overdue")
        elif view.state == CaseState.internal_review.value:
            if view.origin in INSIDER_ORIGINS:
                plan.suspend_officer = True
                view = move(view, day, plan, NAME, "dispatch", "insider loan not recovered within the time limit; officer suspended")
            else:
                view = move(view, day, plan, NAME, "dispatch", "internal review done")
        elif view.state == CaseState.visit.value:
            if liable(view, day):
                view = move(view, day, plan, NAME, "press", f"{policy.limit('visit')} days of visits without repayment")
            else:
                await_approval(plan, NAME, "sue", f"{policy.limit('visit')} days of visits without repayment, no guarantor liable")
        elif view.state == CaseState.guarantor_pressure.value:
            await_approval(plan, NAME, "sue", f"{policy.limit('guarantor_pressure')} days of guarantor pressure without repayment")
        elif view.state == CaseState.revitalization.value:
            await_approval(plan, NAME, "sue", "revitalization term ended with the loan unpaid")
        else:
            break
    return view


def next_date(view: CaseView, day: date, policy: Policy, plan: DayPlan | None = None) -> date | None:
    """The state's deadline, unless a move a person must decide is awaited (then only they move it)."""
    deadline = state_deadline(view, policy)
    awaiting = (plan.awaiting if plan else None) or view.awaiting_approval
    return soonest(day, [deadline]) if deadline is not None and not awaiting else None
