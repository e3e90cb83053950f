"""Single-case services: plain functions taking a unit of work, returning plain values.

Each binds the case machine to the loan row, applies the domain rules, writes history through
the audit listener, and commits once. They are what the `npl` command and the Prefect
operations deployments call. Refusals raise RuleViolation (CLI exit 1), bad input BadInput (2).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import wraps
from typing import Any, Callable, TypeVar

from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from machines.audit import AuditListener, Transition
from machines.escalation import CLOSED_REASON_BY_PAYER, INSIDER_ORIGINS, state_deadline
from machines.loan_case import Approval, CaseRefused, CaseState, LoanCase, event_for_target, ladder_rank
from machines.policy import Policy, load_policy
from models.daily_sql import LoanRecord
from models.domain.allocation import Balances, allocate
from models.domain.classification import Category
from models.domain.dates import add_days, add_months
from models.domain.deadlines import enforcement_apply_by, foreclosed_dispose_by, limitation_end
from models.domain.errors import BadInput, ConcurrentUpdate, NotFound, RuleViolation
from models.domain.money import fmt, to_fen
from models.domain.schedule import apply_to_lines, schedule
from models.store import UnitOfWork, get_loan, last_run_date
from models.tables import Action, Borrower, Collateral, Guarantor, History, Judgment, Loan, Officer, Payment, Plan, PlanLine
from services.views import CaseLoader, balances_as_of, days_past_due_on, guarantee_of

T = TypeVar("T")
RETRIES = 3


def retry_on_conflict(fn: Callable[..., T]) -> Callable[..., T]:
    """Run a service again when a concurrent writer changed the case; refuse after RETRIES."""

    @wraps(fn)
    def wrapper(uow: UnitOfWork, *args: Any, **kwargs: Any) -> T:
        for attempt in range(RETRIES):
            try:
                return fn(uow, *args, **kwargs)
            except (StaleDataError, OperationalError) as exc:
                uow.rollback()
                if isinstance(exc, OperationalError) and "lock" not in str(exc).lower() and "deadlock" not in str(exc).lower():
                    raise
                if attempt == RETRIES - 1:
                    raise ConcurrentUpdate(
                        "the case was changed by someone else at the same time; nothing was written — try again"
                    ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    return wrapper


# --- helpers shared by the services ---------------------------------------------------------------


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
            raise BadInput("--on is required: the daily flow has not run yet")
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
        raise BadInput("--reason must say why")
    return reason.strip()


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


def require_open(loan: Loan) -> None:
    if loan.state == CaseState.closed.value:
        raise RuleViolation(f"loan {loan.loan_id} is closed ({loan.closed_reason})")


def require_operator(name: str | None, what: str = "--by") -> str:
    if not name or not name.strip():
        raise BadInput(f"{what} must name the operator")
    if len(name) > 64:
        raise BadInput(f"{what} is longer than 64 characters")
    return name.strip()


def touch(loan: Loan, session: Session, on: date) -> None:
    """Make sure the next daily run looks at the case."""
    last = last_run_date(session)
    nxt = add_days(last, 1) if last else on
    loan.touched = True
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
    loan.awaiting_approval = None
    loan.awaiting_reason = None
    loan.urgent = False
    loan.next_event_on = None
    release_officer_if_done(session, loan)


def policy_or_default(policy: Policy | None) -> Policy:
    return policy or load_policy()


# --- the services ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PaymentResult:
    loan_id: str
    paid_on: date
    amount_fen: int
    payer: str
    allocation: dict[str, int]
    balance_after: Balances
    state: str
    closed_reason: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "loan_id": self.loan_id,
            "paid_on": self.paid_on.isoformat(),
            "amount": fmt(self.amount_fen),
            "payer": self.payer,
            "allocation": {k: fmt(v) for k, v in self.allocation.items()},
            "balance_after": {
                "principal": fmt(self.balance_after.principal),
                "interest": fmt(self.balance_after.interest),
                "penalty": fmt(self.balance_after.penalty),
                "costs": fmt(self.balance_after.costs),
                "total": fmt(self.balance_after.total),
            },
            "state": self.state,
            "closed_reason": self.closed_reason,
        }


def parse_payer(payer: str) -> tuple[str, str | None]:
    if payer in ("borrower", "court"):
        return payer, None
    if payer.startswith("guarantor:") and payer.removeprefix("guarantor:").strip():
        return "guarantor", payer.removeprefix("guarantor:").strip()
    raise BadInput(f"--payer must be borrower, court or guarantor:NAME (got {payer!r})")


@retry_on_conflict
def pay(
    uow: UnitOfWork, loan_id: str, amount: Decimal, *, on: date | None = None, payer: str = "borrower",
    by: str = "operator", policy: Policy | None = None,
) -> PaymentResult:
    """Record a payment, allocated costs → penalty → interest → principal; close at zero."""
    by = require_operator(by)
    policy = policy_or_default(policy)
    s = uow.session
    kind, guarantor_name = parse_payer(payer)
    amount_fen = to_fen(amount)
    if amount_fen <= 0:
        raise BadInput(f"a payment must be positive (got {amount})")
    loan, on = open_case(s, loan_id, on)
    result = apply_payment(s, loan, on, amount_fen, kind, guarantor_name, by, policy)
    uow.commit()
    return result


def apply_payment(
    s: Session, loan: Loan, on: date, amount_fen: int, kind: str, guarantor_name: str | None, by: str, policy: Policy,
    reason: str | None = None,
) -> PaymentResult:
    """Apply an amount received on ``on`` to the open case (costs → penalty → interest →
    principal, plan lines oldest first); close the case at zero. The caller commits."""
    loan_id = loan.loan_id
    guarantor = None
    if guarantor_name is not None:
        guarantor = find_guarantor(s, loan_id, guarantor_name)
    owed = balances_as_of(loan, on, policy)
    if amount_fen > owed.total:
        raise RuleViolation(f"overpayment refused: {fmt(amount_fen)} exceeds the balance of {fmt(owed.total)} on {on}")
    alloc = allocate(amount_fen, owed)
    after = owed.minus(alloc.applied)
    state_at_payment = loan.state
    loan.outstanding_principal_fen = after.principal
    loan.overdue_principal_fen = max(0, min(loan.overdue_principal_fen - alloc.principal, after.principal))
    loan.interest_fen, loan.penalty_fen, loan.costs_fen = after.interest, after.penalty, after.costs
    loan.accrued_to = max(loan.accrued_to, on)
    loan.last_payment_on = max(loan.last_payment_on or on, on)
    if kind == "borrower":  # a part payment is the debtor's consent: it interrupts limitation
        loan.limitation_start = max(loan.limitation_start or on, on)
    if guarantor is not None:
        interrupt_guarantee_limitation(guarantor, on)
        if guarantor.account_balance_fen is not None:
            guarantor.account_balance_fen = max(0, guarantor.account_balance_fen - amount_fen)
    s.add(Payment(
        loan_id=loan_id, paid_on=on, amount_fen=amount_fen, payer=kind, guarantor_name=guarantor_name,
        costs_fen=alloc.costs, penalty_fen=alloc.penalty, interest_fen=alloc.interest, principal_fen=alloc.principal,
        state_at_payment=state_at_payment, recorded_by=by,
    ))
    plan = s.scalars(select(Plan).where(Plan.loan_id == loan_id, Plan.status == "active")).first()
    if plan is not None:
        lines = list(s.scalars(select(PlanLine).where(PlanLine.plan_id == plan.id).order_by(PlanLine.seq)))
        paid = apply_to_lines([ln.paid_fen for ln in lines], [ln.amount_fen for ln in lines], amount_fen)
        for ln, new in zip(lines, paid):
            ln.paid_fen = new
        if all(ln.paid_fen >= ln.amount_fen for ln in lines):
            plan.status, plan.ended_on = "completed", on
    if after.total == 0:  # a back-dated final payment closes the case no earlier than its last move
        close(s, loan, bind(s, loan), "settle", max(on, loan.state_entered_on or on), by=by, reason=reason or f"paid off by {kind}",
              balance_fen=0, closed_reason=CLOSED_REASON_BY_PAYER[kind])
        if plan is not None and plan.status == "active":
            plan.status, plan.ended_on = "completed", on
    else:
        touch(loan, s, on)
    return PaymentResult(loan_id, on, amount_fen, kind if kind != "guarantor" else f"guarantor:{guarantor_name}",
                         {"costs": alloc.costs, "penalty": alloc.penalty, "interest": alloc.interest, "principal": alloc.principal},
                         after, loan.state, loan.closed_reason)


VISIT_OUTCOMES = ("contacted", "promise", "refused", "not_found")


@retry_on_conflict
def visit(
    uow: UnitOfWork, loan_id: str, *, on: date | None = None, outcome: str, promise_amount: Decimal | None = None,
    promise_date: date | None = None, employer: bool = False, by: str = "operator",
) -> dict[str, Any]:
    """Record a home / business visit, or one at the borrower's unit (employer pressure)."""
    by = require_operator(by)
    if outcome not in VISIT_OUTCOMES:
        raise BadInput(f"--outcome must be one of {', '.join(VISIT_OUTCOMES)} (got {outcome!r})")
    if outcome == "promise":
        if promise_amount is None or promise_date is None:
            raise BadInput("a promise needs --promise-amount and --promise-date")
        if to_fen(promise_amount) <= 0:
            raise BadInput("--promise-amount must be positive")
    elif promise_amount is not None or promise_date is not None:
        raise BadInput("--promise-amount and --promise-date go with --outcome promise")
    s = uow.session
    loan, on = open_case(s, loan_id, on)
    kind = "employer_visit" if employer else "visit"
    s.add(Action(loan_id=loan_id, kind=kind, on=on, by=by, outcome=outcome))
    if outcome == "promise":
        assert promise_date is not None and promise_amount is not None
        if promise_date < on:
            raise RuleViolation(f"the promised date {promise_date} is before the visit ({on})")
        s.add(Action(loan_id=loan_id, kind="promise", on=on, by=by, amount_fen=to_fen(promise_amount), due_on=promise_date, status="open"))
    if employer:
        loan.employer_pressure = True
    touch(loan, s, on)
    uow.commit()
    return {"loan_id": loan_id, "on": on.isoformat(), "kind": kind, "outcome": outcome}


