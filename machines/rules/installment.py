"""An installment agreement (strategy 5, DOMAIN.md §2): an installment unpaid
``limits.installment_grace`` days past its due date breaks the plan; the case leaves installment
(issue 15 rule 6): to guarantor pressure if a guarantor is still liable, else back to visit,
where it awaits an approved suit.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from machines.loan_case import CaseState
from machines.policy import Policy
from machines.rules.base import CaseView, DayPlan, Step, await_approval, liable, move, soonest
from models.domain.dates import add_days

NAME = "installment"
BASIS = "policy limits.installment_grace"
EVENTS = ("break_plan", "plan_lapsed")
CLOCKS: tuple[str, ...] = ()


def watched(view: CaseView) -> bool:
    return view.state == CaseState.installment.value and view.plan_active and view.oldest_unpaid_line_due is not None


def apply(view: CaseView, day: date, policy: Policy, plan: DayPlan) -> CaseView:
    if not watched(view):
        return view
    assert view.oldest_unpaid_line_due is not None
    if day <= add_days(view.oldest_unpaid_line_due, policy.limit("installment_grace")):
        return view
    plan.plan_broken = True
    plan.steps.append(Step(action="plan_broken", rule=NAME, detail=f"installment due {view.oldest_unpaid_line_due} unpaid"))
    view = replace(view, plan_active=False)
    if liable(view, day):
        return move(view, day, plan, NAME, "break_plan", "installment plan broken")
    view = move(view, day, plan, NAME, "plan_lapsed", "installment plan broken and no guarantor is liable")
    await_approval(plan, NAME, "sue", "installment plan broken and no guarantor is liable")
    return view


def next_date(view: CaseView, day: date, policy: Policy, plan: DayPlan | None = None) -> date | None:
    if not watched(view):
        return None
    assert view.oldest_unpaid_line_due is not None
    return soonest(day, [add_days(view.oldest_unpaid_line_due, policy.limit("installment_grace") + 1)])
