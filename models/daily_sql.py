"""The daily run's persistence: the set-wise statements beside the tables they read and write.

What is due (keyset-paged), the chunk's rows read and written back under an optimistic version
check, the classification refresh and month-end snapshot as single statements, and the ledger.
No business rule is decided here: the classification thresholds are derived from
``models.domain.classification`` (DOMAIN.md §3), the case rules live in ``machines``, and the
order of the run in ``services.daily``.
"""

from __future__ import annotations

import functools
import json
import operator
from collections import defaultdict
from datetime import date, datetime, timezone
from typing import Any, Collection, Iterable, Iterator, Mapping, Protocol, Sequence

from sqlalchemy import Column, Date, Integer, String, Text, and_, any_, bindparam, case, cast, delete, func, insert, literal, literal_column, null, select, true, union, union_all, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql import visitors

from models.domain.classification import DPD_FLOORS, Category
from models.domain.dates import add_days
from models.domain.errors import ConcurrentUpdate
from models.store import CLASSIFICATION_MARK, UnitOfWork, mark_on, set_mark
from models.tables import Action, DayPart, History, Loan, Plan, PlanLine, Quarantine, RunDay, Snapshot

CLOSED = "closed"  # the machine's final state as stored (machines.loan_case.CaseState.closed)

# The domain's classification as SQL reads it (models/domain/classification.py, DOMAIN.md §3).
CATEGORIES: tuple[str, ...] = tuple(c.value for c in Category)  # best first; index = rank
STAFF_RANK: dict[str, int] = {c.value: c.rank for c in Category}
# (rank, lowest days past due) of every floor above normal, worst first: the first that matches wins
FLOOR_BOUNDS: tuple[tuple[int, int], ...] = tuple(
    (category.rank, bound) for bound, category in sorted(DPD_FLOORS, key=lambda f: f[1].rank, reverse=True) if category.rank > 0
)
OBSERVATION_FLOOR = Category.substandard.rank  # a restructured NPL during its observation period


class LoanRecord(Protocol):
    """A loan as the rules read it: an ORM ``Loan`` or a ``CaseRow`` (the seam between the
    tables and the views that ``machines.escalation`` judges)."""

    @property
    def loan_id(self) -> str: ...
    @property
    def borrower_id(self) -> str: ...
    @property
    def origin(self) -> str: ...
    @property
    def assigned_to(self) -> str | None: ...
    @property
    def rate_ppm(self) -> int: ...
    @property
    def maturity_on(self) -> date: ...
    @property
    def overdue_since(self) -> date | None: ...
    @property
    def outstanding_principal_fen(self) -> int: ...
    @property
    def overdue_principal_fen(self) -> int: ...
    @property
    def interest_fen(self) -> int: ...
    @property
    def penalty_fen(self) -> int: ...
    @property
    def costs_fen(self) -> int: ...
    @property
    def accrued_to(self) -> date: ...
    @property
    def accrual_stopped(self) -> bool: ...
    @property
    def state(self) -> str: ...
    @property
    def state_entered_on(self) -> date | None: ...
    @property
    def limitation_start(self) -> date | None: ...
    @property
    def sued_on(self) -> date | None: ...
    @property
    def awaiting_approval(self) -> str | None: ...


class CaseRow:
    """A loan row as plain attributes: what the rules read and the daily run writes (no ORM).
    Built from a row mapping; a column added to the table later simply comes along."""

    loan_id: str
    borrower_id: str
    origin: str
    assigned_to: str | None
    rate_ppm: int
    maturity_on: date
    overdue_since: date | None
    outstanding_principal_fen: int
    overdue_principal_fen: int
    interest_fen: int
    penalty_fen: int
    costs_fen: int
    accrued_to: date
    accrual_stopped: bool
    state: str
    state_entered_on: date | None
    closed_reason: str | None
    limitation_start: date | None
    sued_on: date | None
    awaiting_approval: str | None
    awaiting_reason: str | None
    urgent: bool
    employer_pressure: bool
    touched: bool
    next_event_on: date | None
    clocks_ahead_on: date | None
    clocks_behind_on: date | None
    observation_from: date | None
    observation_until: date | None
    restructured_floor: str | None
    version: int
    _read: tuple[Any, ...]  # the ``MUTABLE`` values as ``read_cases`` read them

    def __init__(self, mapping: Mapping[Any, Any]) -> None:
        self.__dict__.update(mapping)


