"""Single-case services that record an event on a case: payments, visits and promises, demands,
costs, freezes, judgments and enforcement applications, assets taken and disposed of.

Plain functions taking a unit of work and returning a typed result (money as ``Decimal``, dates
as ``date``; the edges format them). Each binds the case machine to the loan row, applies the
domain rules, writes history through the audit listener, and commits once. They are what the
`npl` command and the Prefect operations deployments call. Refusals raise RuleViolation (CLI
exit 1), bad input BadInput (2); messages name input fields as ``{field}``.

Moves that change the case's rung or close it by decision (plan, escalate, revitalize,
write-off, a rejected request) live in ``services.escalations``; one case's read model in
``services.case_view``. Both are re-exported here for the callers that know this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from machines.escalation import CLOSED_REASON_BY_PAYER
from machines.loan_case import CaseState
from machines.policy import Policy
from models.domain.allocation import allocate
from models.domain.deadlines import enforcement_apply_by, foreclosed_dispose_by
from models.domain.errors import BadInput, NotFound, RuleViolation
from models.domain.money import fmt, from_fen, to_fen
from models.domain.schedule import apply_to_lines
from models.store import UnitOfWork
from models.tables import Action, Collateral, Judgment, Loan, Payment, Plan, PlanLine
from services.case_common import (  # noqa: F401 - release_officer_if_done is services.daily's
    Allocation,
    Balance,
    bind,
    close,
    event_date,
    find_guarantor,
    interrupt_guarantee_limitation,
    load_case,
    money_or_none,
    open_case,
    policy_or_default,
    release_officer_if_done,
    require_operator,
    retry_on_conflict,
    touch,
)
from services.case_view import show  # noqa: F401 - re-exported
from services.escalations import escalate, plan, record_rejection, revitalize, write_off  # noqa: F401 - re-exported
from services import bounds
from services.acting import actor
from services.acts import add_act
from services.operation_keys import finish, idempotent
from services.views import balances_as_of

# --- results --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PaymentResult:
    loan_id: str
    paid_on: date
    amount: Decimal
    payer: str
    allocation: Allocation
    balance_after: Balance
    state: str
    closed_reason: str | None


@dataclass(frozen=True)
class AssetTaken(PaymentResult):
    """A settlement in kind: the payment the asset's value made, and its disposal deadline."""

    asset: str = ""
    dispose_by: date | None = None


@dataclass(frozen=True)
class VisitResult:
    loan_id: str
    on: date
    kind: str
    outcome: str


@dataclass(frozen=True)
class DemandResult:
    loan_id: str
    on: date
    demand_on: str


@dataclass(frozen=True)
class CostResult:
    loan_id: str
    on: date
    cost: Decimal
    what: str
    costs_owed: Decimal


@dataclass(frozen=True)
class FreezeResult:
    loan_id: str
    on: date
    frozen: str
    authority: str | None


@dataclass(frozen=True)
class AssetDisposed:
    loan_id: str
    asset: str
    disposed_on: date
    proceeds: Decimal | None
    late: bool


@dataclass(frozen=True)
class JudgmentResult:
    loan_id: str
    judged_on: date
    amount: Decimal
    perform_by: date
    enforcement_apply_by: date


@dataclass(frozen=True)
class EnforcementResult:
    loan_id: str
    applied_on: date
    judgment: int
    late: bool


# --- payments ---------------------------------------------------------------------------------------


def parse_payer(payer: str) -> tuple[str, str | None]:
    if payer in ("borrower", "court"):
        return payer, None
    if payer.startswith("guarantor:") and payer.removeprefix("guarantor:").strip():
        return "guarantor", payer.removeprefix("guarantor:").strip()
    raise BadInput(f"{{payer}} must be borrower, court or guarantor:NAME (got {payer!r})")


