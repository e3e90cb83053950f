"""Strategy replay: the book's own history under another policy, before anyone is affected.

``replay(source_url, challenger, d1, d2)`` reads the live database read-only (SQLite opened with
``mode=ro``; PostgreSQL in READ ONLY, REPEATABLE READ transactions: one consistent snapshot),
and rebuilds the book in a scratch SQLite file:

1. the loans, borrowers, guarantors and collateral as first imported (state performing; the
   balances the payments recorded since let us recover, see ``LIMITS``);
2. from the source's first business date, the daily engine (``services.daily.run_dates``) under
   the champion, with every recorded act (``services.replay_events``) applied on its recorded
   date after that date's run — as the branch did — up to D1;
3. there it branches: a copy continues under the challenger (next event dates recomputed with
   ``services.daily.reschedule``), the original under the champion, each to D2, with the same
   recorded acts. An act the replayed case no longer allows is skipped and counted; what the
   challenger wants earlier than history did it is counted as "would be due on …", never done.

The scratch databases are SQLite files in a temporary directory, also for a PostgreSQL source:
the engine runs unchanged on SQLite, the application role has no right to create schemas in
production (README, least privilege), and a replay then puts no load on the live server beyond
one read. They are deleted when the replay ends.
"""

from __future__ import annotations

import math
import re
import shutil
import sqlite3
import statistics
import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Callable, Iterable

from sqlalchemy import Engine, create_engine, event, insert, select, text

from machines.policy import Policy, load_policy
from models.domain.dates import add_days
from models.domain.deadlines import limitation_end
from models.domain.errors import BadInput, RuleViolation
from models.store import UnitOfWork, database_url, migrate
from models.tables import (
    Action, Borrower, Collateral, Guarantor, History, LegalAct, Loan, Officer, Payment, Plan, RunDay,
)
from services import daily
from services.replay_events import RecordedEvent, apply
from services.views import guarantee_of
from services.worklist import deadlines_at_risk

RUNGS = ("overdue", "internal_review", "visit", "guarantor_pressure", "litigation", "installment", "revitalization", "closed")
CATEGORIES = daily.CATEGORIES
KEEP = 500  # "would be due" and skipped items kept in full (all are counted)

LIMITS = [
    "Borrowers' behaviour is held fixed: payments, promises and visit outcomes happen on their recorded dates, "
    "whatever the challenger would have done; a pay-off stays a pay-off of what the replayed case owed.",
    "An operator's act that the replayed case no longer allows (a move from a state it is not in, a judgment on a "
    "case not in litigation) is skipped and counted, never forced.",
    "Moves the challenger would want earlier than history has them are counted as \"would be due on\" their "
    "date; no operator act is invented.",
    "The book is rebuilt as first imported: balances are recovered from the recorded payments; interest owed "
    "before a loan's first payment is taken as what that payment settled of it, so balances before it can be "
    "off (transitions, days and workload do not depend on them). An overdue date set by an installment missed under an "
    "agreement is left to the replayed agreement to set again; a revitalization credit's loan is booked again by the "
    "replayed revitalization, with its recorded amount, rate and maturity.",
    "Loans added by a later import are replayed as if on file from the first business date; re-imported "
    "changes to a loan (new terms, new overdue dates) are replayed as their latest values.",
    "Within one date the source keeps no time of day across tables: acts are applied after that date's run, "
    "moves first, money last.",
    "Workload counts the tasks the daily run creates (demands to send, cases sent to visit, approvals asked), "
    "per officer responsible and ISO week; not the time an officer spends on them.",
]


# --- reading the source, read-only ---------------------------------------------------------------


def source_engine(url: str | None) -> Engine:
    """An engine that cannot write: SQLite read-only by URI, PostgreSQL read-only transactions."""
    url = database_url(url)
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///")).resolve()
        if not path.is_file():
            raise BadInput(f"--db: no database file {path}")
        return create_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
    if url.startswith("postgresql"):
        return create_engine(url, connect_args={"options": "-c default_transaction_read_only=on -c jit=off"},
                             isolation_level="REPEATABLE READ")
    raise BadInput(f"--db: unsupported database URL {url!r}")


@dataclass
class Book:
    borrowers: list[dict[str, Any]]
    officers: list[dict[str, Any]]
    loans: list[dict[str, Any]]
    guarantors: list[dict[str, Any]]
    collateral: list[dict[str, Any]]
    events: list[RecordedEvent]
    history: list[tuple[str, str, str, str, date]]  # (loan, from, to, event, on): what the source recorded
    first_date: date | None  # the source's first business date run
    last_date: date | None


def _rows(conn: Any, table: Any, *order: Any) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in conn.execute(select(table.__table__).order_by(*order))]