# What the daily run may change on a loan row; written back by ``write_cases`` per chunk (the last
# four: a missed installment of a broken plan, ``services.restructuring.record_missed_installments``).
MUTABLE = (
    "state", "state_entered_on", "closed_reason", "sued_on", "awaiting_approval", "awaiting_reason", "urgent",
    "employer_pressure", "next_event_on", "touched", "limitation_start", "accrual_stopped", "accrued_to",
    "overdue_since", "observation_from", "observation_until", "restructured_floor",
)


_MUTABLE_VALUES = operator.attrgetter(*MUTABLE)


def mutable_values(row: CaseRow) -> tuple[Any, ...]:
    return _MUTABLE_VALUES(row)  # type: ignore[no-any-return]  # attrgetter of several names gives a tuple


def among(session: Session, column: Any, ids: Sequence[Any]) -> Any:
    """``column IN ids`` for a chunk's ids as one parameter: on SQLite a JSON text read by
    ``json_each``, on PostgreSQL an array (``column = ANY(:ids)``). Thousands of expanded
    parameters cost more to render and bind than the query takes to run: on PostgreSQL a chunk
    of 5,000 cases rendered about 5,000 casts for each of its dozen queries, which psycopg then
    parsed again, and the server parsed and planned each list afresh."""
    if len(ids) > 32:
        dialect = session.get_bind().dialect.name
        if dialect == "sqlite":
            return column.in_(select(literal_column("value")).select_from(func.json_each(json.dumps(list(ids)))))
        if dialect == "postgresql":
            return column == any_(bindparam(None, list(ids), type_=postgresql.ARRAY(column.type)))
    return column.in_(ids)


# --- what is due ------------------------------------------------------------------------------------


def _not_quarantined() -> Any:
    """Loans without an open quarantine entry: the run leaves those out until they are caught up."""
    return Loan.loan_id.not_in(select(Quarantine.loan_id).where(Quarantine.released_on.is_(None)))


def next_due_date(session: Session) -> date | None:
    """The earliest date on which any open case is due, quarantined cases aside (the first entry
    of the next-event index that is not quarantined: a MIN with a condition would scan)."""
    first = (select(Loan.next_event_on).where(Loan.next_event_on.is_not(None), _not_quarantined())
             .order_by(Loan.next_event_on).limit(1))
    return session.execute(first).scalar()


def any_touched(session: Session) -> bool:
    found = select(Loan.loan_id).where(Loan.touched == true(), _not_quarantined()).limit(1)
    return session.execute(found).first() is not None


def _due(day: date) -> Any:
    return (Loan.next_event_on <= day) | (Loan.touched == true())


def _due_ids(day: date, *where: Any) -> Any:
    """The ids of ``_due(day)`` (and ``where``) as a union of the two indexes' ranges (the
    next-event index up to ``day``, the touched index), in id order: the same set, found without
    reading the rest of the book. ``where`` goes into each branch: kept outside, on PostgreSQL the
    union of the whole date's due ids was built for every part, then joined back to the loans
    by a scan of the whole table (0.3 s a part at a million loans, 20 parts on the first date)."""
    due = union(select(Loan.loan_id).where(Loan.next_event_on <= day, *where),
                select(Loan.loan_id).where(Loan.touched == true(), *where)).subquery()
    # ordered outside the union: an ORDER BY on the union itself made SQLite merge its branches
    # in id order, walking the whole primary key rather than the next-event index
    return select(due.c.loan_id).order_by(due.c.loan_id)


