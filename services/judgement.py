"""Staff judgement on a loan's classification (issue 15 rule 3): ``npl classify``.

Staff may classify a loan worse than its floor (the DPD floor, raised by a restructured
asset's floor: models.domain.classification.classify_with_judgement), never better: a better
category is refused naming the floor. A second person approves; requester and approver are
compared on normalized ids and the approval is checked (services.operators.check_approval)
before anything is written. The judgement is stored on the loan (``staff_classification``,
which the daily classification keeps applying) and recorded in the case's actions (kind
``classification``: who asked, who approved, from what to what, why).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timezone

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from machines.policy import Policy
from models.domain.classification import Category, Classified, classify_with_judgement
from models.domain.errors import BadInput
from models.domain.restructuring import Restructured
from models.store import UnitOfWork
from models.tables import Action, Loan, Plan, PlanLine
from services.case_common import AS_FROM, open_case, policy_or_default, require_operator, require_reason, retry_on_conflict, touch
from services.operation_keys import finish, idempotent
from services.operators import check_approval
from services.views import days_past_due_on


@dataclass(frozen=True)
class ClassificationChanged:
    loan_id: str
    from_classification: str = field(metadata=AS_FROM)
    to: str
    floor: str
    on: date
    by: str
    approved_by: str
    reason: str


def _restructured(loan: Loan, floor_on: date) -> Restructured | None:
    """The restructured asset's floor stored on the loan, while its observation runs on ``floor_on``."""
    if loan.observation_until is None or loan.restructured_on is None:
        return None
    if not loan.restructured_on <= floor_on <= loan.observation_until:
        return None
    return Restructured(on=loan.restructured_on, observation_from=loan.observation_from or loan.restructured_on,
                        observation_until=loan.observation_until, floor=Category(loan.restructured_floor or "substandard"))


def floor_of(s: Session, loan: Loan, on: date, staff: Category | None = None, reason: str | None = None) -> Classified | None:
    """The loan's classification on ``on`` with ``staff``'s judgement (None: the floor alone)."""
    oldest_line = None
    if loan.accrual_stopped:
        oldest_line = s.execute(
            select(func.min(PlanLine.due_on)).join(Plan, Plan.id == PlanLine.plan_id)
            .where(Plan.loan_id == loan.loan_id, Plan.status == "active", PlanLine.paid_fen < PlanLine.amount_fen)
        ).scalar()
    dpd = days_past_due_on(loan, on, oldest_line)
    return classify_with_judgement(dpd, restructured=_restructured(loan, on), staff=staff, staff_reason=reason,
                                   closed=loan.state == "closed")


@idempotent("classification")
@retry_on_conflict
def classify(
    uow: UnitOfWork, loan_id: str, *, to: str, reason: str, by: str, approved_by: str | None, otp: str | None = None,
    on: date | None = None, policy: Policy | None = None,
) -> ClassificationChanged:
    """Classify ``loan_id`` as ``to`` by staff judgement: worse than (or at) the floor only,
    approved by a second person (ClassificationBetterThanFloor naming the floor; ApprovalRefused)."""
    policy = policy_or_default(policy)
    by = require_operator(by)
    reason = require_reason(reason)
    try:
        category = Category(to)
    except ValueError:
        raise BadInput(f"{{to}}: unknown category {to!r}; categories: {', '.join(c.value for c in Category)}") from None
    # before the unit of work's first write: a one-time password's attempt commits on its own
    check_approval(uow, requested_by=by, approved_by=approved_by, otp=otp, at=datetime.now(timezone.utc), policy=policy)
    approver = require_operator(approved_by, "approved_by")  # recorded as given, like every approval
    s = uow.session
    loan, on = open_case(s, loan_id, on)
    judged = floor_of(s, loan, on, category, reason)
    assert judged is not None  # the case is open
    before = loan.classification
    loan.staff_classification = category.value
    loan.classification = judged.category.value
    s.add(Action(loan_id=loan_id, kind="classification", on=on, by=approver, target=category.value, outcome="approved",
                 detail=f"{by} classified {before} → {category.value} (floor {judged.floor.value}): {reason}; approved by {approver}"))
    touch(loan, s, on)
    return finish(uow, ClassificationChanged(loan_id, before, category.value, judged.floor.value, on, by, approver, reason))
