"""SQLAlchemy 2 declarative tables. Money is integer fen (BigInteger); rates integer ppm."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


Money = BigInteger  # integer fen


class Officer(Base):
    __tablename__ = "officers"
    officer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    suspended_since: Mapped[date | None] = mapped_column(Date)


class Borrower(Base):
    __tablename__ = "borrowers"
    borrower_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    id_number: Mapped[str | None] = mapped_column(String(32))  # masked on output by default
    phone: Mapped[str | None] = mapped_column(String(32))  # masked on output by default
    address: Mapped[str | None] = mapped_column(String(300))
    employer: Mapped[str | None] = mapped_column(String(200))
    employer_type: Mapped[str] = mapped_column(String(20), default="none")
    credit_rating: Mapped[str | None] = mapped_column(String(3))


class Loan(Base):
    """A loan and its collection case (one row: the case is the loan's state)."""

    __tablename__ = "loans"
    loan_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    borrower_id: Mapped[str] = mapped_column(ForeignKey("borrowers.borrower_id"), index=True)
    principal_fen: Mapped[int] = mapped_column(Money)
    rate_ppm: Mapped[int] = mapped_column(Integer)
    disbursed_on: Mapped[date] = mapped_column(Date)
    maturity_on: Mapped[date] = mapped_column(Date)
    product: Mapped[str] = mapped_column(String(20), default="other")
    origin: Mapped[str] = mapped_column(String(20), default="external")
    officer_id: Mapped[str | None] = mapped_column(ForeignKey("officers.officer_id"))
    introduced_by: Mapped[str | None] = mapped_column(String(64))
    assigned_to: Mapped[str | None] = mapped_column(ForeignKey("officers.officer_id"), index=True)
    # balances as of accrued_to (interest and penalty accrue from there: models.domain.interest)
    outstanding_principal_fen: Mapped[int] = mapped_column(Money)
    overdue_principal_fen: Mapped[int] = mapped_column(Money, default=0)
    interest_fen: Mapped[int] = mapped_column(Money, default=0)
    penalty_fen: Mapped[int] = mapped_column(Money, default=0)
    costs_fen: Mapped[int] = mapped_column(Money, default=0)
    accrued_to: Mapped[date] = mapped_column(Date)
    accrual_stopped: Mapped[bool] = mapped_column(Boolean, default=False)  # installment plan runs
    overdue_since: Mapped[date | None] = mapped_column(Date)
    last_payment_on: Mapped[date | None] = mapped_column(Date)
    # the case
    state: Mapped[str] = mapped_column(String(24), default="performing")
    state_entered_on: Mapped[date | None] = mapped_column(Date)
    closed_reason: Mapped[str | None] = mapped_column(String(24))
    classification: Mapped[str] = mapped_column(String(16), default="normal")
    staff_classification: Mapped[str | None] = mapped_column(String(16))
    restructured_on: Mapped[date | None] = mapped_column(Date)
    observation_until: Mapped[date | None] = mapped_column(Date)  # restructured: ≥ restructured_floor
    # issue 15 (migration 0012): the restructured asset's observation start and floor
    observation_from: Mapped[date | None] = mapped_column(Date)
    restructured_floor: Mapped[str | None] = mapped_column(String(16))
    classification_at_close: Mapped[str | None] = mapped_column(String(16))
    compound_fen: Mapped[int] = mapped_column(Money, default=0, server_default=text("0"))
    delayed_fen: Mapped[int] = mapped_column(Money, default=0, server_default=text("0"))
    # issue 15 (migration 0014): used against its agreed purpose (penalty uplift 50–100 %), and the
    # latest judgment's money debt still unperformed and its performance date (delayed performance)
    misused_purpose: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    judgment_debt_fen: Mapped[int] = mapped_column(Money, default=0, server_default=text("0"))
    judgment_perform_by: Mapped[date | None] = mapped_column(Date)
    parent_loan_id: Mapped[str | None] = mapped_column(String(64))  # a revitalization credit's loan
    limitation_start: Mapped[date | None] = mapped_column(Date)  # last interrupting event
    sued_on: Mapped[date | None] = mapped_column(Date)
    awaiting_approval: Mapped[str | None] = mapped_column(String(24))  # event the run wanted
    awaiting_reason: Mapped[str | None] = mapped_column(Text)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    employer_pressure: Mapped[bool] = mapped_column(Boolean, default=False)
    touched: Mapped[bool] = mapped_column(Boolean, default=False)  # an event since the last run
    next_event_on: Mapped[date | None] = mapped_column(Date)
    # issue 20 (migration 0015): where the case's legal clocks end, so that the deadlines at risk
    # read only the cases whose clocks can be near their end (services.worklist.legal_deadlines):
    # every listable clock of the case ends on or after clocks_ahead_on (None: not known, read
    # it) or on or before clocks_behind_on (None: no such clock). A cache of the recorded facts,
    # reset by whatever records a fact (touch, import) and refreshed from the clocks.
    clocks_ahead_on: Mapped[date | None] = mapped_column(Date)
    clocks_behind_on: Mapped[date | None] = mapped_column(Date)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        Index("ix_loans_next_event_on", "next_event_on"),
        # what the daily run's publishing counts read without touching the table (covering)
        Index("ix_loans_state_classification", "state", "classification", "outstanding_principal_fen"),
        Index("ix_loans_state_assigned_to", "state", "assigned_to"),
        Index("ix_loans_awaiting_approval", "assigned_to", "state", "awaiting_approval", sqlite_where=text("awaiting_approval IS NOT NULL"),
              postgresql_where=text("awaiting_approval IS NOT NULL")),
        Index("ix_loans_touched", "loan_id", sqlite_where=text("touched = 1"), postgresql_where=text("touched")),
        # the date the oldest unpaid amount fell due (outside a plan): classification thresholds
        Index("ix_loans_oldest_due", text("coalesce(overdue_since, maturity_on)")),
        # only the rows that have one (most loans have neither); every query of them is a range (migration 0017)
        Index("ix_loans_observation_until", "observation_until", sqlite_where=text("observation_until IS NOT NULL"),
              postgresql_where=text("observation_until IS NOT NULL")),
        Index("ix_loans_clocks_ahead_on", "clocks_ahead_on"),
        Index("ix_loans_clocks_behind_on", "clocks_behind_on", sqlite_where=text("clocks_behind_on IS NOT NULL"),
              postgresql_where=text("clocks_behind_on IS NOT NULL")),
    )