def due_chunks(session: Session, day: date, size: int, lo: str = "", hi: str | None = None) -> Iterator[list[str]]:
    """Loan ids due on ``day`` (or touched), quarantined cases aside, in id order, in chunks of
    ``size``; within ``lo`` ≤ loan_id < ``hi`` when given (a part of the date). One query reads
    them all from their indexes (``_due_ids``): with the condition itself, ordered by id, the
    planner walks the id index and tests every loan of the book; and a query a chunk (keyset
    paging) read every due id of the date again for each chunk (0.7 s a chunk on PostgreSQL
    with 74,000 due). The callers take the date's chunks before judging any (a case judged
    leaves the due set), so one read is the same answer."""
    bounds = ([Loan.loan_id >= lo] if lo else []) + ([Loan.loan_id < hi] if hi is not None else [])
    ids = list(session.scalars(_due_ids(day, *bounds, _not_quarantined())))
    for at in range(0, len(ids), size):
        yield ids[at:at + size]


# --- one chunk ------------------------------------------------------------------------------------


CLASSIFIED_AS = "classified_as"  # read_cases' column: the classification computed from the row as read


def read_cases(uow: UnitOfWork, ids: Sequence[str], due_on: date | None = None,
               classify_on: date | None = None) -> list[CaseRow]:
    """The chunk's loan rows, in loan id order; on PostgreSQL locked for the chunk's transaction
    (operators' single-case services wait for the chunk, not the reverse). With ``due_on``, only
    the rows still due on that date: PostgreSQL re-checks the condition under the row lock, so a
    case another worker has judged meanwhile is left out, never judged twice. Each row keeps its
    ``MUTABLE`` values as read (``write_cases`` writes back only the columns that changed). With
    ``classify_on``, each row also carries ``classified_as``: its classification on that date
    computed from the row as read (the classification's own SQL; see ``classification_along``)."""
    columns: list[Any] = [Loan.__table__]
    params: dict[str, Any] = {}
    if classify_on is not None:
        columns.append(_classification_bound(uow.dialect).label(CLASSIFIED_AS))
        params = _classification_params(classify_on)
    query = select(*columns).where(among(uow.session, Loan.loan_id, ids)).order_by(Loan.loan_id)
    if due_on is not None:
        query = query.where(_due(due_on))
    if uow.dialect == "postgresql":
        query = query.with_for_update(of=Loan.__table__)
    rows = [CaseRow(r._mapping) for r in uow.session.execute(query, params)]
    for row in rows:
        row._read = mutable_values(row)
    return rows


@functools.cache
def _classification_inputs() -> tuple[int, ...]:
    """Where in ``MUTABLE`` the columns are that the classification reads: found in its expression
    (the subquery of a plan's lines included), never listed a second time."""
    reads = {c.name for c in visitors.iterate(_classification_bound("sqlite"))
             if isinstance(c, Column) and c.table is Loan.__table__}
    return tuple(at for at, column in enumerate(MUTABLE) if column in reads)


def classification_along(rows: Iterable[CaseRow], unsure: Collection[str] = ()) -> dict[str, str]:
    """Loan id → the classification to write with the row's other changes (``write_cases``), for
    the judged rows whose classification as read (``read_cases(classify_on=…)``) is not the one
    stored and is still right after the judging: the case stays open, and none of the columns
    the classification reads changed, nor (``unsure``) the case's plans. ``classify`` still runs
    on every judged case afterwards and has the last word; these rows it finds already right. On
    PostgreSQL each UPDATE of a loan row writes a new version with an entry in each of the
    table's indexes: a case whose classification changed was written twice (on the first date
    after an import, every case judged)."""
    inputs = _classification_inputs()
    along: dict[str, str] = {}
    for row in rows:
        value = getattr(row, CLASSIFIED_AS, None)
        if (value is None or value == row.classification or row.state == CLOSED or row.loan_id in unsure
                or any(getattr(row, MUTABLE[at]) != row._read[at] for at in inputs)):
            continue
        along[row.loan_id] = value
    return along


