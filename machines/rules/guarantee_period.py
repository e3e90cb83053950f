"""The guarantee period (保证期间), per guarantor not yet preserved by a recorded act.

Civil Code Art. 692 (Guarantee Law 1995 Arts. 25, 26 for a contract signed before 2021): the
agreed period, or six months from the debt's maturity; never suspended, interrupted or
extended. Art. 693: a joint guarantor is freed unless the creditor demands performance from
them within the period; a general guarantor, unless the creditor sues (or arbitrates against)
the debtor within it. The mode is the one in force when the contract was signed (Guarantee Law
Art. 19: unstated = joint before 2021; Civil Code Art. 686 ¶2: general from 2021).

Only a recorded act preserves the guarantee (``machines.rules.clocks``). From
``lead_days.guarantee`` days before the end the run lists a task every day until it is
recorded: a joint guarantor → ``send_demand`` to that guarantor (and a case still before
guarantor pressure is pressed there); a general guarantee → an urgent approved suit, and once
the case is in litigation ``file_suit``. On the first date after the end: lapsed (an alert,
once); the guarantor is then freed (no task presses them).
"""

from __future__ import annotations

from datetime import date

from machines.loan_case import CaseState, allows
from machines.policy import Policy
from machines.rules.base import CaseView, DayPlan, GuaranteeView, Step, await_approval, move, soonest
from models.domain.dates import add_days
from models.domain.deadlines import GuaranteeType

NAME = "guarantee_period"
BASIS = "Civil Code Art. 692, 693"
EVENTS = ("press",)
CLOCKS = ("guarantee", "guarantee_lapsed")


def basis(view: CaseView) -> str:
    """The period's rule under the law in force for the first unpreserved guarantee."""
    for g in view.guarantees:
        if not g.status.preserved:
            return g.status.period_rule()
    return BASIS


def judge(g: GuaranteeView, view: CaseView, day: date, policy: Policy, plan: DayPlan) -> CaseView:
    """The rule for one guarantee whose required act is not recorded (not preserved)."""
    st = g.status
    if day < st.lead_date(policy.lead("guarantee")):
        return view
    if day > st.period_end:
        if day == add_days(st.period_end, 1):  # once, on the first date after the end
            plan.alerts.append(("guarantee_lapsed", st.period_end, f"guarantee period of {g.name} lapsed ({st.period.rule})"))
        return view
    plan.urgent = True
    if g.kind is GuaranteeType.joint:
        plan.steps.append(Step(action="send_demand", target=g.name, rule=NAME, clock="guarantee_period", due_on=st.period_end,
                               detail=f"guarantee period of {g.name} ends {st.period_end}: demand on the joint guarantor, "
                                      f"record it with its evidence ({st.period.rule})"))
        if allows("press", view.state):  # still before guarantor pressure on the ladder
            view = move(view, day, plan, NAME, "press", f"guarantee period of {g.name} ends {st.period_end}")
    elif view.state != CaseState.litigation.value:
        text = f"general guarantee of {g.name} ends {st.period_end}: the borrower must be sued before it"
        await_approval(plan, NAME, "sue", text, urgent=True)
        plan.alerts.append(("guarantee", st.period_end, text))
    else:  # the suit is approved but no filing is recorded: it preserves nothing until filed
        text = f"general guarantee of {g.name} ends {st.period_end}: file the suit against the borrower and record it"
        plan.steps.append(Step(action="file_suit", target="borrower", rule=NAME, clock="guarantee_period",
                               due_on=st.period_end, detail=text))
        plan.alerts.append(("guarantee", st.period_end, text))
    return view


def apply(view: CaseView, day: date, policy: Policy, plan: DayPlan) -> CaseView:
    for g in view.guarantees:
        if not g.status.preserved:
            view = judge(g, view, day, policy, plan)
    return view


def next_date(view: CaseView, day: date, policy: Policy, plan: DayPlan | None = None) -> date | None:
    dates: list[date] = []
    for g in view.guarantees:
        if not g.status.preserved and day <= g.status.period_end:
            dates += [g.status.lead_date(policy.lead("guarantee")), add_days(g.status.period_end, 1)]
    return soonest(day, dates)