@retry_on_conflict
def demand(uow: UnitOfWork, loan_id: str, *, on: date | None = None, guarantor: str | None = None, by: str = "operator") -> dict[str, Any]:
    """Record a written demand on the borrower (interrupts limitation) or on a guarantor
    (preserves a joint guarantee when made within its period)."""
    by = require_operator(by)
    s = uow.session
    loan, on = open_case(s, loan_id, on)
    if guarantor is not None:
        g = find_guarantor(s, loan_id, guarantor)
        if on < loan.maturity_on:
            raise RuleViolation(f"a demand on the guarantor before the debt falls due ({loan.maturity_on}) does not preserve the guarantee")
        if g.demanded_on is None or g.demanded_on > on:
            g.demanded_on = on
        interrupt_guarantee_limitation(g, on)
    else:
        loan.limitation_start = max(loan.limitation_start or on, on)
    s.add(Action(loan_id=loan_id, kind="demand", on=on, by=by, target=guarantor, outcome="issued"))
    touch(loan, s, on)
    uow.commit()
    return {"loan_id": loan_id, "on": on.isoformat(), "demand_on": guarantor or "borrower"}


@retry_on_conflict
def cost(
    uow: UnitOfWork, loan_id: str, amount: Decimal, *, what: str, on: date | None = None, by: str = "operator",
) -> dict[str, Any]:
    """Record a recoverable cost the bank paid on the case (court fees, preservation fees,
    appraisal): it is added to what the borrower owes and is paid first (Civil Code Art. 561);
    no interest accrues on it."""
    by = require_operator(by)
    what = (what or "").strip()
    if not what:
        raise BadInput("--what must say what the cost was (e.g. court fee)")
    if len(what) > 200:
        raise BadInput("--what is longer than 200 characters")
    amount_fen = to_fen(amount)
    if amount_fen <= 0:
        raise BadInput(f"a cost must be positive (got {amount})")
    s = uow.session
    loan, on = open_case(s, loan_id, on)
    loan.costs_fen += amount_fen
    s.add(Action(loan_id=loan_id, kind="cost", on=on, by=by, amount_fen=amount_fen, detail=what))
    touch(loan, s, on)
    uow.commit()
    return {"loan_id": loan_id, "on": on.isoformat(), "cost": fmt(amount_fen), "what": what, "costs_owed": fmt(loan.costs_fen)}