@functools.cache
def _write_statement_pg(columns: tuple[str, ...]) -> str:
    """The UPDATE of a group of rows changing ``columns`` on PostgreSQL, all at once: one array
    parameter a column; each row set only if its version is the one read, its version moved on."""
    table = Loan.__table__
    dialect = postgresql.dialect()
    params = [("b_loan_id", "loan_id"), ("b_version", "version"), *((f"v_{c}", c) for c in columns)]
    arrays = ", ".join(f"%({param})s::{table.c[column].type.compile(dialect=dialect)}[]" for param, column in params)
    sets = ", ".join(f"{c} = v.{c}" for c in columns)
    return (f"UPDATE loans AS l SET {sets}, version = l.version + 1 FROM unnest({arrays}) "
            f"AS v({', '.join(column for _, column in params)}) WHERE l.loan_id = v.loan_id AND l.version = v.version")


@functools.cache
def _write_statement_sqlite(columns: tuple[str, ...]) -> tuple[str, tuple[Any, ...]]:
    """The UPDATE of a row changing ``columns`` on SQLite, as driver SQL with positional parameters
    (the columns' new values, then the loan id and the version read: the row is set only if its
    version is still that one, and its version moves on), and each column's bind processor (None:
    the value as it is)."""
    table = Loan.__table__
    dialect = sqlite.dialect()
    sets = ", ".join(f"{c} = ?" for c in columns)
    processors = tuple(table.c[c].type.dialect_impl(dialect).bind_processor(dialect) for c in columns)
    return f"UPDATE loans SET {sets}, version = version + 1 WHERE loan_id = ? AND version = ?", processors


CLOCK_BOUNDS = ("clocks_ahead_on", "clocks_behind_on")  # write_clocks_watch's columns


def write_cases(session: Session, changed: Sequence[CaseRow], watch: Mapping[str, tuple[Any, Any]] | None = None,
                classified: Mapping[str, str] | None = None) -> None:
    """Write the changed rows back, each only if its version is still the one read; raises
    ``ConcurrentUpdate`` otherwise. A row read by ``read_cases`` sets only the ``MUTABLE``
    columns that changed (most judged cases change only their next event date and touched flag:
    fewer indexes to rewrite), rows changing the same columns in one executemany; another row
    sets them all. ``watch``: loan id → (ahead, behind), the row's new ``CLOCK_BOUNDS``
    (``write_clocks_watch``), set by the same write when the row is written anyway: on
    PostgreSQL a second UPDATE made a second row version of most cases judged on the first date
    after an import (a quarter of its statements' time). ``classified``: loan id → the row's
    classification, written by the same write (``classification_along``)."""
    if not changed:
        return
    watch = watch or {}
    classified = classified or {}
    groups: dict[tuple[str, ...], list[CaseRow]] = defaultdict(list)
    for x in changed:
        read = getattr(x, "_read", None)
        columns = tuple(c for c, old in zip(MUTABLE, read) if getattr(x, c) != old) if read is not None else MUTABLE
        groups[(columns or MUTABLE) + (CLOCK_BOUNDS if x.loan_id in watch else ())
               + (("classification",) if x.loan_id in classified else ())].append(x)

    def value(x: CaseRow, column: str) -> Any:
        if column == "classification":
            return classified[x.loan_id]
        return watch[x.loan_id][CLOCK_BOUNDS.index(column)] if column in CLOCK_BOUNDS else getattr(x, column)

    connection = session.connection()
    if connection.dialect.name == "postgresql":
        # one UPDATE … FROM unnest(arrays) a group: a statement a row (pipelined, prepared) cost the
        # server an executor start each, a quarter of a catch-up date's time at 200,000 loans
        written = sum(connection.exec_driver_sql(_write_statement_pg(columns), {
            "b_loan_id": [x.loan_id for x in rows], "b_version": [x.version for x in rows],
            **{f"v_{c}": [value(x, c) for x in rows] for c in columns}}).rowcount for columns, rows in groups.items())
    else:
        # the statement compiled once a column set and run through the driver's executemany with
        # tuples, each value through its column's own bind processor: what SQLAlchemy does for each
        # row, without its per-row parameter machinery (about 3% of a catch-up at a million loans)
        written = 0
        for columns, rows in groups.items():
            sql, processors = _write_statement_sqlite(columns)
            written += connection.exec_driver_sql(sql, [
                tuple(value(x, c) if p is None else p(value(x, c)) for c, p in zip(columns, processors)) + (x.loan_id, x.version)
                for x in rows]).rowcount
    if written != len(changed):
        raise ConcurrentUpdate(f"{len(changed) - written} case(s) of the chunk were changed concurrently")


