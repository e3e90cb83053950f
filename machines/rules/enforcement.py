"""The time limit for applying to the court for enforcement of a judgment (申请执行期间).

Civil Procedure Law (2023) Art. 250: two years, from the last day of the performance period the
judgment sets; suspended and interrupted as the limitation period is.

From ``lead_days.enforcement`` days before the end, while no application is recorded: an urgent
alert every business date.
"""

from __future__ import annotations

from datetime import date

from machines.policy import Policy
from machines.rules.base import CaseView, DayPlan, soonest
from models.domain.dates import add_days
from models.domain.deadlines import enforcement_apply_by

NAME = "enforcement"
BASIS = "Civil Procedure Law Art. 250"
EVENTS: tuple[str, ...] = ()
CLOCKS = ("enforcement",)


def apply(view: CaseView, day: date, policy: Policy, plan: DayPlan) -> CaseView:
    for j in view.judgments:
        if j.applied_on is not None:
            continue
        apply_by = enforcement_apply_by(j.perform_by)
        if day >= add_days(apply_by, -policy.lead("enforcement")):
            plan.alerts.append(("enforcement", apply_by, f"apply for enforcement of judgment {j.judgment_id} by {apply_by}"))
            plan.urgent = True
    return view


def next_date(view: CaseView, day: date, policy: Policy, plan: DayPlan | None = None) -> date | None:
    ends = [enforcement_apply_by(j.perform_by) for j in view.judgments if j.applied_on is None]
    return soonest(day, [add_days(end, -policy.lead("enforcement")) for end in ends if day <= end])