def record_rejection(
    uow: UnitOfWork, loan_id: str, *, to: str, reason: str, requested_by: str, rejected_by: str, comment: str = "",
    on: date | None = None,
) -> dict[str, Any]:
    """A second person rejected a requested move: the case does not move, and its actions keep
    who asked for what and why, who rejected it and why. Dated as the move would have been (the
    given date, else the last business date run, else the date the case entered its state)."""
    rejected_by = require_operator(rejected_by, "approver")
    s = uow.session
    loan = load_case(s, loan_id)
    on = on or last_run_date(s) or loan.state_entered_on or loan.disbursed_on
    detail = f"{requested_by} asked to move {loan.state} → {to}: {reason}; rejected by {rejected_by}" + (
        f": {comment.strip()}" if comment.strip() else "")
    s.add(Action(loan_id=loan_id, kind="approval_rejected", on=on, by=rejected_by, target=to, outcome="rejected", detail=detail))
    uow.commit()
    return {"loan_id": loan_id, "on": on.isoformat(), "to": to, "rejected_by": rejected_by, "detail": detail}


def approval_for(by: str, approved_by: str | None) -> Approval:
    approver = require_operator(approved_by, "--approved-by") if approved_by and approved_by.strip() else None
    return Approval(requested_by=by, approved_by=approver)


