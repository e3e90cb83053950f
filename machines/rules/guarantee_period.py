"""The guarantee period (保证期间), per guarantor not yet preserved.

Civil Code Art. 692: the period is the agreed one, or six months from the debt's maturity when
none was agreed or it ends on or before maturity; it is never suspended, interrupted or
extended. Art. 693: a joint guarantor is freed unless the creditor demands performance from
them within the period; a general guarantor, unless the creditor sues (or arbitrates against)
the debtor within it. Art. 686: an unstated mode is general.

From ``lead_days.guarantee`` days before the end: a joint guarantor is demanded in writing (and
a case still before guarantor pressure is pressed there); a general guarantee asks, urgently,
for an approved suit every day until the borrower is sued. Past the end: lapsed (an alert).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from machines.loan_case import CaseState, allows
from machines.policy import Policy
from machines.rules.base import CaseView, DayPlan, GuaranteeView, Step, await_approval, move, soonest
from models.domain.deadlines import RequiredAct

NAME = "guarantee_period"
BASIS = "Civil Code Art. 692, 693"
EVENTS = ("press",)
CLOCKS = ("guarantee", "guarantee_lapsed")


def judge(g: GuaranteeView, view: CaseView, day: date, policy: Policy, plan: DayPlan) -> CaseView:
    """The rule for one guarantee whose required act is not done (not preserved)."""
    st = g.status
    if day < st.lead_date(policy.lead("guarantee")):
        return view
    if day > st.period_end:
        plan.alerts.append(("guarantee_lapsed", st.period_end, f"guarantee period of {g.name} lapsed"))
        return view
    if st.act is RequiredAct.demand_guarantor:
        plan.steps.append(Step(action="demand", target=g.name, rule=NAME,
                               detail=f"guarantee period ends {st.period_end}: written demand on joint guarantor"))
        plan.demanded_guarantors.append(g.name)
        view = replace(view, guarantees=tuple(
            replace(x, status=replace(x.status, act_done_on=day)) if x.name == g.name else x for x in view.guarantees
        ))
        if allows("press", view.state):  # still before guarantor pressure on the ladder
            view = move(view, day, plan, NAME, "press", f"guarantee period of {g.name} ends {st.period_end}")
    elif view.sued_on is None and view.state != CaseState.litigation.value:
        text = f"general guarantee of {g.name} ends {st.period_end}: the borrower must be sued before it"
        await_approval(plan, NAME, "sue", text, urgent=True)
        plan.alerts.append(("guarantee", st.period_end, text))
    return view


def apply(view: CaseView, day: date, policy: Policy, plan: DayPlan) -> CaseView:
    for g in view.guarantees:
        if not g.status.preserved:
            view = judge(g, view, day, policy, plan)
    return view


def next_date(view: CaseView, day: date, policy: Policy, plan: DayPlan | None = None) -> date | None:
    return soonest(day, [g.status.lead_date(policy.lead("guarantee")) for g in view.guarantees
                         if not g.status.preserved and day <= g.status.period_end])
