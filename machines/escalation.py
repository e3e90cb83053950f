"""What the daily run does to one case on one business date: pure rules, no session.

``plan_day`` reads a ``CaseView`` (plain values the service loads) and returns the ordered
steps for that date: machine events to fire, actions to record, flags to set, and the next date
on which anything can happen to the case. The service then fires the events through the real
``LoanCase`` machine, which has the last word on every move.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date

from machines.loan_case import CaseState, ClosedReason, ladder_rank
from machines.policy import Policy
from models.domain.dates import add_days
from models.domain.deadlines import GuaranteeStatus, GuaranteeType, RequiredAct, enforcement_apply_by, limitation_end

INSIDER_ORIGINS = ("insider", "insider_introduced")
PRESSURE_EMPLOYERS = ("government", "institution")
CLOSED_REASON_BY_PAYER = {
    "borrower": ClosedReason.repaid.value,
    "guarantor": ClosedReason.settled_by_guarantor.value,
    "court": ClosedReason.recovered_by_court.value,
}


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
    urgent: bool = False
    alerts: list[tuple[str, date, str]] = field(default_factory=list)  # (clock, date, text)
    next_event_on: date | None = None

    @property
    def events(self) -> list[Step]:
        return [s for s in self.steps if s.event]


def state_limit(state: str, origin: str, policy: Policy) -> int | None:
    """The internal time limit of a state for a case of ``origin``, or None."""
    if state == CaseState.internal_review.value and origin in INSIDER_ORIGINS:
        return policy.limit("internal_review_insider")
    if state == CaseState.revitalization.value:
        return policy.limit("revitalization_term")
    if state in ("overdue", "internal_review", "visit", "guarantor_pressure"):
        return policy.limit(state)
    return None


def state_deadline(view: CaseView, policy: Policy) -> date | None:
    limit = state_limit(view.state, view.origin, policy)
    if limit is None or view.state_entered_on is None:
        return None
    return add_days(view.state_entered_on, limit)


def _liable(view: CaseView, day: date) -> bool:
    return any(g.status.liable_on(day) for g in view.guarantees)


def _escalate_to_litigation(plan: DayPlan, reason: str, urgent: bool = False) -> None:
    """Litigation needs an approved decision: the run lists the case as awaiting approval."""
    if plan.awaiting is None:
        plan.awaiting = ("sue", reason)
    plan.urgent = plan.urgent or urgent


def plan_day(view: CaseView, day: date, policy: Policy) -> DayPlan:
    """Every rule of DOMAIN.md §2–4 that applies to the case on ``day``, in order."""
    plan = DayPlan()
    if view.state == CaseState.closed.value:
        return plan
    v = view

    def move(event: str, to: CaseState, reason: str, **kw: object) -> None:
        nonlocal v
        plan.steps.append(Step(event=event, reason=reason, **kw))  # type: ignore[arg-type]
        v = replace(v, state=to.value, state_entered_on=day, awaiting_approval=None)

    # 1. a zero balance closes the case
    if v.balance_fen == 0:
        reason = CLOSED_REASON_BY_PAYER.get(v.last_payer or "borrower", ClosedReason.repaid.value)
        move("settle", CaseState.closed, "balance reached zero", closed_reason=reason)
        return plan

    # 2. falling due
    if v.state == CaseState.performing.value:
        if day < v.first_past_due:
            plan.next_event_on = v.first_past_due
            return plan
        move("fall_due", CaseState.overdue, "first day past due; demand notice to the borrower")

    # 3. legal deadlines: guarantee periods (Civil Code Arts. 692-693), then the preserved
    #    guarantee debt's own limitation (Art. 694): a written demand on the guarantor interrupts it
    for g in v.guarantees:
        st = g.status
        if st.preserved:
            end = st.debt_limitation_end()
            if end is None or day < add_days(end, -policy.lead("limitation")):
                continue
            if day > end:
                plan.alerts.append(("guarantee_limitation_lapsed", end, f"limitation of {g.name}'s guarantee debt lapsed"))
                continue
            plan.steps.append(Step(action="demand", target=g.name,
                                   detail=f"guarantee debt limitation ends {end}: written demand on the guarantor interrupts it"))
            plan.interrupted_guarantors.append(g.name)
            v = replace(v, guarantees=tuple(
                replace(x, status=replace(x.status, interrupted_on=day)) if x.name == g.name else x for x in v.guarantees
            ))
            continue
        if day < st.lead_date(policy.lead("guarantee")):
            continue
        if day > st.period_end:
            plan.alerts.append(("guarantee_lapsed", st.period_end, f"guarantee period of {g.name} lapsed"))
            continue
        if st.act is RequiredAct.demand_guarantor:
            plan.steps.append(
                Step(action="demand", target=g.name, detail=f"guarantee period ends {st.period_end}: written demand on joint guarantor")
            )
            plan.demanded_guarantors.append(g.name)
            v = replace(v, guarantees=tuple(
                replace(x, status=replace(x.status, act_done_on=day)) if x.name == g.name else x for x in v.guarantees
            ))
            rank = ladder_rank(v.state)
            if rank is not None and rank < ladder_rank(CaseState.guarantor_pressure):  # type: ignore[operator]
                move("press", CaseState.guarantor_pressure, f"guarantee period of {g.name} ends {st.period_end}")
        else:
            if v.sued_on is None and v.state != CaseState.litigation.value:
                text = f"general guarantee of {g.name} ends {st.period_end}: the borrower must be sued before it"
                _escalate_to_litigation(plan, text, urgent=True)
                plan.alerts.append(("guarantee", st.period_end, text))

    # 4. limitation period (Arts. 188, 195): a demand interrupts it
    if v.sued_on is None:
        lim_end = limitation_end(v.maturity_on, [v.limitation_start] if v.limitation_start else [])
        if day >= add_days(lim_end, -policy.lead("limitation")):
            if v.last_visit_outcome == "not_found":
                text = f"limitation ends {lim_end} and the borrower cannot be found: sue"
                _escalate_to_litigation(plan, text, urgent=True)
                plan.alerts.append(("limitation", lim_end, text))
            else:
                plan.steps.append(Step(action="demand", detail=f"limitation ends {lim_end}: written demand interrupts it"))
                plan.borrower_demanded = True
                v = replace(v, limitation_start=day)

    # 5. enforcement application (Civil Procedure Law Art. 250)
    for j in v.judgments:
        if j.applied_on is not None:
            continue
        apply_by = enforcement_apply_by(j.perform_by)
        if day >= add_days(apply_by, -policy.lead("enforcement")):
            text = f"apply for enforcement of judgment {j.judgment_id} by {apply_by}"
            plan.alerts.append(("enforcement", apply_by, text))
            plan.urgent = True

    # 6. installment plan: an installment unpaid past its grace breaks the plan
    if v.state == CaseState.installment.value and v.plan_active and v.oldest_unpaid_line_due is not None:
        if day > add_days(v.oldest_unpaid_line_due, policy.limit("installment_grace")):
            plan.plan_broken = True
            plan.steps.append(Step(action="plan_broken", detail=f"installment due {v.oldest_unpaid_line_due} unpaid"))
            v = replace(v, plan_active=False)
            if _liable(v, day):
                move("break_plan", CaseState.guarantor_pressure, "installment plan broken")
            else:
                _escalate_to_litigation(plan, "installment plan broken and no guarantor is liable")

    # 7. promises to pay: one not kept by its date is broken
    for p in v.promises:
        if day <= p.due_on:
            continue
        kept = p.paid_fen >= p.amount_fen
        plan.promises[p.action_id] = "kept" if kept else "broken"
        if kept:
            continue
        plan.steps.append(Step(action="promise_broken", target=str(p.action_id), detail=f"promise due {p.due_on} not kept"))
        if v.state == CaseState.visit.value:
            if _liable(v, day):
                move("press", CaseState.guarantor_pressure, f"promise to pay by {p.due_on} broken")
            else:
                _escalate_to_litigation(plan, f"promise to pay by {p.due_on} broken and no guarantor is liable")

    # 8. internal time limits along the ladder
    for _ in range(4):
        deadline = state_deadline(v, policy)
        if deadline is None or day < deadline or plan.awaiting is not None or v.awaiting_approval:
            break
        if v.state == CaseState.overdue.value:
            move("review", CaseState.internal_review, f"{policy.limit('overdue')} days overdue")
        elif v.state == CaseState.internal_review.value:
            if v.origin in INSIDER_ORIGINS:
                plan.suspend_officer = True
                move("dispatch", CaseState.visit, "insider loan not recovered within the time limit; officer suspended")
            else:
                move("dispatch", CaseState.visit, "internal review done")
        elif v.state == CaseState.visit.value:
            if _liable(v, day):
                move("press", CaseState.guarantor_pressure, f"{policy.limit('visit')} days of visits without repayment")
            else:
                _escalate_to_litigation(plan, f"{policy.limit('visit')} days of visits without repayment, no guarantor liable")
        elif v.state == CaseState.guarantor_pressure.value:
            _escalate_to_litigation(plan, f"{policy.limit('guarantor_pressure')} days of guarantor pressure without repayment")
        elif v.state == CaseState.revitalization.value:
            _escalate_to_litigation(plan, "revitalization term ended with the loan unpaid")
        else:
            break

    if v.state == CaseState.internal_review.value and v.origin == "relationship" and v.employer_type in PRESSURE_EMPLOYERS:
        plan.employer_pressure = True
    if v.state == CaseState.visit.value and v.employer_type in PRESSURE_EMPLOYERS and v.origin == "relationship":
        plan.employer_pressure = True

    plan.next_event_on = next_event_on(v, day, policy, plan)
    return plan


def next_event_on(v: CaseView, day: date, policy: Policy, plan: DayPlan | None = None) -> date | None:
    """The first date after ``day`` on which any rule can apply to the case."""
    if v.state == CaseState.closed.value:
        return None
    candidates: list[date] = []
    if v.state == CaseState.performing.value:
        candidates.append(v.first_past_due)
    deadline = state_deadline(v, policy)
    awaiting = (plan.awaiting if plan else None) or v.awaiting_approval
    if deadline is not None and not awaiting:
        candidates.append(deadline)
    for g in v.guarantees:
        st = g.status
        if st.preserved:  # (a demand made today is already in the view)
            end = st.debt_limitation_end()
            if end is not None and day <= end:
                candidates.append(max(add_days(end, -policy.lead("limitation")), add_days(day, 1)))
            continue
        if plan and g.name in plan.demanded_guarantors:
            continue
        lead = st.lead_date(policy.lead("guarantee"))
        candidates.append(lead if lead > day else add_days(day, 1))
        if day > st.period_end:
            candidates.pop()  # lapsed: nothing more can be done about it
    if v.sued_on is None:
        start = day if (plan and plan.borrower_demanded) else v.limitation_start
        lim_end = limitation_end(v.maturity_on, [start] if start else [])
        candidates.append(add_days(lim_end, -policy.lead("limitation")))
    for j in v.judgments:
        if j.applied_on is None:
            apply_by = enforcement_apply_by(j.perform_by)
            lead = add_days(apply_by, -policy.lead("enforcement"))
            if day <= apply_by:
                candidates.append(lead)
    if v.state == CaseState.installment.value and v.plan_active and v.oldest_unpaid_line_due and not (plan and plan.plan_broken):
        candidates.append(add_days(v.oldest_unpaid_line_due, policy.limit("installment_grace") + 1))
    for p in v.promises:
        if plan is None or p.action_id not in plan.promises:
            candidates.append(add_days(p.due_on, 1))
    future = [c for c in candidates if c > day]
    if any(c <= day for c in candidates):
        future.append(add_days(day, 1))
    return min(future) if future else None
