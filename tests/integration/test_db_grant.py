"""History that stays history (issue 16 part 8): ``npl db grant ROLE`` gives the application role
the least privileges on PostgreSQL, so that the role the application runs as cannot update,
delete or truncate the history nor switch its triggers off — while a daily run, an import and a
payment work as that role."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy import create_engine, exc, text
from typer.testing import CliRunner

from flows.cli import app
from models import store
from models.store import UnitOfWork
from services import cases
from services.daily import run_dates
from services.importing import import_paths
from machines.policy import load_policy
from tests.conftest import PG_ADMIN_URL

DEMO = Path(__file__).resolve().parents[2] / "demo" / "data"
HOST = PG_ADMIN_URL.split("@", 1)[1].rsplit("/", 1)[0]  # 127.0.0.1:5432


@pytest.fixture
def owner_and_app() -> Iterator[tuple[str, str, str]]:
    """A database owned by a migration role (which may create roles), and the name for the app role."""
    suffix = uuid.uuid4().hex[:8]
    owner, app_role, name = f"npl_owner_{suffix}", f"npl_app_{suffix}", f"npl_grants_{suffix}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE ROLE {owner} LOGIN CREATEROLE"))
        conn.execute(text(f'CREATE DATABASE "{name}" OWNER {owner}'))
    try:
        yield f"postgresql+psycopg://{owner}@{HOST}/{name}", app_role, f"postgresql+psycopg://{app_role}@{HOST}/{name}"
    finally:
        store.dispose_all()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f"DROP ROLE IF EXISTS {app_role}"))
            conn.execute(text(f"DROP ROLE IF EXISTS {owner}"))
        admin.dispose()


@pytest.mark.postgres
def test_the_granted_role_runs_the_book_but_cannot_rewrite_truncate_or_unprotect_the_history(owner_and_app, tmp_path):
    owner_url, role, app_url = owner_and_app
    granted = CliRunner().invoke(app, ["db", "grant", role, "--db", owner_url])
    assert granted.exit_code == 0, granted.output
    assert f"role {role} created" in granted.stdout and "SELECT, INSERT only on history" in granted.stdout

    # normal operations, as the application role
    assert not import_paths(app_url, [DEMO / "loans.csv", DEMO / "guarantors.csv", DEMO / "collateral.csv"]).rejected
    run_dates(lambda: UnitOfWork(app_url), date(2008, 7, 1), date(2008, 9, 30), load_policy())
    with UnitOfWork(app_url) as uow:
        assert cases.pay(uow, "L-0004", Decimal("47000.00"), on=date(2008, 9, 30), by="E-02").closed_reason == "repaid"
    engine = store.engine_for(app_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM history")).scalar_one() > 0
        assert conn.execute(text("SELECT count(*) FROM pg_tables WHERE tableowner = current_user")).scalar_one() == 0

    for statement in ("UPDATE history SET reason = 'rewritten'", "DELETE FROM history", "TRUNCATE history",
                      "ALTER TABLE history DISABLE TRIGGER USER", "ALTER TABLE history DISABLE TRIGGER ALL",
                      "DROP TRIGGER history_no_update ON history", "TRUNCATE loans CASCADE", "DELETE FROM payments"):
        with pytest.raises(exc.DBAPIError, match="permission denied|must be owner"):
            with engine.begin() as conn:
                conn.execute(text(statement))
    with engine.connect() as conn:
        triggers = conn.execute(text("SELECT tgname, tgenabled FROM pg_trigger WHERE tgrelid = 'history'::regclass "
                                     "AND NOT tgisinternal ORDER BY tgname")).all()
    assert triggers and all(enabled == "O" for _name, enabled in triggers)

    again = CliRunner().invoke(app, ["db", "grant", role, "--db", owner_url])  # after a migration: recomputed, not created
    assert again.exit_code == 0 and "created" not in again.stdout, again.output


@pytest.mark.postgres
def test_the_schemas_owner_or_a_superuser_is_refused_as_the_application_role(owner_and_app):
    owner_url, _role, _app_url = owner_and_app
    owner = owner_url.split("//", 1)[1].split("@", 1)[0]
    refused = CliRunner().invoke(app, ["db", "grant", owner, "--db", owner_url])
    assert refused.exit_code == 1 and "the application needs a role of its own" in refused.stderr
    superuser = CliRunner().invoke(app, ["db", "grant", "postgres", "--db", owner_url])
    assert superuser.exit_code == 1 and "superuser" in superuser.stderr


def test_db_grant_on_sqlite_is_bad_input(tmp_path):
    result = CliRunner().invoke(app, ["db", "grant", "npl_app", "--db", f"sqlite:///{tmp_path / 'npl.db'}"])
    assert result.exit_code == 2 and "PostgreSQL" in result.stderr


@pytest.mark.postgres
def test_a_first_load_drops_and_rebuilds_the_indexes_as_the_owner_and_keeps_them_as_the_application_role(
        owner_and_app, tmp_path, monkeypatch):
    from models.importing import upsert

    owner_url, role, app_url = owner_and_app
    assert CliRunner().invoke(app, ["db", "grant", role, "--db", owner_url]).exit_code == 0
    monkeypatch.setattr(upsert, "BULK_MIN_ROWS", 5)  # the demo's files count as a bulk load
    dropped: list[list[str]] = []
    finish = upsert.Store.finish
    monkeypatch.setattr(upsert.Store, "finish", lambda self: (dropped.append(list(self._dropped)), finish(self))[1])

    def indexes(url: str) -> list[tuple[str, str]]:
        with store.engine_for(url).connect() as conn:
            return sorted(tuple(r) for r in conn.execute(text(
                "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()")))

    files = [DEMO / "loans.csv", DEMO / "guarantors.csv"]
    schema = indexes(owner_url)
    assert not import_paths(app_url, files).rejected  # the application role owns nothing: it writes through them
    assert dropped == [[]] and indexes(app_url) == schema

    with UnitOfWork(owner_url) as uow:  # an empty book again, loaded by the owner: dropped and rebuilt
        for table in ("guarantors", "loans", "borrowers"):
            uow.session.execute(text(f"DELETE FROM {table}"))
        uow.commit()
    assert not import_paths(owner_url, files).rejected
    assert any("ix_loans_next_event_on" in sql for sql in dropped[1]) and indexes(owner_url) == schema
    assert not import_paths(owner_url, files).rejected  # the same files again: loans on file, indexes kept
    assert dropped[2] == []
