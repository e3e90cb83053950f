"""`npl explain`: what the coming daily runs will do to one case, when, by which rule, who must
act, and what would change it. Read-only.

The projection runs the daily run's own rules (``machines.escalation.plan_day``, the fold of
``machines.rules``) on a copy of the case's view, date after date as the run would judge it:
the first date is the case's stored next event date (or the next business date if an event
touched it), each later one the plan's ``next_event_on``. Between dates the copy changes as the
daily run's ``apply_plan`` changes the rows (state, promises and plans judged, approvals
awaited). The run records no legal act, so the clocks only move when a person records one: the
projection assumes nobody acts meanwhile (no payment, visit, demand, filing or decision is
recorded) — which is what each event's ``unless`` is about. A legal event's ``basis`` is its
clock's rule under the law in force (``models.domain.law``), e.g. "Guarantee Law 1995 Art. 26".
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from sqlalchemy import func, select

from machines.escalation import CaseView, DayPlan, plan_day
from machines.rules.base import TASKS
from machines.loan_case import NEEDS_APPROVAL, CaseState, target_of
from machines.policy import Policy, load_policy
from machines.rules import BY_CLOCK, basis_of
from machines.rules.clocks import clocks
from models.domain.dates import add_days, add_years
from models.domain.errors import BadInput, NotFound
from models.domain.money import fmt
from models.store import UnitOfWork, get_loan, last_run_date
from models.tables import Loan, PlanLine
from services.views import CaseLoader, balances_as_of

HORIZON_YEARS = 5  # how far ahead to look: past the next restart of a three-year limitation
MAX_EVENTS = 30
MAX_DATES = 2500  # judged dates: some rules ask every day until a person acts
KINDS = ("move", "task", "alert")
WHO = ("officer", "manager", "system")


@dataclass(frozen=True)
class ComingEvent:
    on: date
    rule: str  # the rule module of machines.rules
    basis: str  # the statute article or policy key it carries out
    kind: str  # move | task | alert
    does: str
    who: str  # officer | manager | system
    unless: str | None  # what would change it; None when nothing can

    def as_dict(self) -> dict[str, Any]:
        return {"on": self.on.isoformat(), "rule": self.rule, "basis": self.basis, "kind": self.kind, "does": self.does,
                "who": self.who, "unless": self.unless}


@dataclass(frozen=True)
class Explanation:
    loan_id: str
    as_of: date
    state: str
    events: tuple[ComingEvent, ...]
    until: date

    def as_dict(self) -> dict[str, Any]:
        return {"loan_id": self.loan_id, "as_of": self.as_of.isoformat(), "state": self.state,
                "until": self.until.isoformat(), "events": [e.as_dict() for e in self.events]}


class _Wording:
    """What would stop or change each kind of event (``unless``), in the staff's terms."""

    def __init__(self, loan: Loan, policy: Policy, unpaid_line: dict[date, int]):
        self.loan, self.policy, self.unpaid_line = loan, policy, unpaid_line

    def payoff(self, on: date) -> str:
        owed = balances_as_of(self.loan, on, self.policy).total
        return f"a payment of at least {fmt(owed)} (the whole balance on {on}) by {on} closes the case first"

    def move(self, rule: str, view: CaseView, step_reason: str, on: date, target: str | None = None) -> str:
        text = self.payoff(on)
        if rule == "time_limits":
            return f"{text}; an installment agreement signed before {on} takes the case off the ladder"
        if rule == "guarantee_period" and target:
            return f"a demand on {target} recorded with its evidence before {on} preserves the guarantee instead; or {text}"
        if rule == "promises":
            return f"{self.promise(view, step_reason)}; or {text}"
        if rule == "installment":
            return self.installment(view, on)
        return text

    def promise(self, view: CaseView, reason_or_id: str) -> str:
        for p in view.promises:
            if str(p.action_id) == reason_or_id or str(p.due_on) in reason_or_id:
                return f"borrower payments of at least {fmt(max(p.amount_fen - p.paid_fen, 0))} more by {p.due_on} keep the promise"
        return "keeping the promise to pay"

    def installment(self, view: CaseView, on: date) -> str:
        due = view.oldest_unpaid_line_due
        amount = self.unpaid_line.get(due) if due else None
        owed = f" ({fmt(amount)} unpaid)" if amount is not None else ""
        return f"paying the installment due {due}{owed} by {on} keeps the plan"

    def task(self, step_action: str, rule: str, target: str | None, on: date) -> str:
        if step_action == "file_suit":
            return f"the filing recorded (npl file-suit) before {on}"
        if step_action == "apply_enforcement":
            return f"the application for enforcement recorded (npl enforce) before {on}"
        if rule == "guarantee_period":
            return f"a demand on {target} recorded with its evidence (npl demand --guarantor) before {on} preserves the guarantee"
        if rule == "guarantee_debt":
            return f"a demand on {target} or a payment by {target} recorded before {on} restarts the guarantee debt's limitation"
        return (f"a demand on the borrower recorded with its evidence, or a payment, before {on} restarts "
                "the limitation; a recorded filing stops it")

    def awaiting(self, rule: str, view: CaseView, reason: str, on: date) -> str:
        if rule == "time_limits":
            return f"{self.payoff(on)}; an installment agreement signed before {on} takes the case off the ladder"
        if rule == "promises":
            return f"{self.promise(view, reason)}; or {self.payoff(on)}"
        if rule == "installment":
            return self.installment(view, on)
        if rule == "guarantee_period":  # a general guarantee: preserved only by suing the borrower within its period
            ends = [g.status.period_end for g in view.guarantees if f"of {g.name} ends {g.status.period_end}" in reason]
            by = ends[0] if ends else on
            return f"the borrower sued by an approved decision before {by}; or {self.payoff(on)}"
        return f"a suit filed before {on} (an approved decision); or {self.payoff(on)}"

    def alert(self, clock: str, when: date) -> str | None:
        if clock.endswith("_lapsed"):
            return None  # lapsed: shown, never hidden; nothing brings it back
        if clock == "enforcement":
            return f"the application for enforcement recorded (npl enforce) before {when}"
        if clock == "guarantee":
            return f"the suit against the borrower filed and recorded (npl file-suit) before {when}"
        return f"a suit filed and recorded before {when}"


