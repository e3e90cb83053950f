"""The guarantee debt's own limitation (保证债务的诉讼时效), per preserved joint guarantee.

Civil Code Art. 694: once the creditor has demanded performance from a joint guarantor within
the guarantee period, the limitation of the guarantee debt runs from that demand. Art. 188:
three years. Art. 195: a demand on the obligor (here the guarantor) or their consent
interrupts it, and it runs again from then. (A general guarantee's limitation starts when the
guarantor's defence of prior enforcement ends, which the system does not record.)

From ``lead_days.limitation`` days before the end: a written demand on the guarantor (which
interrupts it). Past the end: lapsed (an alert).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from machines.policy import Policy
from machines.rules.base import CaseView, DayPlan, GuaranteeView, Step, soonest
from models.domain.dates import add_days

NAME = "guarantee_debt"
BASIS = "Civil Code Art. 694, 188, 195"
EVENTS: tuple[str, ...] = ()
CLOCKS = ("guarantee_limitation_lapsed",)


def judge(g: GuaranteeView, view: CaseView, day: date, policy: Policy, plan: DayPlan) -> CaseView:
    """The rule for one preserved guarantee."""
    end = g.status.debt_limitation_end()
    if end is None or day < add_days(end, -policy.lead("limitation")):
        return view
    if day > end:
        plan.alerts.append(("guarantee_limitation_lapsed", end, f"limitation of {g.name}'s guarantee debt lapsed"))
        return view
    plan.steps.append(Step(action="demand", target=g.name, rule=NAME,
                           detail=f"guarantee debt limitation ends {end}: written demand on the guarantor interrupts it"))
    plan.interrupted_guarantors.append(g.name)
    return replace(view, guarantees=tuple(
        replace(x, status=replace(x.status, interrupted_on=day)) if x.name == g.name else x for x in view.guarantees
    ))


def apply(view: CaseView, day: date, policy: Policy, plan: DayPlan) -> CaseView:
    for g in view.guarantees:
        if g.status.preserved:
            view = judge(g, view, day, policy, plan)
    return view


def next_date(view: CaseView, day: date, policy: Policy, plan: DayPlan | None = None) -> date | None:
    ends = [end for g in view.guarantees if g.status.preserved and (end := g.status.debt_limitation_end()) is not None]
    return soonest(day, [add_days(end, -policy.lead("limitation")) for end in ends if day <= end])