def write_clocks_watch(session: Session, bounds: Sequence[Mapping[str, Any]], versioned: bool = False) -> None:
    """Store where the cases' legal clocks end (``b_loan_id``, ``ahead``, ``behind``: see
    ``Loan.clocks_ahead_on``), in one executemany. A cache of the recorded facts, not the case's
    state: no version moves, and whatever records a fact resets it. ``versioned``: each row only
    if its version is still ``b_version``, the one read (outside the daily run's locked chunk a
    fact recorded meanwhile moved it on: its reset is kept)."""
    if not bounds:
        return
    table = Loan.__table__
    stmt = update(table).where(table.c.loan_id == bindparam("b_loan_id"))
    if versioned:
        stmt = stmt.where(table.c.version == bindparam("b_version"))
    stmt = stmt.values(clocks_ahead_on=bindparam("ahead"), clocks_behind_on=bindparam("behind"))
    session.connection().execute(stmt, list(bounds))


def append_history_and_actions(session: Session, history: list[dict[str, Any]], actions: list[dict[str, Any]]) -> None:
    if history:
        session.execute(insert(History), history)
    if actions:
        session.execute(insert(Action), actions)


# --- quarantine -----------------------------------------------------------------------------------


def quarantined(session: Session, ids: Sequence[str] | None = None) -> dict[str, date | None]:
    """Loans with an open quarantine entry (of ``ids``, or all), with their next event date."""
    query = select(Loan.loan_id, Loan.next_event_on).where(~_not_quarantined()).order_by(Loan.loan_id)
    if ids is not None:
        query = query.where(among(session, Loan.loan_id, ids))
    return {loan_id: due for loan_id, due in session.execute(query)}


def next_event_of(session: Session, loan_id: str) -> date | None:
    return session.execute(select(Loan.next_event_on).where(Loan.loan_id == loan_id)).scalar()


def quarantine(session: Session, loan_id: str, day: date, error: str) -> None:
    """Record that ``loan_id`` could not be judged on ``day`` (again, if it already was)."""
    now = datetime.now(timezone.utc)
    entry = session.get(Quarantine, (loan_id, day))
    if entry is None:
        session.add(Quarantine(loan_id=loan_id, business_date=day, error=error, recorded_at=now, released_on=None))
    else:
        entry.error, entry.recorded_at, entry.released_on = error, now, None


def release(session: Session, loan_ids: Iterable[str], day: date) -> None:
    """Close the open quarantine entries of ``loan_ids``: they were judged on ``day``."""
    ids = list(loan_ids)
    if ids:
        session.execute(update(Quarantine).where(among(session, Quarantine.loan_id, ids), Quarantine.released_on.is_(None))
                        .values(released_on=day).execution_options(synchronize_session=False))


# --- set-wise classification ------------------------------------------------------------------------


def _days_since(dialect: str, day: date, column: Any) -> Any:
    if dialect == "sqlite":
        return cast(func.julianday(literal(day.isoformat())) - func.julianday(column), Integer)
    return literal(day) - column


def _greatest(dialect: str, *exprs: Any) -> Any:
    return func.max(*exprs) if dialect == "sqlite" else func.greatest(*exprs)


def oldest_due_expression() -> Any:
    """SQL for the date the oldest unpaid amount fell due: an active plan's oldest unpaid line,
    else the core system's overdue date, else maturity."""
    oldest_line = (
        select(func.min(PlanLine.due_on))
        .join(Plan, Plan.id == PlanLine.plan_id)
        .where(Plan.loan_id == Loan.loan_id, Plan.status == "active", PlanLine.paid_fen < PlanLine.amount_fen)
        .scalar_subquery()
    )
    # every principal and interest amount paid (e.g. a bullet loan past maturity whose overdue
    # interest and principal were paid, penalty left): nothing is past due (issue 15 rule 2)
    return case((Loan.accrual_stopped.is_(True), oldest_line),
                (and_(Loan.outstanding_principal_fen == 0, Loan.interest_fen == 0), None),
                # a broken restructuring agreement: from its first missed installment (issue 15 rule 6)
                (and_(Loan.restructured_on.is_not(None), Loan.overdue_since >= Loan.restructured_on), Loan.overdue_since),
                else_=func.coalesce(Loan.overdue_since, Loan.maturity_on))