class Guarantor(Base):
    __tablename__ = "guarantors"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    loan_id: Mapped[str] = mapped_column(ForeignKey("loans.loan_id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    guarantor_id: Mapped[str | None] = mapped_column(String(64))
    id_number: Mapped[str | None] = mapped_column(String(32))
    phone: Mapped[str | None] = mapped_column(String(32))
    guarantee_type: Mapped[str] = mapped_column(String(8))
    agreed_period_end: Mapped[date | None] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date, index=True)
    demanded_on: Mapped[date | None] = mapped_column(Date)  # the first demand (preserves a joint guarantee)
    # the latest demand on / payment by the guarantor: restarts the guarantee debt's limitation (Art. 694)
    limitation_interrupted_on: Mapped[date | None] = mapped_column(Date)
    consent_to_change: Mapped[bool] = mapped_column(Boolean, default=False)
    account_balance_fen: Mapped[int | None] = mapped_column(Money)
    frozen_on: Mapped[date | None] = mapped_column(Date)
    signed_on: Mapped[date | None] = mapped_column(Date)  # the guarantee contract's date (import default: disbursement)
    until_repaid: Mapped[bool] = mapped_column(Boolean, default=False)  # period agreed as "until repaid"
    __table_args__ = (UniqueConstraint("loan_id", "name", name="uq_guarantors_loan_name"),)


class Collateral(Base):
    __tablename__ = "collateral"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    loan_id: Mapped[str] = mapped_column(ForeignKey("loans.loan_id"), index=True)
    asset_id: Mapped[str] = mapped_column(String(64))
    owner: Mapped[str] = mapped_column(String(10))
    description: Mapped[str] = mapped_column(String(300))
    estimated_value_fen: Mapped[int] = mapped_column(Money)
    status: Mapped[str] = mapped_column(String(8), default="free")  # free | frozen | sealed | taken | sold
    frozen_on: Mapped[date | None] = mapped_column(Date)
    authority: Mapped[str | None] = mapped_column(String(200))
    taken_on: Mapped[date | None] = mapped_column(Date)  # taken in settlement: disposal clock (Art. 42)
    disposed_on: Mapped[date | None] = mapped_column(Date)
    __table_args__ = (
        UniqueConstraint("loan_id", "asset_id", name="uq_collateral_loan_asset"),
        Index("ix_collateral_taken_on", "taken_on", sqlite_where=text("disposed_on IS NULL"), postgresql_where=text("disposed_on IS NULL")),
    )


class Payment(Base):
    __tablename__ = "payments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    loan_id: Mapped[str] = mapped_column(ForeignKey("loans.loan_id"), index=True)
    paid_on: Mapped[date] = mapped_column(Date)
    amount_fen: Mapped[int] = mapped_column(Money)
    payer: Mapped[str] = mapped_column(String(10))  # borrower | guarantor | court
    guarantor_name: Mapped[str | None] = mapped_column(String(200))
    costs_fen: Mapped[int] = mapped_column(Money)
    penalty_fen: Mapped[int] = mapped_column(Money)
    interest_fen: Mapped[int] = mapped_column(Money)
    principal_fen: Mapped[int] = mapped_column(Money)
    compound_fen: Mapped[int] = mapped_column(Money, default=0, server_default=text("0"))  # migration 0014
    delayed_fen: Mapped[int] = mapped_column(Money, default=0, server_default=text("0"))
    state_at_payment: Mapped[str] = mapped_column(String(24))
    recorded_by: Mapped[str] = mapped_column(String(64), default="operator")
    # the core system's transaction id of a payment from the nightly feed: booked at most once
    reference: Mapped[str | None] = mapped_column(String(64), unique=True, index=True)


class Action(Base):
    """Work done on a case: visits, demands, freezes, promises, approvals, alerts, credit."""

    __tablename__ = "actions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    loan_id: Mapped[str] = mapped_column(ForeignKey("loans.loan_id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    on: Mapped[date] = mapped_column(Date, index=True)
    by: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str | None] = mapped_column(String(32))
    target: Mapped[str | None] = mapped_column(String(200))  # guarantor name or asset id
    amount_fen: Mapped[int | None] = mapped_column(Money)
    due_on: Mapped[date | None] = mapped_column(Date)  # a promise's date; a taken asset's dispose-by date
    status: Mapped[str | None] = mapped_column(String(16))  # promise: open | kept | broken
    detail: Mapped[str | None] = mapped_column(Text)


