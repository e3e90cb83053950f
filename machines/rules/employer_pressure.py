"""The employer-pressure action (strategy 2, "hit the snake seven inches from the head",
DOMAIN.md §1): a relationship loan of a government or public-institution employee, in internal
review or visits, is flagged for a visit to the borrower's employer.
"""

from __future__ import annotations

from datetime import date

from machines.loan_case import CaseState
from machines.policy import Policy
from machines.rules.base import PRESSURE_EMPLOYERS, CaseView, DayPlan

NAME = "employer_pressure"
BASIS = "branch strategy 2 (DOMAIN.md §1)"
EVENTS: tuple[str, ...] = ()
CLOCKS: tuple[str, ...] = ()
STATES = (CaseState.internal_review.value, CaseState.visit.value)


def apply(view: CaseView, day: date, policy: Policy, plan: DayPlan) -> CaseView:
    if view.state in STATES and view.origin == "relationship" and view.employer_type in PRESSURE_EMPLOYERS:
        plan.employer_pressure = True
    return view


def next_date(view: CaseView, day: date, policy: Policy, plan: DayPlan | None = None) -> date | None:
    return None  # it applies on the dates other rules bring the case to internal review or visits
