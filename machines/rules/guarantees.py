"""The two guarantee rules judged guarantor by guarantor, in the order the guarantors were
recorded: a preserved joint guarantee under its debt's limitation (``guarantee_debt``), any
other under its guarantee period (``guarantee_period``). One pass keeps the day's demands and
alerts in guarantor order."""

from __future__ import annotations

from datetime import date

from machines.policy import Policy
from machines.rules import guarantee_debt, guarantee_period
from machines.rules.base import CaseView, DayPlan

NAME = "guarantees"
PARTS = (guarantee_debt, guarantee_period)
EVENTS = guarantee_period.EVENTS + guarantee_debt.EVENTS
CLOCKS = guarantee_period.CLOCKS + guarantee_debt.CLOCKS


def apply(view: CaseView, day: date, policy: Policy, plan: DayPlan) -> CaseView:
    for g in view.guarantees:  # the guarantees as they stood when the day began
        rule = guarantee_debt if g.status.preserved else guarantee_period
        view = rule.judge(g, view, day, policy, plan)
    return view


def next_date(view: CaseView, day: date, policy: Policy, plan: DayPlan | None = None) -> date | None:
    dates = [d for rule in PARTS if (d := rule.next_date(view, day, policy, plan)) is not None]
    return min(dates) if dates else None