class Plan(Base):
    __tablename__ = "plans"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    loan_id: Mapped[str] = mapped_column(ForeignKey("loans.loan_id"), index=True)
    signed_on: Mapped[date] = mapped_column(Date)
    monthly_fen: Mapped[int] = mapped_column(Money)
    first_due: Mapped[date] = mapped_column(Date)
    total_fen: Mapped[int] = mapped_column(Money)
    status: Mapped[str] = mapped_column(String(10), default="active")  # active|broken|completed
    ended_on: Mapped[date | None] = mapped_column(Date)


class PlanLine(Base):
    __tablename__ = "plan_lines"
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    due_on: Mapped[date] = mapped_column(Date, index=True)
    amount_fen: Mapped[int] = mapped_column(Money)
    paid_fen: Mapped[int] = mapped_column(Money, default=0)


class Judgment(Base):
    __tablename__ = "judgments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    loan_id: Mapped[str] = mapped_column(ForeignKey("loans.loan_id"), index=True)
    judged_on: Mapped[date] = mapped_column(Date)
    amount_fen: Mapped[int] = mapped_column(Money)
    perform_by: Mapped[date] = mapped_column(Date)
    enforcement_applied_on: Mapped[date | None] = mapped_column(Date)


class History(Base):
    """Append-only: the database refuses UPDATE and DELETE (triggers in the migration)."""

    __tablename__ = "history"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    loan_id: Mapped[str] = mapped_column(ForeignKey("loans.loan_id"), index=True)
    from_state: Mapped[str] = mapped_column(String(24))
    to_state: Mapped[str] = mapped_column(String(24))
    event: Mapped[str] = mapped_column(String(24))
    on: Mapped[date] = mapped_column(Date, index=True)
    by: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text, default="")
    approved_by: Mapped[str | None] = mapped_column(String(64))