@retry_on_conflict
def plan(
    uow: UnitOfWork, loan_id: str, *, monthly: Decimal, first_due: date, on: date | None = None, by: str = "operator",
    policy: Policy | None = None,
) -> dict[str, Any]:
    """Sign an installment agreement: the balance on the signing date, in monthly lines."""
    by = require_operator(by)
    policy = policy_or_default(policy)
    s = uow.session
    loan, on = case_for_move(s, loan_id, on)
    if first_due <= on:
        raise RuleViolation(f"the first installment ({first_due}) must fall due after the signing date ({on})")
    owed = balances_as_of(loan, on, policy)
    try:
        lines = schedule(owed.total, to_fen(monthly), first_due)
    except ValueError as exc:
        raise BadInput(str(exc)) from None
    machine = bind(s, loan)
    source = loan.state
    machine.fire("sign_plan", on=on, by=by, reason=f"installment agreement: {fmt(to_fen(monthly))} a month from {first_due}", has_plan=True)
    loan.interest_fen, loan.penalty_fen = owed.interest, owed.penalty
    loan.accrued_to, loan.accrual_stopped = on, True
    loan.limitation_start = max(loan.limitation_start or on, on)  # the debtor's consent interrupts
    loan.restructured_on = on
    if Category(loan.classification).non_performing:  # restructured NPL: observation floor
        loan.observation_until = add_months(on, policy.observation_months)
    loan.awaiting_approval = loan.awaiting_reason = None
    agreement = Plan(loan_id=loan_id, signed_on=on, monthly_fen=to_fen(monthly), first_due=first_due, total_fen=owed.total)
    s.add(agreement)
    s.flush()
    s.add_all(PlanLine(plan_id=agreement.id, seq=ln.seq, due_on=ln.due_on, amount_fen=ln.amount_fen) for ln in lines)
    touch(loan, s, on)
    warnings = []
    for g in s.scalars(select(Guarantor).where(Guarantor.loan_id == loan_id)):
        status = guarantee_of(g, loan)
        if not g.consent_to_change and lines[-1].due_on > status.period_end and not status.preserved:
            warnings.append(f"the plan runs past the guarantee period of {g.name} ({status.period_end}) without the guarantor's written consent")
    uow.commit()
    return {"loan_id": loan_id, "from": source, "to": loan.state, "lines": len(lines), "total": fmt(owed.total),
            "last_due": lines[-1].due_on.isoformat(), "warnings": warnings}


