"""Bulk load (issue 20 part 3), on SQLite and PostgreSQL: a large import into a small table drops
the table's secondary indexes and rebuilds them in the import's transaction. It writes the same
rows as the row-by-row path, ends with the schema's indexes, and a failed import leaves them all."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select

from bench.daily_bench import generate
from models import store
from models.importing import import_files, upsert
from models.store import UnitOfWork
from models.tables import Loan
from tests.canonical import canonical_dump
from tests.conftest import _empty


def _indexes(url: str) -> list[tuple[str, str]]:
    """Every index and every foreign key of the database with its definition (SQLite: a table's
    foreign keys are in its CREATE TABLE, which nothing drops)."""
    store.dispose_all()
    engine = create_engine(url)
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            rows = conn.exec_driver_sql(
                "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
                "UNION ALL SELECT conrelid::regclass::text || '.' || conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE contype = 'f' AND connamespace = current_schema()::regnamespace").all()
        else:
            rows = conn.exec_driver_sql("SELECT name, coalesce(sql, '') FROM sqlite_master WHERE type = 'index'").all()
    engine.dispose()
    return sorted((name, definition) for name, definition in rows)


def _foreign_keys(url: str) -> list[str]:
    """The foreign keys of the database (PostgreSQL), by name."""
    return [name for name, definition in _indexes(url) if definition.startswith("FOREIGN KEY")]


def _fresh(folder: Path, name: str) -> str:
    url = f"sqlite:///{folder / name}"
    store.engine_for(url)
    return url


@pytest.fixture
def book(tmp_path: Path) -> list[Path]:
    folder = tmp_path / "book"
    folder.mkdir()
    return generate(folder, 1500)


def test_a_bulk_load_writes_what_the_row_by_row_path_writes_and_keeps_every_index(
    book: list[Path], db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(upsert, "BULK_MIN_ROWS", 10**9)
    by_row = _fresh(tmp_path, "by-row.db")  # SQLite, row by row: the reference
    with UnitOfWork(by_row) as uow:
        import_files(uow, book)

    monkeypatch.setattr(upsert, "BULK_MIN_ROWS", 100)
    dropped: list[str] = []
    finish = upsert.Store.finish
    unchecked: list[str] = []
    monkeypatch.setattr(upsert.Store, "finish",
                        lambda self: (dropped.extend(self._dropped), unchecked.extend(self._unchecked), finish(self))[2])
    schema = _indexes(db_url)
    with UnitOfWork(db_url) as uow:
        report = import_files(uow, book)

    assert report.loans == 1500 and report.guarantors > 500
    assert any("ix_loans_next_event_on" in sql for sql in dropped) and any("ix_guarantors_loan_id" in sql for sql in dropped)
    assert not any("UNIQUE" in sql.upper() for sql in dropped)  # the upserts' ON CONFLICT needs them
    if db_url.startswith("postgresql"):  # a first load by the owner: its foreign keys dropped, added back at the end
        assert set(_foreign_keys(db_url)) >= {"loans.fk_loans_borrower_id_borrowers", "guarantors.fk_guarantors_loan_id_loans"}
        assert any("ADD CONSTRAINT \"fk_loans_borrower_id_borrowers\"" in sql for sql in unchecked)
        assert any("ADD CONSTRAINT \"fk_guarantors_loan_id_loans\"" in sql for sql in unchecked)
    else:
        assert unchecked == []
    assert _indexes(db_url) == schema
    assert canonical_dump(db_url) == canonical_dump(by_row)


def test_a_large_import_into_a_table_holding_more_than_half_of_it_keeps_its_indexes_in_place(
    book: list[Path], db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(upsert, "BULK_MIN_ROWS", 100)
    url = db_url
    with UnitOfWork(url) as uow:
        import_files(uow, book)
    planned: list[list[str]] = []
    plan = upsert.Store.plan
    monkeypatch.setattr(upsert.Store, "plan", lambda self, incoming: (plan(self, incoming), planned.append(list(self._dropped)))[0])
    with UnitOfWork(url) as uow:
        report = import_files(uow, book)  # the same export again: 1,500 rows into 1,500 loans
    assert report.loans_updated == 1500
    assert planned == [[]]


def test_a_bulk_load_that_fails_half_way_leaves_every_index_and_no_row(
    book: list[Path], db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(upsert, "BULK_MIN_ROWS", 100)
    schema = _indexes(db_url)

    def failing(self: upsert.Store, rows: list[tuple]) -> None:
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(upsert.Store, "guarantors", failing)  # the loans are written, indexes dropped
    with pytest.raises(RuntimeError, match="the disk is full"), UnitOfWork(db_url) as uow:
        import_files(uow, book)

    assert _indexes(db_url) == schema
    with UnitOfWork(db_url) as uow:
        assert uow.session.scalar(select(func.count()).select_from(Loan)) == 0


@pytest.mark.postgres
def test_a_row_breaking_a_foreign_key_dropped_for_a_first_load_fails_the_import_at_the_end_and_leaves_nothing(
    book: list[Path], pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy.exc import IntegrityError

    _empty(pg_url)
    monkeypatch.setattr(upsert, "BULK_MIN_ROWS", 100)
    schema = _indexes(pg_url)
    assert "guarantors.fk_guarantors_loan_id_loans" in _foreign_keys(pg_url)
    finish = upsert.Store.finish

    def with_a_stray_guarantor(self: upsert.Store) -> None:  # a row that no check before the key caught
        self.session.connection().exec_driver_sql(
            "INSERT INTO guarantors (loan_id, name, guarantee_type, period_end, consent_to_change, until_repaid) "
            "VALUES ('NO-SUCH-LOAN', 'X', 'joint', '2030-01-01', false, false)")
        finish(self)

    monkeypatch.setattr(upsert.Store, "finish", with_a_stray_guarantor)
    with pytest.raises(IntegrityError, match="fk_guarantors_loan_id_loans"), UnitOfWork(pg_url) as uow:
        import_files(uow, book)

    assert _indexes(pg_url) == schema  # every index and key as it was
    with UnitOfWork(pg_url) as uow:
        assert uow.session.scalar(select(func.count()).select_from(Loan)) == 0