class RunDay(Base):
    """The daily run's ledger: one row per business date completed."""

    __tablename__ = "run_ledger"
    business_date: Mapped[date] = mapped_column(Date, primary_key=True)
    completed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    transitions: Mapped[int] = mapped_column(Integer, default=0)
    flow_run_id: Mapped[str | None] = mapped_column(String(64))


class Mark(Base):
    """How far a set-wise refresh has got (``classification``: the date the stored
    classifications are true of), so the next refresh reads only what changed since."""

    __tablename__ = "marks"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    on: Mapped[date] = mapped_column(Date)


class Snapshot(Base):
    """Month-end classification snapshot per open loan (migration matrix and roll rates)."""

    __tablename__ = "snapshots"
    month_end: Mapped[date] = mapped_column(Date, primary_key=True)
    loan_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    state: Mapped[str] = mapped_column(String(24))
    classification: Mapped[str] = mapped_column(String(16))
    dpd: Mapped[int] = mapped_column(Integer)
    principal_fen: Mapped[int] = mapped_column(Money)


class PublishedWorklist(Base):
    """An officer's worklist table as the daily run last published it on the Prefect server
    (artifact ``key``): a digest of what it shows, the id of the artifact that shows it, and
    ``since``, the business date it was published for. A run publishes the table again only
    when its digest changes or that artifact is no longer the key's latest."""

    __tablename__ = "published_worklists"
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    officer: Mapped[str] = mapped_column(String(64))
    digest: Mapped[str] = mapped_column(String(64))
    artifact_id: Mapped[str] = mapped_column(String(36))
    since: Mapped[date] = mapped_column(Date)


class FeedFile(Base):
    """A file of the nightly core-banking export taken from the inbox: what it held, what became
    of its rows, which run took it. A file with a recorded checksum is never applied again."""

    __tablename__ = "feed_files"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str | None] = mapped_column(String(16))  # None: the file could not be read
    outcome: Mapped[str] = mapped_column(String(16))  # processed | rejected
    rows_accepted: Mapped[int] = mapped_column(Integer, default=0)
    rows_rejected: Mapped[int] = mapped_column(Integer, default=0)
    flow_run_id: Mapped[str | None] = mapped_column(String(64))
    ingested_on: Mapped[date | None] = mapped_column(Date)  # the business date it was ingested for
    note: Mapped[str | None] = mapped_column(Text)  # why it was rejected

class Operator(Base):
    """The operator register: who may act (any active operator) and approve (an active manager).

    ``operator_id`` is the normalized id (models.domain.identifiers); ``display_id`` as first
    given. The one-time-password secret is stored encrypted (Fernet, key ``$NPL_SECRET_KEY``);
    ``otp_last_counter`` is the last accepted RFC 6238 time step, so a code is used once."""

    __tablename__ = "operators"
    operator_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    display_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))  # officer | manager | admin
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    otp_secret_encrypted: Mapped[str | None] = mapped_column(Text)
    otp_last_counter: Mapped[int | None] = mapped_column(BigInteger)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class OtpAttempt(Base):
    """Every one-time-password check of an enrolled approver, accepted or not (never the code)."""

    __tablename__ = "otp_attempts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    operator_id: Mapped[str] = mapped_column(ForeignKey("operators.operator_id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ok: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(String(64))