@retry_on_conflict
def escalate(
    uow: UnitOfWork, loan_id: str, *, to: str, reason: str, by: str, on: date | None = None,
    approved_by: str | None = None, policy: Policy | None = None,
) -> dict[str, Any]:
    """Manual escalation to a later rung (or a side track); litigation and revitalization need a
    second person's approval."""
    policy = policy_or_default(policy)
    by = require_operator(by)
    reason = require_reason(reason)
    if to not in {state.value for state in CaseState}:  # a typo is bad input (exit 2), not a refusal
        raise BadInput(f"--to: unknown state {to!r}; states: {', '.join(state.value for state in CaseState)}")
    s = uow.session
    loan, on = case_for_move(s, loan_id, on)
    source = loan.state
    event = event_for_target(source, to)
    if event == "sign_plan":
        raise RuleViolation("an installment agreement is signed with `npl plan` (it needs a schedule)")
    src_rank, dst_rank = ladder_rank(source), ladder_rank(to)
    if src_rank is not None and dst_rank is not None and dst_rank <= src_rank:
        raise CaseRefused(f"{source} → {to}: a case never moves back down the ladder")
    approval = approval_for(by, approved_by)
    kwargs: dict[str, Any] = {"on": on, "by": by, "reason": reason, "approval": approval}
    if event in ("press", "break_plan"):
        loader = CaseLoader(s, [loan])
        kwargs["guarantees"] = [guarantee_of(g, loan) for g in loader.guarantors.get(loan_id, [])]
    if event == "revitalize":
        borrower = s.get(Borrower, loan.borrower_id)
        kwargs["rating_ok"] = policy.rating_ok(borrower.credit_rating if borrower else None)
        kwargs["viable_product"] = loan.product in policy.revitalization_products
    machine = bind(s, loan)
    machine.fire(event, **kwargs)
    if event == "break_plan":
        _end_plan(s, loan, on, "broken")
    if loan.awaiting_approval and (loan.awaiting_approval == event or event in ("sue",)):
        loan.awaiting_approval = loan.awaiting_reason = None
        loan.urgent = False
    touch(loan, s, on)
    uow.commit()
    return {"loan_id": loan_id, "from": source, "to": loan.state, "event": event, "by": by, "approved_by": approval.approved_by}


def _end_plan(s: Session, loan: Loan, on: date, status: str) -> None:
    agreement = s.scalars(select(Plan).where(Plan.loan_id == loan.loan_id, Plan.status == "active")).first()
    if agreement is not None:
        agreement.status, agreement.ended_on = status, on
    loan.accrual_stopped = False
    loan.accrued_to = max(loan.accrued_to, on)


@retry_on_conflict
def freeze(
    uow: UnitOfWork, loan_id: str, *, on: date | None = None, asset: str | None = None, guarantor: str | None = None,
    authority: str | None = None, by: str = "operator",
) -> dict[str, Any]:
    """Record a freeze / seal of collateral or a guarantor's account through the enforcement authority."""
    by = require_operator(by)
    if (asset is None) == (guarantor is None):
        raise BadInput("name exactly one of --asset or --guarantor")
    if authority is not None and len(authority) > 200:
        raise BadInput("--authority is longer than 200 characters")
    s = uow.session
    loan, on = open_case(s, loan_id, on)
    if asset is not None:
        item = find_asset(s, loan_id, asset)
        if item.status == "sold":
            raise RuleViolation(f"asset {asset} was already sold")
        if item.taken_on is not None:
            raise RuleViolation(f"asset {asset} was taken in settlement on {item.taken_on}: it is the bank's own")
        item.status, item.frozen_on, item.authority = ("sealed" if authority else "frozen"), on, authority
        target = asset
    else:
        g = find_guarantor(s, loan_id, guarantor)
        g.frozen_on = on
        target = guarantor
    s.add(Action(loan_id=loan_id, kind="freeze_request", on=on, by=by, target=target, detail=authority))
    touch(loan, s, on)
    uow.commit()
    return {"loan_id": loan_id, "on": on.isoformat(), "frozen": target, "authority": authority}


def find_asset(s: Session, loan_id: str, asset: str) -> Collateral:
    item = s.scalars(select(Collateral).where(Collateral.loan_id == loan_id, Collateral.asset_id == asset)).first()
    if item is None:
        raise NotFound(f"loan {loan_id} has no collateral {asset!r}")
    return item


