"""Writing: set-wise upserts of loans (with their borrowers and officers), guarantors and
collateral, on the import call's session (one transaction).

Each upsert is a core INSERT ... ON CONFLICT built with the dialect's insert(), compiled once
with positional parameters, and run through the driver's executemany with plain tuples: this
skips SQLAlchemy's per-row parameter processing, which otherwise costs more than SQLite's own
work. Columns the import does not set but whose schema default is a constant are appended,
so new columns with defaults need no change here.

The loan upsert does not update its foreign-key columns (borrower, officer, assignee): in
SQLite an ON CONFLICT DO UPDATE that may change a foreign key doubles the cost of every
insert, conflict or not. Loans that were already on file get those three columns from a
separate UPDATE instead (measured: 100,000 new loans 3.1 s → 1.5 s of SQLite time).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from operator import itemgetter
from typing import Any

from sqlalchemy import Column, Dialect, MetaData, Table, bindparam, case, func, literal_column, or_, select, true, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from models.store import UnitOfWork
from models.tables import Borrower, Collateral, Guarantor, Loan, Officer

SQLITE_CACHE_KIB = 256 * 1024  # SQLite page cache while importing (default: 2 MiB)
# SQLite bulk load: a table that receives at least BULK_MIN_ROWS rows, and at least BULK_RATIO
# times the rows it holds, has its secondary indexes dropped and rebuilt (sorted, once) in the
# import's transaction: cheaper than updating ten indexes row by row (see Store.plan)
BULK_MIN_ROWS = 20_000
BULK_RATIO = 2
BULK_TABLES = ("loans", "guarantors")
PG_INDEX_BUILD_MEMORY = "256MB"  # PostgreSQL's maintenance_work_mem while a bulk load rebuilds its indexes
SQLITE_MAX_IDS = 30_000  # bound parameters per statement (SQLite's limit is 32,766 since 3.32)

# the row shapes the kind modules build and the store writes
BORROWER_COLUMNS = (
    "borrower_id",
    "name",
    "id_number",
    "phone",
    "address",
    "employer",
    "employer_type",  # None in a parsed row: not given (see Store.loans)
    "credit_rating",
)
LOAN_COLUMNS = (
    "loan_id",
    "borrower_id",
    "principal_fen",
    "rate_ppm",
    "disbursed_on",
    "maturity_on",
    "product",
    "origin",
    "officer_id",
    "introduced_by",
    "assigned_to",
    "outstanding_principal_fen",
    "overdue_principal_fen",
    "interest_fen",
    "penalty_fen",
    "costs_fen",
    "accrued_to",
    "overdue_since",
    "last_payment_on",
    "state",
    "classification",
    "touched",
    "next_event_on",
    "staff_classification",
    "misused_purpose",
    "clocks_ahead_on",
)
GUARANTOR_COLUMNS = (
    "loan_id",
    "name",
    "guarantor_id",
    "id_number",
    "phone",
    "guarantee_type",
    "agreed_period_end",
    "period_end",
    "account_balance_fen",
    "signed_on",
    "until_repaid",
)
COLLATERAL_COLUMNS = ("loan_id", "asset_id", "owner", "description", "estimated_value_fen", "status")
EMPLOYER_TYPE_AT = BORROWER_COLUMNS.index("employer_type")
OFFICER_AT, INTRODUCER_AT = LOAN_COLUMNS.index("officer_id"), LOAN_COLUMNS.index("introduced_by")
BORROWER_AT, ASSIGNEE_AT = LOAN_COLUMNS.index("borrower_id"), LOAN_COLUMNS.index("assigned_to")
STATUS_AT = COLLATERAL_COLUMNS.index("status")
LOAN_KEYS = itemgetter(*(LOAN_COLUMNS.index(name) for name in ("loan_id", "borrower_id", "officer_id", "assigned_to")))


_BORROWERS: Table = Borrower.__table__  # type: ignore[assignment]
_OFFICERS: Table = Officer.__table__  # type: ignore[assignment]
_LOANS: Table = Loan.__table__  # type: ignore[assignment]
_GUARANTORS: Table = Guarantor.__table__  # type: ignore[assignment]
_COLLATERAL: Table = Collateral.__table__  # type: ignore[assignment]

# loan columns a re-import takes from the export (the case's own columns are kept)
_LOAN_TERMS = (
    "principal_fen",
    "rate_ppm",
    "disbursed_on",
    "maturity_on",
    "product",
    "origin",
    "introduced_by",
    "outstanding_principal_fen",
    "overdue_principal_fen",
    "interest_fen",
    "accrued_to",
    "overdue_since",
    "last_payment_on",
    "misused_purpose",
)
# a blank in the export never erases these: a person's identity and contact details
_BORROWER_KEPT = ("id_number", "phone", "address", "employer", "credit_rating")
_GUARANTOR_KEPT = ("guarantor_id", "id_number", "phone")

Update = Callable[[Any, Any], dict[str, Any]]  # (excluded, table columns) → SET clause


class _Compiled:
    """A statement compiled once with positional parameters, run through the driver's
    executemany with tuples whose cells are named by ``columns`` (plus constant ``tail``)."""

    sql: str
    tail: tuple = ()
    pick: Callable[[tuple], tuple] | None = None

    def _prepare(self, stmt: Any, dialect: Dialect, names: list[str], table: str) -> None:
        compiled = stmt.compile(dialect=dialect)
        order = list(compiled.positiontup or ())
        if not set(order) <= set(names):  # pragma: no cover - a literal slipped into the statement
            raise RuntimeError(f"unexpected parameters in the {table} statement: {order}")
        self.sql = str(compiled)
        if order != names:  # the compiler's parameter order (VALUES in table order, repeats)
            positions = [names.index(name) for name in order]
            if len(positions) == 1:
                self.pick = lambda row, at=positions[0]: (row[at],)
            else:
                self.pick = itemgetter(*positions)  # type: ignore[assignment]

    def run(self, session: Session, rows: list[tuple]) -> None:
        if not rows:
            return
        tail, pick = self.tail, self.pick
        if pick is not None:
            params = [pick(row + tail) for row in rows] if tail else [pick(row) for row in rows]
        else:
            params = [row + tail for row in rows] if tail else rows
        session.connection().exec_driver_sql(self.sql, params)


class _Upsert(_Compiled):
    """One INSERT ... ON CONFLICT, compiled once, executed with tuples in ``columns`` order."""

    def __init__(
        self,
        dialect: Dialect,
        insert: Callable[[Table], Any],
        table: Table,
        columns: tuple[str, ...],
        conflict: tuple[str, ...],
        update_: Update | None,
    ):
        names = list(columns)
        constants = []
        for column in table.columns:
            default = column.default
            if column.name not in columns and default is not None and getattr(default, "is_scalar", False):
                names.append(column.name)
                constants.append(default.arg)  # type: ignore[attr-defined]
        stmt = insert(table).values({name: bindparam(name, type_=table.c[name].type) for name in names})
        if update_ is None:
            stmt = stmt.on_conflict_do_nothing(index_elements=list(conflict))
        else:
            stmt = stmt.on_conflict_do_update(index_elements=list(conflict), set_=update_(stmt.excluded, table.c))
        self.tail = tuple(constants)
        self._prepare(stmt, dialect, names, table.name)


class _CopyUpsert:
    """PostgreSQL: the rows are COPied (psycopg's ``cursor.copy``) into a temporary staging table,
    then moved by one ``INSERT ... SELECT ... ON CONFLICT DO UPDATE`` with the same SET clause as
    the row-wise upsert. Same transaction as the rest of the import (the session's connection);
    the staging table is dropped at commit or rollback (ON COMMIT DROP).

    Measured at 100,000 loans + 40,000 guarantors: the driver's pipelined executemany spent most
    of the import's time in per-row protocol round trips; COPY sends the batch as one stream."""

    def __init__(
        self,
        dialect: Dialect,
        table: Table,
        columns: tuple[str, ...],
        conflict: tuple[str, ...],
        update_: Update | None,
        label: str,
    ):
        names = list(columns)
        constants = []
        for column in table.columns:
            default = column.default
            if column.name not in columns and default is not None and getattr(default, "is_scalar", False):
                names.append(column.name)
                constants.append(default.arg)  # type: ignore[attr-defined]
        self.tail = tuple(constants)
        stage = Table(f"import_stage_{label}", MetaData(), *(Column(name, table.c[name].type) for name in names))
        stmt = postgresql.insert(table).from_select(names, select(*(stage.c[name] for name in names)))
        if update_ is None:
            stmt = stmt.on_conflict_do_nothing(index_elements=list(conflict))
        else:
            stmt = stmt.on_conflict_do_update(index_elements=list(conflict), set_=update_(stmt.excluded, table.c))
        self.move = str(stmt.compile(dialect=dialect))
        quote = dialect.identifier_preparer.quote
        columns_ddl = ", ".join(f"{quote(name)} {table.c[name].type.compile(dialect=dialect)}" for name in names)
        self.create = f"CREATE TEMPORARY TABLE IF NOT EXISTS {stage.name} ({columns_ddl}) ON COMMIT DROP"
        self.copy = f"COPY {stage.name} ({', '.join(quote(name) for name in names)}) FROM STDIN"
        self.clear = f"TRUNCATE {stage.name}"
        self._created_on: Any = None  # the DBAPI connection the staging table was created on

    def run(self, session: Session, rows: list[tuple]) -> None:
        if not rows:
            return
        driver = session.connection().connection.driver_connection
        assert driver is not None
        tail = self.tail
        with driver.cursor() as cursor:
            if self._created_on is not driver:  # first use in this transaction
                cursor.execute(self.create)
                self._created_on = driver
            cursor.execute(self.clear)
            with cursor.copy(self.copy) as copy:
                write = copy.write_row
                if tail:
                    for row in rows:
                        write(row + tail)
                else:
                    for row in rows:
                        write(row)
            cursor.execute(self.move)


class _LoanKeys(_Compiled):
    """The foreign-key columns of loans already on file: borrower, officer and assignee (a case
    already in collection keeps its assignee)."""

    columns = ("loan_id", "borrower_id", "officer_id", "assigned_to")

    def __init__(self, dialect: Dialect):
        c = _LOANS.c
        assignee = bindparam("assigned_to", type_=c.assigned_to.type)
        stmt = (
            update(_LOANS)
            .where(c.loan_id == bindparam("loan_id", type_=c.loan_id.type))
            .values(
                borrower_id=bindparam("borrower_id", type_=c.borrower_id.type),
                officer_id=bindparam("officer_id", type_=c.officer_id.type),
                assigned_to=case(
                    (c.state == literal_column("'performing'"), func.coalesce(assignee, c.assigned_to)),
                    else_=func.coalesce(c.assigned_to, assignee),
                ),
            )
        )
        self._prepare(stmt, dialect, list(self.columns), "loans")


# Where a loan's clocks end (Loan.clocks_ahead_on) once guarantors are written. A performing loan
# with no act recorded (no legal act, payment or plan: nothing preserved a guarantee or
# interrupted anything) has for clocks its limitation and its guarantors' periods, whose ends the
# guarantors rows hold (``period_end``, computed when written from the loan's maturity:
# models.domain.law.guarantee_period_end): the bound comes down to the earliest. Any other loan's
# comes down to its maturity, before which no clock ends (a guarantee period runs from it, Civil
# Code Art. 692; Guarantee Law 1995 Arts. 25-26). Unknown stays unknown.
GUARANTEES_BOUND = (
    "clocks_ahead_on = CASE WHEN clocks_ahead_on IS NULL THEN NULL "
    "WHEN state = 'performing' "
    "AND NOT EXISTS (SELECT 1 FROM legal_acts a WHERE a.loan_id = loans.loan_id) "
    "AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.loan_id = loans.loan_id) "
    "AND NOT EXISTS (SELECT 1 FROM plans pl WHERE pl.loan_id = loans.loan_id) "
    "THEN (SELECT CASE WHEN min(g.period_end) < loans.clocks_ahead_on THEN min(g.period_end) ELSE loans.clocks_ahead_on END "
    "FROM guarantors g WHERE g.loan_id = loans.loan_id) "
    "WHEN clocks_ahead_on > maturity_on THEN maturity_on ELSE clocks_ahead_on END"
)


def _loan_update(new: Any, old: Any) -> dict[str, Any]:
    """A re-imported loan: the export's terms and balances; the case is kept, marked touched,
    its next event only moves earlier, and its version moves on (optimistic locking)."""
    values: dict[str, Any] = {name: new[name] for name in _LOAN_TERMS}  # FK columns: _LoanKeys
    values["next_event_on"] = case(
        (or_(old.next_event_on.is_(None), new.next_event_on < old.next_event_on), new.next_event_on),
        else_=old.next_event_on,
    )
    # staff's category: a blank in the export keeps the one on file (set by staff or an earlier export)
    values["staff_classification"] = func.coalesce(new.staff_classification, old.staff_classification)
    values["touched"] = true()
    # no legal clock ends before the maturity (models.domain.law: a guarantee period, Civil Code
    # Art. 692, and the limitation, Art. 188, run from it; a demand before it preserves nothing):
    # the bound on where the case's clocks end (Loan.clocks_ahead_on) comes down to the maturity
    values["clocks_ahead_on"] = case(
        (new.maturity_on < old.clocks_ahead_on, new.maturity_on), else_=old.clocks_ahead_on)
    values["version"] = old.version + literal_column("1")
    return values


def _borrower_update(with_type: bool) -> Update:
    def update_(new: Any, old: Any) -> dict[str, Any]:
        values: dict[str, Any] = {"name": new.name}
        values.update({name: func.coalesce(new[name], old[name]) for name in _BORROWER_KEPT})
        if with_type:
            values["employer_type"] = new.employer_type
        return values

    return update_


def _guarantor_update(new: Any, old: Any) -> dict[str, Any]:
    """The guarantee's terms from the export; demands, freezes and consent are kept."""
    values: dict[str, Any] = {
        name: new[name]
        for name in ("guarantee_type", "agreed_period_end", "period_end", "account_balance_fen", "signed_on", "until_repaid")
    }
    values.update({name: func.coalesce(new[name], old[name]) for name in _GUARANTOR_KEPT})
    return values


def _collateral_update(with_status: bool) -> Update:
    def update_(new: Any, old: Any) -> dict[str, Any]:
        values = {name: new[name] for name in ("owner", "description", "estimated_value_fen")}
        if with_status:  # a blank status keeps a freeze or seal recorded here
            values["status"] = new.status
        return values

    return update_


class Store:
    """Set-wise upserts for one import call, on the call's session (one transaction)."""

    def __init__(self, uow: UnitOfWork):
        if uow.session is None:
            raise RuntimeError("import_files needs an open unit of work: `with UnitOfWork(...) as uow`")
        self.session: Session = uow.session
        dialect = uow.engine.dialect
        postgres = dialect.name == "postgresql"
        insert = postgresql.insert if postgres else sqlite.insert
        if not dialect.positional:
            dialect = type(dialect)(paramstyle="format")
        self.iso = not postgres  # SQLite stores dates as ISO text, as SQLAlchemy's Date does
        self.known_officers: set[str] = set()
        self.loans_created = 0
        self.loans_updated = 0

        def upsert(table: Table, columns: tuple[str, ...], conflict: tuple[str, ...], update_: Update | None) -> Any:
            if postgres:  # COPY into a staging table, then one INSERT ... SELECT ... ON CONFLICT
                labels.append(table.name)
                label = f"{table.name}_{labels.count(table.name)}"  # one staging table per statement
                return _CopyUpsert(uow.engine.dialect, table, columns, conflict, update_, label)
            return _Upsert(dialect, insert, table, columns, conflict, update_)

        labels: list[str] = []

        assets = ("loan_id", "asset_id")

        self.officers = upsert(_OFFICERS, ("officer_id",), ("officer_id",), None)
        self.borrowers_typed = upsert(_BORROWERS, BORROWER_COLUMNS, ("borrower_id",), _borrower_update(True))
        self.borrowers_untyped = upsert(_BORROWERS, BORROWER_COLUMNS, ("borrower_id",), _borrower_update(False))
        self.loan_upsert = upsert(_LOANS, LOAN_COLUMNS, ("loan_id",), _loan_update)
        self.loan_keys = _LoanKeys(dialect)
        self.guarantor_upsert = upsert(_GUARANTORS, GUARANTOR_COLUMNS, ("loan_id", "name"), _guarantor_update)
        self.collateral_status = upsert(_COLLATERAL, COLLATERAL_COLUMNS, assets, _collateral_update(True))
        self.collateral_kept = upsert(_COLLATERAL, COLLATERAL_COLUMNS, assets, _collateral_update(False))
        self._cache_size: int | None = None
        self._dropped: list[str] = []  # CREATE INDEX statements of the indexes plan() dropped
        self._unchecked: list[str] = []  # PostgreSQL: ADD CONSTRAINT statements of the foreign keys plan() dropped
        self._analyze: list[str] = []  # PostgreSQL: tables plan() saw loaded in bulk
        if not postgres:  # a large export updates indexes all over a large file: cache more of it
            connection = self.session.connection()
            self._cache_size = connection.exec_driver_sql("PRAGMA cache_size").scalar()
            connection.exec_driver_sql(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")

    def plan(self, incoming: dict[str, int]) -> None:
        """The tables of BULK_TABLES that receive ``incoming[table]`` rows, many against what they
        hold, lose their secondary indexes until :meth:`finish` rebuilds them.

        Profiled at 100,000 loans into an empty database: each loan row updated eleven b-trees
        (the table, its key and ten indexes), half of SQLite's time in the import. A bulk load
        writes the rows, then sorts each index once. Atomic: SQLite's DDL is transactional; the
        DROP and the CREATE are in the import's one transaction (opened here if the driver has
        not opened it yet), so a failed or killed import leaves every index as it was. Unique
        indexes stay (the upserts' ON CONFLICT needs them), and so does every lookup by key.

        PostgreSQL the same for a first load (no loan on file yet) by the tables' owner (its DDL is
        transactional too; see ``_first_load_by_owner``), with ``maintenance_work_mem`` raised for
        the rebuild's sorts: at a million loans the import took 70.4 s against 93.7 s with the
        indexes kept (the server's CPU 50.7 against 75.6 s); and its foreign keys, added back
        at :meth:`finish` (``_drop_foreign_keys``). Any other import keeps the indexes and keys.
        Its tables are also analyzed at :meth:`finish`: the planner's statistics of a
        table that was empty or small say nothing of the rows just loaded, and the first daily
        run comes before autovacuum's next look (a seq scan of the whole book where an index
        would read a few rows)."""
        connection = self.session.connection()
        driver = connection.connection.driver_connection
        for table in BULK_TABLES:
            rows = incoming.get(table, 0)
            if rows < BULK_MIN_ROWS:
                continue
            held = connection.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar() or 0
            if rows < BULK_RATIO * held:
                continue
            if self.iso:
                indexes = connection.exec_driver_sql(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL "
                    "ORDER BY name",
                    (table,),
                ).all()
            else:
                self._analyze += [table, "borrowers"] if table == "loans" else [table]
                if not self._first_load_by_owner(connection, table):
                    continue
                self._unchecked += self._drop_foreign_keys(connection, table)
                indexes = connection.exec_driver_sql(
                    "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = %s "
                    "ORDER BY indexname",
                    (table,),
                ).all()
            indexes = [(name, sql) for name, sql in indexes if not sql.lstrip().upper().startswith("CREATE UNIQUE")]
            if not indexes:
                continue
            if self.iso and driver is not None and not driver.in_transaction:  # the sqlite3 module opens one only before DML
                connection.exec_driver_sql("BEGIN")
            for name, _ in indexes:
                connection.exec_driver_sql(f'DROP INDEX "{name}"')
            self._dropped += [sql for _, sql in indexes]

    @staticmethod
    def _drop_foreign_keys(connection: Any, table: str) -> list[str]:
        """PostgreSQL, a first load by the owner: drop ``table``'s foreign keys; returns the
        statements that add them back. Each row a foreign key checks costs a trigger and a lookup
        in the table it names (a loan row three: borrower, officer, assignee); adding the key back
        at :meth:`finish` checks every row at once (one join, in the import's transaction: a row
        that broke it fails the import as a whole, and the DROP rolls back with it). Measured at
        200,000 loans: the import took 27.8 s with the keys checked row by row, 19.1 s with them
        added back at the end (0.5 s of it). The DROP locks the tables the keys name (borrowers,
        officers, loans) until the import commits: with no case on file yet, that keeps nobody
        from anything."""
        keys = connection.exec_driver_sql(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE contype = 'f' AND conrelid = to_regclass(%s) "
            "ORDER BY conname",
            (table,),
        ).all()
        for name, _ in keys:
            connection.exec_driver_sql(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        return [f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}' for name, definition in keys]

    @staticmethod
    def _first_load_by_owner(connection: Any, table: str) -> bool:
        """PostgreSQL: whether the book holds no loan yet and this role owns ``table``. Only an
        owner may drop its indexes (the application role of ``npl db grant`` owns nothing: its
        imports keep them), and the DROP locks the table until the import commits: with no case
        on file yet, that keeps nobody from anything."""
        return bool(connection.exec_driver_sql(
            "SELECT NOT EXISTS (SELECT 1 FROM loans) AND pg_has_role(current_user, c.relowner, 'USAGE') "
            "FROM pg_class c WHERE c.oid = to_regclass(%s)",
            (table,),
        ).scalar())

    def finish(self) -> None:
        """Rebuild the indexes :meth:`plan` dropped, add back the foreign keys it dropped, and on
        PostgreSQL analyze the tables it
        loaded in bulk (ANALYZE in the import's transaction sees its rows), in the import's
        transaction."""
        connection = self.session.connection()
        if self._dropped and not self.iso:  # sorts of a million keys: in memory rather than in temporary files
            connection.exec_driver_sql(f"SET LOCAL maintenance_work_mem = '{PG_INDEX_BUILD_MEMORY}'")
        while self._dropped:
            connection.exec_driver_sql(self._dropped.pop(0))
        while self._unchecked:  # after the indexes: each key's check reads the rows it joins
            connection.exec_driver_sql(self._unchecked.pop(0))
        while self._analyze:
            connection.exec_driver_sql(f"ANALYZE {self._analyze.pop(0)}")

    def close(self) -> None:
        """Give the pooled connection back with its own page-cache size."""
        if self._cache_size is not None:
            self.session.connection().exec_driver_sql(f"PRAGMA cache_size = {int(self._cache_size)}")
            self._cache_size = None

    def loans(self, batch: list[tuple[tuple, tuple]]) -> None:
        """Officers, borrowers and loans of one batch (loan ids are unique within a batch)."""
        officers = {loan[OFFICER_AT] for _, loan in batch} | {loan[INTRODUCER_AT] for _, loan in batch}
        officers -= self.known_officers
        officers.discard(None)
        if officers:
            self.officers.run(self.session, [(officer,) for officer in sorted(officers)])
            self.known_officers |= officers

        merged: dict[str, tuple] = {}
        for borrower, _ in batch:  # one row per borrower per statement; a later non-blank value wins
            have = merged.get(borrower[0])
            merged[borrower[0]] = (
                borrower if have is None else tuple(old if new is None else new for new, old in zip(borrower, have))
            )
        typed = [row for row in merged.values() if row[EMPLOYER_TYPE_AT] is not None]
        untyped = [replace_at(row, EMPLOYER_TYPE_AT, "none") for row in merged.values() if row[EMPLOYER_TYPE_AT] is None]
        self.borrowers_typed.run(self.session, typed)
        self.borrowers_untyped.run(self.session, untyped)

        loans = [loan for _, loan in batch]
        existing = {
            loan_id: rest
            for loan_id, *rest in self._by_ids("loan_id, borrower_id, officer_id, assigned_to, state", [loan[0] for loan in loans])
        }
        self.loan_upsert.run(self.session, loans)
        self.loan_keys.run(self.session, [LOAN_KEYS(loan) for loan in loans if keys_change(loan, existing)])
        self.loans_updated += len(existing)
        self.loans_created += len(loans) - len(existing)

    def loan_dates(self, loan_ids: set[str]) -> dict[str, tuple[date, date]]:
        """(maturity_on, disbursed_on) of the loans on file among ``loan_ids``."""
        found = self._by_ids("loan_id, maturity_on, disbursed_on", sorted(loan_ids))
        if self.iso:  # plain driver SQL: SQLite gives the ISO text back
            return {loan_id: (date.fromisoformat(maturity), date.fromisoformat(disbursed)) for loan_id, maturity, disbursed in found}
        return {loan_id: (maturity, disbursed) for loan_id, maturity, disbursed in found}

    def guarantors(self, rows: list[tuple]) -> None:
        """Guarantors of one batch; their loans in collection are marked touched (deadlines may
        have moved). A performing loan is not: until it falls due the run's only rule for it is
        the fall-due rule, on its own row (``machines.rules.fall_due``), and where its clocks end
        is kept below: an import of guarantors for a whole book made the next run judge every
        guaranteed loan (about 40% of a book, most of them performing)."""
        self.guarantor_upsert.run(self.session, rows)
        ids = sorted({row[0] for row in rows})
        connection = self.session.connection()
        touch = f"UPDATE loans SET touched = (touched OR state <> 'performing'), version = version + 1, {GUARANTEES_BOUND} WHERE loan_id"
        if self.iso:
            for start in range(0, len(ids), SQLITE_MAX_IDS):
                part = ids[start : start + SQLITE_MAX_IDS]
                connection.exec_driver_sql(f"{touch} IN ({','.join('?' * len(part))})", tuple(part))
        else:
            connection.exec_driver_sql(f"{touch} = ANY(%s)", (ids,))

    def _by_ids(self, columns: str, loan_ids: list[str]) -> list[Any]:
        """``SELECT columns FROM loans`` for the given loan ids, as plain driver SQL: one array
        parameter on PostgreSQL, ``?`` placeholders on SQLite (an expanding IN of thousands of
        bound ids cost more to compile and bind than the query itself)."""
        if not loan_ids:
            return []
        connection = self.session.connection()
        if self.iso:
            found: list[Any] = []
            for start in range(0, len(loan_ids), SQLITE_MAX_IDS):
                part = loan_ids[start : start + SQLITE_MAX_IDS]
                sql = f"SELECT {columns} FROM loans WHERE loan_id IN ({','.join('?' * len(part))})"
                found += connection.exec_driver_sql(sql, tuple(part)).all()
            return found
        return connection.exec_driver_sql(f"SELECT {columns} FROM loans WHERE loan_id = ANY(%s)", (loan_ids,)).all()

    def collateral(self, rows: list[tuple]) -> None:
        self.collateral_status.run(self.session, [row for row in rows if row[STATUS_AT] is not None])
        self.collateral_kept.run(self.session, [replace_at(row, STATUS_AT, "free") for row in rows if row[STATUS_AT] is None])


def keys_change(loan: tuple, existing: dict[str, list[Any]]) -> bool:
    """Whether _LoanKeys would change this loan (it is on file and its borrower, officer or
    assignee differ): a full re-export then costs no update for the loans that kept theirs."""
    old = existing.get(loan[0])
    if old is None:
        return False
    borrower_id, officer_id, assigned_to, state = old
    given = loan[ASSIGNEE_AT]
    if state == "performing":
        assignee = assigned_to if given is None else given
    else:
        assignee = given if assigned_to is None else assigned_to
    return (loan[BORROWER_AT], loan[OFFICER_AT], assignee) != (borrower_id, officer_id, assigned_to)


def replace_at(row: tuple, position: int, value: Any) -> tuple:
    return row[:position] + (value,) + row[position + 1 :]

