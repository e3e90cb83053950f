"""Single-case services that move a case by decision: an installment agreement, a manual
escalation, revitalization, a write-off, and a second person's rejection of a requested move.

Moves to litigation, revitalization and write-off need a second person's approval (the case
machine checks it). Results are typed (money ``Decimal``, dates ``date``); the edges format.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from machines.loan_case import CaseRefused, CaseState, event_for_target, ladder_rank
from machines.policy import Policy
from models.domain.classification import Category, worst
from models.domain.dates import add_days, add_months
from models.domain.errors import BadInput, RuleViolation
from models.domain.money import fmt, from_fen, to_fen
from models.domain.schedule import schedule
from models.store import UnitOfWork, last_run_date
from models.tables import Action, Borrower, Guarantor, Loan, Plan, PlanLine
from services.case_common import (
    AS_FROM,
    bind,
    case_for_move,
    close,
    load_case,
    policy_or_default,
    require_reason,
    retry_on_conflict,
    touch,
)
from services import bounds
from services.acting import actor, approval as approval_of, once
from services.operation_keys import finish, idempotent
from services.operators import ApprovalRefused
from services.restructuring import non_performing_on, record_missed_installment, restructure
from services.views import CaseLoader, balances_as_of, days_past_due_on, guarantee_of

# --- results --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanSigned:
    loan_id: str
    from_state: str = field(metadata=AS_FROM)
    to: str
    lines: int
    total: Decimal
    last_due: date
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class Moved:
    loan_id: str
    from_state: str = field(metadata=AS_FROM)
    to: str
    event: str
    by: str
    approved_by: str | None


@dataclass(frozen=True)
class Revitalized:
    loan_id: str
    from_state: str = field(metadata=AS_FROM)
    to: str
    credit: Decimal
    approved_by: str | None
    # issue 15 rule 5: the credit booked as a loan of its own (None in results recorded before)
    credit_loan_id: str | None = None
    rate: str | None = None  # the annual rate fraction as text ("0.072"): not money, never rounded to fen
    maturity_on: date | None = None


@dataclass(frozen=True)
class WrittenOff:
    loan_id: str
    from_state: str = field(metadata=AS_FROM)
    to: str
    closed_reason: str | None
    approved_by: str | None


@dataclass(frozen=True)
class Rejected:
    loan_id: str
    on: date
    to: str
    rejected_by: str
    detail: str


# --- the services ---------------------------------------------------------------------------------


@idempotent("rejection")
@once
def record_rejection(
    uow: UnitOfWork, loan_id: str, *, to: str, reason: str, requested_by: str, rejected_by: str, comment: str = "",
    on: date | None = None, otp: str | None = None, policy: Policy | None = None,
) -> Rejected:
    """A second person rejected a requested move: the case does not move, and its actions keep
    who asked for what and why, who rejected it and why. Dated as the move would have been (the
    given date, else the last business date run, else the date the case entered its state)."""
    # the rejection is the second person's decision: checked as an approval is (a manager other
    # than the requester, with their one-time password) before anything is written
    requested_by = actor(uow, requested_by)
    decision = approval_of(uow, requested_by, rejected_by or "", otp, policy, "approved_by")
    if not decision.approved_by:
        raise BadInput("{approved_by} must name the operator")
    if not decision.valid:
        raise ApprovalRefused(f"the approver must not be the requester ({requested_by}): only a second person rejects")
    rejected_by = decision.approved_by
    s = uow.session
    loan = load_case(s, loan_id)
    on = on or last_run_date(s) or loan.state_entered_on or loan.disbursed_on
    detail = f"{requested_by} asked to move {loan.state} → {to}: {reason}; rejected by {rejected_by}" + (
        f": {comment.strip()}" if comment.strip() else "")
    s.add(Action(loan_id=loan_id, kind="approval_rejected", on=on, by=rejected_by, target=to, outcome="rejected", detail=detail))
    return finish(uow, Rejected(loan_id, on, to, rejected_by, detail))


@idempotent("plan")
@once
@retry_on_conflict
def plan(
    uow: UnitOfWork, loan_id: str, *, monthly: Decimal, first_due: date, on: date | None = None, by: str = "operator",
    policy: Policy | None = None,
) -> PlanSigned:
    """Sign an installment agreement: the balance on the signing date, in monthly lines."""
    by = actor(uow, by)
    policy = policy_or_default(policy)
    bounds.amount(policy, to_fen(monthly), "monthly")
    s = uow.session
    loan, on = case_for_move(s, loan_id, on)
    if first_due <= on:
        raise RuleViolation(f"the first installment ({first_due}) must fall due after the signing date ({on})")
    owed = balances_as_of(loan, on, policy)
    if owed.total > 0 and to_fen(monthly) > 0:  # the plan's length and end, bounded before it is built or written
        count = -(-owed.total // to_fen(monthly))
        bounds.plan_end(policy, count, add_months(first_due, count - 1), on)
    dpd_before = days_past_due_on(loan, on)
    try:
        lines = schedule(owed.total, to_fen(monthly), first_due)
    except ValueError as exc:
        raise BadInput(str(exc)) from None
    machine = bind(s, loan)
    source = loan.state
    machine.fire("sign_plan", on=on, by=by, reason=f"installment agreement: {fmt(to_fen(monthly))} a month from {first_due}", has_plan=True)
    loan.interest_fen, loan.penalty_fen = owed.interest, owed.penalty
    loan.compound_fen, loan.delayed_fen = owed.compound, owed.delayed
    loan.accrued_to, loan.accrual_stopped = on, True
    loan.limitation_start = max(loan.limitation_start or on, on)  # the debtor's consent interrupts
    # a restructured asset from the agreement (2023 measures Arts. 17, 20; issue 15 rule 1)
    restructure(loan, on, [ln.due_on for ln in lines], dpd=dpd_before, policy=policy)
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
    return finish(uow, PlanSigned(loan_id, source, loan.state, len(lines), from_fen(owed.total), lines[-1].due_on, tuple(warnings)))


@idempotent("escalation")
@once
@retry_on_conflict
def escalate(
    uow: UnitOfWork, loan_id: str, *, to: str, reason: str, by: str, on: date | None = None,
    approved_by: str | None = None, otp: str | None = None, policy: Policy | None = None,
) -> Moved:
    """Manual escalation to a later rung (or a side track); litigation and revitalization need a
    second person's approval."""
    policy = policy_or_default(policy)
    by = actor(uow, by)
    reason = require_reason(reason)
    if to not in {state.value for state in CaseState}:  # a typo is bad input (exit 2), not a refusal
        raise BadInput(f"{{to}}: unknown state {to!r}; states: {', '.join(state.value for state in CaseState)}")
    approval = approval_of(uow, by, approved_by, otp, policy)  # before the first write
    s = uow.session
    loan, on = case_for_move(s, loan_id, on)
    source = loan.state
    event = event_for_target(source, to)
    if event == "sign_plan":
        raise RuleViolation("an installment agreement is signed with `npl plan` (it needs a schedule)")
    src_rank, dst_rank = ladder_rank(source), ladder_rank(to)
    if src_rank is not None and dst_rank is not None and dst_rank <= src_rank:
        raise CaseRefused(f"{source} → {to}: a case never moves back down the ladder")
    kwargs: dict[str, Any] = {"on": on, "by": by, "reason": reason, "approval": approval}
    if event in ("press", "break_plan", "plan_lapsed"):
        loader = CaseLoader(s, [loan])
        kwargs["guarantees"] = [guarantee_of(g, loan) for g in loader.guarantors.get(loan_id, [])]
    if event == "revitalize":
        borrower = s.get(Borrower, loan.borrower_id)
        kwargs["rating_ok"] = policy.rating_ok(borrower.credit_rating if borrower else None)
        kwargs["viable_product"] = loan.product in policy.revitalization_products
    machine = bind(s, loan)
    machine.fire(event, **kwargs)
    if event in ("break_plan", "plan_lapsed"):
        missed = s.execute(select(func.min(PlanLine.due_on)).join(Plan, Plan.id == PlanLine.plan_id).where(
            Plan.loan_id == loan_id, Plan.status == "active", PlanLine.paid_fen < PlanLine.amount_fen, PlanLine.due_on < on)).scalar()
        _end_plan(s, loan, on, "broken")
        record_missed_installment(s, loan, missed, policy)  # issue 15 rule 1: a missed installment restarts observation
    if loan.awaiting_approval and (loan.awaiting_approval == event or event in ("sue",)):
        loan.awaiting_approval = loan.awaiting_reason = None
        loan.urgent = False
    touch(loan, s, on)
    return finish(uow, Moved(loan_id, source, loan.state, event, by, approval.approved_by))


