"""Engines, the unit of work, schema migration on first use, and the queries services need.

No business rules live here: only how rows are found, locked, written and counted.
"""

from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Iterator

from sqlalchemy import Engine, create_engine, delete, event, inspect, select, text
from sqlalchemy.orm import Session, sessionmaker

from models.tables import Loan, Mark, RunDay

MIGRATIONS = Path(__file__).with_name("migrations")
HEAD_REVISION = "0017"
DEFAULT_SQLITE = "sqlite:///var/npl.db"
CLASSIFICATION_MARK = "classification"  # the date stored classifications are true of

_engines: dict[str, Engine] = {}
_lock = threading.Lock()


def database_url(url: str | None = None) -> str:
    """``url``, else ``$NPL_DATABASE_URL``, else the SQLite file ``./var/npl.db``."""
    url = url or os.environ.get("NPL_DATABASE_URL") or DEFAULT_SQLITE
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # DBAPI hook
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def engine_for(url: str | None = None) -> Engine:
    """One engine per URL in this process, its schema migrated to head on first use."""
    url = database_url(url)
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
                Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
            # PostgreSQL's JIT compiles the set-wise refresh's CASE expressions afresh on every run
            # (seconds for a handful of rows); this workload is short statements: keep it off.
            connect_args = {"options": "-c jit=off"} if url.startswith("postgresql") else {}
            engine = create_engine(url, pool_pre_ping=True, connect_args=connect_args)
            if engine.dialect.name == "sqlite":
                event.listen(engine, "connect", _sqlite_pragmas)
            migrate(engine)
            _engines[url] = engine
    return engine


def dispose_all() -> None:
    """Forget every engine (tests, and before a fork)."""
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def migrate(engine: Engine) -> None:
    """Apply Alembic migrations up to head unless the schema is already there (cheap check)."""
    if current_revision(engine) == HEAD_REVISION:
        return
    from alembic import command
    from alembic.config import Config

    cfg = Config(str(MIGRATIONS / "alembic.ini"))
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":  # one migrator at a time across processes
            conn.execute(text("SELECT pg_advisory_xact_lock(4242)"))
            if current_revision_in(conn) == HEAD_REVISION:
                return
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def current_revision_in(conn) -> str | None:
    if not inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


class UnitOfWork:
    """A session whose work is committed once, or rolled back whole."""

    def __init__(self, url: str | None = None, engine: Engine | None = None):
        self.engine = engine or engine_for(url)
        self._factory = sessionmaker(self.engine, expire_on_commit=False)
        self.session: Session | None = None

    def __enter__(self) -> "UnitOfWork":
        self.session = self._factory()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        assert self.session is not None
        if exc_type is not None:
            self.session.rollback()
        self.session.close()

    def commit(self) -> None:
        assert self.session is not None
        self.session.commit()

    def rollback(self) -> None:
        assert self.session is not None
        self.session.rollback()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name


@contextmanager
def unit_of_work(url: str | None = None) -> Iterator[UnitOfWork]:
    with UnitOfWork(url) as uow:
        yield uow


# --- queries -----------------------------------------------------------------------------------


def last_run_date(session: Session) -> date | None:
    """The last business date the daily flow completed."""
    return session.execute(select(RunDay.business_date).order_by(RunDay.business_date.desc()).limit(1)).scalar()


def mark_on(session: Session, name: str) -> date | None:
    """The date a set-wise refresh named ``name`` last brought the book to, if any."""
    mark = session.get(Mark, name)
    return mark.on if mark is not None else None


def set_mark(session: Session, name: str, on: date) -> None:
    mark = session.get(Mark, name)
    if mark is None:
        session.add(Mark(name=name, on=on))
    else:
        mark.on = on


def forget_mark(session: Session, name: str) -> None:
    """The next refresh named ``name`` reads the whole book (loans were added by other means)."""
    session.execute(delete(Mark).where(Mark.name == name))


def get_loan(session: Session, loan_id: str, *, lock: bool = False) -> Loan | None:
    stmt = select(Loan).where(Loan.loan_id == loan_id)
    if lock:
        stmt = stmt.with_for_update()
    return session.execute(stmt).scalar_one_or_none()

