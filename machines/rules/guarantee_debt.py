"""The guarantee debt's own limitation (保证债务的诉讼时效), per preserved guarantee.

Civil Code Art. 694 (SPC 2000 interpretation Art. 34 before 2021): a joint guarantee's runs
from the recorded demand that preserved it; a general guarantee's from the judgment against the
borrower (signed before 2021) or the end of the defence of prior enforcement. Art. 188: three
years (two under GPCL 1986 Art. 135 for a period that ran out before 2017-10-01); Art. 195: a
recorded demand on the guarantor, or their payment, interrupts it.

From ``lead_days.limitation`` days before the end: a ``send_demand`` task to the guarantor,
every day until a demand is recorded. On the first date after the end: lapsed (an alert, once).
"""

from __future__ import annotations

from datetime import date

from machines.policy import Policy
from machines.rules.base import CaseView, DayPlan, GuaranteeView, Step, soonest
from models.domain.dates import add_days

NAME = "guarantee_debt"
BASIS = "Civil Code Art. 694, 188, 195"
EVENTS: tuple[str, ...] = ()
CLOCKS = ("guarantee_limitation_lapsed",)


def basis(view: CaseView) -> str:
    for g in view.guarantees:
        if g.status.debt_end is not None:
            return g.status.debt_end.rule
    return BASIS


def judge(g: GuaranteeView, view: CaseView, day: date, policy: Policy, plan: DayPlan) -> CaseView:
    """The rule for one preserved guarantee."""
    end = g.status.debt_limitation_end()
    if end is None or day < add_days(end, -policy.lead("limitation")):
        return view
    if day > end:
        if day == add_days(end, 1):
            plan.alerts.append(("guarantee_limitation_lapsed", end, f"limitation of {g.name}'s guarantee debt lapsed"))
        return view
    plan.urgent = True
    plan.steps.append(Step(action="send_demand", target=g.name, rule=NAME, clock="guarantee_limitation", due_on=end,
                           detail=f"guarantee debt limitation ends {end}: a demand on {g.name}, recorded with its evidence, interrupts it"))
    return view


def apply(view: CaseView, day: date, policy: Policy, plan: DayPlan) -> CaseView:
    for g in view.guarantees:
        if g.status.preserved:
            view = judge(g, view, day, policy, plan)
    return view


def next_date(view: CaseView, day: date, policy: Policy, plan: DayPlan | None = None) -> date | None:
    dates: list[date] = []
    for g in view.guarantees:
        end = g.status.debt_limitation_end() if g.status.preserved else None
        if end is not None and day <= end:
            dates += [add_days(end, -policy.lead("limitation")), add_days(end, 1)]
    return soonest(day, dates)