def _end_plan(s: Session, loan: Loan, on: date, status: str) -> None:
    agreement = s.scalars(select(Plan).where(Plan.loan_id == loan.loan_id, Plan.status == "active")).first()
    if agreement is not None:
        agreement.status, agreement.ended_on = status, on
    loan.accrual_stopped = False
    loan.accrued_to = max(loan.accrued_to, on)


@idempotent("revitalization")
@once
@retry_on_conflict
def revitalize(
    uow: UnitOfWork, loan_id: str, *, credit: Decimal, on: date | None = None, by: str, approved_by: str | None,
    reason: str | None = None, otp: str | None = None, rate: Decimal | None = None, maturity: date | None = None, policy: Policy | None = None,
) -> Revitalized:
    """Strategy 6: further credit to a viable borrower; rating threshold and a second person's approval.

    The credit is a loan of its own (issue 15 rule 5), ``<LOAN>-R<n>``: ``rate`` an annual
    fraction (default: the old loan's rate), one repayment at ``maturity`` (default: the policy's
    ``limits.revitalization_term`` days after ``on``, the term after which the daily run asks for
    an approved suit on the old debt if it is still unpaid). A refinancing of a debtor in
    difficulty is a restructured asset (2023 measures Art. 17): observed from its maturity, at
    least substandard while the old debt is non-performing. It has its own case and clocks."""
    policy = policy_or_default(policy)
    by = actor(uow, by)
    credit_fen = to_fen(credit)
    if credit_fen <= 0:
        raise BadInput("{credit} must be positive")
    rate_ppm = None
    if rate is not None:
        if not Decimal(0) <= rate <= Decimal(1) or rate != rate.quantize(Decimal("0.000001")):
            raise BadInput(f"{{rate}} must be an annual fraction between 0 and 1 with at most six decimals, e.g. 0.0657 (got {rate})")
        rate_ppm = int(rate * 1_000_000)
    bounds.amount(policy, credit_fen, "credit")
    approval = approval_of(uow, by, approved_by, otp, policy)  # before the first write
    s = uow.session
    loan, on = case_for_move(s, loan_id, on)
    maturity = maturity or add_days(on, policy.limit("revitalization_term"))
    if maturity <= on:
        raise BadInput(f"{{maturity}} ({maturity}) must be after the credit's date ({on})")
    dpd_before = days_past_due_on(loan, on)
    borrower = s.get(Borrower, loan.borrower_id)
    source = loan.state
    bind(s, loan).fire(
        "revitalize", on=on, by=by, reason=reason or f"further credit of {fmt(credit_fen)}", approval=approval,
        rating_ok=policy.rating_ok(borrower.credit_rating if borrower else None),
        viable_product=loan.product in policy.revitalization_products,
    )
    credit_loan = book_credit(s, loan, on, credit_fen, rate_ppm if rate_ppm is not None else loan.rate_ppm, maturity, dpd_before,
                              policy)
    s.add(Action(loan_id=loan_id, kind="revitalization_credit", on=on, by=by, amount_fen=credit_fen, target=credit_loan.loan_id,
                 detail=f"approved by {approval.approved_by}; booked as loan {credit_loan.loan_id} due {maturity}"))
    loan.awaiting_approval = loan.awaiting_reason = None
    touch(loan, s, on)
    return finish(uow, Revitalized(loan_id, source, loan.state, from_fen(credit_fen), approval.approved_by, credit_loan.loan_id,
                                   rate_text(credit_loan.rate_ppm), maturity))


