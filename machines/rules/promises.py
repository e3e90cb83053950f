"""Promises to pay (strategy 2, DOMAIN.md §2): a promise the borrower has not kept by its date
is broken; during visits a broken promise ends them: guarantor pressure if a guarantor is still
liable, else the case awaits an approved suit. A promise kept is marked so and changes nothing.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from machines.loan_case import CaseState
from machines.policy import Policy
from machines.rules.base import CaseView, DayPlan, Step, await_approval, liable, move, soonest
from models.domain.dates import add_days

NAME = "promises"
BASIS = "branch strategy 2: visits and promises to pay (DOMAIN.md §1-2)"
EVENTS = ("press",)
CLOCKS: tuple[str, ...] = ()


def apply(view: CaseView, day: date, policy: Policy, plan: DayPlan) -> CaseView:
    judged = []
    for p in view.promises:
        if day <= p.due_on:
            continue
        judged.append(p.action_id)
        kept = p.paid_fen >= p.amount_fen
        plan.promises[p.action_id] = "kept" if kept else "broken"
        if kept:
            continue
        plan.steps.append(Step(action="promise_broken", target=str(p.action_id), rule=NAME, detail=f"promise due {p.due_on} not kept"))
        if view.state == CaseState.visit.value:
            if liable(view, day):
                view = move(view, day, plan, NAME, "press", f"promise to pay by {p.due_on} broken")
            else:
                await_approval(plan, NAME, "sue", f"promise to pay by {p.due_on} broken and no guarantor is liable")
    if judged:  # a judged promise is no longer open
        view = replace(view, promises=tuple(p for p in view.promises if p.action_id not in judged))
    return view


def next_date(view: CaseView, day: date, policy: Policy, plan: DayPlan | None = None) -> date | None:
    return soonest(day, [add_days(p.due_on, 1) for p in view.promises])