@retry_on_conflict
def take_asset(
    uow: UnitOfWork, loan_id: str, *, asset: str, value: Decimal, on: date | None = None, payer: str | None = None,
    by: str = "operator", policy: Policy | None = None,
) -> dict[str, Any]:
    """Settlement in kind: the bank takes a collateral asset at an agreed value. The value is
    applied to the debt as a payment by the asset's owner (``payer``: borrower, or
    guarantor:NAME for a guarantor's asset) and the asset's disposal clock starts
    (Commercial Bank Law Art. 42: dispose of it within two years)."""
    by = require_operator(by)
    policy = policy_or_default(policy)
    value_fen = to_fen(value)
    if value_fen <= 0:
        raise BadInput(f"--value must be positive (got {value})")
    s = uow.session
    loan, on = open_case(s, loan_id, on)
    item = find_asset(s, loan_id, asset)
    if item.taken_on is not None:
        raise RuleViolation(f"asset {asset} was already taken in settlement")
    if item.status == "sold":
        raise RuleViolation(f"asset {asset} was already sold")
    if payer is None:
        if item.owner != "borrower":
            raise BadInput(f"asset {asset} is a guarantor's: name the payer as --payer guarantor:NAME")
        payer = "borrower"
    kind, guarantor_name = parse_payer(payer)
    if kind == "court":
        raise BadInput("--payer: an asset is taken from its owner, the borrower or a guarantor, not from a court deduction")
    result = apply_payment(s, loan, on, value_fen, kind, guarantor_name, by, policy, reason=f"settled in kind: asset {asset}")
    dispose_by = foreclosed_dispose_by(on)
    item.status, item.taken_on = "taken", on
    s.add(Action(loan_id=loan_id, kind="asset_taken", on=on, by=by, target=asset, amount_fen=value_fen, due_on=dispose_by,
                 detail=f"taken in settlement at {fmt(value_fen)}; dispose of by {dispose_by} (Commercial Bank Law Art. 42)"))
    uow.commit()
    return {**result.as_dict(), "asset": asset, "dispose_by": dispose_by.isoformat()}


@retry_on_conflict
def dispose_asset(
    uow: UnitOfWork, loan_id: str, *, asset: str, on: date | None = None, proceeds: Decimal | None = None, by: str = "operator",
) -> dict[str, Any]:
    """The bank has sold (disposed of) an asset it took in settlement: its disposal clock stops.
    The case may be closed by then; the asset is the bank's own property."""
    by = require_operator(by)
    proceeds_fen = to_fen(proceeds) if proceeds is not None else None
    if proceeds_fen is not None and proceeds_fen < 0:
        raise BadInput(f"--proceeds must not be negative (got {proceeds})")
    s = uow.session
    loan = load_case(s, loan_id)
    on = event_date(s, loan, on)
    item = find_asset(s, loan_id, asset)
    if item.taken_on is None:
        raise RuleViolation(f"asset {asset} was not taken in settlement: record that first (npl take-asset)")
    if item.disposed_on is not None:
        raise RuleViolation(f"asset {asset} was already disposed of on {item.disposed_on}")
    if on < item.taken_on:
        raise RuleViolation(f"{on} is before the asset was taken in settlement ({item.taken_on})")
    item.status, item.disposed_on = "sold", on
    deadline = foreclosed_dispose_by(item.taken_on)
    late = on > deadline
    s.add(Action(loan_id=loan_id, kind="asset_disposed", on=on, by=by, target=asset, amount_fen=proceeds_fen,
                 detail="disposed of" + (f" for {fmt(proceeds_fen)}" if proceeds_fen is not None else "")
                 + (f", after the deadline {deadline}" if late else "")))
    uow.commit()
    return {"loan_id": loan_id, "asset": asset, "disposed_on": on.isoformat(),
            "proceeds": fmt(proceeds_fen) if proceeds_fen is not None else None, "late": late}