def rate_text(rate_ppm: int) -> str:
    """An annual rate in ppm as a plain fraction: 72000 → "0.072"."""
    text = f"{rate_ppm // 1_000_000}.{rate_ppm % 1_000_000:06d}".rstrip("0")
    return text + "0" if text.endswith(".") else text


def book_credit(s: Session, parent: Loan, on: date, credit_fen: int, rate_ppm: int, maturity: date, parent_dpd: int,
                policy: Policy) -> Loan:
    """The revitalization credit as a loan ``<parent>-R<n>``, linked to the parent (issue 15 rule 5)."""
    n = 1 + (s.execute(select(func.count()).select_from(Loan).where(Loan.parent_loan_id == parent.loan_id)).scalar_one())
    credit = Loan(
        loan_id=f"{parent.loan_id}-R{n}", borrower_id=parent.borrower_id, principal_fen=credit_fen, rate_ppm=rate_ppm,
        disbursed_on=on, maturity_on=maturity, product=parent.product, origin=parent.origin, officer_id=parent.officer_id,
        introduced_by=parent.introduced_by, assigned_to=parent.assigned_to, outstanding_principal_fen=credit_fen,
        overdue_principal_fen=0, interest_fen=0, penalty_fen=0, costs_fen=0, accrued_to=on, accrual_stopped=False,
        state="performing", classification=parent.classification, parent_loan_id=parent.loan_id,
    )
    s.add(credit)
    # restructured while the old debt is non-performing: at least substandard (its observation from
    # its one repayment date, the maturity); the old loan's days past due decide, as for a plan
    restructure(credit, on, [maturity], dpd=parent_dpd, policy=policy)
    if non_performing_on(parent, parent_dpd):
        credit.classification = worst(Category(credit.classification), Category.substandard).value
    touch(credit, s, on)
    return credit


@idempotent("write_off")
@once
@retry_on_conflict
def write_off(
    uow: UnitOfWork, loan_id: str, *, on: date | None = None, reason: str, by: str, approved_by: str | None,
    otp: str | None = None, policy: Policy | None = None,
) -> WrittenOff:
    """Close as written off with a second person's approval; the claim stays on record."""
    policy = policy_or_default(policy)
    by = actor(uow, by)
    reason = require_reason(reason)
    approval = approval_of(uow, by, approved_by, otp, policy)  # before the first write
    s = uow.session
    loan, on = case_for_move(s, loan_id, on)
    source = loan.state
    owed = balances_as_of(loan, on, policy)  # the whole claim on the write-off date stays on record
    loan.interest_fen, loan.penalty_fen = owed.interest, owed.penalty
    loan.compound_fen, loan.delayed_fen = owed.compound, owed.delayed
    loan.accrued_to = max(loan.accrued_to, on)
    close(s, loan, bind(s, loan), "write_off", on, by=by, reason=reason, approval=approval)
    return finish(uow, WrittenOff(loan_id, source, loan.state, loan.closed_reason, approval.approved_by))