def read_book(url: str | None) -> Book:
    """The book as first imported and every recorded act, from the source (never written)."""
    engine = source_engine(url)
    try:
        with engine.connect() as conn:
            borrowers = _rows(conn, Borrower, Borrower.borrower_id)
            officers = _rows(conn, Officer, Officer.officer_id)
            loans = _rows(conn, Loan, Loan.loan_id)
            guarantors = _rows(conn, Guarantor, Guarantor.id)
            collateral = _rows(conn, Collateral, Collateral.id)
            payments = _rows(conn, Payment, Payment.paid_on, Payment.id)
            actions = _rows(conn, Action, Action.on, Action.id)
            plans = _rows(conn, Plan, Plan.id)
            history = _rows(conn, History, History.id)
            legal = _rows(conn, LegalAct, LegalAct.took_effect_on, LegalAct.id)
            dates = conn.execute(select(RunDay.business_date).order_by(RunDay.business_date)).scalars().all()
            conn.rollback()
    finally:
        engine.dispose()
    return rebuild(borrowers, officers, loans, guarantors, collateral, payments, actions, plans, history,
                   dates[0] if dates else None, dates[-1] if dates else None, legal)


def rebuild(
    borrowers: list[dict[str, Any]], officers: list[dict[str, Any]], loans: list[dict[str, Any]],
    guarantors: list[dict[str, Any]], collateral: list[dict[str, Any]], payments: list[dict[str, Any]],
    actions: list[dict[str, Any]], plans: list[dict[str, Any]], history: list[dict[str, Any]],
    first_date: date | None, last_date: date | None, legal: list[dict[str, Any]] | None = None,
) -> Book:
    """Pure: the rows as first imported and the recorded acts, from the source's rows."""
    manual = [h for h in history if h["by"] != "system"]
    events: list[RecordedEvent] = []
    # a revitalization credit is a loan of its own (<LOAN>-R<n>) that the replayed revitalize books
    # again, with the recorded amount, rate and maturity: it is not seeded as imported
    credits = {a["target"] for a in actions if a["kind"] == "revitalization_credit" and a["target"]}
    credit_loans = {row["loan_id"]: row for row in loans if row["loan_id"] in credits and row.get("parent_loan_id")}
    loans = [row for row in loans if row["loan_id"] not in credit_loans]
    events += _legal_events(legal or [], actions)
    # assets taken in settlement: their payment is part of the act, not a payment of its own
    taken = [a for a in actions if a["kind"] == "asset_taken"]
    used: set[int] = set()
    for a in taken:
        pay = next((p for p in payments if p["id"] not in used and p["loan_id"] == a["loan_id"] and p["paid_on"] == a["on"]
                    and p["amount_fen"] == a["amount_fen"]), None)
        payer = None
        if pay is not None:
            used.add(pay["id"])
            payer = f"guarantor:{pay['guarantor_name']}" if pay["payer"] == "guarantor" else pay["payer"]
        events.append(RecordedEvent(a["on"], "take_asset", a["loan_id"], a["id"],
                                    {"asset": a["target"], "value_fen": a["amount_fen"], "payer": payer, "by": a["by"]}))
    payments = [p for p in payments if p["id"] not in used]
    # a pay-off: the loan's last payment, on the date an operator's settle closed it
    settled = {(h["loan_id"], h["on"]) for h in manual if h["event"] == "settle"}
    last_payment = {p["loan_id"]: p["id"] for p in payments}
    for p in payments:
        payer = f"guarantor:{p['guarantor_name']}" if p["payer"] == "guarantor" else p["payer"]
        payoff = last_payment[p["loan_id"]] == p["id"] and (p["loan_id"], p["paid_on"]) in settled
        events.append(RecordedEvent(p["paid_on"], "payment", p["loan_id"], p["id"],
                                    {"amount_fen": p["amount_fen"], "payer": payer, "by": p["recorded_by"], "payoff": payoff}))
    promises = {(a["loan_id"], a["on"], a["by"]): a for a in actions if a["kind"] == "promise"}
    assets = {(c["loan_id"], c["asset_id"]) for c in collateral}
    approvals = {(h["loan_id"], h["on"], h["event"]): h for h in manual}
    for a in actions:
        kind, args = a["kind"], {"by": a["by"]}
        if a["by"] == "system":
            continue
        if kind in ("visit", "employer_visit"):
            promise = promises.get((a["loan_id"], a["on"], a["by"])) if a["outcome"] == "promise" else None
            args |= {"outcome": a["outcome"], "employer": kind == "employer_visit",
                     "promise": (promise["amount_fen"], promise["due_on"]) if promise else None}
            events.append(RecordedEvent(a["on"], "visit", a["loan_id"], a["id"], args))
        elif kind == "demand" and not legal:  # a source without legal_acts (before issue 14)
            events.append(RecordedEvent(a["on"], "demand", a["loan_id"], a["id"], args | {"guarantor": a["target"]}))
        elif kind == "cost":
            events.append(RecordedEvent(a["on"], "cost", a["loan_id"], a["id"], args | {"amount_fen": a["amount_fen"], "what": a["detail"]}))
        elif kind == "freeze_request":
            is_asset = (a["loan_id"], a["target"]) in assets
            events.append(RecordedEvent(a["on"], "freeze", a["loan_id"], a["id"], args | {
                "asset": a["target"] if is_asset else None, "guarantor": None if is_asset else a["target"], "authority": a["detail"]}))
        elif kind == "revitalization_credit":
            h = approvals.get((a["loan_id"], a["on"], "revitalize"), {})
            credit = credit_loans.get(a["target"])
            events.append(RecordedEvent(a["on"], "revitalize", a["loan_id"], a["id"], args | {
                "credit_fen": a["amount_fen"], "approved_by": h.get("approved_by"), "reason": h.get("reason"),
                "rate_ppm": credit["rate_ppm"] if credit else None, "maturity": credit["maturity_on"] if credit else None}))
        elif kind == "classification":  # recorded by the approver; the detail names who classified and why
            m = CLASSIFIED.match(a["detail"] or "")
            if m is not None:
                events.append(RecordedEvent(a["on"], "classify", a["loan_id"], a["id"], {
                    "to": a["target"], "by": m["by"], "reason": m["reason"], "approved_by": a["by"]}))
        elif kind == "judgment":
            events.append(RecordedEvent(a["on"], "judgment", a["loan_id"], a["id"], args | {"amount_fen": a["amount_fen"], "perform_by": a["due_on"]}))
        elif kind == "enforcement_application":
            events.append(RecordedEvent(a["on"], "enforce", a["loan_id"], a["id"], args))
        elif kind == "asset_disposed":
            events.append(RecordedEvent(a["on"], "dispose_asset", a["loan_id"], a["id"], args | {"asset": a["target"], "proceeds_fen": a["amount_fen"]}))
    for p in plans:
        h = approvals.get((p["loan_id"], p["signed_on"], "sign_plan"), {})
        events.append(RecordedEvent(p["signed_on"], "plan", p["loan_id"], p["id"], {
            "monthly_fen": p["monthly_fen"], "first_due": p["first_due"], "by": h.get("by", "operator")}))
    for h in manual:
        if h["event"] in ("settle", "sign_plan", "revitalize"):
            continue  # recorded by the payment, plan and credit above
        kind = "write_off" if h["event"] == "write_off" else "move"
        events.append(RecordedEvent(h["on"], kind, h["loan_id"], h["id"], {
            "to": h["to_state"], "reason": h["reason"], "by": h["by"], "approved_by": h["approved_by"]}))
    events.sort(key=lambda e: e.sort_key)
    return Book(
        borrowers=borrowers,
        officers=[o | {"suspended_since": None} for o in officers],
        loans=_loans_as_imported(loans, payments, actions, plans),
        guarantors=_guarantors_as_imported(guarantors, payments),
        collateral=_collateral_as_imported(collateral, actions),
        events=events,
        history=sorted((h["loan_id"], h["from_state"], h["to_state"], h["event"], h["on"]) for h in history),
        first_date=first_date,
        last_date=last_date,
    )


