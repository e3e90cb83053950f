"""Shared fixtures: one database per backend per test session, emptied between tests.

``db_url`` is parametrized over SQLite (a temp file) and PostgreSQL (a fresh database created
for this session on 127.0.0.1:5432 and dropped at the end), so integration tests run on both.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text

from models import store
from models.tables import Base

PG_ADMIN_URL = os.environ.get("NPL_TEST_PG_ADMIN", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _pg_session_database() -> Iterator[str]:
    name = f"npl_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        store.dispose_all()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    yield from _pg_session_database()


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'npl.db'}"


def _empty(url: str) -> None:
    engine = store.engine_for(url)
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            names = ", ".join(t.name for t in Base.metadata.sorted_tables)
            conn.execute(text("ALTER TABLE history DISABLE TRIGGER USER"))
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            conn.execute(text("ALTER TABLE history ENABLE TRIGGER USER"))
        else:
            conn.execute(text("DROP TRIGGER IF EXISTS history_no_delete"))
            for table in reversed(Base.metadata.sorted_tables):
                conn.execute(table.delete())
            conn.execute(
                text(
                    "CREATE TRIGGER history_no_delete BEFORE DELETE ON history "
                    "BEGIN SELECT RAISE(ABORT, 'history is append-only: DELETE refused'); END"
                )
            )


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> str:
    """An empty, migrated database on each backend."""
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    _empty(url)
    return url


@pytest.fixture
def sqlite_db(sqlite_url: str) -> str:
    """An empty, migrated SQLite database (for tests that need only the embedded default)."""
    _empty(sqlite_url)
    return sqlite_url


@pytest.fixture(autouse=True, scope="session")
def _letters_outside_the_checkout(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The daily flow writes the demand letters due (issue 14) to $NPL_LETTERS_DIR, default
    ./var/letters: keep the tests' letters in a temp directory (subprocesses inherit it)."""
    os.environ.setdefault("NPL_LETTERS_DIR", str(tmp_path_factory.mktemp("letters")))
