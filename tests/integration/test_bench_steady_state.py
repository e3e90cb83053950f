"""The benchmark's steady state is the same state on SQLite and on PostgreSQL.

`make bench` prints a SQLite row and a PostgreSQL row; they compare the backends only if the
SQL that puts the book in its steady state (one list of statements per dialect) leaves the same
book on both. A small book (about 300 loans, most of them past due so every ladder state, plan
and demand occurs) is imported and set up on each backend and the canonical dumps compared.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from bench.daily_bench import QUIET_SQL, RUN_DATE, PostgresScratch, SqliteScratch, generate, import_book, quiet_book, settle, steady_state
from models.store import UnitOfWork
from models.tables import Base
from tests.canonical import canonical_dump
from tests.conftest import PG_ADMIN_URL

pytestmark = pytest.mark.postgres

LADDER = {"overdue", "internal_review", "visit", "guarantor_pressure", "litigation", "installment", "revitalization"}


def _book(folder: Path) -> list[Path]:
    files = generate(folder, 300, past_due=0.6)
    # loans that matured 1 to 4 days before the run date: 'overdue' up to 3 days, the ladder beyond
    with files[0].open() as f:
        template = list(csv.DictReader(f))[0]
    with files[0].open("a", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(template))
        for days in range(1, 5):
            maturity = RUN_DATE - timedelta(days=days)
            writer.writerow({**template, "loan_id": f"L900000{days}", "maturity_on": maturity.isoformat(),
                             "disbursed_on": (maturity - timedelta(days=365)).isoformat()})
    return files


@pytest.fixture
def pg_scratch() -> Iterator[PostgresScratch]:
    scratch = PostgresScratch(PG_ADMIN_URL)
    yield scratch
    scratch.close()


def _column(dump: dict[str, list[tuple]], table: str, name: str) -> list:
    """One column of a canonical dump (whose rows leave out the surrogate ``id``)."""
    columns = [c.name for c in Base.metadata.tables[table].columns if c.name != "id"]
    at = columns.index(name)
    return [row[at] for row in dump[table]]


def test_steady_state_is_the_same_book_on_sqlite_and_postgresql(tmp_path: Path, pg_scratch: PostgresScratch) -> None:
    files = _book(tmp_path)
    dumps = {}
    for scratch in (SqliteScratch(tmp_path), pg_scratch):
        url = scratch.new("steady")
        import_book(url, files)
        steady_state(url)
        dumps[scratch.dialect] = canonical_dump(url)

    sqlite, postgresql = dumps["sqlite"], dumps["postgresql"]
    # the book exercises every statement: every ladder state, plans signed after the 28th, demands
    assert LADDER <= set(_column(sqlite, "loans", "state"))
    assert any(signed.day > 28 for signed in _column(sqlite, "plans", "signed_on"))
    assert any(_column(sqlite, "guarantors", "limitation_interrupted_on"))
    assert sqlite["plan_lines"] and sqlite["run_ledger"]
    for table in sqlite:
        assert sqlite[table] == postgresql[table], f"{table} differs between SQLite and PostgreSQL"


def test_postgresql_copies_are_the_template_and_are_dropped_at_the_end(tmp_path: Path) -> None:
    files = generate(tmp_path, 50)
    scratch = PostgresScratch(PG_ADMIN_URL)
    try:
        source = scratch.new("import")
        import_book(source, files)
        copy = scratch.copy(source, "copy")
        assert canonical_dump(copy) == canonical_dump(source)
        assert canonical_dump(copy)["loans"]
    finally:
        scratch.close()
    admin = create_engine(PG_ADMIN_URL)
    try:
        with admin.connect() as conn:
            left = conn.execute(text("SELECT datname FROM pg_database WHERE datname LIKE :p"), {"p": f"{scratch.prefix}%"}).scalars().all()
    finally:
        admin.dispose()
    assert left == []


def _dead_row_versions(url: str, table: str) -> int:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS pgstattuple"))  # PostgreSQL's contrib: counts them exactly
            return int(conn.execute(text("SELECT dead_tuple_count FROM pgstattuple(:t)"), {"t": table}).scalar_one())
    finally:
        engine.dispose()


def test_a_timed_postgresql_copy_starts_without_the_dead_row_versions_of_the_bulk_update_that_made_it(
    tmp_path: Path, pg_scratch: PostgresScratch
) -> None:
    url = pg_scratch.new("settle")
    import_book(url, generate(tmp_path, 200))
    with UnitOfWork(url) as uow:  # what quiet_book does before it settles: every next event moved on in one UPDATE
        uow.session.execute(text(QUIET_SQL["postgresql"]))
        uow.commit()
    assert _dead_row_versions(url, "loans") > 100  # the old version of each loan with a next event

    settle(url, "loans")

    assert _dead_row_versions(url, "loans") == 0
    quiet = pg_scratch.copy(url, "quiet")
    quiet_book(quiet)  # the benchmark's own quiet date: moved again, and settled
    assert _dead_row_versions(quiet, "loans") == 0
    copy = pg_scratch.copy(url, "settled")  # what each timed step runs on
    assert _dead_row_versions(copy, "loans") == 0
    assert canonical_dump(copy) == canonical_dump(url)  # the rows themselves are untouched
