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
from machines.rules.clocks import GuaranteeClock
from models.domain.dates import add_days
from models.domain.deadlines import GuaranteeType
from models.domain.law import Act

INSIDER_ORIGINS = ("insider", "insider_introduced")
PRESSURE_EMPLOYERS = ("government", "institution")


@dataclass(frozen=True)
class GuaranteeView:
    name: str
    kind: GuaranteeType  # the mode under the law in force when signed (models.domain.law.guarantee_mode)
    status: GuaranteeClock  # the period and the guarantee debt's limitation from the recorded acts


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
    judged_on: date | None = None


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
    # Not legal facts (issue 14): the rules never read these two; the clocks follow ``acts`` only.
    limitation_start: date | None
    sued_on: date | None
    awaiting_approval: str | None
    last_visit_outcome: str | None = None
    guarantees: tuple[GuaranteeView, ...] = ()
    promises: tuple[PromiseView, ...] = ()
    plan_active: bool = False
    oldest_unpaid_line_due: date | None = None
    judgments: tuple[JudgmentView, ...] = ()
    acts: tuple[Act, ...] = ()  # the recorded legal acts (and payments as acknowledgements), in date order


# Tasks: acts a person must do and record with evidence (never done by the run, never stored:
# listed every day from the clocks until the act is recorded).
TASKS = ("send_demand", "file_suit", "apply_enforcement")


@dataclass(frozen=True)
class Step:
    """One thing to do: fire ``event`` (if given), record ``action`` (if given)."""

    event: str | None = None
    reason: str = ""
    closed_reason: str | None = None
    action: str | None = None  # a task (TASKS) | promise_broken | promise_kept | plan_broken
    target: str | None = None  # guarantor name ("borrower" for a task on the borrower), judgment id, promise id
    detail: str = ""
    rule: str = ""  # the rule (module of machines.rules) that asked for it
    clock: str | None = None  # a task: the clock it protects
    due_on: date | None = None  # a task: the clock's end


@dataclass
class DayPlan:
    steps: list[Step] = field(default_factory=list)
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

    @property
    def tasks(self) -> list[Step]:
        return [s for s in self.steps if s.action in TASKS]


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
