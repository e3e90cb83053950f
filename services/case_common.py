"""What the single-case services share: retries on a lock conflict, loading and checking the
case, dates, operators, and the results' common parts.

Messages name input fields as ``{field}`` (see ``models.domain.errors``); each edge words them.
Results carry money as ``Decimal`` and dates as ``date``; the edges format them.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import wraps
from typing import Any, Callable, TypeVar

from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from machines.audit import AuditListener, Transition
from machines.escalation import INSIDER_ORIGINS
from machines.loan_case import Approval, CaseState, LoanCase
from machines.policy import Policy, load_policy
from models.domain.allocation import Balances
from models.domain.dates import add_days
from models.domain.errors import BadInput, ConcurrentUpdate, NotFound, RuleViolation
from models.domain.money import from_fen
from models.daily_sql import LoanRecord
from models.store import UnitOfWork, get_loan, last_run_date
from models.tables import Guarantor, History, Loan, Officer

T = TypeVar("T")
RETRIES = 3

# The contract's JSON name of a result field whose Python name differs (``from`` is a keyword).
AS_FROM = {"json": "from"}


# --- lock conflicts ---------------------------------------------------------------------------------

_SQLITE_CONFLICTS = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})


def _postgres_conflicts() -> tuple[type[BaseException], ...]:
    try:
        from psycopg import errors
    except ImportError:  # pragma: no cover - psycopg is installed with the project
        return ()
    return (errors.LockNotAvailable, errors.SerializationFailure, errors.DeadlockDetected)


def is_lock_conflict(exc: BaseException) -> bool:
    """Whether a database error means another writer held the rows: told by the driver's
    exception type and error code, never by the message's text. SQLite: SQLITE_BUSY or
    SQLITE_LOCKED (primary code, the low byte of an extended one); PostgreSQL: lock not
    available, serialization failure, deadlock detected."""
    if isinstance(exc, StaleDataError):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    orig = exc.orig
    if isinstance(orig, sqlite3.Error):
        code = getattr(orig, "sqlite_errorcode", None)
        return code is not None and (code & 0xFF) in _SQLITE_CONFLICTS
    conflicts = _postgres_conflicts()
    return bool(conflicts) and isinstance(orig, conflicts)


def retry_on_conflict(fn: Callable[..., T]) -> Callable[..., T]:
    """Run a service again when a concurrent writer changed or held the case; refuse after RETRIES."""

    @wraps(fn)
    def wrapper(uow: UnitOfWork, *args: Any, **kwargs: Any) -> T:
        for attempt in range(RETRIES):
            try:
                return fn(uow, *args, **kwargs)
            except (StaleDataError, DBAPIError) as exc:
                uow.rollback()
                if not is_lock_conflict(exc):
                    raise
                if attempt == RETRIES - 1:
                    raise ConcurrentUpdate(
                        "the case was changed by someone else at the same time; nothing was written — try again"
                    ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    return wrapper


# --- results' common parts ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Balance:
    """What the borrower owes, in yuan."""

    principal: Decimal
    interest: Decimal
    penalty: Decimal
    costs: Decimal
    total: Decimal
    # issue 15 rule 4: compound interest (PBoC 2003 notice item 三) and the doubled interest for
    # delayed performance of a judgment (Civil Procedure Law Art. 264); both in ``total``
    compound: Decimal = Decimal("0.00")
    delayed: Decimal = Decimal("0.00")

    @classmethod
    def of(cls, b: Balances) -> "Balance":
        return cls(from_fen(b.principal), from_fen(b.interest), from_fen(b.penalty), from_fen(b.costs), from_fen(b.total),
                   from_fen(b.compound), from_fen(b.delayed))


@dataclass(frozen=True)
class Allocation:
    """How a payment was applied, in yuan: costs → penalty → compound → interest → principal,
    then the doubled interest for delayed performance of a judgment (SPC 2014 Art. 4). What
    recording a payment answers, and what a case's page shows of each payment received."""

    costs: Decimal
    penalty: Decimal
    interest: Decimal
    principal: Decimal
    compound: Decimal = Decimal("0.00")
    delayed: Decimal = Decimal("0.00")

    @classmethod
    def of_fen(cls, costs: int, penalty: int, interest: int, principal: int, compound: int, delayed: int) -> "Allocation":
        return cls(from_fen(costs), from_fen(penalty), from_fen(interest), from_fen(principal), from_fen(compound), from_fen(delayed))


def money_or_none(fen: int | None) -> Decimal | None:
    return from_fen(fen) if fen is not None else None


# --- the case and its checks ----------------------------------------------------------------------


def history_recorder(session: Session) -> Callable[[Transition], None]:
    def record(t: Transition) -> None:
        session.add(
            History(
                loan_id=t.loan_id, from_state=t.from_state, to_state=t.to_state, event=t.event,
                on=t.on, by=t.by, reason=t.reason, approved_by=t.approved_by,
            )
        )

    return record


