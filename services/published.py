"""The officers' worklist tables the daily run has published as keyed artifacts: a digest of
each table, the artifact that shows it, and the business date it was published for. The flow
publishes a table again only when it changed (flows/publishing.py); this module keeps the record."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.tables import PublishedWorklist


@dataclass(frozen=True)
class Published:
    key: str
    officer: str
    digest: str
    artifact_id: str
    since: date


def worklists(session: Session) -> dict[str, Published]:
    """Every officer's table on record, by artifact key."""
    return {row.key: Published(row.key, row.officer, row.digest, row.artifact_id, row.since)
            for row in session.scalars(select(PublishedWorklist))}


def record(session: Session, tables: list[Published]) -> None:
    """Record these tables as the latest published under their keys (the caller commits)."""
    for table in tables:
        session.merge(PublishedWorklist(key=table.key, officer=table.officer, digest=table.digest,
                                        artifact_id=table.artifact_id, since=table.since))
