"""From rows to the plain values the rules judge: balances as of a date, guarantees, case views.

Shared by the single-case services and the daily run, so both judge a case the same way.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any, Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session, object_session

from machines.escalation import CaseView, GuaranteeView, JudgmentView, PromiseView
from machines.rules.clocks import GuaranteeClock, GuaranteeFacts, guarantee_clock
from machines.policy import Policy
from models.domain.allocation import Balances
from models.domain.classification import days_past_due, oldest_unpaid_due
from models.domain.dates import add_days
from models.domain.law import Act
from models.daily_sql import LoanRecord, among
from models.domain.interest import accrue, delayed_performance_fen
from models.tables import Action, Borrower, Guarantor, Judgment, Loan, Payment, Plan, PlanLine
from services.acts import acts_of


def balances_as_of(loan: LoanRecord, day: date | None, policy: Policy) -> Balances:
    """What the borrower owes on ``day``: the stored balances plus accrual since ``accrued_to``.

    The one place a balance is computed (show, pay, the daily run, letters, explain, replay):
    contractual and penalty interest (``accrue``), compound interest on contractual interest
    unpaid when due (PBoC 2003 notice item 三; policy ``money.compound``) and, after a judgment,
    the doubled interest for delayed performance (Civil Procedure Law Art. 264; SPC 2014
    interpretation). Nothing accrues while an installment agreement runs or once closed."""
    interest, penalty = loan.interest_fen, loan.penalty_fen
    compound, delayed = getattr(loan, "compound_fen", 0) or 0, getattr(loan, "delayed_fen", 0) or 0
    if day is not None and not loan.accrual_stopped and day > loan.accrued_to and loan.state != "closed":
        acc = accrue(
            outstanding_fen=loan.outstanding_principal_fen,
            overdue_fen=loan.overdue_principal_fen,
            rate_ppm=loan.rate_ppm,
            maturity_on=loan.maturity_on,
            overdue_since=loan.overdue_since,
            start=loan.accrued_to,
            end=day,
            uplift=policy.uplift_for(bool(getattr(loan, "misused_purpose", False))),
            stored_interest_fen=loan.interest_fen,
            compound=policy.compound_interest,
        )
        interest += acc.interest_fen
        penalty += acc.penalty_fen
        compound += acc.compound_fen
        delayed += delayed_since(loan, loan.accrued_to, day)
    return Balances(loan.outstanding_principal_fen, interest, penalty, loan.costs_fen, compound, delayed)


def delayed_since(loan: LoanRecord, start: date, end: date) -> int:
    """The doubled interest for delayed performance earned after ``start`` up to ``end`` on the
    latest judgment's money debt still unperformed (SPC 2014 interpretation Arts. 1–3: 1.75 per
    ten thousand a day from the day after the performance date; a stay of enforcement is not
    recorded, so none is excluded)."""
    perform_by = getattr(loan, "judgment_perform_by", None)
    debt = getattr(loan, "judgment_debt_fen", 0) or 0
    if perform_by is None or debt <= 0:
        return 0
    return delayed_performance_fen(debt, perform_by, start=start, end=end)


def days_past_due_on(loan: LoanRecord, day: date | None, oldest_unpaid_line: date | None = None) -> int:
    """Days past due on ``day`` from the oldest unpaid amount (a running plan's oldest unpaid line)."""
    if day is None:
        return 0
    if loan.accrual_stopped:  # an installment agreement runs: its lines are what falls due
        return days_past_due(day, oldest_unpaid_line if oldest_unpaid_line and oldest_unpaid_line < day else None)
    if loan.outstanding_principal_fen == 0 and loan.interest_fen == 0:  # every amount due paid (issue 15 rule 2)
        return 0
    if restructured_due(loan):  # a broken agreement: from its first missed installment (issue 15 rule 6)
        return days_past_due(day, loan.overdue_since if loan.overdue_since < day else None)
    return days_past_due(day, oldest_unpaid_due(loan.maturity_on, loan.overdue_since, day))


def restructured_due(loan: LoanRecord) -> bool:
    """Whether the loan's overdue date is an installment missed under a restructuring agreement,
    which replaced the due dates before it (maturity included) for days past due."""
    restructured_on = getattr(loan, "restructured_on", None)
    return restructured_on is not None and loan.overdue_since is not None and loan.overdue_since >= restructured_on


def first_past_due(loan: LoanRecord) -> date:
    """The first day past due: the day after the oldest unpaid amount fell due."""
    return add_days(loan.overdue_since or loan.maturity_on, 1)


# What ``guarantee_facts`` reads of a guarantor (with its loan): a plain row of these will do.
GUARANTEE_TERMS = (Guarantor.loan_id, Guarantor.name, Guarantor.guarantee_type, Guarantor.signed_on, Guarantor.agreed_period_end,
                   Guarantor.until_repaid)


def guarantee_facts(g: Any, disbursed_on: date) -> GuaranteeFacts:
    """The guarantee contract's terms (``signed_on`` defaults to the loan's disbursement)."""
    return GuaranteeFacts(g.name, g.guarantee_type, g.signed_on or disbursed_on, g.agreed_period_end, bool(g.until_repaid))


def guarantee_of(
    g: Guarantor, loan: LoanRecord, acts: Sequence[Act] | None = None, judgments: Sequence[tuple[date, date]] | None = None,
    disbursed_on: date | None = None,
) -> GuaranteeClock:
    """The guarantee's clocks from the recorded acts (read from ``g``'s session when not given)."""
    session = object_session(g)
    if acts is None:
        acts = acts_of(session, [g.loan_id]).get(g.loan_id, []) if session is not None else []
    if judgments is None:
        judgments = ([(j.judged_on, j.perform_by) for j in session.scalars(select(Judgment).where(Judgment.loan_id == g.loan_id))]
                     if session is not None else [])
    if disbursed_on is None:
        disbursed_on = getattr(loan, "disbursed_on", None)
        if disbursed_on is None and session is not None:
            disbursed_on = session.execute(select(Loan.disbursed_on).where(Loan.loan_id == g.loan_id)).scalar()
    return guarantee_clock(guarantee_facts(g, disbursed_on or loan.maturity_on), loan.maturity_on, acts, judgments)


class NotLoaded(Exception):
    """A rule read a part of a light view (``light_view``) that was not loaded."""


class _Unloaded:
    """Stands for a part of a case not loaded: any use of it (truth, iteration, length, equality,
    membership, hashing, arithmetic, attributes) raises ``NotLoaded``."""

    __slots__ = ()

    def _refuse(self, *_args: Any, **_kwargs: Any) -> Any:
        raise NotLoaded

    __bool__ = __iter__ = __len__ = __eq__ = __ne__ = __hash__ = __contains__ = __getitem__ = _refuse
    __lt__ = __le__ = __gt__ = __ge__ = __add__ = __radd__ = __sub__ = __rsub__ = __str__ = __format__ = _refuse

    def __getattr__(self, _name: str) -> Any:
        raise NotLoaded


UNLOADED: Any = _Unloaded()


def light_view(loan: LoanRecord, day: date, policy: Policy) -> CaseView:
    """The case from its own row alone: every part that needs another table (guarantees, acts,
    promises, judgments, plan, payer, visits, employer) is ``UNLOADED``. The daily run judges this
    first: if no rule reads an unloaded part before the day's judgement ends (a performing loan
    not yet past due: the fall-due rule ends it), the plan is the one the full view gives;
    otherwise ``NotLoaded`` is raised and the case is judged on its full view. Which cases need
    what is thus read from the rules as they run, never restated."""
    return CaseView(
        loan_id=loan.loan_id, state=loan.state, state_entered_on=loan.state_entered_on, origin=loan.origin,
        employer_type=UNLOADED, maturity_on=loan.maturity_on, first_past_due=first_past_due(loan),
        balance_fen=balances_as_of(loan, day, policy).total, last_payer=UNLOADED, limitation_start=loan.limitation_start,
        sued_on=loan.sued_on, awaiting_approval=loan.awaiting_approval, last_visit_outcome=UNLOADED, guarantees=UNLOADED,
        promises=UNLOADED, plan_active=UNLOADED, oldest_unpaid_line_due=UNLOADED, judgments=UNLOADED, acts=UNLOADED,
    )


class CaseLoader:
    """Loads everything the rules need for a chunk of loans in a handful of queries."""

    def __init__(self, session: Session, loans: Sequence[LoanRecord], plain: bool = False, clocks_only: bool = False):
        """``plain``: the guarantors as plain rows, not ORM objects (the daily run judges them and
        never changes one: building a mapped object per guarantor cost a third of loading a chunk).
        ``clocks_only``: only what the legal clocks and their tasks read (acts, guarantors,
        judgments, the last visit), for ``clock_view``; no promise, plan, payer or employer."""
        self.session = session
        ids = [loan.loan_id for loan in loans]
        self.guarantors: dict[str, list[Any]] = defaultdict(list)
        self.promises: dict[str, list[Action]] = defaultdict(list)
        self.judgments: dict[str, list[Judgment]] = defaultdict(list)
        self.plans: dict[str, Plan] = {}
        self.unpaid_line: dict[int, date] = {}
        self.last_payer: dict[str, str] = {}
        self.last_visit: dict[str, str] = {}
        self.employer_type: dict[str, str] = {}
        self.acts: dict[str, list[Act]] = {}
        self.disbursed: dict[str, date] = {}
        if not ids:
            return
        self.acts = acts_of(session, ids)
        if all(hasattr(loan, "disbursed_on") for loan in loans):  # whole rows (the daily run's): no query
            self.disbursed = {loan.loan_id: loan.disbursed_on for loan in loans}  # type: ignore[attr-defined]
        else:
            self.disbursed = {loan_id: on for loan_id, on in session.execute(select(Loan.loan_id, Loan.disbursed_on).where(Loan.loan_id.in_(ids)))}
        guarantors = select(*GUARANTEE_TERMS) if plain else select(Guarantor)
        for g in (session.execute if plain else session.scalars)(guarantors.where(among(session, Guarantor.loan_id, ids)).order_by(Guarantor.id)):
            self.guarantors[g.loan_id].append(g)
        for j in session.scalars(select(Judgment).where(among(session, Judgment.loan_id, ids)).order_by(Judgment.id)):
            self.judgments[j.loan_id].append(j)
        visits = (
            select(Action.loan_id, Action.outcome)
            .where(among(session, Action.loan_id, ids), Action.kind.in_(("visit", "employer_visit")))
            .order_by(Action.loan_id, Action.on, Action.id)
        )
        for loan_id, outcome in session.execute(visits):
            self.last_visit[loan_id] = outcome
        if clocks_only:
            return
        for a in session.scalars(
            select(Action).where(among(session, Action.loan_id, ids), Action.kind == "promise", Action.status == "open")
        ):
            self.promises[a.loan_id].append(a)
        for p in session.scalars(select(Plan).where(among(session, Plan.loan_id, ids), Plan.status == "active")):
            self.plans[p.loan_id] = p
        if self.plans:
            plan_ids = [p.id for p in self.plans.values()]
            rows = session.execute(
                select(PlanLine.plan_id, func.min(PlanLine.due_on))
                .where(PlanLine.plan_id.in_(plan_ids), PlanLine.paid_fen < PlanLine.amount_fen)
                .group_by(PlanLine.plan_id)
            )
            self.unpaid_line = {pid: due for pid, due in rows}
        last_pay = (
            select(Payment.loan_id, Payment.payer)
            .where(among(session, Payment.loan_id, ids))
            .order_by(Payment.loan_id, Payment.paid_on, Payment.id)
        )
        for loan_id, payer in session.execute(last_pay):
            self.last_payer[loan_id] = payer
        borrower_ids = {loan.borrower_id for loan in loans}
        for bid, etype in session.execute(
            select(Borrower.borrower_id, Borrower.employer_type).where(among(session, Borrower.borrower_id, list(borrower_ids)))
        ):
            self.employer_type[bid] = etype or "none"

    def promise_paid(self, promise: Action) -> int:
        """Borrower payments from the promise's date up to its due date."""
        total = self.session.execute(
            select(func.coalesce(func.sum(Payment.amount_fen), 0)).where(
                Payment.loan_id == promise.loan_id,
                Payment.paid_on >= promise.on,
                Payment.paid_on <= promise.due_on,
            )
        ).scalar_one()
        return int(total)

    def guarantees(self, loan: LoanRecord, day: date | None = None) -> tuple[GuaranteeView, ...]:
        """The loan's guarantees judged from the acts recorded up to ``day`` (all if None)."""
        acts = self.acts_until(loan.loan_id, day)
        judgments = [(j.judged_on, j.perform_by) for j in self.judgments.get(loan.loan_id, [])]
        disbursed = self.disbursed.get(loan.loan_id) or loan.maturity_on
        out = []
        for g in self.guarantors.get(loan.loan_id, []):
            clock = guarantee_clock(guarantee_facts(g, disbursed), loan.maturity_on, acts, judgments)
            out.append(GuaranteeView(g.name, clock.mode, clock))
        return tuple(out)

    def acts_until(self, loan_id: str, day: date | None) -> list[Act]:
        acts = self.acts.get(loan_id, [])
        return list(acts) if day is None else [a for a in acts if a.on <= day]

    def clock_view(self, loan: LoanRecord, day: date | None) -> CaseView:
        """What the legal clocks and their tasks read (``machines.rules.clocks.clocks``,
        ``services.worklist``), from the acts recorded up to ``day`` (all if None); the other
        parts are ``UNLOADED`` (no balance is accrued)."""
        return CaseView(
            loan_id=loan.loan_id, state=loan.state, state_entered_on=loan.state_entered_on, origin=loan.origin,
            employer_type=UNLOADED, maturity_on=loan.maturity_on, first_past_due=first_past_due(loan), balance_fen=UNLOADED,
            last_payer=UNLOADED, limitation_start=loan.limitation_start, sued_on=loan.sued_on,
            awaiting_approval=loan.awaiting_approval, last_visit_outcome=self.last_visit.get(loan.loan_id),
            guarantees=self.guarantees(loan, day), promises=UNLOADED, plan_active=UNLOADED, oldest_unpaid_line_due=UNLOADED,
            judgments=tuple(JudgmentView(j.id, j.perform_by, j.enforcement_applied_on, j.judged_on)
                            for j in self.judgments.get(loan.loan_id, [])),
            acts=tuple(self.acts_until(loan.loan_id, day)),
        )

    def view(self, loan: LoanRecord, day: date, policy: Policy) -> CaseView:
        plan = self.plans.get(loan.loan_id)
        return CaseView(
            loan_id=loan.loan_id,
            state=loan.state,
            state_entered_on=loan.state_entered_on,
            origin=loan.origin,
            employer_type=self.employer_type.get(loan.borrower_id, "none"),
            maturity_on=loan.maturity_on,
            first_past_due=first_past_due(loan),
            balance_fen=balances_as_of(loan, day, policy).total,
            last_payer=self.last_payer.get(loan.loan_id),
            limitation_start=loan.limitation_start,
            sued_on=loan.sued_on,
            awaiting_approval=loan.awaiting_approval,
            last_visit_outcome=self.last_visit.get(loan.loan_id),
            guarantees=self.guarantees(loan, day),
            promises=tuple(
                PromiseView(p.id, p.due_on, p.amount_fen or 0, self.promise_paid(p)) for p in self.promises.get(loan.loan_id, [])
            ),
            plan_active=plan is not None,
            oldest_unpaid_line_due=self.unpaid_line.get(plan.id) if plan else None,
            judgments=tuple(JudgmentView(j.id, j.perform_by, j.enforcement_applied_on, j.judged_on)
                            for j in self.judgments.get(loan.loan_id, [])),
            acts=tuple(self.acts_until(loan.loan_id, day)),
        )