def dpd_expression(dialect: str, day: date) -> Any:
    """SQL for days past due on ``day`` (for month-end snapshots; elsewhere it is computed on read)."""
    raw = _days_since(dialect, day, oldest_due_expression())
    return case((raw > 0, raw), else_=0)


def classification_expression(dialect: str, day: date) -> Any:
    """SQL for the classification on ``day``: the DPD floor (DOMAIN.md §3) as date thresholds on the
    oldest unpaid amount, raised by the restructuring observation floor and by staff's own view."""
    return _classification(dialect, day, {bound: add_days(day, -bound) for _rank, bound in FLOOR_BOUNDS})


def _classification(dialect: str, day: Any, floors: Mapping[int, Any]) -> Any:
    """``classification_expression`` with ``day`` and each floor's date (``day`` − its days past
    due) given: dates, or bound parameters (``_classification_bound``)."""
    oldest = oldest_due_expression()
    floor = case(
        (oldest.is_(None), 0),
        *((oldest <= floors[bound], rank) for rank, bound in FLOOR_BOUNDS),
        else_=0,
    )
    # a restructured asset from its restructuring to the end of observation: its stored floor
    # (substandard if non-performing before, else special mention, one worse after a missed
    # installment: models.domain.restructuring, issue 15 rule 1); rows from before 0012: substandard
    restructured_floor = case(*((Loan.restructured_floor == name, rank) for name, rank in STAFF_RANK.items()),
                              else_=OBSERVATION_FLOOR)
    observation = case((and_(Loan.observation_until.is_not(None), Loan.observation_until >= day,
                             func.coalesce(Loan.restructured_on, Loan.observation_until) <= day), restructured_floor), else_=0)
    staff = case(*((Loan.staff_classification == name, rank) for name, rank in STAFF_RANK.items()), else_=0)
    rank = _greatest(dialect, floor, observation, staff)
    # ``CASE rank WHEN 0 …``: the rank (and the oldest unpaid amount's subqueries in it) computed once, not once per category
    return case({i: name for i, name in enumerate(CATEGORIES)}, value=rank, else_=CATEGORIES[0])


@functools.cache
def _classification_bound(dialect: str) -> Any:
    """The classification with the date as parameters (``_classification_params``): built once,
    not for every chunk (a few milliseconds each: the oldest unpaid amount appears in every floor)."""
    return _classification(dialect, bindparam("cls_day", type_=Date),
                           {bound: bindparam(f"cls_floor_{bound}", type_=Date) for _rank, bound in FLOOR_BOUNDS})


def _classification_params(day: date) -> dict[str, date]:
    return {"cls_day": day} | {f"cls_floor_{bound}": add_days(day, -bound) for _rank, bound in FLOOR_BOUNDS}


def crossing_candidates(since: date, day: date) -> Any:
    """Loans whose classification can differ between ``since`` and ``day``: the oldest unpaid
    amount (or a running plan's unpaid line) crossed a threshold, an observation period ended, or
    an event touched the loan since the last run. Each part reads an index; the refresh
    recomputes the candidates exactly."""
    oldest = func.coalesce(Loan.overdue_since, Loan.maturity_on)  # matches ix_loans_oldest_due
    parts = [
        select(Loan.loan_id).where(oldest > add_days(since, -bound), oldest <= add_days(day, -bound))
        for _rank, bound in FLOOR_BOUNDS
    ]
    parts += [
        select(Plan.loan_id).join(PlanLine, PlanLine.plan_id == Plan.id).where(
            PlanLine.due_on > add_days(since, -bound), PlanLine.due_on <= add_days(day, -bound),
            Plan.status == "active", PlanLine.paid_fen < PlanLine.amount_fen,
        )
        for _rank, bound in FLOOR_BOUNDS
    ]
    parts.append(select(Loan.loan_id).where(Loan.observation_until >= since, Loan.observation_until < day))
    parts.append(select(Loan.loan_id).where(Loan.touched == true()))  # events since the last run changed them
    return union_all(*parts)


