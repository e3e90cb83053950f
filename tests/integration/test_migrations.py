"""A database made by an earlier release is brought to the current schema when first opened,
with its data kept (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, inspect, text

from models import store
from tests.conftest import _pg_session_database


def upgrade_to(url: str, revision: str) -> None:
    cfg = Config(str(store.MIGRATIONS / "alembic.ini"))
    cfg.set_main_option("script_location", str(store.MIGRATIONS))
    engine = create_engine(url)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def blank_url(request: pytest.FixtureRequest, tmp_path: Path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    databases = _pg_session_database()
    yield next(databases)
    next(databases, None)


def test_a_database_at_the_first_revision_is_upgraded_on_first_use_and_keeps_its_loans(blank_url: str) -> None:
    upgrade_to(blank_url, "0001")
    engine = create_engine(blank_url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO borrowers (borrower_id, name, employer_type) VALUES ('B-1', 'Wang', 'none')"))
        conn.execute(text(
            "INSERT INTO loans (loan_id, borrower_id, principal_fen, rate_ppm, disbursed_on, maturity_on, product, origin, "
            "outstanding_principal_fen, overdue_principal_fen, interest_fen, penalty_fen, costs_fen, accrued_to, accrual_stopped, "
            "state, classification, urgent, employer_pressure, touched, version) VALUES ('L-1', 'B-1', 100, 72000, '2008-01-01', "
            "'2008-06-30', 'business', 'external', 100, 0, 0, 0, 0, '2008-01-01', false, 'visit', 'normal', false, false, true, 1)"
        ))
    engine.dispose()

    upgraded = store.engine_for(blank_url)
    try:
        assert store.current_revision(upgraded) == store.HEAD_REVISION
        with upgraded.connect() as conn:
            assert conn.execute(text("SELECT state FROM loans WHERE loan_id = 'L-1'")).scalar() == "visit"
            indexes = set(conn.execute(text(
                "SELECT indexname FROM pg_indexes WHERE tablename = 'loans'" if conn.dialect.name == "postgresql"
                else "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'loans'"  # reflection skips expression indexes
            )).scalars())
            assert {"ix_loans_oldest_due", "ix_loans_touched", "ix_loans_state_classification"} <= indexes
            assert "ix_loans_state" not in indexes  # replaced by the covering index that starts with state
            for column in ("observation_until", "clocks_behind_on"):  # 0017: only the rows that have one
                definition = conn.execute(text(
                    "SELECT indexdef FROM pg_indexes WHERE indexname = :name" if conn.dialect.name == "postgresql"
                    else "SELECT sql FROM sqlite_master WHERE name = :name"), {"name": f"ix_loans_{column}"}).scalar()
                assert definition is not None and f"{column} IS NOT NULL" in definition, definition
            assert inspect(conn).has_table("marks")
            assert {"taken_on", "disposed_on"} <= {c["name"] for c in inspect(conn).get_columns("collateral")}
            assert "limitation_interrupted_on" in {c["name"] for c in inspect(conn).get_columns("guarantors")}
            assert "reference" in {c["name"] for c in inspect(conn).get_columns("payments")}
            assert inspect(conn).has_table("feed_files")
    finally:
        store.dispose_all()


def test_operator_demands_become_acts_and_the_runs_own_demands_become_nothing(blank_url: str) -> None:
    """0011: a demand an operator recorded took effect on its date (a legal act); the daily run's
    'demand' (by system) was an intention, never served: it must not preserve anything."""
    upgrade_to(blank_url, "0008")
    engine = create_engine(blank_url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO borrowers (borrower_id, name, employer_type) VALUES ('B-1', 'Wang', 'none')"))
        conn.execute(text(
            "INSERT INTO loans (loan_id, borrower_id, principal_fen, rate_ppm, disbursed_on, maturity_on, product, origin, "
            "outstanding_principal_fen, overdue_principal_fen, interest_fen, penalty_fen, costs_fen, accrued_to, accrual_stopped, "
            "state, classification, urgent, employer_pressure, touched, version) VALUES ('L-1', 'B-1', 100, 72000, '2008-01-01', "
            "'2008-06-30', 'business', 'external', 100, 0, 0, 0, 0, '2008-01-01', false, 'visit', 'normal', false, false, true, 1)"
        ))
        for by, target, on in (("officer-1", "Zhang", "2008-07-10"), ("system", "Li", "2008-12-01"), ("officer-2", None, "2008-08-01")):
            conn.execute(text('INSERT INTO actions (loan_id, kind, "on", by, target, outcome) VALUES '
                              "('L-1', 'demand', :on, :by, :target, 'issued')"), {"on": on, "by": by, "target": target})
    engine.dispose()
    upgraded = store.engine_for(blank_url)
    try:
        with upgraded.connect() as conn:
            rows = conn.execute(text("SELECT party, kind, took_effect_on, recorded_by FROM legal_acts ORDER BY took_effect_on")).all()
        assert [(r[0], r[1], str(r[2]), r[3]) for r in rows] == [
            ("Zhang", "demand", "2008-07-10", "officer-1"), ("borrower", "demand", "2008-08-01", "officer-2")]
    finally:
        store.dispose_all()