def bind(session: Session, loan: Loan) -> LoanCase:
    """The case machine bound to the loan row, its transitions recorded in the history table."""
    return LoanCase(loan, state_field="state", listeners=[AuditListener(loan.loan_id, history_recorder(session))])


def load_case(session: Session, loan_id: str) -> Loan:
    loan = get_loan(session, loan_id, lock=session.bind.dialect.name == "postgresql")
    if loan is None:
        raise NotFound(f"loan {loan_id} not found")
    return loan


def event_date(session: Session, loan: Loan, on: date | None) -> date:
    """The event's business date: defaults to the last run; never after it plus one day, nor
    before disbursement."""
    last = last_run_date(session)
    if on is None:
        if last is None:
            raise BadInput("{on} is required: the daily flow has not run yet")
        on = last
    if last is not None and on > add_days(last, 1):
        raise RuleViolation(f"{on} is in the future: events may be dated at most one day after the last business date run ({last})")
    if on < loan.disbursed_on:
        raise RuleViolation(f"{on} is before the loan was disbursed ({loan.disbursed_on})")
    return on


def require_not_before_state(loan: Loan, on: date) -> None:
    """A move is never dated before the case entered its current state (history stays in order)."""
    if loan.state_entered_on is not None and on < loan.state_entered_on:
        raise RuleViolation(f"{on} is before the case entered {loan.state} ({loan.state_entered_on}): a move cannot be back-dated past it")


def require_reason(reason: str | None) -> str:
    if not reason or not reason.strip():
        raise BadInput("{reason} must say why")
    return reason.strip()


def require_open(loan: Loan) -> None:
    if loan.state == CaseState.closed.value:
        raise RuleViolation(f"loan {loan.loan_id} is closed ({loan.closed_reason})")


def open_case(s: Session, loan_id: str, on: date | None) -> tuple[Loan, date]:
    """The open case and the event's date, checked: not in the future, not before disbursement."""
    loan = load_case(s, loan_id)
    require_open(loan)
    return loan, event_date(s, loan, on)


def case_for_move(s: Session, loan_id: str, on: date | None) -> tuple[Loan, date]:
    """The open case and the move's date, checked as for any event and, besides, not before the
    case entered its current state."""
    loan, on = open_case(s, loan_id, on)
    require_not_before_state(loan, on)
    return loan, on


def find_guarantor(s: Session, loan_id: str, name: str) -> Guarantor:
    g = s.scalars(select(Guarantor).where(Guarantor.loan_id == loan_id, Guarantor.name == name)).first()
    if g is None:
        raise NotFound(f"loan {loan_id} has no guarantor named {name!r}")
    return g


def interrupt_guarantee_limitation(g: Guarantor, on: date) -> None:
    """A demand on the guarantor or their payment restarts the guarantee debt's limitation
    (Civil Code Arts. 694, 195); one recorded late never moves it back."""
    g.limitation_interrupted_on = max(g.limitation_interrupted_on or on, on)


def require_operator(name: str | None, field: str = "by") -> str:
    if not name or not name.strip():
        raise BadInput(f"{{{field}}} must name the operator")
    if len(name) > 64:
        raise BadInput(f"{{{field}}} is longer than 64 characters")
    return name.strip()


def approval_for(by: str, approved_by: str | None) -> Approval:
    approver = require_operator(approved_by, "approved_by") if approved_by and approved_by.strip() else None
    return Approval(requested_by=by, approved_by=approver)


def touch(loan: Loan, session: Session, on: date) -> None:
    """Make sure the next daily run looks at the case."""
    last = last_run_date(session)
    nxt = add_days(last, 1) if last else on
    loan.touched = True
    loan.clocks_ahead_on = None  # a recorded fact may move where the legal clocks end: read them again
    if loan.next_event_on is None or loan.next_event_on > nxt:
        loan.next_event_on = nxt


def release_officer_if_done(session: Session, loan: LoanRecord) -> None:
    """An officer is released when all their insider cases are closed."""
    if loan.origin not in INSIDER_ORIGINS or not loan.assigned_to:
        return
    officer = session.get(Officer, loan.assigned_to)
    if officer is None or officer.suspended_since is None:
        return
    open_left = session.execute(
        select(func.count()).select_from(Loan).where(
            Loan.assigned_to == officer.officer_id,
            Loan.origin.in_(INSIDER_ORIGINS),
            Loan.state != CaseState.closed.value,
            Loan.loan_id != loan.loan_id,
        )
    ).scalar_one()
    if open_left == 0:
        officer.suspended_since = None


def close(session: Session, loan: Loan, machine: LoanCase, event: str, on: date, **kwargs: Any) -> None:
    machine.fire(event, on=on, **kwargs)
    loan.classification_at_close = loan.classification_at_close or loan.classification  # issue 15 rule 8
    loan.awaiting_approval = None
    loan.awaiting_reason = None
    loan.urgent = False
    loan.next_event_on = None
    release_officer_if_done(session, loan)


def policy_or_default(policy: Policy | None) -> Policy:
    return policy or load_policy()
