"""The limitation period (诉讼时效) of the claim against the borrower, until a filing is recorded.

Civil Code Art. 188: three years from maturity (GPCL 1986 Art. 135: two, for a period that ran
out before 2017-10-01, SPC 2018 transition Art. 3). Art. 195 (GPCL Art. 140): a recorded demand,
the debtor's consent (a part payment: every recorded payment, SPC limitation rules 2020 Art. 14)
or a filing interrupts it, and it runs again from then under the law of that day.

From ``lead_days.limitation`` days before the end, every day until an interrupting act is
recorded: a ``send_demand`` task to the borrower; if the borrower was last not found at a visit,
an urgent approved suit instead, and once the case is in litigation ``file_suit``. On the first
date after the end: lapsed (an alert, once). After a recorded filing nothing is pressed (the
period restarts when the proceedings end).
"""

from __future__ import annotations

from datetime import date

from machines.loan_case import CaseState
from machines.policy import Policy
from machines.rules.base import CaseView, DayPlan, Step, await_approval, soonest
from machines.rules.clocks import borrower_filed, limitation_status
from models.domain.dates import add_days

NAME = "limitation"
BASIS = "Civil Code Art. 188, 195"
EVENTS: tuple[str, ...] = ()
CLOCKS = ("limitation", "limitation_lapsed")


def ends_on(view: CaseView, day: date) -> date:
    end = limitation_status(view, day).end
    assert end is not None
    return end


def basis(view: CaseView) -> str:
    return limitation_status(view, view.maturity_on).rule


def apply(view: CaseView, day: date, policy: Policy, plan: DayPlan) -> CaseView:
    if borrower_filed(view) is not None:
        return view
    clock = limitation_status(view, day)
    lim_end = clock.end
    assert lim_end is not None
    if day < add_days(lim_end, -policy.lead("limitation")):
        return view
    if day > lim_end:
        if day == add_days(lim_end, 1):
            plan.alerts.append(("limitation_lapsed", lim_end, f"limitation against the borrower lapsed ({clock.rule})"))
        return view
    plan.urgent = True
    if view.state == CaseState.litigation.value:
        text = f"limitation ends {lim_end}: file the suit and record it"
        plan.steps.append(Step(action="file_suit", target="borrower", rule=NAME, clock="limitation", due_on=lim_end, detail=text))
        plan.alerts.append(("limitation", lim_end, text))
    elif view.last_visit_outcome == "not_found":
        text = f"limitation ends {lim_end} and the borrower cannot be found: sue"
        await_approval(plan, NAME, "sue", text, urgent=True)
        plan.alerts.append(("limitation", lim_end, text))
    else:
        plan.steps.append(Step(action="send_demand", target="borrower", rule=NAME, clock="limitation", due_on=lim_end,
                               detail=f"limitation ends {lim_end}: a demand on the borrower, recorded with its evidence, interrupts it"))
    return view


def next_date(view: CaseView, day: date, policy: Policy, plan: DayPlan | None = None) -> date | None:
    if borrower_filed(view) is not None:
        return None
    end = ends_on(view, day)
    if day > end:
        return None
    return soonest(day, [add_days(end, -policy.lead("limitation")), add_days(end, 1)])
