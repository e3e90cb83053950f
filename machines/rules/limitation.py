"""The limitation period (诉讼时效) of the claim against the borrower, until the borrower is sued.

Civil Code Art. 188: three years. Art. 195: the creditor's demand for performance, the
debtor's consent to perform (a part payment, an installment agreement) or a suit interrupts
it, and it runs again from then.

From ``lead_days.limitation`` days before the end: a written demand on the borrower (which
interrupts it); if the borrower was last not found at a visit, an urgent approved suit instead.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from machines.policy import Policy
from machines.rules.base import CaseView, DayPlan, Step, await_approval, soonest
from models.domain.dates import add_days
from models.domain.deadlines import limitation_end

NAME = "limitation"
BASIS = "Civil Code Art. 188, 195"
EVENTS: tuple[str, ...] = ()
CLOCKS = ("limitation",)


def ends_on(view: CaseView) -> date:
    return limitation_end(view.maturity_on, [view.limitation_start] if view.limitation_start else [])


def apply(view: CaseView, day: date, policy: Policy, plan: DayPlan) -> CaseView:
    if view.sued_on is not None:
        return view
    lim_end = ends_on(view)
    if day < add_days(lim_end, -policy.lead("limitation")):
        return view
    if view.last_visit_outcome == "not_found":
        text = f"limitation ends {lim_end} and the borrower cannot be found: sue"
        await_approval(plan, NAME, "sue", text, urgent=True)
        plan.alerts.append(("limitation", lim_end, text))
        return view
    plan.steps.append(Step(action="demand", rule=NAME, detail=f"limitation ends {lim_end}: written demand interrupts it"))
    plan.borrower_demanded = True
    return replace(view, limitation_start=day)


def next_date(view: CaseView, day: date, policy: Policy, plan: DayPlan | None = None) -> date | None:
    if view.sued_on is not None:
        return None
    return soonest(day, [add_days(ends_on(view), -policy.lead("limitation"))])
