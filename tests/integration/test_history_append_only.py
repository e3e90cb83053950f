"""The case history is append-only, enforced by the database itself (DOMAIN.md §2), on SQLite and
PostgreSQL: whatever the client, UPDATE and DELETE on the history table are refused."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import exc, func, select, text

from models.store import UnitOfWork, engine_for
from models.tables import History
from services import cases
from tests.builders import load


def rows(url: str) -> list[tuple]:
    with UnitOfWork(url) as uow:
        return [(h.id, h.loan_id, h.from_state, h.to_state, h.event, h.on, h.by, h.reason)
                for h in uow.session.scalars(select(History).order_by(History.id))]


@pytest.fixture
def with_history(db_url: str, tmp_path) -> str:
    """Two loans, each paid off (no daily run needed): one history row each."""
    load(db_url, tmp_path, [{"loan_id": "L-1"}, {"loan_id": "L-2"}])
    for loan_id in ("L-1", "L-2"):
        with UnitOfWork(db_url) as uow:
            cases.pay(uow, loan_id, Decimal("100000.00"), on=date(2008, 1, 1), by="E-01")
    assert len(rows(db_url)) == 2
    return db_url


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE history SET reason = 'rewritten' WHERE loan_id = 'L-1'",
        "UPDATE history SET \"by\" = 'someone else'",
        "DELETE FROM history WHERE loan_id = 'L-1'",
        "DELETE FROM history",
    ],
)
def test_update_and_delete_of_history_rows_are_refused_by_the_database(with_history, statement):
    before = rows(with_history)
    with pytest.raises(exc.DBAPIError, match="append-only"):
        with engine_for(with_history).begin() as conn:
            conn.execute(text(statement))
    assert rows(with_history) == before


def test_changing_or_deleting_a_history_row_through_the_orm_is_refused(with_history):
    before = rows(with_history)
    with UnitOfWork(with_history) as uow:
        row = uow.session.scalars(select(History).where(History.loan_id == "L-1")).one()
        row.reason = "nothing happened"
        with pytest.raises(exc.DBAPIError, match="append-only"):
            uow.commit()
    with UnitOfWork(with_history) as uow:
        uow.session.delete(uow.session.scalars(select(History).where(History.loan_id == "L-2")).one())
        with pytest.raises(exc.DBAPIError, match="append-only"):
            uow.commit()
    assert rows(with_history) == before


def test_history_still_takes_new_rows(with_history):
    with UnitOfWork(with_history) as uow:
        uow.session.add(History(loan_id="L-1", from_state="closed", to_state="closed", event="note", on=date(2008, 1, 2),
                                by="E-01", reason="appending is allowed"))
        uow.commit()
    with UnitOfWork(with_history) as uow:
        assert uow.session.execute(select(func.count()).select_from(History)).scalar_one() == 3


@pytest.fixture
def pg_db(pg_url: str) -> str:
    """The empty PostgreSQL test database alone (SQLite has no TRUNCATE statement)."""
    from tests.conftest import _empty

    _empty(pg_url)
    return pg_url


def test_truncate_of_history_is_refused_on_postgresql(pg_db, tmp_path):
    # Row-level UPDATE / DELETE triggers do not fire on TRUNCATE: the migration adds a statement-level
    # BEFORE TRUNCATE trigger on PostgreSQL (SQLite has no TRUNCATE; its DELETE-without-WHERE fast
    # path is disabled by the DELETE trigger, covered above).
    load(pg_db, tmp_path, [{"loan_id": "L-1"}])
    with UnitOfWork(pg_db) as uow:
        cases.pay(uow, "L-1", Decimal("100000.00"), on=date(2008, 1, 1), by="E-01")
    before = rows(pg_db)
    with pytest.raises(exc.DBAPIError, match="append-only"):
        with engine_for(pg_db).begin() as conn:
            conn.execute(text("TRUNCATE history"))
    assert rows(pg_db) == before