# services.judgement.classify's detail: "{by} classified {before} → {to} (floor {floor}): {reason}; approved by {approver}"
CLASSIFIED = re.compile(r"^(?P<by>\S+) classified \S+ → \S+ \(floor \S+\): (?P<reason>.*); approved by \S+$", re.S)


def _legal_events(legal: list[dict[str, Any]], actions: list[dict[str, Any]]) -> list[RecordedEvent]:
    """The legal acts (issue 14) as recorded events: a demand recorded by ``npl demand`` (it has
    its demand action) through the same service, with its method and evidence; an enforcement
    application through ``enforce`` (from its action, below: it records its act itself); every
    other act — a served letter's demand, a filing, the ruling ending enforcement, one recorded
    with ``npl act`` — through ``record_act`` with its fields. Acts derived from payments and
    plans are not stored: the replayed payments and plans derive them again."""
    out = []
    demands = Counter((a["loan_id"], a["on"], a["target"] or "borrower", a["by"]) for a in actions if a["kind"] == "demand" and a["by"] != "system")
    enforced = Counter((a["loan_id"], a["on"]) for a in actions if a["kind"] == "enforcement_application")
    for r in legal:
        on, by = r["took_effect_on"], r["recorded_by"]
        key = (r["loan_id"], on, r["party"], by)
        if r["kind"] == "demand" and r["letter_no"] is None and demands[key] > 0:
            demands[key] -= 1
            out.append(RecordedEvent(on, "demand", r["loan_id"], r["id"], {
                "by": by, "guarantor": None if r["party"] == "borrower" else r["party"], "method": r["method"], "tracking": r["evidence"]}))
            continue
        if r["kind"] == "enforcement_application" and enforced[(r["loan_id"], on)] > 0:
            enforced[(r["loan_id"], on)] -= 1
            continue
        out.append(RecordedEvent(on, "act", r["loan_id"], r["id"], {
            "by": by, **{k: r[k] for k in ("kind", "party", "method", "evidence", "court", "case_no", "letter_no")}}))
    return out