@idempotent("payment")
@retry_on_conflict
def pay(
    uow: UnitOfWork, loan_id: str, amount: Decimal, *, on: date | None = None, payer: str = "borrower",
    by: str = "operator", policy: Policy | None = None,
) -> PaymentResult:
    """Record a payment, allocated costs → penalty → compound → interest → principal → delayed; close at zero."""
    by = actor(uow, by)
    policy = policy_or_default(policy)
    s = uow.session
    kind, guarantor_name = parse_payer(payer)
    amount_fen = to_fen(amount)
    if amount_fen <= 0:
        raise BadInput(f"a payment must be positive (got {amount})")
    bounds.amount(policy, amount_fen, "amount")
    loan, on = open_case(s, loan_id, on)
    result = apply_payment(s, loan, on, amount_fen, kind, guarantor_name, by, policy)
    return finish(uow, result)


def apply_payment(
    s: Session, loan: Loan, on: date, amount_fen: int, kind: str, guarantor_name: str | None, by: str, policy: Policy,
    reason: str | None = None,
) -> PaymentResult:
    """Apply an amount received on ``on`` to the open case (costs → penalty → compound →
    interest → principal → delayed, plan lines oldest first); close the case at zero. The caller commits."""
    loan_id = loan.loan_id
    guarantor = None
    if guarantor_name is not None:
        guarantor = find_guarantor(s, loan_id, guarantor_name)
    owed = balances_as_of(loan, on, policy)
    if amount_fen > owed.total:
        raise RuleViolation(f"overpayment refused: {fmt(amount_fen)} exceeds the balance of {fmt(owed.total)} on {on}")
    # Art. 561 order, the doubled delayed-performance interest last: allocate_judgment's order
    # (SPC 2014 interpretation Art. 4), with compound interest a part of its own
    alloc = allocate(amount_fen, owed)
    after = owed.minus(alloc.applied)
    state_at_payment = loan.state
    loan.outstanding_principal_fen = after.principal
    loan.overdue_principal_fen = max(0, min(loan.overdue_principal_fen - alloc.principal, after.principal))
    loan.interest_fen, loan.penalty_fen, loan.costs_fen = after.interest, after.penalty, after.costs
    loan.compound_fen, loan.delayed_fen = after.compound, after.delayed
    performed = alloc.applied.total - alloc.delayed  # the part that performs the judgment's money debt
    if loan.judgment_debt_fen > 0 and performed > 0 and judged_by(s, loan_id, on):
        loan.judgment_debt_fen = max(0, loan.judgment_debt_fen - performed)
    if loan.overdue_principal_fen == 0 and after.interest == 0:
        # every overdue amount paid: days past due count from the oldest amount still unpaid
        # (DOMAIN.md §3; issue 15 rule 2), so from maturity if it has passed with principal
        # unpaid, else nothing is past due (principal and interest all paid → 0: views.days_past_due_on)
        loan.overdue_since = None
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
        compound_fen=alloc.compound, delayed_fen=alloc.delayed, state_at_payment=state_at_payment, recorded_by=by,
    ))
    plan_row = s.scalars(select(Plan).where(Plan.loan_id == loan_id, Plan.status == "active")).first()
    if plan_row is not None:
        lines = list(s.scalars(select(PlanLine).where(PlanLine.plan_id == plan_row.id).order_by(PlanLine.seq)))
        paid = apply_to_lines([ln.paid_fen for ln in lines], [ln.amount_fen for ln in lines], amount_fen)
        for ln, new in zip(lines, paid):
            ln.paid_fen = new
        if all(ln.paid_fen >= ln.amount_fen for ln in lines):
            plan_row.status, plan_row.ended_on = "completed", on
    if after.total == 0:  # a back-dated final payment closes the case no earlier than its last move
        close(s, loan, bind(s, loan), "settle", max(on, loan.state_entered_on or on), by=by, reason=reason or f"paid off by {kind}",
              balance_fen=0, closed_reason=CLOSED_REASON_BY_PAYER[kind])
        if plan_row is not None and plan_row.status == "active":
            plan_row.status, plan_row.ended_on = "completed", on
    else:
        touch(loan, s, on)
    return PaymentResult(
        loan_id, on, from_fen(amount_fen), kind if kind != "guarantor" else f"guarantor:{guarantor_name}",
        Allocation.of_fen(alloc.costs, alloc.penalty, alloc.interest, alloc.principal, alloc.compound, alloc.delayed),
        Balance.of(after), loan.state, loan.closed_reason,
    )