@retry_on_conflict
def revitalize(
    uow: UnitOfWork, loan_id: str, *, credit: Decimal, on: date | None = None, by: str, approved_by: str | None,
    reason: str | None = None, policy: Policy | None = None,
) -> dict[str, Any]:
    """Strategy 6: further credit to a viable borrower; rating threshold and a second person's approval."""
    policy = policy_or_default(policy)
    by = require_operator(by)
    credit_fen = to_fen(credit)
    if credit_fen <= 0:
        raise BadInput("--credit must be positive")
    s = uow.session
    loan, on = case_for_move(s, loan_id, on)
    borrower = s.get(Borrower, loan.borrower_id)
    source = loan.state
    approval = approval_for(by, approved_by)
    bind(s, loan).fire(
        "revitalize", on=on, by=by, reason=reason or f"further credit of {fmt(credit_fen)}", approval=approval,
        rating_ok=policy.rating_ok(borrower.credit_rating if borrower else None),
        viable_product=loan.product in policy.revitalization_products,
    )
    s.add(Action(loan_id=loan_id, kind="revitalization_credit", on=on, by=by, amount_fen=credit_fen,
                 detail=f"approved by {approval.approved_by}"))
    loan.awaiting_approval = loan.awaiting_reason = None
    touch(loan, s, on)
    uow.commit()
    return {"loan_id": loan_id, "from": source, "to": loan.state, "credit": fmt(credit_fen), "approved_by": approval.approved_by}


@retry_on_conflict
def judgment(
    uow: UnitOfWork, loan_id: str, *, on: date | None = None, amount: Decimal, perform_by: date, by: str = "operator",
) -> dict[str, Any]:
    """Record a court judgment (the case must be in litigation)."""
    by = require_operator(by)
    amount_fen = to_fen(amount)
    if amount_fen <= 0:
        raise BadInput("--amount must be positive")
    s = uow.session
    loan, on = open_case(s, loan_id, on)
    if loan.state != CaseState.litigation.value:
        raise RuleViolation(f"a judgment is recorded for a case in litigation (this one is {loan.state})")
    if perform_by < on:
        raise RuleViolation(f"the performance date {perform_by} is before the judgment ({on})")
    s.add(Judgment(loan_id=loan_id, judged_on=on, amount_fen=amount_fen, perform_by=perform_by))
    s.add(Action(loan_id=loan_id, kind="judgment", on=on, by=by, amount_fen=amount_fen, due_on=perform_by))
    touch(loan, s, on)
    uow.commit()
    return {"loan_id": loan_id, "judged_on": on.isoformat(), "amount": fmt(amount_fen),
            "perform_by": perform_by.isoformat(), "enforcement_apply_by": enforcement_apply_by(perform_by).isoformat()}


@retry_on_conflict
def enforce(uow: UnitOfWork, loan_id: str, *, on: date | None = None, by: str = "operator") -> dict[str, Any]:
    """Record the application for court enforcement of the latest judgment."""
    by = require_operator(by)
    s = uow.session
    loan, on = open_case(s, loan_id, on)
    j = s.scalars(select(Judgment).where(Judgment.loan_id == loan_id, Judgment.enforcement_applied_on.is_(None)).order_by(Judgment.id)).first()
    if j is None:
        raise RuleViolation(f"loan {loan_id} has no judgment awaiting an enforcement application")
    if on < j.judged_on:
        raise RuleViolation(f"the application ({on}) cannot precede the judgment ({j.judged_on})")
    j.enforcement_applied_on = on
    s.add(Action(loan_id=loan_id, kind="enforcement_application", on=on, by=by, target=str(j.id)))
    loan.urgent = False
    touch(loan, s, on)
    uow.commit()
    late = on > enforcement_apply_by(j.perform_by)
    return {"loan_id": loan_id, "applied_on": on.isoformat(), "judgment": j.id, "late": late}


@retry_on_conflict
def write_off(
    uow: UnitOfWork, loan_id: str, *, on: date | None = None, reason: str, by: str, approved_by: str | None,
    policy: Policy | None = None,
) -> dict[str, Any]:
    """Close as written off with a second person's approval; the claim stays on record."""
    policy = policy_or_default(policy)
    by = require_operator(by)
    reason = require_reason(reason)
    s = uow.session
    loan, on = case_for_move(s, loan_id, on)
    source = loan.state
    approval = approval_for(by, approved_by)
    owed = balances_as_of(loan, on, policy)  # the whole claim on the write-off date stays on record
    loan.interest_fen, loan.penalty_fen = owed.interest, owed.penalty
    loan.accrued_to = max(loan.accrued_to, on)
    close(s, loan, bind(s, loan), "write_off", on, by=by, reason=reason, approval=approval)
    uow.commit()
    return {"loan_id": loan_id, "from": source, "to": loan.state, "closed_reason": loan.closed_reason, "approved_by": approval.approved_by}


# --- show ------------------------------------------------------------------------------------------


