"""The time limit for applying to the court for enforcement of a judgment (申请执行期间).

Civil Procedure Law (2023) Art. 250: two years, from the last day of the performance period the
judgment sets; suspended and interrupted as the limitation period is (SPC 2020 enforcement
interpretation Art. 20). Only a recorded ``enforcement_application`` act preserves it.

From ``lead_days.enforcement`` days before the end, while no application is recorded: an urgent
``apply_enforcement`` task and an alert every business date. On the first date after the end:
lapsed (an alert, once).
"""

from __future__ import annotations

from datetime import date

from machines.policy import Policy
from machines.rules.base import CaseView, DayPlan, Step, soonest
from machines.rules.clocks import enforcement_status
from models.domain.dates import add_days
from models.domain.law import Status

NAME = "enforcement"
BASIS = "Civil Procedure Law Art. 250"
EVENTS: tuple[str, ...] = ()
CLOCKS = ("enforcement", "enforcement_lapsed")


def apply(view: CaseView, day: date, policy: Policy, plan: DayPlan) -> CaseView:
    for j in view.judgments:
        clock = enforcement_status(view, j.judged_on or j.perform_by, j.perform_by, day)
        if clock.status is Status.preserved or clock.end is None:
            continue
        apply_by = clock.end
        if day > apply_by:
            if day == add_days(apply_by, 1):
                plan.alerts.append(("enforcement_lapsed", apply_by, f"time to apply for enforcement of judgment {j.judgment_id} lapsed"))
            continue
        if day >= add_days(apply_by, -policy.lead("enforcement")):
            text = f"apply for enforcement of judgment {j.judgment_id} by {apply_by}"
            plan.alerts.append(("enforcement", apply_by, text))
            plan.steps.append(Step(action="apply_enforcement", target=str(j.judgment_id), rule=NAME,
                                   clock="enforcement_application", due_on=apply_by, detail=text))
            plan.urgent = True
    return view


def next_date(view: CaseView, day: date, policy: Policy, plan: DayPlan | None = None) -> date | None:
    dates: list[date] = []
    for j in view.judgments:
        clock = enforcement_status(view, j.judged_on or j.perform_by, j.perform_by, day)
        if clock.status is not Status.preserved and clock.end is not None and day <= clock.end:
            dates += [add_days(clock.end, -policy.lead("enforcement")), add_days(clock.end, 1)]
    return soonest(day, dates)