def _alert_who(clock: str) -> str:
    return "manager" if clock in ("guarantee", "limitation", "guarantee_lapsed", "guarantee_limitation_lapsed",
                                  "limitation_lapsed") else "officer"


# the legal clock (machines.rules.clocks) behind each alert clock
ALERT_CLOCK = {"guarantee": "guarantee_period", "guarantee_lapsed": "guarantee_period",
               "guarantee_limitation_lapsed": "guarantee_limitation", "limitation": "limitation",
               "limitation_lapsed": "limitation", "enforcement": "enforcement_application",
               "enforcement_lapsed": "enforcement_application"}


def clock_rule(view: CaseView, day: date, clock: str | None, target: str | None = None, end: date | None = None) -> str | None:
    """The rule text (law, article) of the case's ``clock`` for ``target`` or ending on ``end``."""
    if clock is None:
        return None
    for c in clocks(view, day):
        if c.clock != clock:
            continue
        if (target is None or target in (c.target, c.party)) and (end is None or c.status.end == end):
            return c.status.rule
    return None


class _Projection:
    """The case's rows as the daily run leaves them after each date, on copies (never written)."""

    def __init__(self, loan: Loan, loader: CaseLoader, view: CaseView):
        self.view = view
        self.employer_pressure = bool(loan.employer_pressure)

    def advance(self, plan: DayPlan, day: date) -> None:
        """What services.daily.apply_plan writes, and the next date's view reads back."""
        v = self.view
        state = v.state
        for step in plan.events:
            state = target_of(step.event or "", state).value
        awaiting = v.awaiting_approval
        if plan.awaiting and state != CaseState.closed.value:
            awaiting = plan.awaiting[0]
        self.view = replace(
            v,
            state=state,
            state_entered_on=day if plan.events else v.state_entered_on,
            awaiting_approval=awaiting,
            promises=tuple(p for p in v.promises if p.action_id not in plan.promises),
            plan_active=v.plan_active and not plan.plan_broken,
            oldest_unpaid_line_due=None if plan.plan_broken else v.oldest_unpaid_line_due,
        )
        self.employer_pressure = self.employer_pressure or plan.employer_pressure


