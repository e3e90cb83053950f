"""``npl db grant ROLE``: the application's PostgreSQL role with the least privileges (issue 16 part 8).

Run by the role that owns the schema (the migration role, which ran the migrations) against the
production database. Afterwards ROLE:

- exists (created ``LOGIN`` without a password if it did not: the DBA gives it one, or a
  certificate) and owns nothing — only an owner (or a superuser) may ``ALTER TABLE … DISABLE
  TRIGGER``, so the history triggers stay on whatever the application does;
- may ``SELECT, INSERT, UPDATE`` the working tables, and ``DELETE`` only where the application
  deletes (``snapshots``: a month-end snapshot is rewritten when its date is run again;
  ``marks``: an import resets the classification mark);
- may only ``SELECT, INSERT`` the append-only tables (``APPEND_ONLY``: the case history, the
  one-time-password attempts, the operation keys), and ``SELECT`` the migration table;
- has ``TRUNCATE``, ``REFERENCES`` and ``TRIGGER`` on nothing; uses the sequences; may connect and
  create temporary tables (the importer's staging).

Every grant is recomputed (``REVOKE ALL`` first), so running it again after a migration that
added a table gives the new table its grants. A superuser or the schema's owner is refused as
the application role: it could switch the triggers off.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import text

from models.domain.errors import BadInput, RuleViolation
from models.store import UnitOfWork
from models.tables import Base

APPEND_ONLY = ("history", "otp_attempts", "operation_keys")
DELETES = ("snapshots", "marks")
READ_ONLY = ("alembic_version",)
_ROLE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


@dataclass(frozen=True)
class Granted:
    role: str
    created: bool
    working: tuple[str, ...]
    append_only: tuple[str, ...]


def grant(uow: UnitOfWork, role: str) -> Granted:
    """Give ``role`` exactly the privileges above on the unit of work's database (PostgreSQL)."""
    if not _ROLE.match(role or ""):
        raise BadInput(f"ROLE must be a plain PostgreSQL role name (lower-case letters, digits, _), got {role!r}")
    if uow.dialect != "postgresql":
        raise BadInput("npl db grant is for PostgreSQL (SQLite has no roles: protect the file instead)")
    s = uow.session
    assert s is not None
    me = s.execute(text("SELECT current_user")).scalar_one()
    if role == me:
        raise RuleViolation(f"{role} is the role running this command (the schema's owner): the application needs a role of its own")
    found = s.execute(text("SELECT rolsuper FROM pg_roles WHERE rolname = :r"), {"r": role}).first()
    if found is not None and found[0]:
        raise RuleViolation(f"{role} is a superuser: it could disable the history triggers")
    owned = s.execute(text(
        "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() AND tableowner = :r"), {"r": role}).scalar_one()
    if owned:
        raise RuleViolation(f"{role} owns {owned} of the schema's tables: an owner can disable the history triggers; "
                            "let the migration role own them")
    created = found is None
    if created:
        s.execute(text(f'CREATE ROLE "{role}" LOGIN'))
    tables = [t.name for t in Base.metadata.sorted_tables]
    present = set(s.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")).scalars())
    working = tuple(t for t in tables if t in present and t not in APPEND_ONLY)
    append_only = tuple(t for t in APPEND_ONLY if t in present)
    database = s.execute(text("SELECT current_database()")).scalar_one()
    statements = [
        f'REVOKE ALL ON ALL TABLES IN SCHEMA "{_schema(s)}" FROM "{role}"',
        f'GRANT CONNECT, TEMPORARY ON DATABASE "{database}" TO "{role}"',
        f'GRANT USAGE ON SCHEMA "{_schema(s)}" TO "{role}"',
        f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA "{_schema(s)}" TO "{role}"',
    ]
    statements += [f'GRANT SELECT, INSERT, UPDATE ON "{t}" TO "{role}"' for t in working]
    statements += [f'GRANT DELETE ON "{t}" TO "{role}"' for t in DELETES if t in working]
    statements += [f'GRANT SELECT, INSERT ON "{t}" TO "{role}"' for t in append_only]
    statements += [f'GRANT SELECT ON "{t}" TO "{role}"' for t in READ_ONLY if t in present]
    for statement in statements:
        s.execute(text(statement))
    uow.commit()
    return Granted(role, created, working, append_only)


def _schema(s) -> str:  # a Session
    return s.execute(text("SELECT current_schema()")).scalar_one()