def show(uow: UnitOfWork, loan_id: str, *, policy: Policy | None = None, reveal: bool = False) -> dict[str, Any]:
    """One case in CONTRACT.md's shape (plus extension keys)."""
    from models.privacy import mask_id, mask_phone

    policy = policy_or_default(policy)
    s = uow.session
    loan = get_loan(s, loan_id)
    if loan is None:
        raise NotFound(f"loan {loan_id} not found")
    as_of = last_run_date(s)
    owed = balances_as_of(loan, as_of, policy)
    loader = CaseLoader(s, [loan])
    view = loader.view(loan, as_of or loan.accrued_to, policy)
    deadline = state_deadline(view, policy)
    guarantors = loader.guarantors.get(loan_id, [])
    judgments = [j for j in loader.judgments.get(loan_id, []) if j.enforcement_applied_on is None]
    history = s.scalars(select(History).where(History.loan_id == loan_id).order_by(History.id))
    borrower = s.get(Borrower, loan.borrower_id)
    plan_row = loader.plans.get(loan_id)
    return {
        "loan_id": loan.loan_id,
        "state": loan.state,
        "closed_reason": loan.closed_reason,
        "classification": loan.classification,
        "dpd": days_past_due_on(loan, as_of, view.oldest_unpaid_line_due) if loan.state != "closed" else 0,
        "as_of": as_of.isoformat() if as_of else None,
        "balance": {
            "principal": fmt(owed.principal), "interest": fmt(owed.interest), "penalty": fmt(owed.penalty),
            "costs": fmt(owed.costs), "total": fmt(owed.total),
        },
        "assigned_to": loan.assigned_to,
        "deadlines": {
            "state_deadline": deadline.isoformat() if deadline and loan.state != "closed" else None,
            "guarantees": [
                {
                    "guarantor": g.name, "type": g.guarantee_type,
                    "period_end": guarantee_of(g, loan).period_end.isoformat(),
                    "demanded_on": g.demanded_on.isoformat() if g.demanded_on else None,
                }
                for g in guarantors
            ],
            "limitation_end": limitation_end(loan.maturity_on, [loan.limitation_start] if loan.limitation_start else []).isoformat(),
            "enforcement_apply_by": enforcement_apply_by(judgments[0].perform_by).isoformat() if judgments else None,
        },
        "history": [
            {"from": h.from_state, "to": h.to_state, "event": h.event, "on": h.on.isoformat(), "by": h.by,
             "reason": h.reason, "approved_by": h.approved_by}
            for h in history
        ],
        # extensions
        "borrower": {
            "name": borrower.name if borrower else None,
            "id_number": (borrower.id_number if reveal else mask_id(borrower.id_number)) if borrower else None,
            "phone": (borrower.phone if reveal else mask_phone(borrower.phone)) if borrower else None,
            "employer": borrower.employer if borrower else None,
            "employer_type": borrower.employer_type if borrower else None,
            "credit_rating": borrower.credit_rating if borrower else None,
        },
        "origin": loan.origin,
        "product": loan.product,
        "maturity_on": loan.maturity_on.isoformat(),
        "awaiting_approval": loan.awaiting_approval,
        "awaiting_reason": loan.awaiting_reason,
        "urgent": loan.urgent,
        "plan": {"monthly": fmt(plan_row.monthly_fen), "first_due": plan_row.first_due.isoformat(), "total": fmt(plan_row.total_fen)} if plan_row else None,
        "next_event_on": loan.next_event_on.isoformat() if loan.next_event_on else None,
        # the preserved guarantee debts' own limitation (Art. 694): when each ends unless interrupted
        "guarantee_limitations": [
            {"guarantor": g.name, "limitation_end": end.isoformat()}
            for g in guarantors if (end := guarantee_of(g, loan).debt_limitation_end()) is not None
        ],
        "assets_taken": [
            {"asset": a.asset_id, "taken_on": a.taken_on.isoformat(), "dispose_by": foreclosed_dispose_by(a.taken_on).isoformat(),
             "disposed_on": a.disposed_on.isoformat() if a.disposed_on else None}
            for a in s.scalars(select(Collateral).where(Collateral.loan_id == loan_id, Collateral.taken_on.is_not(None))
                               .order_by(Collateral.taken_on, Collateral.asset_id))
        ],
    }