def _day_events(plan: DayPlan, view: CaseView, day: date, projection: _Projection, words: _Wording) -> list[ComingEvent]:
    out: list[ComingEvent] = []
    state = view.state

    def add(rule: str, kind: str, does: str, who: str, unless: str | None, as_state: str | None = None,
            basis: str | None = None) -> None:
        basis = basis or basis_of(rule, replace(view, state=as_state or state))
        out.append(ComingEvent(day, rule, basis, kind, does, who, unless))

    demanded: str | None = None  # the guarantor demanded just before a move the demand brings
    for step in plan.steps:
        if step.event:
            to = target_of(step.event, state).value
            add(step.rule, "move", f"{state} → {to} ({step.event}): {step.reason}", "system",
                words.move(step.rule, view, step.reason, day, demanded) if to != CaseState.closed.value else None)
            state = to
        elif step.action in TASKS:
            demanded = step.target if step.action == "send_demand" else demanded
            what = {"send_demand": f"demand on {step.target}", "file_suit": "file the suit",
                    "apply_enforcement": "apply for enforcement"}[step.action]
            add(step.rule, "task", f"{what} (due {step.due_on}): {step.detail}", "officer",
                words.task(step.action, step.rule, step.target, day),
                basis=clock_rule(view, day, step.clock, None if step.action == "apply_enforcement" else step.target, step.due_on))
        elif step.action == "plan_broken":
            add(step.rule, "alert", f"installment plan broken: {step.detail}", "officer", words.installment(view, day))
        elif step.action == "promise_broken":
            add(step.rule, "alert", f"promise to pay broken: {step.detail}", "officer", words.promise(view, step.target or ""))
    if plan.awaiting and state != CaseState.closed.value and view.awaiting_approval != plan.awaiting[0]:
        event, reason = plan.awaiting
        rule = plan.awaiting_rule or "time_limits"
        who = "manager" if event in NEEDS_APPROVAL else "officer"
        urgent = "urgent: " if plan.urgent else ""
        add(rule, "task", f"{urgent}awaits an approved decision to {event} (maker ≠ checker): {reason}", who,
            words.awaiting(rule, view, reason, day))
    for clock, when, text in plan.alerts:
        rule = BY_CLOCK[clock].NAME
        add(rule, "alert", text, _alert_who(clock), words.alert(clock, when), basis=clock_rule(view, day, ALERT_CLOCK.get(clock), end=when))
    if plan.employer_pressure and not projection.employer_pressure:
        add("employer_pressure", "task", "visit the borrower's employer: report the arrears to the unit's leaders", "officer",
            words.payoff(day))
    return out


def explain(
    uow: UnitOfWork, loan_id: str, *, as_of: date | None = None, policy: Policy | None = None,
    until: date | None = None, limit: int = MAX_EVENTS,
) -> Explanation:
    """The case's coming events after ``as_of`` (default: the last business date run), in date
    order, up to ``until`` (default: ``HORIZON_YEARS`` ahead) and at most ``limit`` of them."""
    policy = policy or load_policy()
    s = uow.session
    loan = get_loan(s, loan_id)
    if loan is None:
        raise NotFound(f"loan {loan_id} not found")
    last = last_run_date(s)
    start = last if last is not None else as_of
    if start is None:
        raise BadInput("as_of is required: no business date has been run yet")
    as_of = as_of or start
    if as_of < start:
        raise BadInput(f"as_of: the daily run has already covered {start}; what happened before is in the case's history")
    until = until or add_years(as_of, HORIZON_YEARS)
    events: list[ComingEvent] = []
    if loan.state == CaseState.closed.value:
        return Explanation(loan_id, as_of, loan.state, (), until)
    # the date the daily run will next judge the case: its stored date, or the next run if touched
    day = add_days(start, 1) if loan.touched else loan.next_event_on
    if day is not None and day <= start:
        day = add_days(start, 1)
    loader = CaseLoader(s, [loan])
    plan_row = loader.plans.get(loan_id)
    unpaid_line: dict[date, int] = {}
    if plan_row is not None:
        rows = s.execute(select(PlanLine.due_on, func.sum(PlanLine.amount_fen - PlanLine.paid_fen))
                         .where(PlanLine.plan_id == plan_row.id, PlanLine.paid_fen < PlanLine.amount_fen).group_by(PlanLine.due_on))
        unpaid_line = {due: int(amount) for due, amount in rows}
    projection = _Projection(loan, loader, loader.view(loan, day or add_days(start, 1), policy))
    words = _Wording(loan, policy, unpaid_line)
    seen: set[tuple[str, str, str]] = set()
    judged = 0
    while day is not None and day <= until and judged < MAX_DATES and len(events) < limit:
        view = projection.view
        plan = plan_day(view, day, policy)
        for event in _day_events(plan, view, day, projection, words):
            # a rule that asks every day until a person acts is listed once, on its first date
            key = (event.rule, event.kind, event.does if event.kind != "move" else f"{day} {event.does}")
            if day > as_of and key not in seen and len(events) < limit:
                events.append(event)
                seen.add(key)
        projection.advance(plan, day)
        judged += 1
        if projection.view.state == CaseState.closed.value:
            break
        day = plan.next_event_on
    return Explanation(loan_id, as_of, loan.state, tuple(events), until)
