"""The legal clocks of a replayed book, followed case by case as they change (services.replay):
the letters the policy would have the branch send, and the deadlines at risk each week.

``services.worklist.legal_deadlines`` reads every open case of the book for one date; asked at
every week's end and for every date's letters, a replay of a large book would spend its time
there. The clocks (``machines.rules.clocks``) move only when something is recorded on a case,
and a clock's end does not move with the date: so each case is judged once (at the fork), then
again only when a row of it changed (``DIRTY_SQL``: triggers on the scratch database mark the
case) or when a clock not yet running may start (a guarantee debt's limitation, once the
guarantor's defence ends). Between two judgments, a clock's status on any date follows from its
end: at risk from ``end − lead days`` through ``end``, lapsed for the lead days after it — the
same test ``legal_deadlines`` makes, on the same clocks and tasks.

Letters: on each date, a letter for every (case, party) whose ``send_demand`` task is due
(``services.letters.due_demands``) unless one to that party is still awaiting service — as
``services.letters.generate`` does. A letter counts as served once a demand to that party is
recorded (the replayed served letters are demand acts). A case's clocks are judged as they
stood after the acts of the previous stop, so a task whose kind turns with the case's state (a
demand becoming a filing once the case is in litigation) follows the state with at most a
stop's delay (a week).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from machines.escalation import CaseView, JudgmentView
from machines.loan_case import CaseState
from machines.policy import Policy
from machines.rules.clocks import borrower_filed, clocks
from models.domain.dates import add_days
from models.domain.deadlines import FORECLOSED_DISPOSAL_YEARS, foreclosed_dispose_by
from models.domain.law import Status
from models.daily_sql import CaseRow
from models.tables import Collateral, LegalAct, Loan
from services.views import UNLOADED, CaseLoader, NotLoaded, first_past_due
from services.worklist import RISK_CLOCK, SCAN_CHUNK, UNASSIGNED, _task_for, started_by

# every write to a case's rows marks the case for judging again; on a loan row, a write that
# changes a column the judgment can read: not the daily run's own bookkeeping (the next event date,
# the touched flag, the version, the classification and the flags no view reads), which it
# writes for every case it judges
_WATCHED = {"loans": "loan_id", "guarantors": "loan_id", "legal_acts": "loan_id", "actions": "loan_id", "payments": "loan_id",
            "plans": "loan_id", "judgments": "loan_id", "collateral": "loan_id"}
_BOOKKEEPING = {"next_event_on", "touched", "version", "classification", "classification_at_close", "urgent", "employer_pressure",
                "awaiting_reason"}
_LOAN_CHANGED = " OR ".join(f"OLD.{c.name} IS NOT NEW.{c.name}" for c in Loan.__table__.columns if c.name not in _BOOKKEEPING)


def _when(table: str, op: str) -> str:
    return f"WHEN {_LOAN_CHANGED} " if table == "loans" and op == "UPDATE" else ""


DIRTY_SQL = ["CREATE TABLE replay_dirty (loan_id TEXT)"] + [
    f"CREATE TRIGGER replay_dirty_{table}_{op.lower()} AFTER {op} ON {table} {_when(table, op)}BEGIN "
    f"INSERT INTO replay_dirty VALUES ({'OLD' if op == 'DELETE' else 'NEW'}.{column}); END"
    for table, column in _WATCHED.items() for op in ("INSERT", "UPDATE", "DELETE")
]


@dataclass(frozen=True)
class Entry:
    """One clock of a case that is running or lapsed, as ``legal_deadlines`` would list it."""
    party: str
    end: date
    lead: int
    task: str | None  # the act that protects it (None: lapsed when judged)
    officer: str

    def listed_on(self, day: date) -> bool:
        """Whether ``legal_deadlines`` lists it on ``day`` (at risk or lapsed within the lead days)."""
        if self.task is not None and day <= self.end:
            return self.end <= add_days(day, self.lead)
        return add_days(self.end, 1) <= day <= add_days(self.end, self.lead)

    def letter_from(self) -> date | None:
        """The first date a demand letter is due for it (``send_demand`` at risk), if ever."""
        return add_days(self.end, -self.lead) if self.task == "send_demand" else None


@dataclass
class LegalWatch:
    policy: Policy
    entries: dict[str, list[Entry]] = field(default_factory=dict)
    recheck: dict[str, date] = field(default_factory=dict)  # a clock of the case may start on that date
    awaiting_service: set[tuple[str, str]] = field(default_factory=set)  # letters sent, not yet served
    letters: list[tuple[str, str, date]] = field(default_factory=list)  # (loan, officer, date) of each letter
    day: date | None = None  # the last date judged
    # the first date each letter may be due: (loan, entry) by date; an entry is still valid while its case's list holds it
    _due: dict[date, list[tuple[str, Entry]]] = field(default_factory=lambda: defaultdict(list))
    # per lead days: how many running clocks end on each date, and how many running or lapsed ones
    _running: dict[int, Counter[date]] = field(default_factory=lambda: defaultdict(Counter))
    _ending: dict[int, Counter[date]] = field(default_factory=lambda: defaultdict(Counter))

    def start(self, s: Session, day: date) -> None:
        """Judge every open case on ``day`` (the fork)."""
        s.execute(text("DELETE FROM replay_dirty"))
        ids = list(s.scalars(select(Loan.loan_id).where(Loan.state != CaseState.closed.value).order_by(Loan.loan_id)))
        self._judge(s, ids, day)
        self.day = day

    def advance(self, s: Session, day: date) -> None:
        """Count the letters due after the last date judged through ``day`` from the clocks as they
        stood, then judge again the cases changed since (their acts of ``day`` included)."""
        assert self.day is not None and day >= self.day
        last, on = self.day, add_days(self.day, 1)
        while on <= day:
            for loan_id, e in self._due.pop(on, ()):
                if on <= e.end and (loan_id, e.party) not in self.awaiting_service and any(x is e for x in self.entries.get(loan_id, ())):
                    self.awaiting_service.add((loan_id, e.party))
                    self.letters.append((loan_id, e.officer, on))
            on = add_days(on, 1)
        served = s.execute(select(LegalAct.loan_id, LegalAct.party).where(
            LegalAct.kind == "demand", LegalAct.took_effect_on > last, LegalAct.took_effect_on <= day))
        self.awaiting_service -= {(loan_id, party) for loan_id, party in served}
        dirty = set(s.scalars(text("SELECT DISTINCT loan_id FROM replay_dirty")))
        s.execute(text("DELETE FROM replay_dirty"))
        dirty |= {loan_id for loan_id, when in self.recheck.items() if when <= day}
        if dirty:
            self._judge(s, sorted(dirty), day)
        self.day = day

    def listed(self, s: Session, day: date) -> int:
        """How many rows ``services.worklist.deadlines_at_risk`` lists on ``day`` (after ``advance``
        to it): clocks at risk (ending within the lead days) or lapsed within the lead days, and
        the assets taken in settlement to dispose of."""
        count = 0
        for lead, ends in self._running.items():
            count += sum(ends[add_days(day, k)] for k in range(lead + 1))
        for lead, ends in self._ending.items():
            count += sum(ends[add_days(day, -k)] for k in range(1, lead + 1))
        lead = self.policy.lead("foreclosed_asset")
        taken = s.scalars(select(Collateral.taken_on).where(
            Collateral.disposed_on.is_(None), Collateral.taken_on.is_not(None),
            Collateral.taken_on <= started_by(day, lead, FORECLOSED_DISPOSAL_YEARS)))
        return count + sum(foreclosed_dispose_by(on) <= add_days(day, lead) for on in taken)

    def _set(self, loan_id: str, entries: list[Entry], sign: int) -> None:
        for e in entries:
            if e.task is not None:
                self._running[e.lead][e.end] += sign
            self._ending[e.lead][e.end] += sign

    def _judge(self, s: Session, ids: list[str], day: date) -> None:
        for loan_id in ids:
            self._set(loan_id, self.entries.pop(loan_id, []), -1)
            self.recheck.pop(loan_id, None)
        for i in range(0, len(ids), SCAN_CHUNK):
            loans = read_cases_open(s, ids[i:i + SCAN_CHUNK])
            loader = CaseLoader(s, loans, plain=True)
            for loan in loans:
                try:  # the clocks read the acts, guarantees, judgments, state and visits: not the balance nor the promises
                    entries, later = self._clocks(legal_view(loader, loan, day), loan, day)
                except NotLoaded:  # a rule read more: the full view of the whole row, as legal_deadlines builds it
                    full = CaseRow(s.execute(select(Loan.__table__).where(Loan.loan_id == loan.loan_id)).one()._mapping)
                    entries, later = self._clocks(loader.view(full, day, self.policy), full, day)
                if entries:
                    self.entries[loan.loan_id] = entries
                    self._set(loan.loan_id, entries, +1)
                    for e in entries:
                        due = e.letter_from()
                        if due is not None and due <= e.end:
                            self._due[max(due, add_days(day, 1))].append((loan.loan_id, e))
                if later:
                    self.recheck[loan.loan_id] = min(later)

    def _clocks(self, view: CaseView, loan: CaseRow, day: date) -> tuple[list[Entry], list[date]]:
        """The case's clocks listed as ``legal_deadlines`` lists them, and the later dates on which
        a guarantee debt's limitation starts."""
        filed = borrower_filed(view) is not None
        entries = []
        for clock in clocks(view, day):
            st = clock.status
            if clock.clock not in RISK_CLOCK or st.end is None or (clock.clock == "limitation" and filed):
                continue
            lead = self.policy.lead(RISK_CLOCK[clock.clock][1])
            if st.status in (Status.live, Status.interrupted):
                task, _detail, _parts = _task_for(clock, view)
                entries.append(Entry(clock.party, st.end, lead, task, loan.assigned_to or UNASSIGNED))
            elif st.status is Status.lapsed:
                entries.append(Entry(clock.party, st.end, lead, None, loan.assigned_to or UNASSIGNED))
        later = [g.status.debt_start.date for g in view.guarantees if g.status.debt_start is not None and g.status.debt_start.date > day]
        return entries, later