def judged_by(s: Session, loan_id: str, on: date) -> bool:
    """Whether the loan's latest judgment was given on or before ``on``: only a payment from then
    on performs its money debt (an earlier one, back-dated, was part of what the court judged)."""
    judged_on = s.execute(select(Judgment.judged_on).where(Judgment.loan_id == loan_id).order_by(Judgment.id.desc()).limit(1)).scalar()
    return judged_on is not None and judged_on <= on


# --- visits, demands, costs -------------------------------------------------------------------------

VISIT_OUTCOMES = ("contacted", "promise", "refused", "not_found")


@idempotent("visit")
@retry_on_conflict
def visit(
    uow: UnitOfWork, loan_id: str, *, on: date | None = None, outcome: str, promise_amount: Decimal | None = None,
    promise_date: date | None = None, employer: bool = False, by: str = "operator", policy: Policy | None = None,
) -> VisitResult:
    """Record a home / business visit, or one at the borrower's unit (employer pressure)."""
    by = actor(uow, by)
    if outcome not in VISIT_OUTCOMES:
        raise BadInput(f"{{outcome}} must be one of {', '.join(VISIT_OUTCOMES)} (got {outcome!r})")
    if outcome == "promise":
        if promise_amount is None or promise_date is None:
            raise BadInput("a promise needs {promise_amount} and {promise_date}")
        if to_fen(promise_amount) <= 0:
            raise BadInput("{promise_amount} must be positive")
        bounds.amount(policy_or_default(policy), to_fen(promise_amount), "promise_amount")
    elif promise_amount is not None or promise_date is not None:
        raise BadInput("{promise_amount} and {promise_date} go with {outcome} promise")
    s = uow.session
    loan, on = open_case(s, loan_id, on)
    kind = "employer_visit" if employer else "visit"
    if outcome == "promise":  # checked before anything is written
        assert promise_date is not None
        if promise_date < on:
            raise RuleViolation(f"the promised date {promise_date} is before the visit ({on})")
        bounds.promise_date(policy_or_default(policy), promise_date, on)
    s.add(Action(loan_id=loan_id, kind=kind, on=on, by=by, outcome=outcome))
    if outcome == "promise":
        assert promise_date is not None and promise_amount is not None
        s.add(Action(loan_id=loan_id, kind="promise", on=on, by=by, amount_fen=to_fen(promise_amount), due_on=promise_date, status="open"))
    if employer:
        loan.employer_pressure = True
    touch(loan, s, on)
    return finish(uow, VisitResult(loan_id, on, kind, outcome))


@idempotent("demand")
@retry_on_conflict
def demand(
    uow: UnitOfWork, loan_id: str, *, on: date | None = None, guarantor: str | None = None, by: str = "operator",
    method: str = "in_person", tracking: str | None = None,
) -> DemandResult:
    """Record a demand *that took effect* on ``on`` (signed for, arrived, published: SPC
    limitation rules 2020 Art. 8) on the borrower (interrupts limitation) or on a guarantor
    (preserves a joint guarantee when made within its period): a legal act with its evidence
    (``tracking``: the mail tracking or receipt number)."""
    by = actor(uow, by)
    s = uow.session
    loan, on = open_case(s, loan_id, on)
    add_act(s, loan, kind="demand", party=guarantor or "borrower", on=on, by=by, method=method,
            evidence=(tracking or "").strip() or None)
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
    return finish(uow, DemandResult(loan_id, on, guarantor or "borrower"))


@idempotent("cost")
@retry_on_conflict
def cost(
    uow: UnitOfWork, loan_id: str, amount: Decimal, *, what: str, on: date | None = None, by: str = "operator",
) -> CostResult:
    """Record a recoverable cost the bank paid on the case (court fees, preservation fees,
    appraisal): it is added to what the borrower owes and is paid first (Civil Code Art. 561);
    no interest accrues on it."""
    by = actor(uow, by)
    what = (what or "").strip()
    if not what:
        raise BadInput("{what} must say what the cost was (e.g. court fee)")
    if len(what) > 200:
        raise BadInput("{what} is longer than 200 characters")
    amount_fen = to_fen(amount)
    if amount_fen <= 0:
        raise BadInput(f"a cost must be positive (got {amount})")
    bounds.amount(policy_or_default(None), amount_fen, "amount")
    s = uow.session
    loan, on = open_case(s, loan_id, on)
    loan.costs_fen += amount_fen
    s.add(Action(loan_id=loan_id, kind="cost", on=on, by=by, amount_fen=amount_fen, detail=what))
    touch(loan, s, on)
    return finish(uow, CostResult(loan_id, on, from_fen(amount_fen), what, from_fen(loan.costs_fen)))


