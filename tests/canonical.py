"""A canonical dump of the database, compared row by row (idempotency and crash tests)."""

from __future__ import annotations

from sqlalchemy import select

from models.store import UnitOfWork
from models.tables import Base

IGNORED = {("run_ledger", "completed_at"), ("run_ledger", "flow_run_id"), ("quarantine", "recorded_at")}
SKIPPED = {"day_parts"}  # how a date was split among workers on PostgreSQL: the run's bookkeeping, not its outcome
SURROGATE = {"id"}  # autoincrement ids depend on insert order across chunks, not on content


def canonical_dump(url: str, skip: set[tuple[str, str]] = frozenset()) -> dict[str, list[tuple]]:
    """Every table's rows, sorted; ``skip`` leaves out further (table, column) pairs."""
    out: dict[str, list[tuple]] = {}
    with UnitOfWork(url) as uow:
        for table in Base.metadata.sorted_tables:
            if table.name in SKIPPED:
                continue
            cols = [c for c in table.columns
                    if (table.name, c.name) not in IGNORED and (table.name, c.name) not in skip and c.name not in SURROGATE]
            rows = uow.session.execute(select(*cols)).all()
            out[table.name] = sorted((tuple(r) for r in rows), key=repr)
    return out
