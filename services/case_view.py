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
from sqlalchemy.orm import Session

from typing import Any

from machines.escalation import state_deadline
from machines.policy import Policy
from machines.rules.clocks import clocks as clocks_of
from models.domain.dates import days_between
from models.domain.deadlines import foreclosed_dispose_by
from models.domain.errors import NotFound
from models.domain.money import from_fen
from models.store import UnitOfWork, get_loan, last_run_date
from models.tables import Action, Borrower, Collateral, History, Payment
from services.case_common import AS_FROM, Allocation, Balance, money_or_none, policy_or_default
from services.restructuring import restructured_detail
from services.views import CaseLoader, balances_as_of, days_past_due_on


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
class PaymentDetail:
    """A payment received: how it was allocated, who paid it, who recorded it, and the core
    system's transaction reference when it came from the nightly feed."""

    on: date
    amount: Decimal
    payer: str
    allocation: Allocation
    by: str
    reference: str | None


@dataclass(frozen=True)
class ActionDetail:
    """Something done on the case: a visit, a promise (``status`` open, kept or broken), a
    demand, a cost, a freeze, a court step, an asset taken or sold, and every request a second
    person decided (``approval_granted`` from the history, ``approval_rejected``): ``by`` is who
    acted (for a decision, the approver), ``target`` whom or what it concerned."""

    kind: str
    on: date
    by: str
    outcome: str | None
    target: str | None
    amount: Decimal | None
    due_on: date | None
    status: str | None
    detail: str | None


@dataclass(frozen=True)
class RestructuredDetail:
    """A restructured asset (2023 measures Arts. 17, 20): agreed ``on``, its (last restarted)
    observation period, and the ``floor`` it sets while the observation runs (null after)."""

    on: date
    observation_from: date
    observation_until: date
    floor: str | None


@dataclass(frozen=True)
class Deadline:
    on: date
    what: str


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
    payments: tuple[PaymentDetail, ...]  # oldest first
    actions: tuple[ActionDetail, ...]  # oldest first
    # every legal clock with its status from the recorded acts (CONTRACT.md `clocks`)
    clocks: tuple[dict[str, Any], ...] = ()
    # issue 15: a closed case has no classification (null) but the one it had at close; a
    # restructured asset's observation period and floor (null when never restructured)
    classification_at_close: str | None = None
    restructured: RestructuredDetail | None = None


def next_deadline(case: CaseDetail) -> Deadline | None:
    """The case's nearest date that something must happen by, from its as-of date on: the
    state's deadline, a guarantee period not yet preserved, a limitation period, an enforcement
    application, the disposal of an asset taken in settlement. A closed case has only the last."""
    open_ = case.state != "closed"
    d = case.deadlines
    candidates: list[Deadline] = []
    if open_:
        if d.state_deadline is not None:
            candidates.append(Deadline(d.state_deadline, f"{case.state}: state deadline"))
        running = {(c["clock"], c["party"]) for c in case.clocks if c["status"] in ("live", "interrupted")}
        candidates += [Deadline(g.period_end, f"guarantee period of {g.guarantor}") for g in d.guarantees
                       if ("guarantee_period", g.guarantor) in running]
        if ("limitation", "borrower") in running:
            candidates.append(Deadline(d.limitation_end, "limitation period"))
        if d.enforcement_apply_by is not None:
            candidates.append(Deadline(d.enforcement_apply_by, "enforcement application"))
        candidates += [Deadline(g.limitation_end, f"guarantee debt limitation of {g.guarantor}") for g in case.guarantee_limitations]
    candidates += [Deadline(a.dispose_by, f"disposal of asset {a.asset}") for a in case.assets_taken if a.disposed_on is None]
    ahead = [c for c in candidates if case.as_of is None or c.on >= case.as_of]
    return min(ahead, key=lambda c: c.on) if ahead else None


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
    # acts may be dated the day after the last run: the clocks count them on show
    day = max([as_of or loan.accrued_to, *(a.on for a in loader.acts.get(loan_id, []))])
    view = loader.view(loan, day, policy) if day != (as_of or loan.accrued_to) else view
    legal = clocks_of(view, day)  # the old `deadlines` are read from the same clocks
    limitation = next(c for c in legal if c.clock == "limitation")
    history = list(s.scalars(select(History).where(History.loan_id == loan_id).order_by(History.id)))
    borrower = s.get(Borrower, loan.borrower_id)
    plan_row = loader.plans.get(loan_id)
    closed = loan.state == "closed"
    assets = s.scalars(select(Collateral).where(Collateral.loan_id == loan_id, Collateral.taken_on.is_not(None))
                       .order_by(Collateral.taken_on, Collateral.asset_id))
    taken = tuple(AssetTakenDetail(a.asset_id, a.taken_on, foreclosed_dispose_by(a.taken_on), a.disposed_on) for a in assets)
    return CaseDetail(
        loan_id=loan.loan_id,
        state=loan.state,
        closed_reason=loan.closed_reason,
        classification=None if closed else loan.classification,
        dpd=days_past_due_on(loan, as_of, view.oldest_unpaid_line_due) if not closed else 0,
        as_of=as_of,
        balance=Balance.of(owed),
        assigned_to=loan.assigned_to,
        deadlines=Deadlines(
            state_deadline=deadline if deadline and not closed else None,
            guarantees=tuple(GuaranteeDeadline(g.name, g.kind.value, g.status.period_end,
                                               g.status.act_done_on if g.status.party == g.name else None)
                             for g in view.guarantees),
            limitation_end=limitation.status.end,
            enforcement_apply_by=next((c.status.end for c in legal if c.clock == "enforcement_application"
                                       and c.status.status.value != "preserved"), None),
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
            GuaranteeLimitation(g.name, end) for g in view.guarantees if (end := g.status.debt_limitation_end()) is not None
        ),
        assets_taken=taken,
        payments=payments_of(s, loan_id),
        actions=actions_of(s, loan_id, history),
        clocks=tuple(c.as_dict() for c in legal) + tuple(asset_clock(a, day) for a in taken),
        classification_at_close=(loan.classification_at_close or loan.classification) if closed else None,
        restructured=RestructuredDetail(**r) if (r := restructured_detail(loan, as_of)) else None,
    )


