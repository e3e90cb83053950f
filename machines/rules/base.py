"""What every rule reads and writes: the case as plain values (``CaseView``), the day's plan
(``DayPlan``, made of ``Step``s), and the few helpers the rules share.

A rule never restates where a move leads: ``move`` asks ``LoanCase``'s declared transitions
(``target_of``), so a rule that fires a move the machine does not have fails at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from typing import Iterable

from machines.loan_case import NEEDS_APPROVAL, target_of
from models.domain.dates import add_days
from models.domain.deadlines import GuaranteeStatus, GuaranteeType

INSIDER_ORIGINS = ("insider", "insider_introduced")
PRESSURE_EMPLOYERS = ("government", "institution")


@dataclass(frozen=True)
class GuaranteeView:
    name: str
    kind: GuaranteeType
    status: GuaranteeStatus


@dataclass(frozen=True)
class PromiseView:
    action_id: int
    due_on: date
    amount_fen: int
    paid_fen: int  # paid by the borrower from the promise's date to its due date


@dataclass(frozen=True)
class JudgmentView:
    judgment_id: int
    perform_by: date
    applied_on: date | None


@dataclass(frozen=True)
class CaseView:
    loan_id: str
    state: str
    state_entered_on: date | None
    origin: str
    employer_type: str
    maturity_on: date
    first_past_due: date  # first day past due (the day after the oldest unpaid amount fell due)
    balance_fen: int  # total owed on the business date
    last_payer: str | None
    limitation_start: date | None
    sued_on: date | None
    awaiting_approval: str | None
    last_visit_outcome: str | None = None
    guarantees: tuple[GuaranteeView, ...] = ()
    promises: tuple[PromiseView, ...] = ()
    plan_active: bool = False
    oldest_unpaid_line_due: date | None = None
    judgments: tuple[JudgmentView, ...] = ()


@dataclass(frozen=True)
class Step:
    """One thing to do: fire ``event`` (if given), record ``action`` (if given)."""

    event: str | None = None
    reason: str = ""
    closed_reason: str | None = None
    action: str | None = None  # demand | alert | promise_broken | promise_kept | plan_broken
    target: str | None = None  # guarantor name, judgment id, promise id
    detail: str = ""
    rule: str = ""  # the rule (module of machines.rules) that asked for it


@dataclass
class DayPlan:
    steps: list[Step] = field(default_factory=list)
    demanded_guarantors: list[str] = field(default_factory=list)
    interrupted_guarantors: list[str] = field(default_factory=list)  # re-demanded: limitation restarts
    borrower_demanded: bool = False
    suspend_officer: bool = False
    employer_pressure: bool = False
    plan_broken: bool = False
    promises: dict[int, str] = field(default_factory=dict)  # action id → kept | broken
    awaiting: tuple[str, str] | None = None  # (event, reason) awaiting a second person
    awaiting_rule: str | None = None  # the rule that asked for it
    urgent: bool = False
    alerts: list[tuple[str, date, str]] = field(default_factory=list)  # (clock, date, text)
    next_event_on: date | None = None
    done: bool = False  # a rule ended the day's judgement (the case closed, or is not yet due)

    @property
    def events(self) -> list[Step]:
        return [s for s in self.steps if s.event]


def move(view: CaseView, day: date, plan: DayPlan, rule: str, event: str, reason: str, closed_reason: str | None = None) -> CaseView:
    """Plan ``event`` and return the case as it stands after it (target from ``LoanCase``)."""
    to = target_of(event, view.state)
    plan.steps.append(Step(event=event, reason=reason, closed_reason=closed_reason, rule=rule))
    return replace(view, state=to.value, state_entered_on=day, awaiting_approval=None)


def await_approval(plan: DayPlan, rule: str, event: str, reason: str, urgent: bool = False) -> None:
    """A move only a person may decide (with a second person's approval): the run lists the
    case as awaiting it; the first rule to ask on a date is the one recorded."""
    assert event in NEEDS_APPROVAL, event
    if plan.awaiting is None:
        plan.awaiting, plan.awaiting_rule = (event, reason), rule
    plan.urgent = plan.urgent or urgent


def soonest(day: date, candidates: Iterable[date]) -> date | None:
    """The first date after ``day`` among ``candidates``; one already come means tomorrow."""
    dates = [c if c > day else add_days(day, 1) for c in candidates]
    return min(dates) if dates else None


def liable(view: CaseView, day: date) -> bool:
    """A guarantor can still be held liable on ``day``."""
    return any(g.status.liable_on(day) for g in view.guarantees)
