"""The case state machine: one strict python-statemachine ``StateMachine`` over ``CaseState``.

The model is the loan row (anything with ``state``, ``state_entered_on``, ``closed_reason`` and
``sued_on`` attributes). The machine never touches a session: guards read the keyword
arguments the service passes with the event, and the audit listener (machines.audit) hands
every transition to a callback the persistence layer supplies.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import Enum
from typing import Any, Callable, Iterable

from statemachine import State, StateMachine
from statemachine.exceptions import TransitionNotAllowed
from statemachine.states import States

from models.domain.deadlines import GuaranteeStatus
from models.domain.errors import RuleViolation


class CaseState(str, Enum):
    """Stored values of a case's state, in ladder order (side tracks after the ladder)."""

    performing = "performing"
    overdue = "overdue"
    internal_review = "internal_review"
    visit = "visit"
    guarantor_pressure = "guarantor_pressure"
    litigation = "litigation"
    installment = "installment"
    revitalization = "revitalization"
    closed = "closed"


class ClosedReason(str, Enum):
    repaid = "repaid"
    settled_by_guarantor = "settled_by_guarantor"
    recovered_by_court = "recovered_by_court"
    written_off = "written_off"


# The escalation ladder; installment and revitalization are side tracks off it.
LADDER = (
    CaseState.overdue,
    CaseState.internal_review,
    CaseState.visit,
    CaseState.guarantor_pressure,
    CaseState.litigation,
)
OPEN_STATES = tuple(s for s in CaseState if s is not CaseState.closed)
# A case settles by payment: the reason follows who paid the last amount.
SETTLED_REASONS = ("repaid", "settled_by_guarantor", "recovered_by_court")
# Moves a person must decide with a second person's approval (maker ≠ checker).
NEEDS_APPROVAL = ("sue", "write_off", "revitalize")


class CaseRefused(RuleViolation):
    """The machine refused a move; the message names the rule."""


@dataclass(frozen=True)
class Approval:
    """A four-eyes decision: who asked for the move and who approved it."""

    requested_by: str
    approved_by: str | None

    @property
    def valid(self) -> bool:
        approver = (self.approved_by or "").strip().lower()
        return bool(approver) and approver != self.requested_by.strip().lower()


def ladder_rank(state: str | CaseState) -> int | None:
    """Position on the ladder, or None for performing, side tracks and closed."""
    state = CaseState(state)
    return LADDER.index(state) if state in LADDER else None


_S = States.from_enum(CaseState, initial=CaseState.performing, final=CaseState.closed, use_enum_instance=False)


def _from(*states: CaseState, but: CaseState | None = None) -> list[State]:
    """The machine's states for ``states``, leaving out ``but``."""
    return [getattr(_S, st.value) for st in states if st is not but]


# Sources of the moves open to a case once it has fallen due.
_AFTER_DUE = tuple(st for st in OPEN_STATES if st is not CaseState.performing)
_BEFORE_PRESSURE = (CaseState.overdue, CaseState.internal_review, CaseState.visit)


class LoanCase(StateMachine):
    """One loan's collection case. Events carry ``on`` (business date), ``by`` (actor),
    ``reason``, and the inputs the guards judge (``approval``, ``guarantees``, ``rating_ok``,
    ``viable_product``, ``has_plan``, ``balance_fen``). Each event names its target and the
    states it may leave (DOMAIN.md §2)."""

    s = _S

    fall_due = s.overdue.from_(s.performing)
    review = s.internal_review.from_(s.overdue)
    dispatch = s.visit.from_(s.overdue, s.internal_review)
    press = s.guarantor_pressure.from_(*_from(*_BEFORE_PRESSURE), validators="require_liable_guarantor")
    sue = s.litigation.from_(*_from(*_AFTER_DUE, but=CaseState.litigation), validators="require_approval")
    sign_plan = s.installment.from_(*_from(*_AFTER_DUE, but=CaseState.installment), validators="require_plan")
    break_plan = s.guarantor_pressure.from_(s.installment, validators="require_liable_guarantor")
    # issue 15 rule 6: a broken plan with no guarantor still liable goes back to visit (the rung
    # the agreement interrupted; dispatch leaves only overdue and internal review), where it
    # awaits an approved suit: installment is a side track, so it needs a move of its own.
    plan_lapsed = s.visit.from_(s.installment)
    revitalize = s.revitalization.from_(s.internal_review, s.visit, s.guarantor_pressure, validators="require_revitalization_terms")
    settle = s.closed.from_(*_from(*OPEN_STATES), validators="require_zero_balance")
    write_off = s.closed.from_(*_from(*_AFTER_DUE), validators="require_approval")

    # --- validators: raise CaseRefused naming the rule -------------------------------------
    def require_approval(self, event: str, approval: Approval | None = None) -> None:
        if approval is None or not (approval.approved_by or "").strip():
            raise CaseRefused(f"{event}: needs an approval by a second person ({{approved_by}})")
        if not approval.valid:
            raise CaseRefused(f"{event}: the approver must not be the requester ({approval.requested_by})")

    def require_liable_guarantor(
        self, event: str, on: date | None = None, guarantees: Iterable[GuaranteeStatus] = ()
    ) -> None:
        if not self.has_liable_guarantor(on, guarantees):
            raise CaseRefused(f"{event}: no guarantor is still liable on {on}")

    def require_plan(self, has_plan: bool = False) -> None:
        if not has_plan:
            raise CaseRefused("sign_plan: an installment agreement needs a signed schedule")

    def require_revitalization_terms(
        self, approval: Approval | None = None, rating_ok: bool = False, viable_product: bool = False
    ) -> None:
        if not rating_ok:
            raise CaseRefused("revitalize: the borrower's credit rating is below the policy threshold")
        if not viable_product:
            raise CaseRefused("revitalize: the loan's product is not one the policy deems viable")
        self.require_approval("revitalize", approval)

    def require_zero_balance(self, balance_fen: int | None = None, closed_reason: str | None = None) -> None:
        if balance_fen is None or balance_fen != 0:
            raise CaseRefused("settle: the balance has not reached zero")
        if closed_reason not in SETTLED_REASONS:
            raise CaseRefused(f"settle: the closing reason must be one of {', '.join(SETTLED_REASONS)}")

    # --- side-effect-free predicates -------------------------------------------------------
    @staticmethod
    def has_liable_guarantor(on: date | None, guarantees: Iterable[GuaranteeStatus]) -> bool:
        return on is not None and any(g.liable_on(on) for g in guarantees)

    # --- actions on the model (never a session) ---------------------------------------------
    def after_transition(self, event: str, target: State, on: date | None = None, closed_reason: str | None = None) -> None:
        self.model.state_entered_on = on
        if target.value == CaseState.closed.value:
            self.model.closed_reason = ClosedReason.written_off.value if event == "write_off" else closed_reason
        if target.value == CaseState.litigation.value and getattr(self.model, "sued_on", None) is None:
            self.model.sued_on = on

    # --- the service's entry point -----------------------------------------------------------
    def fire(self, event: str, **kwargs: Any) -> None:
        """Send ``event``; a move the machine does not have raises CaseRefused saying so."""
        try:
            self.send(event, **kwargs)
        except TransitionNotAllowed:
            raise CaseRefused(f"{event}: not allowed from state {self.model.state}") from None


