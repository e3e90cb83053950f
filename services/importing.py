"""The import use case: what `npl import`, the demo and the flows call.

Opens a unit of work on the database, imports the core-banking export files into it in one
transaction (``models.importing``), and returns the typed report (:class:`ImportReport`)
that each edge formats in its own words. Refusals of a whole file raise BadInput (CLI exit 2).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from models.importing import ImportedFile, ImportReport, Rejected, import_files
from models.store import UnitOfWork

__all__ = ["ImportReport", "ImportedFile", "Rejected", "import_paths"]


def import_paths(url: str | None, paths: Sequence[str | Path]) -> ImportReport:
    """Import the files at ``paths`` into the database at ``url`` (None: the default database)."""
    with UnitOfWork(url) as uow:
        return import_files(uow, list(paths))