# what ``legal_view`` and ``CaseLoader`` read of a loan row (a hundred thousand whole rows take seconds)
LEGAL_COLUMNS = (Loan.loan_id, Loan.borrower_id, Loan.disbursed_on, Loan.maturity_on, Loan.overdue_since, Loan.state,
                 Loan.state_entered_on, Loan.origin, Loan.limitation_start, Loan.sued_on, Loan.awaiting_approval, Loan.assigned_to)


def read_cases_open(s: Session, ids: list[str]) -> list[CaseRow]:
    """The open cases of ``ids`` as plain rows of ``LEGAL_COLUMNS`` (no mapped objects)."""
    query = select(*LEGAL_COLUMNS).where(Loan.loan_id.in_(ids), Loan.state != CaseState.closed.value)
    return [CaseRow(r._mapping) for r in s.execute(query)]


def legal_view(loader: CaseLoader, loan: CaseRow, day: date) -> CaseView:
    """``CaseLoader.view`` without the parts the legal clocks do not read (the balance, which
    accrues interest to ``day``, and the promises, a query each): those are ``UNLOADED``, and a
    rule that reads one raises ``NotLoaded`` (the caller then builds the full view)."""
    return CaseView(
        loan_id=loan.loan_id, state=loan.state, state_entered_on=loan.state_entered_on, origin=loan.origin,
        employer_type=loader.employer_type.get(loan.borrower_id, "none"), maturity_on=loan.maturity_on,
        first_past_due=first_past_due(loan), balance_fen=UNLOADED, last_payer=loader.last_payer.get(loan.loan_id),
        limitation_start=loan.limitation_start, sued_on=loan.sued_on, awaiting_approval=loan.awaiting_approval,
        last_visit_outcome=loader.last_visit.get(loan.loan_id), guarantees=loader.guarantees(loan, day), promises=UNLOADED,
        plan_active=UNLOADED, oldest_unpaid_line_due=UNLOADED,
        judgments=tuple(JudgmentView(j.id, j.perform_by, j.enforcement_applied_on, j.judged_on) for j in loader.judgments.get(loan.loan_id, [])),
        acts=tuple(loader.acts_until(loan.loan_id, day)),
    )