def classify(session: Session, dialect: str, day: date, *where: Any) -> int:
    """Set the classification on ``day`` of the open loans matching ``where``; only rows that
    change are written. Returns how many changed."""
    classification = _classification_bound(dialect)
    # with ``where`` (a chunk's ids, the refresh's candidates): ``state || ''``, not the (state, …)
    # index — the planner would read every closed loan of the book instead of the ids
    state = Loan.state.concat("") if where else Loan.state
    # a case closed since (by the run or a payment): it keeps the category it had while open (issue 15 rule 8)
    session.execute(update(Loan).where(state == CLOSED, Loan.classification_at_close.is_(None), *where)
                    .values(classification_at_close=Loan.classification).execution_options(synchronize_session=False))
    stmt = update(Loan).where(Loan.state != CLOSED, Loan.classification != classification, *where)
    return session.execute(stmt.values(classification=classification).execution_options(synchronize_session=False),
                           _classification_params(day)).rowcount


def refresh_classification(uow: UnitOfWork, day: date) -> int:
    """Bring the stored classifications to ``day`` set-wise and commit: only the loans that can
    have crossed a threshold since the last refresh (the mark) or were touched by an event, or
    the whole book when there is no mark (after an import that added loans) or it lies after
    ``day``; the mark moves to ``day``. The daily run's chunks also classify the cases they judge.
    Days past due are computed on read, never stored daily."""
    s = uow.session
    since = mark_on(s, CLASSIFICATION_MARK)
    where = [Loan.loan_id.in_(crossing_candidates(since, day))] if since is not None and since <= day else []
    changed = classify(s, uow.dialect, day, *where)
    set_mark(s, CLASSIFICATION_MARK, day)
    uow.commit()
    return changed


def snapshot_month_end(uow: UnitOfWork, day: date) -> None:
    """Classification snapshot of every open loan at a month end (idempotent)."""
    refresh_classification(uow, day)
    s = uow.session
    s.execute(delete(Snapshot).where(Snapshot.month_end == day))
    s.execute(
        insert(Snapshot).from_select(
            ["month_end", "loan_id", "state", "classification", "dpd", "principal_fen"],
            select(literal(day), Loan.loan_id, Loan.state, Loan.classification, dpd_expression(uow.dialect, day),
                   Loan.outstanding_principal_fen).where(Loan.state != CLOSED),
        )
    )
    uow.commit()


# --- the ledger ------------------------------------------------------------------------------------


def complete(uow: UnitOfWork, days: Iterable[date], flow_run_id: str | None) -> None:
    """Ledger rows for completed dates; each counts the system's transitions on its date from the
    history itself, so a date finished by a rerun after a crash records the same figure."""
    now = datetime.now(timezone.utc)
    s = uow.session
    for d in days:
        if s.get(RunDay, d) is None:
            made = s.execute(select(func.count()).select_from(History).where(History.on == d, History.by == "system")).scalar_one()
            s.add(RunDay(business_date=d, completed_at=now, transitions=made, flow_run_id=flow_run_id))
    uow.commit()


# --- set-wise moves ----------------------------------------------------------------------------------


def fire_setwise(session: Session, day: date, event: str, source: str, target: str, reason: str, ids: Sequence[str]) -> int:
    """One rung for a group of cases: their history rows by one ``INSERT … SELECT`` (the row the
    machine's audit listener writes: from, to, event, date, ``system``, reason). The move itself is
    the chunk's: the caller has set each row's state and date entered as its last rung leaves them,
    and ``write_cases`` writes them with the chunk's other columns, each row only if its version
    is still the one read (``ConcurrentUpdate`` otherwise: the chunk, history included, rolls back
    and is judged again). An ``UPDATE`` a rung wrote the state that write wrote again: on the first
    date after an import a case climbing three rungs had its row and its state's indexes written
    four times (PostgreSQL: four row versions). The caller has checked the move against the
    machine's declared transitions. Returns the rows written; raises ``ConcurrentUpdate`` if a
    case of ``ids`` is not on file."""
    columns = ["loan_id", "from_state", "to_state", "event", "on", "by", "reason", "approved_by"]
    rows = select(Loan.loan_id, literal(source, String), literal(target, String), literal(event, String), literal(day, Date),
                  literal("system", String), literal(reason, Text), null()).where(among(session, Loan.loan_id, ids))
    stmt = insert(History.__table__).from_select(columns, rows).execution_options(preserve_rowcount=True)
    written = session.connection().execute(stmt).rowcount
    if written != len(ids):
        raise ConcurrentUpdate(f"{len(ids) - written} case(s) gone before their set-wise {event}")
    return written