# --- freezes and assets -------------------------------------------------------------------------------


@idempotent("freeze")
@retry_on_conflict
def freeze(
    uow: UnitOfWork, loan_id: str, *, on: date | None = None, asset: str | None = None, guarantor: str | None = None,
    authority: str | None = None, by: str = "operator",
) -> FreezeResult:
    """Record a freeze / seal of collateral or a guarantor's account through the enforcement authority."""
    by = actor(uow, by)
    if (asset is None) == (guarantor is None):
        raise BadInput("name exactly one of {asset} or {guarantor}")
    if authority is not None and len(authority) > 200:
        raise BadInput("{authority} is longer than 200 characters")
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
        assert guarantor is not None
        g = find_guarantor(s, loan_id, guarantor)
        g.frozen_on = on
        target = guarantor
    s.add(Action(loan_id=loan_id, kind="freeze_request", on=on, by=by, target=target, detail=authority))
    touch(loan, s, on)
    return finish(uow, FreezeResult(loan_id, on, target, authority))


def find_asset(s: Session, loan_id: str, asset: str) -> Collateral:
    item = s.scalars(select(Collateral).where(Collateral.loan_id == loan_id, Collateral.asset_id == asset)).first()
    if item is None:
        raise NotFound(f"loan {loan_id} has no collateral {asset!r}")
    return item


@idempotent("take_asset")
@retry_on_conflict
def take_asset(
    uow: UnitOfWork, loan_id: str, *, asset: str, value: Decimal, on: date | None = None, payer: str | None = None,
    by: str = "operator", policy: Policy | None = None,
) -> AssetTaken:
    """Settlement in kind: the bank takes a collateral asset at an agreed value. The value is
    applied to the debt as a payment by the asset's owner (``payer``: borrower, or
    guarantor:NAME for a guarantor's asset) and the asset's disposal clock starts
    (Commercial Bank Law Art. 42: dispose of it within two years)."""
    by = actor(uow, by)
    policy = policy_or_default(policy)
    value_fen = to_fen(value)
    if value_fen <= 0:
        raise BadInput(f"{{value}} must be positive (got {value})")
    bounds.amount(policy, value_fen, "value")
    s = uow.session
    loan, on = open_case(s, loan_id, on)
    item = find_asset(s, loan_id, asset)
    if item.taken_on is not None:
        raise RuleViolation(f"asset {asset} was already taken in settlement")
    if item.status == "sold":
        raise RuleViolation(f"asset {asset} was already sold")
    if payer is None:
        if item.owner != "borrower":
            raise BadInput(f"asset {asset} is a guarantor's: name the payer as {{payer}} guarantor:NAME")
        payer = "borrower"
    kind, guarantor_name = parse_payer(payer)
    if kind == "court":
        raise BadInput("{payer}: an asset is taken from its owner, the borrower or a guarantor, not from a court deduction")
    paid = apply_payment(s, loan, on, value_fen, kind, guarantor_name, by, policy, reason=f"settled in kind: asset {asset}")
    dispose_by = foreclosed_dispose_by(on)
    item.status, item.taken_on = "taken", on
    s.add(Action(loan_id=loan_id, kind="asset_taken", on=on, by=by, target=asset, amount_fen=value_fen, due_on=dispose_by,
                 detail=f"taken in settlement at {fmt(value_fen)}; dispose of by {dispose_by} (Commercial Bank Law Art. 42)"))
    return finish(uow, AssetTaken(paid.loan_id, paid.paid_on, paid.amount, paid.payer, paid.allocation, paid.balance_after,
                                  paid.state, paid.closed_reason, asset=asset, dispose_by=dispose_by))