def asset_clock(a: AssetTakenDetail, day: date) -> dict[str, Any]:
    """An asset taken in settlement must be disposed of within two years (Commercial Bank Law
    Art. 42): whatever became of the case, the bank's own clock."""
    rule = "Commercial Bank Law Art. 42"
    if a.disposed_on is not None:
        status = "preserved" if a.disposed_on <= a.dispose_by else "lapsed"
        act = {"kind": "disposal", "method": None, "on": a.disposed_on.isoformat(), "evidence": f"asset {a.asset} disposed of"}
        return {"clock": "foreclosed_asset", "party": a.asset, "status": status, "end": a.dispose_by.isoformat(), "rule": rule, "act": act}
    if day > a.dispose_by:
        return {"clock": "foreclosed_asset", "party": a.asset, "status": "lapsed", "end": a.dispose_by.isoformat(), "rule": rule, "act": None}
    return {"clock": "foreclosed_asset", "party": a.asset, "status": "live", "end": a.dispose_by.isoformat(),
            "days_left": days_between(day, a.dispose_by), "rule": rule, "act": None}


def payments_of(s: Session, loan_id: str) -> tuple[PaymentDetail, ...]:
    rows = s.scalars(select(Payment).where(Payment.loan_id == loan_id).order_by(Payment.paid_on, Payment.id))
    return tuple(
        PaymentDetail(
            on=p.paid_on, amount=from_fen(p.amount_fen),
            payer=f"guarantor:{p.guarantor_name}" if p.payer == "guarantor" else p.payer,
            allocation=Allocation.of_fen(p.costs_fen, p.penalty_fen, p.interest_fen, p.principal_fen, p.compound_fen, p.delayed_fen),
            by=p.recorded_by,
            reference=p.reference,
        )
        for p in rows
    )


def actions_of(s: Session, loan_id: str, history: list[History]) -> tuple[ActionDetail, ...]:
    recorded = [
        ActionDetail(a.kind, a.on, a.by, a.outcome, a.target, money_or_none(a.amount_fen), a.due_on, a.status, a.detail)
        for a in s.scalars(select(Action).where(Action.loan_id == loan_id).order_by(Action.on, Action.id))
    ]
    approved = [
        ActionDetail("approval_granted", h.on, h.approved_by, "approved", h.to_state, None, None, None,
                     f"{h.by} asked to move {h.from_state} → {h.to_state}: {h.reason}")
        for h in history if h.approved_by
    ]
    return tuple(sorted(recorded + approved, key=lambda a: a.on))  # stable: a day's records, then its approvals