# --- a date in parts (PostgreSQL's parallel run) -----------------------------------------------------


def plan_parts(session: Session, day: date, size: int, most: int) -> int:
    """Split ``day``'s due cases into contiguous id ranges of about equal counts (one per ``size``
    cases, at most ``most``), unless the date already has its parts (a resumed run keeps them).
    The first range starts at the smallest id, the last is open-ended: a case touched after the
    split still lies in a part. Returns the number of parts."""
    have = session.execute(select(func.count()).select_from(DayPart).where(DayPart.business_date == day)).scalar_one()
    if have:
        return have
    ids = list(session.scalars(_due_ids(day, _not_quarantined())))
    n = max(1, min(most, -(-len(ids) // size)))
    cuts = [ids[len(ids) * i // n] for i in range(1, n)]
    los, his = [""] + cuts, cuts + [None]
    session.execute(insert(DayPart), [{"business_date": day, "part": i, "lo": lo, "hi": hi, "status": "open",
                                       "lease_until": None, "worker": None} for i, (lo, hi) in enumerate(zip(los, his))])
    return n


def _lease_end(seconds: float) -> Any:
    return func.now() + func.make_interval(0, 0, 0, 0, 0, 0, seconds)


def claim_part(session: Session, day: date, worker: str, lease_seconds: float) -> tuple[int, str, str | None] | None:
    """Take the first part of ``day`` that is open or whose lease has run out (``FOR UPDATE SKIP
    LOCKED``: workers never wait on each other here); None when none is left. The database's
    clock decides leases, so hosts' clocks need not agree."""
    free = (DayPart.status == "open") | ((DayPart.status == "taken") & (DayPart.lease_until < func.now()))
    pick = (select(DayPart.part).where(DayPart.business_date == day, free).order_by(DayPart.part).limit(1)
            .with_for_update(skip_locked=True).scalar_subquery())
    row = session.execute(
        update(DayPart).where(DayPart.business_date == day, DayPart.part == pick)
        .values(status="taken", worker=worker, lease_until=_lease_end(lease_seconds))
        .returning(DayPart.part, DayPart.lo, DayPart.hi)
    ).first()
    return None if row is None else (row[0], row[1], row[2])


def renew_part(session: Session, day: date, part: int, worker: str, lease_seconds: float) -> bool:
    """Extend the lease; False if the part is no longer this worker's (its lease ran out and
    another worker took it over)."""
    return session.execute(
        update(DayPart).where(DayPart.business_date == day, DayPart.part == part, DayPart.worker == worker,
                              DayPart.status == "taken").values(lease_until=_lease_end(lease_seconds))
    ).rowcount == 1


def finish_part(session: Session, day: date, part: int, worker: str) -> None:
    session.execute(update(DayPart).where(DayPart.business_date == day, DayPart.part == part, DayPart.worker == worker)
                    .values(status="done", lease_until=None))


def parts_left(session: Session, day: date) -> tuple[int, float | None]:
    """How many parts of ``day`` are not done, and in how many seconds the first lease still
    running ends (None if none is running)."""
    left = session.execute(select(func.count()).select_from(DayPart).where(DayPart.business_date == day,
                                                                         DayPart.status != "done")).scalar_one()
    wait = session.execute(select(func.min(func.extract("epoch", DayPart.lease_until - func.now())))
                           .where(DayPart.business_date == day, DayPart.status == "taken")).scalar()
    return left, None if wait is None else max(0.0, float(wait))