EVENTS = tuple(e.id for e in LoanCase.events)  # type: ignore[attr-defined]  # a list on the class, typed as the instance method
# Every declared move, read from the machine itself: (source state, event) → target state.
TRANSITIONS: dict[tuple[str, str], str] = {
    (t.source.value, str(event)): t.target.value for state in LoanCase.states for t in state.transitions for event in t.events
}


def allows(event: str, source: str | CaseState) -> bool:
    """``LoanCase`` declares ``event`` from ``source`` (its guards may still refuse it)."""
    return (CaseState(source).value, event) in TRANSITIONS


class UndeclaredMove(LookupError):
    """A rule asked for a move the machine does not declare (a programming error, never data)."""


def target_of(event: str, source: str | CaseState) -> CaseState:
    """Where ``event`` takes a case in state ``source``, as ``LoanCase`` declares it."""
    source = CaseState(source).value
    try:
        return CaseState(TRANSITIONS[(source, event)])
    except KeyError:
        raise UndeclaredMove(f"{event}: the machine declares no such move from {source}") from None


class _Rebindable:
    """Delegates attribute access to the row it is currently bound to."""

    __slots__ = ("_target",)

    def __init__(self, target: Any) -> None:
        object.__setattr__(self, "_target", target)

    def __getattr__(self, name: str) -> Any:
        return getattr(object.__getattribute__(self, "_target"), name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(object.__getattribute__(self, "_target"), name, value)


class _Blank:
    loan_id = ""
    state = CaseState.performing.value
    state_entered_on = closed_reason = sued_on = None


class CaseBinder:
    """One machine reused for many loan rows, one at a time.

    Building a ``LoanCase`` costs a few milliseconds (its callbacks are resolved per instance);
    the machine reads and writes the state through its model on every event, so the daily run
    builds one per chunk and rebinds it to each case that moves.
    """

    def __init__(self, listeners_for: Callable[[Callable[[], str]], list[Any]]):
        self._model = _Rebindable(_Blank())
        self.machine = LoanCase(self._model, state_field="state", listeners=listeners_for(lambda: self._model.loan_id))

    def bind(self, row: Any) -> LoanCase:
        object.__setattr__(self._model, "_target", row)
        return self.machine


def event_for_target(source: str, target: str) -> str:
    """The event that moves a case from ``source`` to ``target`` (manual escalation)."""
    by_target = {
        CaseState.internal_review: "review",
        CaseState.visit: "plan_lapsed" if source == CaseState.installment.value else "dispatch",
        CaseState.guarantor_pressure: "break_plan" if source == CaseState.installment.value else "press",
        CaseState.litigation: "sue",
        CaseState.installment: "sign_plan",
        CaseState.revitalization: "revitalize",
    }
    try:
        target_state = CaseState(target)
    except ValueError:
        raise CaseRefused(f"unknown state {target!r}; states: {', '.join(s.value for s in CaseState)}") from None
    if target_state is CaseState.closed:
        raise CaseRefused("a case closes by payment (npl pay) or by an approved write-off (npl write-off)")
    if target_state is CaseState.performing:
        raise CaseRefused("a case never moves back to performing")
    if target_state is CaseState.overdue:
        raise CaseRefused("a case enters overdue by its dates (the daily run), not by hand")
    return by_target[target_state]
