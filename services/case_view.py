"""One case, read whole: the read model behind `npl show` and the Prefect case views.

``show`` returns a ``CaseDetail`` (money ``Decimal``, dates ``date``) in the order and with the
names of CONTRACT.md's `npl show --json` (a field's ``json`` metadata names it where Python
cannot); the edges format it. Nothing here writes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import select

from machines.escalation import state_deadline
from machines.policy import Policy
from models.domain.deadlines import enforcement_apply_by, foreclosed_dispose_by, limitation_end
from models.domain.errors import NotFound
from models.domain.money import from_fen
from models.store import UnitOfWork, get_loan, last_run_date
from models.tables import Borrower, Collateral, History
from services.case_common import AS_FROM, Balance, policy_or_default
from services.views import CaseLoader, balances_as_of, days_past_due_on, guarantee_of


@dataclass(frozen=True)
class GuaranteeDeadline:
    guarantor: str
    type: str
    period_end: date
    demanded_on: date | None


@dataclass(frozen=True)
class Deadlines:
    state_deadline: date | None
    guarantees: tuple[GuaranteeDeadline, ...]
    limitation_end: date
    enforcement_apply_by: date | None


@dataclass(frozen=True)
class HistoryEntry:
    from_state: str = field(metadata=AS_FROM)
    to: str
    event: str
    on: date
    by: str
    reason: str | None
    approved_by: str | None


@dataclass(frozen=True)
class BorrowerDetail:
    name: str | None
    id_number: str | None
    phone: str | None
    employer: str | None
    employer_type: str | None
    credit_rating: str | None


@dataclass(frozen=True)
class PlanDetail:
    monthly: Decimal
    first_due: date
    total: Decimal


@dataclass(frozen=True)
class GuaranteeLimitation:
    guarantor: str
    limitation_end: date


@dataclass(frozen=True)
class AssetTakenDetail:
    asset: str
    taken_on: date
    dispose_by: date
    disposed_on: date | None


@dataclass(frozen=True)
class CaseDetail:
    loan_id: str
    state: str
    closed_reason: str | None
    classification: str | None
    dpd: int
    as_of: date | None
    balance: Balance
    assigned_to: str | None
    deadlines: Deadlines
    history: tuple[HistoryEntry, ...]
    # extensions
    borrower: BorrowerDetail
    origin: str
    product: str
    maturity_on: date
    awaiting_approval: str | None
    awaiting_reason: str | None
    urgent: bool
    plan: PlanDetail | None
    next_event_on: date | None
    # the preserved guarantee debts' own limitation (Art. 694): when each ends unless interrupted
    guarantee_limitations: tuple[GuaranteeLimitation, ...]
    assets_taken: tuple[AssetTakenDetail, ...]


def show(uow: UnitOfWork, loan_id: str, *, policy: Policy | None = None, reveal: bool = False) -> CaseDetail:
    """One case as of the last business date run; personal numbers masked unless ``reveal``."""
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
    closed = loan.state == "closed"
    assets = s.scalars(select(Collateral).where(Collateral.loan_id == loan_id, Collateral.taken_on.is_not(None))
                       .order_by(Collateral.taken_on, Collateral.asset_id))
    return CaseDetail(
        loan_id=loan.loan_id,
        state=loan.state,
        closed_reason=loan.closed_reason,
        classification=loan.classification,
        dpd=days_past_due_on(loan, as_of, view.oldest_unpaid_line_due) if not closed else 0,
        as_of=as_of,
        balance=Balance.of(owed),
        assigned_to=loan.assigned_to,
        deadlines=Deadlines(
            state_deadline=deadline if deadline and not closed else None,
            guarantees=tuple(
                GuaranteeDeadline(g.name, g.guarantee_type, guarantee_of(g, loan).period_end, g.demanded_on) for g in guarantors
            ),
            limitation_end=limitation_end(loan.maturity_on, [loan.limitation_start] if loan.limitation_start else []),
            enforcement_apply_by=enforcement_apply_by(judgments[0].perform_by) if judgments else None,
        ),
        history=tuple(HistoryEntry(h.from_state, h.to_state, h.event, h.on, h.by, h.reason, h.approved_by) for h in history),
        borrower=BorrowerDetail(
            name=borrower.name if borrower else None,
            id_number=(borrower.id_number if reveal else mask_id(borrower.id_number)) if borrower else None,
            phone=(borrower.phone if reveal else mask_phone(borrower.phone)) if borrower else None,
            employer=borrower.employer if borrower else None,
            employer_type=borrower.employer_type if borrower else None,
            credit_rating=borrower.credit_rating if borrower else None,
        ),
        origin=loan.origin,
        product=loan.product,
        maturity_on=loan.maturity_on,
        awaiting_approval=loan.awaiting_approval,
        awaiting_reason=loan.awaiting_reason,
        urgent=loan.urgent,
        plan=PlanDetail(from_fen(plan_row.monthly_fen), plan_row.first_due, from_fen(plan_row.total_fen)) if plan_row else None,
        next_event_on=loan.next_event_on,
        guarantee_limitations=tuple(
            GuaranteeLimitation(g.name, end) for g in guarantors if (end := guarantee_of(g, loan).debt_limitation_end()) is not None
        ),
        assets_taken=tuple(AssetTakenDetail(a.asset_id, a.taken_on, foreclosed_dispose_by(a.taken_on), a.disposed_on) for a in assets),
    )
