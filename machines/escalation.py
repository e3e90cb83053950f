"""What the daily run does to one case on one business date: pure rules, no session.

``plan_day`` reads a ``CaseView`` (plain values the service loads) and returns the ordered
steps for that date: machine events to fire, actions to record, flags to set, and the next date
on which anything can happen to the case. The service then fires the events through the real
``LoanCase`` machine, which has the last word on every move.

The rules themselves live one per module in ``machines.rules``; this module folds them over a
case (``plan_day``) and takes the earliest of their next dates (``next_event_on``).
"""

from __future__ import annotations

from datetime import date

from machines.loan_case import CaseState
from machines.policy import Policy
from machines.rules import RULES
from machines.rules.base import (
    INSIDER_ORIGINS,
    PRESSURE_EMPLOYERS,
    CaseView,
    DayPlan,
    GuaranteeView,
    JudgmentView,
    PromiseView,
    Step,
)
from machines.rules.settle import CLOSED_REASON_BY_PAYER
from machines.rules.time_limits import state_deadline, state_limit

__all__ = [
    "CLOSED_REASON_BY_PAYER", "INSIDER_ORIGINS", "PRESSURE_EMPLOYERS", "CaseView", "DayPlan", "GuaranteeView",
    "JudgmentView", "PromiseView", "Step", "next_event_on", "plan_day", "state_deadline", "state_limit",
]


def plan_day(view: CaseView, day: date, policy: Policy) -> DayPlan:
    """Every rule of DOMAIN.md §2–4 that applies to the case on ``day``, in ``RULES`` order."""
    plan = DayPlan()
    if view.state == CaseState.closed.value:
        return plan
    for rule in RULES:
        view = rule.apply(view, day, policy, plan)
        if plan.done:
            return plan
    plan.next_event_on = next_event_on(view, day, policy, plan)
    return plan


def next_event_on(v: CaseView, day: date, policy: Policy, plan: DayPlan | None = None) -> date | None:
    """The first date after ``day`` on which any rule can apply to the case."""
    if v.state == CaseState.closed.value:
        return None
    dates = [d for rule in RULES if (d := rule.next_date(v, day, policy, plan)) is not None]
    return min(dates) if dates else None


# --- moves the daily run may fire set-wise ----------------------------------------------------------
# A move is set-wise when the machine declares it without a guard (no validator, no condition), it
# climbs the ladder (from performing onto it, or to a later rung: a move back down — a lapsed plan
# returning to visit — restarts a restructured asset's observation, which is per-case work), and
# its only effect on the row is the state and the date it was entered (``LoanCase.after_transition``
# also sets a closing reason or the date sued for the targets below). Read from the machine, never
# restated: today fall_due, review and dispatch.
_SIDE_EFFECT_TARGETS = (CaseState.closed.value, CaseState.litigation.value)


def _climbs(source: str, target: str) -> bool:
    from machines.loan_case import ladder_rank

    to = ladder_rank(target)
    if to is None:
        return False
    frm = ladder_rank(source)
    return source == CaseState.performing.value if frm is None else to > frm


def _unguarded_moves() -> frozenset[str]:
    from machines.loan_case import LoanCase

    by_event: dict[str, bool] = {}
    for state in LoanCase.states:
        for t in state.transitions:
            plain = (not list(t.validators) and not list(t.cond) and t.target.value not in _SIDE_EFFECT_TARGETS
                     and _climbs(t.source.value, t.target.value))
            for event in t.events:
                by_event[str(event)] = by_event.get(str(event), True) and plain
    return frozenset(e for e, plain in by_event.items() if plain)


SETWISE_EVENTS: frozenset[str] = _unguarded_moves()


def setwise_plan(plan: DayPlan) -> bool:
    """Every move of the day's plan is an unguarded one (``SETWISE_EVENTS``): no validator can
    refuse it and it changes nothing but the state and the date entered, so such moves need no
    machine and go to the database set-wise with the rest of the chunk. The plan's other steps
    (demands, alerts, promises, flags, an officer's suspension, an approval to await) are carried
    out per case as always; a plan with any guarded move goes through the case's machine whole."""
    events = [s.event for s in plan.events]
    return bool(events) and all(e in SETWISE_EVENTS for e in events) and all(s.action is None for s in plan.events)