class Quarantine(Base):
    """A case the daily run could not judge on ``business_date`` (its evaluation raised): left
    out while the rest of the book advanced, listed first in the summary and the worklist.
    Open while ``released_on`` is empty; a later run that judges the case released it then."""

    __tablename__ = "quarantine"
    loan_id: Mapped[str] = mapped_column(ForeignKey("loans.loan_id"), primary_key=True)
    business_date: Mapped[date] = mapped_column(Date, primary_key=True)
    error: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    released_on: Mapped[date | None] = mapped_column(Date)

class OperationKey(Base):
    """An operation's idempotency key (the Prefect flow run id, or a key the caller supplies)
    with what the operation recorded, written in the operation's own transaction: the same key
    again returns ``result_json`` and books nothing."""

    __tablename__ = "operation_keys"
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    operation: Mapped[str] = mapped_column(String(32))
    loan_id: Mapped[str] = mapped_column(String(64))
    result_json: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class DayPart(Base):
    """One balanced id range of a business date's due cases (PostgreSQL's parallel daily run):
    ``lo`` ≤ loan_id < ``hi`` (no ``hi``: to the end). ``status`` is open, taken or done; a taken
    part belongs to ``worker`` until ``lease_until``, then any worker may take it over."""

    __tablename__ = "day_parts"
    business_date: Mapped[date] = mapped_column(Date, primary_key=True)
    part: Mapped[int] = mapped_column(Integer, primary_key=True)
    lo: Mapped[str] = mapped_column(String(64))
    hi: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(8))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    worker: Mapped[str | None] = mapped_column(String(128))

class LegalAct(Base):
    """A legal act recorded with its evidence (issue 14): only these move the legal clocks.

    ``party`` is ``borrower`` or the guarantor's name; ``took_effect_on`` is the day the act took
    effect (a demand: signed for, arrived, published; a filing: the day the court received it);
    ``recorded_on`` the business date it was recorded. The daily run never writes a row here."""

    __tablename__ = "legal_acts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    loan_id: Mapped[str] = mapped_column(ForeignKey("loans.loan_id"), index=True)
    party: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    method: Mapped[str | None] = mapped_column(String(16))
    took_effect_on: Mapped[date] = mapped_column(Date)
    evidence: Mapped[str | None] = mapped_column(Text)
    court: Mapped[str | None] = mapped_column(String(200))
    case_no: Mapped[str | None] = mapped_column(String(100))
    letter_no: Mapped[str | None] = mapped_column(String(64))
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_on: Mapped[date] = mapped_column(Date)


class DemandLetter(Base):
    """A demand letter generated for a ``send_demand`` task (issue 14 part 5): who it is to
    (``party``: ``borrower`` or the guarantor's name; ``kind`` borrower | guarantor), the amount
    it states, where its PDF is, and — once the mail room confirms it — when and how it was
    served (the demand act in ``legal_acts`` carries the same ``letter_no``)."""

    __tablename__ = "letters"
    letter_no: Mapped[str] = mapped_column(String(64), primary_key=True)
    loan_id: Mapped[str] = mapped_column(ForeignKey("loans.loan_id"), index=True)
    party: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    issued_on: Mapped[date] = mapped_column(Date, index=True)
    pay_by: Mapped[date] = mapped_column(Date)
    total_fen: Mapped[int] = mapped_column(Money)
    method_planned: Mapped[str] = mapped_column(String(16))
    path: Mapped[str] = mapped_column(Text)
    served_on: Mapped[date | None] = mapped_column(Date)
    served_method: Mapped[str | None] = mapped_column(String(16))
    tracking: Mapped[str | None] = mapped_column(Text)
    served_by: Mapped[str | None] = mapped_column(String(64))