def _loans_as_imported(loans: list[dict[str, Any]], payments: list[dict[str, Any]], actions: list[dict[str, Any]],
                       plans: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_loan: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for p in payments:
        by_loan[p["loan_id"]].append(p)
    plan_of = {}
    for p in plans:
        plan_of.setdefault(p["loan_id"], p)
    money_moved = {a["loan_id"] for a in actions if a["kind"] in ("cost",)} | set(by_loan) | set(plan_of)
    out = []
    for loan in loans:
        row = dict(loan)
        row.update(state="performing", state_entered_on=None, closed_reason=None, classification="normal", restructured_on=None,
                   observation_from=None, observation_until=None, restructured_floor=None, staff_classification=None,
                   classification_at_close=None, limitation_start=None, sued_on=None, awaiting_approval=None, awaiting_reason=None,
                   urgent=False, employer_pressure=False, touched=False, accrual_stopped=False, version=1,
                   compound_fen=0, delayed_fen=0, judgment_debt_fen=0, judgment_perform_by=None)  # a judgment replays
        agreed = plan_of.get(loan["loan_id"])
        if agreed is not None and row["overdue_since"] is not None and row["overdue_since"] >= agreed["signed_on"]:
            # an installment missed under an agreement set it (restructuring.record_missed_installment):
            # the replayed plan sets it again; the loan's own oldest due date is its maturity
            row["overdue_since"] = None
        paid = by_loan.get(loan["loan_id"], [])
        if loan["loan_id"] in money_moved or loan["state"] == "closed":
            principal_paid = sum(p["principal_fen"] for p in paid)
            row["outstanding_principal_fen"] = loan["outstanding_principal_fen"] + principal_paid
            row["overdue_principal_fen"] = min(row["outstanding_principal_fen"], loan["overdue_principal_fen"] + principal_paid)
            row["costs_fen"] = 0  # the import brings no costs: every one was recorded since
            first = paid[0] if paid else None
            agreement = plan_of.get(loan["loan_id"])
            if agreement is not None and (first is None or agreement["signed_on"] < first["paid_on"]):
                # the plan's total is what was owed on its signing date
                row["interest_fen"] = agreement["total_fen"] - row["outstanding_principal_fen"]
                row["penalty_fen"] = 0
                row["accrued_to"] = agreement["signed_on"]
            elif first is not None:
                row["interest_fen"], row["penalty_fen"] = first["interest_fen"], first["penalty_fen"]
                row["compound_fen"] = first.get("compound_fen", 0)
                row["accrued_to"] = first["paid_on"]
            row["last_payment_on"] = None
        nothing_owed = row["outstanding_principal_fen"] + row["interest_fen"] == 0
        row["next_event_on"] = row["accrued_to"] if nothing_owed else add_days(row["overdue_since"] or row["maturity_on"], 1)
        out.append(row)
    return out


def _guarantors_as_imported(guarantors: list[dict[str, Any]], payments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    paid: Counter[tuple[str, str]] = Counter()
    for p in payments:
        if p["payer"] == "guarantor":
            paid[(p["loan_id"], p["guarantor_name"])] += p["amount_fen"]
    out = []
    for g in guarantors:
        row = dict(g) | {"demanded_on": None, "limitation_interrupted_on": None, "frozen_on": None}
        if row["account_balance_fen"] is not None:
            row["account_balance_fen"] += paid[(g["loan_id"], g["name"])]
        out.append(row)
    return out


def _collateral_as_imported(collateral: list[dict[str, Any]], actions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    acted = {(a["loan_id"], a["target"]) for a in actions if a["kind"] in ("freeze_request", "asset_taken", "asset_disposed")}
    out = []
    for c in collateral:
        row = dict(c)
        if (c["loan_id"], c["asset_id"]) in acted:
            row.update(status="free", frozen_on=None, authority=None, taken_on=None, disposed_on=None)
        out.append(row)
    return out


# --- the scratch databases ------------------------------------------------------------------------

AWAITING_SQL = [
    "CREATE TABLE replay_awaiting (loan_id TEXT, event TEXT, officer TEXT, day TEXT)",
    # the date being run: the day after the last one the ledger completed (the run writes its
    # ledger row when a date is complete)
    """CREATE TRIGGER replay_awaiting_set AFTER UPDATE OF awaiting_approval ON loans
       WHEN NEW.awaiting_approval IS NOT NULL AND (OLD.awaiting_approval IS NULL OR OLD.awaiting_approval <> NEW.awaiting_approval)
       BEGIN INSERT INTO replay_awaiting VALUES (NEW.loan_id, NEW.awaiting_approval, NEW.assigned_to,
             (SELECT date(MAX(business_date), '+1 day') FROM run_ledger)); END""",
]


def _pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=OFF")  # a scratch file: nothing to keep after a crash
    cursor.execute("PRAGMA cache_size=-262144")
    cursor.close()


@dataclass
class Scratch:
    path: Path
    engine: Engine = field(init=False)

    def __post_init__(self) -> None:
        self.engine = create_engine(f"sqlite:///{self.path}")
        event.listen(self.engine, "connect", _pragmas)
        migrate(self.engine)

    def uow(self) -> UnitOfWork:
        return UnitOfWork(engine=self.engine)

    def copy_to(self, path: Path) -> "Scratch":
        self.engine.dispose()
        src, dst = sqlite3.connect(self.path), sqlite3.connect(path)
        try:
            src.backup(dst)
        finally:
            src.close()
            dst.close()
        return Scratch(path)

    def close(self) -> None:
        self.engine.dispose()


def seed(scratch: Scratch, book: Book) -> None:
    with scratch.engine.begin() as conn:
        for sql in AWAITING_SQL:
            conn.execute(text(sql))
        for table, rows in ((Borrower, book.borrowers), (Officer, book.officers), (Loan, book.loans),
                            (Guarantor, book.guarantors), (Collateral, book.collateral)):
            if rows:
                conn.execute(insert(table.__table__), rows)


@dataclass
class Acts:
    applied: int = 0
    capped: int = 0
    skipped: int = 0
    skipped_items: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"applied": self.applied, "capped": self.capped, "skipped": self.skipped, "skipped_items": self.skipped_items}


def advance(scratch: Scratch, events: list[RecordedEvent], policy: Policy, start: date, end: date, acts: Acts,
            week_end: Callable[[date], None] | None = None) -> None:
    """Run the daily engine for every date from ``start`` (or the scratch's next date) to ``end``
    under ``policy``, applying each recorded act dated in that span after its date's run."""
    by_day: dict[date, list[RecordedEvent]] = defaultdict(list)
    for ev in events:
        if ev.on <= end:
            by_day[ev.on].append(ev)
    stops = set(by_day)
    if week_end is not None:
        stops |= {d for d in _days(start, end) if d.isoweekday() == 7}
    stops.add(end)
    for stop in sorted(d for d in stops if d >= start):
        daily.run_dates(scratch.uow, start, stop, policy)
        for ev in by_day.get(stop, ()):
            with scratch.uow() as uow:
                try:
                    outcome = apply(uow, ev, policy)
                except (RuleViolation, BadInput) as refused:
                    acts.skipped += 1
                    if len(acts.skipped_items) < KEEP:
                        acts.skipped_items.append({"loan_id": ev.loan_id, "act": ev.kind, "on": ev.on.isoformat(), "why": str(refused)})
                    continue
            acts.applied += 1
            acts.capped += outcome == "capped"
        if week_end is not None and (stop.isoweekday() == 7 or stop == end):
            week_end(stop)


def _days(start: date, end: date) -> Iterable[date]:
    d = start
    while d <= end:
        yield d
        d = add_days(d, 1)


def apply_before(scratch: Scratch, events: list[RecordedEvent], first: date, policy: Policy, acts: Acts) -> list[RecordedEvent]:
    """Acts dated before the first business date (recorded before any run): applied first."""
    early = [e for e in events if e.on < first]
    for ev in early:
        with scratch.uow() as uow:
            try:
                apply(uow, ev, policy)
                acts.applied += 1
            except (RuleViolation, BadInput):
                acts.skipped += 1
    return [e for e in events if e.on >= first]


# --- metrics ----------------------------------------------------------------------------------------


def _percentile(values: list[int], q: float) -> int | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]  # nearest rank


def iso_week(d: date) -> str:
    year, week, _ = d.isocalendar()
    return f"{year}-W{week:02d}"


def metrics(scratch: Scratch, d1: date, d2: date, policy: Policy, risks_by_week: dict[str, dict[str, int]], acts: Acts) -> dict[str, Any]:
    with scratch.uow() as uow:
        s = uow.session
        officer = dict(s.execute(select(Loan.loan_id, Loan.assigned_to)).all())
        hist = s.execute(select(History.loan_id, History.to_state, History.event, History.on).order_by(History.id)).all()
        fell_due = {}
        for loan_id, _to_state, ev, on in hist:
            if ev == "fall_due" and loan_id not in fell_due:
                fell_due[loan_id] = on
        entered: Counter[str] = Counter()
        days_to: dict[str, list[int]] = defaultdict(list)
        seen: set[tuple[str, str]] = set()
        tasks: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
        for loan_id, to_state, _ev, on in hist:
            if not d1 < on <= d2:
                continue
            entered[to_state] += 1
            if (loan_id, to_state) not in seen and loan_id in fell_due:
                seen.add((loan_id, to_state))
                days_to[to_state].append((on - fell_due[loan_id]).days)
            if to_state == "visit":
                tasks[(officer.get(loan_id) or "unassigned", iso_week(on))]["visits"] += 1
        for loan_id, on in s.execute(select(Action.loan_id, Action.on).where(
                Action.kind == "demand", Action.by == "system", Action.on > d1, Action.on <= d2)):
            tasks[(officer.get(loan_id) or "unassigned", iso_week(on))]["letters"] += 1
        awaiting = s.execute(text("SELECT loan_id, event, officer, day FROM replay_awaiting")).all()
        first_awaiting: dict[tuple[str, str], date] = {}
        approvals = 0
        for loan_id, ev, off, day_text in awaiting:
            day = date.fromisoformat(day_text) if day_text else d1
            first_awaiting.setdefault((loan_id, ev), day)
            if d1 < day <= d2:
                approvals += 1
                tasks[(off or "unassigned", iso_week(day))]["approvals"] += 1
        open_rows = s.execute(select(Loan.classification, Loan.state, Loan.outstanding_principal_fen)).all()
        mix = Counter(c if st != "closed" else "closed" for c, st, _ in open_rows)
        lapsed = _lapsed(s, d1, d2)
        risks_at_end = deadlines_at_risk(s, d2, policy)
    weeks = sorted({w for _, w in tasks} | set(risks_by_week))
    per_week = []
    for w in weeks:
        row = {"week": w, "letters": 0, "visits": 0, "approvals": 0}
        for (_officer, week), c in tasks.items():
            if week == w:
                for k in ("letters", "visits", "approvals"):
                    row[k] += c[k]
        row["tasks"] = row["letters"] + row["visits"] + row["approvals"]
        row["deadlines_at_risk"] = risks_by_week.get(w, {}).get("at_risk", 0)
        per_week.append(row)
    officer_weeks = [sum(c.values()) for c in tasks.values()]
    return {
        "entered": {r: entered.get(r, 0) for r in RUNGS},
        "entered_total": sum(entered.values()),
        "days_from_due": {r: {"cases": len(days_to[r]), "median": statistics.median(days_to[r]) if days_to[r] else None,
                              "p90": _percentile(days_to[r], 0.9)} for r in RUNGS if r != "overdue"},
        "tasks": {"letters": sum(c["letters"] for c in tasks.values()), "visits": sum(c["visits"] for c in tasks.values()),
                  "approvals": approvals},
        "tasks_per_officer_week": {"officer_weeks": len(officer_weeks),
                                   "mean": round(sum(officer_weeks) / len(officer_weeks), 2) if officer_weeks else 0,
                                   "max": max(officer_weeks, default=0)},
        "tasks_by_officer_week": [{"officer": off, "week": w, **{k: c[k] for k in ("letters", "visits", "approvals")}}
                                  for (off, w), c in sorted(tasks.items())],
        "approvals_needed": approvals,
        "deadlines": {"at_risk_at_end": len(risks_at_end),
                      "at_risk_weekly_max": max((v["at_risk"] for v in risks_by_week.values()), default=0),
                      "lapsed": lapsed},
        "classification_at_end": {c: mix.get(c, 0) for c in (*CATEGORIES, "closed")},
        "weekly": per_week,
        "acts": acts.as_dict(),
        "_first_awaiting": first_awaiting,
    }


def _lapsed(s: Any, d1: date, d2: date) -> dict[str, int]:
    """Legal periods that ended in (d1, d2] on a case still open at d2 without the act that keeps them."""
    guarantees = limitation = 0
    loans = {loan.loan_id: loan for loan in s.scalars(select(Loan).where(Loan.state != "closed"))}
    for g in s.scalars(select(Guarantor)):
        loan = loans.get(g.loan_id)
        if loan is None:
            continue
        status = guarantee_of(g, loan)
        if d1 < status.period_end <= d2 and not status.preserved:
            guarantees += 1
    for loan in loans.values():
        if loan.sued_on is None:
            end = limitation_end(loan.maturity_on, [loan.limitation_start] if loan.limitation_start else [])
            if d1 < end <= d2:
                limitation += 1
    return {"guarantee_period": guarantees, "limitation": limitation}


# --- the replay --------------------------------------------------------------------------------------


@dataclass
class ReplayReport:
    d1: date
    d2: date
    champion: dict[str, Any]
    challenger: dict[str, Any]
    difference: dict[str, Any]
    would_be_due: dict[str, Any]
    limits: list[str]

    def as_dict(self) -> dict[str, Any]:
        return {"from": self.d1.isoformat(), "to": self.d2.isoformat(), "champion": self.champion, "challenger": self.challenger,
                "difference": self.difference, "would_be_due": self.would_be_due, "limits": self.limits}


def _risk_sampler(scratch: Scratch, policy: Policy, into: dict[str, dict[str, int]]) -> Callable[[date], None]:
    def sample(day: date) -> None:
        with scratch.uow() as uow:
            into[iso_week(day)] = {"at_risk": len(deadlines_at_risk(uow.session, day, policy))}
    return sample


def _difference(a: Any, b: Any) -> Any:
    """challenger − champion, key by key, for the numeric metrics."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = {k: _difference(a[k], b[k]) for k in a if k in b}
        return {k: v for k, v in out.items() if v is not None}
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return b - a
    return None


def reproduce(source_url: str | None, policy: Policy | None = None, through: date | None = None,
              workdir: str | Path | None = None) -> list[tuple[str, str, str, str, date]]:
    """The source's history as the replay makes it from the book as first imported, under
    ``policy`` (the policy in force) to ``through`` (the source's last date): the determinism check."""
    policy = policy or load_policy()
    book = read_book(source_url)
    if book.first_date is None:
        return []
    end = through or book.last_date
    assert end is not None
    with tempfile.TemporaryDirectory(prefix="npl-replay-", dir=workdir) as tmp:
        scratch = Scratch(Path(tmp) / "champion.db")
        try:
            seed(scratch, book)
            events = apply_before(scratch, book.events, book.first_date, policy, Acts())
            advance(scratch, events, policy, book.first_date, end, Acts())
            with scratch.uow() as uow:
                rows = uow.session.execute(select(History.loan_id, History.from_state, History.to_state, History.event, History.on)).all()
        finally:
            scratch.close()
    return sorted(tuple(r) for r in rows)  # type: ignore[misc]


PARALLEL_FROM = 20_000  # below this, a second process costs more to start than it saves


def _branch(path: Path, events: list[RecordedEvent], policy: Policy, d1: date, d2: date, scratch: Scratch | None = None) -> dict[str, Any]:
    """One side of the fork: from the day after ``d1`` to ``d2`` under ``policy``; its metrics."""
    own = scratch is None
    scratch = scratch or Scratch(path)
    try:
        acts, risks = Acts(), {}
        advance(scratch, events, policy, add_days(d1, 1), d2, acts, week_end=_risk_sampler(scratch, policy, risks))
        return metrics(scratch, d1, d2, policy, risks, acts)
    finally:
        if own:
            scratch.close()


def replay(
    source_url: str | None, challenger: Policy, d1: date, d2: date, *, champion: Policy | None = None,
    workdir: str | Path | None = None, on_progress: Callable[[str], None] | None = None, keep: str | Path | None = None,
    parallel: bool | None = None,
) -> ReplayReport:
    """Replay the book under ``challenger`` and ``champion`` (default: the policy in force) from
    ``d1`` to ``d2`` and compare (module docstring). ``keep``: a folder to copy the two scratch
    databases into (champion.db, challenger.db) before they are deleted. ``parallel``: run the
    challenger's branch in a second process (default: for books of PARALLEL_FROM loans or more)."""
    if d2 <= d1:
        raise BadInput("--to must be after --from")
    champion = champion or load_policy()
    say = on_progress or (lambda _message: None)
    say("reading the book")
    book = read_book(source_url)
    first = book.first_date or d1
    if d1 < first:
        raise BadInput(f"--from {d1} is before the book's first business date {first}")
    with tempfile.TemporaryDirectory(prefix="npl-replay-", dir=workdir) as tmp:
        base = Scratch(Path(tmp) / "champion.db")
        scratches = [base]
        try:
            seed(base, book)
            events = apply_before(base, book.events, first, champion, Acts())
            say(f"replaying {first} → {d1} under the champion")
            advance(base, events, champion, first, d1, Acts())
            later = [e for e in events if e.on > d1]
            alt = base.copy_to(Path(tmp) / "challenger.db")
            scratches.append(alt)
            daily.reschedule(alt.uow, d1, challenger)  # the challenger's limits move every next event date
            results = {}
            if parallel is None:
                parallel = len(book.loans) >= PARALLEL_FROM
            if parallel:  # the two branches are independent files: the challenger's in a second process
                import multiprocessing
                from concurrent.futures import ProcessPoolExecutor

                alt.close()
                say(f"replaying {add_days(d1, 1)} → {d2} under the champion and the challenger, in two processes")
                with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
                    other = pool.submit(_branch, alt.path, later, challenger, d1, d2)
                    results["champion"] = _branch(base.path, later, champion, d1, d2, base)
                    results["challenger"] = other.result()
            else:
                for name, scratch, policy in (("champion", base, champion), ("challenger", alt, challenger)):
                    say(f"replaying {add_days(d1, 1)} → {d2} under the {name}")
                    results[name] = _branch(scratch.path, later, policy, d1, d2, scratch)
            if keep is not None:
                Path(keep).mkdir(parents=True, exist_ok=True)
                for scratch in scratches:
                    scratch.close()
                    shutil.copyfile(scratch.path, Path(keep) / scratch.path.name)
        finally:
            for scratch in scratches:
                scratch.close()
    earlier = _would_be_due(results["champion"].pop("_first_awaiting"), results["challenger"].pop("_first_awaiting"), d1, d2)
    difference = _difference({k: v for k, v in results["champion"].items() if k not in ("weekly", "tasks_by_officer_week", "acts")},
                             {k: v for k, v in results["challenger"].items() if k not in ("weekly", "tasks_by_officer_week", "acts")})
    return ReplayReport(d1, d2, results["champion"], results["challenger"], difference, earlier, list(LIMITS))


def _would_be_due(champion: dict[tuple[str, str], date], challenger: dict[tuple[str, str], date], d1: date, d2: date) -> dict[str, Any]:
    """Moves needing a person that the challenger asks for earlier than the champion did (or at all)."""
    items = []
    for (loan_id, ev), day in sorted(challenger.items(), key=lambda kv: (kv[1], kv[0])):
        if not d1 < day <= d2:
            continue
        before = champion.get((loan_id, ev))
        if before is None or day < before:
            items.append({"loan_id": loan_id, "act": ev, "would_be_due_on": day.isoformat(),
                          "champion_asked_on": before.isoformat() if before else None})
    return {"count": len(items), "items": items[:KEEP]}


# --- what it shows ----------------------------------------------------------------------------------


def weekly_table(report: ReplayReport) -> list[dict[str, Any]]:
    """Per ISO week: tasks and deadlines at risk, champion beside challenger (the chart's numbers)."""
    rows: dict[str, dict[str, Any]] = {}
    for side in ("champion", "challenger"):
        for w in getattr(report, side)["weekly"]:
            row = rows.setdefault(w["week"], {"week": w["week"], "champion_tasks": 0, "challenger_tasks": 0,
                                              "champion_at_risk": 0, "challenger_at_risk": 0})
            row[f"{side}_tasks"] = w["tasks"]
            row[f"{side}_at_risk"] = w["deadlines_at_risk"]
    return [rows[k] for k in sorted(rows)]


def summary_rows(report: ReplayReport) -> list[dict[str, Any]]:
    """The comparison as flat rows: metric, champion, challenger, difference."""
    out: list[dict[str, Any]] = []

    def walk(prefix: str, a: Any, b: Any) -> None:
        if isinstance(a, dict):
            for k in a:
                walk(f"{prefix}.{k}" if prefix else k, a[k], b.get(k) if isinstance(b, dict) else None)
        elif isinstance(a, (int, float)) or a is None:
            diff = b - a if isinstance(a, (int, float)) and isinstance(b, (int, float)) else None
            out.append({"metric": prefix, "champion": a, "challenger": b, "difference": diff})

    skip = ("weekly", "tasks_by_officer_week", "acts")
    walk("", {k: v for k, v in report.champion.items() if k not in skip}, {k: v for k, v in report.challenger.items() if k not in skip})
    for k in ("applied", "capped", "skipped"):
        out.append({"metric": f"recorded acts {k}", "champion": report.champion["acts"][k], "challenger": report.challenger["acts"][k],
                    "difference": report.challenger["acts"][k] - report.champion["acts"][k]})
    return out


def chart(report: ReplayReport, path: str | Path) -> Path:
    """PNG: tasks per week and deadlines at risk per week, champion vs challenger."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    rows = weekly_table(report)
    figure = Figure(figsize=(10, 6), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    top, bottom = figure.subplots(2, 1, sharex=True)
    weeks = [r["week"] for r in rows]
    x = list(range(len(weeks)))
    for side, colour in (("champion", "#4292c6"), ("challenger", "#d94801")):
        top.plot(x, [r[f"{side}_tasks"] for r in rows], label=side, color=colour)
        bottom.plot(x, [r[f"{side}_at_risk"] for r in rows], label=side, color=colour)
    top.set_title(f"Tasks per week (demands to send, visits, approvals), {report.d1} → {report.d2}")
    bottom.set_title("Deadlines at risk at each week's end")
    for axes in (top, bottom):
        axes.legend(loc="upper right")
        axes.grid(alpha=0.3)
    step = max(1, len(weeks) // 12)
    bottom.set_xticks(x[::step], weeks[::step], rotation=45, ha="right")
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(target, format="png")
    return target


def write_files(report: ReplayReport, xlsx: str | Path) -> list[str]:
    """The workbook (comparison, weeks, officer-weeks of each side, limits, skipped acts, acts
    due earlier) and the chart PNG beside it."""
    import pandas as pd

    from models.spreadsheets import write_report_xlsx

    path = Path(xlsx)
    png = path.with_name(path.stem + "-workload.png")
    chart(report, png)
    skipped = [item | {"side": side} for side in ("champion", "challenger") for item in getattr(report, side)["acts"]["skipped_items"]]
    tables = {
        "comparison": pd.DataFrame(summary_rows(report), columns=["metric", "champion", "challenger", "difference"]),
        "weeks": pd.DataFrame(weekly_table(report), columns=["week", "champion_tasks", "challenger_tasks", "champion_at_risk", "challenger_at_risk"]),
        "champion officer weeks": pd.DataFrame(report.champion["tasks_by_officer_week"], columns=["officer", "week", "letters", "visits", "approvals"]),
        "challenger officer weeks": pd.DataFrame(report.challenger["tasks_by_officer_week"], columns=["officer", "week", "letters", "visits", "approvals"]),
        "would be due": pd.DataFrame(report.would_be_due["items"], columns=["loan_id", "act", "would_be_due_on", "champion_asked_on"]),
        "skipped acts": pd.DataFrame(skipped, columns=["side", "loan_id", "act", "on", "why"]),
        "limits": pd.DataFrame({"limit": report.limits}),
    }
    write_report_xlsx(path, tables, charts={"workload chart": png})
    return [str(path), str(png)]


def markdown(report: ReplayReport) -> str:
    """The comparison and the chart's numbers as markdown (the Prefect artifact)."""
    lines = [f"# Policy replay {report.d1} → {report.d2}", "", "| metric | champion | challenger | difference |", "|---|---|---|---|"]
    for r in summary_rows(report):
        lines.append(f"| {r['metric']} | {_cell(r['champion'])} | {_cell(r['challenger'])} | {_cell(r['difference'])} |")
    lines += ["", f"Acts the challenger would want earlier than history: {report.would_be_due['count']}", "",
              "## Per week (the chart's numbers)", "", "| week | tasks champion | tasks challenger | at risk champion | at risk challenger |",
              "|---|---|---|---|---|"]
    for r in weekly_table(report):
        lines.append(f"| {r['week']} | {r['champion_tasks']} | {r['challenger_tasks']} | {r['champion_at_risk']} | {r['challenger_at_risk']} |")
    lines += ["", "## Limits", ""] + [f"- {limit}" for limit in report.limits]
    return "\n".join(lines) + "\n"


def _cell(value: Any) -> str:
    return "" if value is None else str(value)
