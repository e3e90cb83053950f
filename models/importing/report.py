"""What an import did: the typed report the services return and the edges format."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Rejected:
    """One row that was not imported: ``line`` is the 1-based physical line (header is 1)."""

    file: str
    line: int
    column: str
    reason: str


@dataclass
class ImportedFile:
    """What one input file was taken for and what became of its rows."""

    file: str
    kind: str
    imported: int = 0
    rejected: int = 0
    already_booked: int = 0  # repayments whose reference was booked before: skipped, not applied twice


@dataclass
class ImportReport:
    """What an import call did: rows imported per kind, every rejected row (ordered by input
    file, then line), the rejects files written, loans new and updated, each file's kind, and
    the repayments skipped because their reference was booked already."""

    loans: int = 0
    guarantors: int = 0
    collateral: int = 0
    repayments: int = 0
    operators: int = 0  # operator register rows added or updated
    deliveries: int = 0  # demand letters recorded as served (issue 14)
    already_booked: int = 0  # repayments whose reference was booked before: skipped, not applied twice
    rejected: list[Rejected] = field(default_factory=list)
    rejects_files: list[str] = field(default_factory=list)
    loans_created: int = 0
    loans_updated: int = 0
    files: list[ImportedFile] = field(default_factory=list)