@idempotent("dispose_asset")
@retry_on_conflict
def dispose_asset(
    uow: UnitOfWork, loan_id: str, *, asset: str, on: date | None = None, proceeds: Decimal | None = None, by: str = "operator",
) -> AssetDisposed:
    """The bank has sold (disposed of) an asset it took in settlement: its disposal clock stops.
    The case may be closed by then; the asset is the bank's own property."""
    by = actor(uow, by)
    proceeds_fen = to_fen(proceeds) if proceeds is not None else None
    if proceeds_fen is not None and proceeds_fen < 0:
        raise BadInput(f"{{proceeds}} must not be negative (got {proceeds})")
    bounds.amount(policy_or_default(None), proceeds_fen, "proceeds")
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
    return finish(uow, AssetDisposed(loan_id, asset, on, money_or_none(proceeds_fen), late))


# --- the court ----------------------------------------------------------------------------------------


@idempotent("judgment")
@retry_on_conflict
def judgment(
    uow: UnitOfWork, loan_id: str, *, on: date | None = None, amount: Decimal, perform_by: date, by: str = "operator",
    policy: Policy | None = None,
) -> JudgmentResult:
    """Record a court judgment (the case must be in litigation)."""
    by = actor(uow, by)
    amount_fen = to_fen(amount)
    if amount_fen <= 0:
        raise BadInput("{amount} must be positive")
    policy = policy_or_default(policy)
    bounds.amount(policy, amount_fen, "amount")
    s = uow.session
    loan, on = open_case(s, loan_id, on)
    if loan.state != CaseState.litigation.value:
        raise RuleViolation(f"a judgment is recorded for a case in litigation (this one is {loan.state})")
    if perform_by < on:
        raise RuleViolation(f"the performance date {perform_by} is before the judgment ({on})")
    bounds.perform_by(policy, perform_by, on)
    apply_by = enforcement_apply_by(perform_by)  # computed before anything is written
    if loan.judgment_perform_by is not None and not loan.accrual_stopped and on > loan.accrued_to:
        # a later judgment replaces the earlier's measure from its own date: book what accrued to it
        owed = balances_as_of(loan, on, policy)
        loan.interest_fen, loan.penalty_fen, loan.compound_fen, loan.delayed_fen = owed.interest, owed.penalty, owed.compound, owed.delayed
        loan.accrued_to = on
    # the money debt the judgment determined, unperformed until paid (SPC 2014 interpretation Art. 1)
    loan.judgment_debt_fen, loan.judgment_perform_by = amount_fen, perform_by
    s.add(Judgment(loan_id=loan_id, judged_on=on, amount_fen=amount_fen, perform_by=perform_by))
    s.add(Action(loan_id=loan_id, kind="judgment", on=on, by=by, amount_fen=amount_fen, due_on=perform_by))
    touch(loan, s, on)
    return finish(uow, JudgmentResult(loan_id, on, from_fen(amount_fen), perform_by, apply_by))


@idempotent("enforcement")
@retry_on_conflict
def enforce(uow: UnitOfWork, loan_id: str, *, on: date | None = None, by: str = "operator") -> EnforcementResult:
    """Record the application for court enforcement of the latest judgment."""
    by = actor(uow, by)
    s = uow.session
    loan, on = open_case(s, loan_id, on)
    j = s.scalars(select(Judgment).where(Judgment.loan_id == loan_id, Judgment.enforcement_applied_on.is_(None)).order_by(Judgment.id)).first()
    if j is None:
        raise RuleViolation(f"loan {loan_id} has no judgment awaiting an enforcement application")
    if on < j.judged_on:
        raise RuleViolation(f"the application ({on}) cannot precede the judgment ({j.judged_on})")
    j.enforcement_applied_on = on
    add_act(s, loan, kind="enforcement_application", party="borrower", on=on, by=by, evidence=f"application for judgment {j.id}")
    s.add(Action(loan_id=loan_id, kind="enforcement_application", on=on, by=by, target=str(j.id)))
    loan.urgent = False
    touch(loan, s, on)
    return finish(uow, EnforcementResult(loan_id, on, j.id, on > enforcement_apply_by(j.perform_by)))
