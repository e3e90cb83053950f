"""Copying the book for the strategy replay (services.replay): read the live database read-only
and rebuild the book in a scratch SQLite file.

The source holds each case as it stands now, not as it stood on ``--from``: its loans,
borrowers, guarantors and collateral are recovered **as first imported** (``rebuild``: state
performing, balances from the recorded payments, see ``services.replay.LIMITS``) with every
recorded act as a ``RecordedEvent``; ``services.replay`` runs them forward to ``--from``.

The scratch databases are SQLite files in a temporary directory, also for a PostgreSQL source:
the engine runs unchanged on SQLite, the application role has no right to create schemas in
production (README, least privilege), and a replay then puts no load on the live server beyond
one read.
"""

from __future__ import annotations

import re
import sqlite3
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, insert, select, text

from models.domain.dates import add_days
from models.domain.errors import BadInput
from models.store import UnitOfWork, database_url, migrate
from models.tables import (
    Action, Borrower, Collateral, Guarantor, History, LegalAct, Loan, Officer, Payment, Plan, RunDay,
)
from services.replay_events import RecordedEvent

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


