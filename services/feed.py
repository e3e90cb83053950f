"""The nightly feed: ingest the core-banking export files waiting in the inbox, exactly once.

CONTRACT.md, "The nightly feed". The inbox (``NPL_INBOX``, default ``./var/inbox``) holds the
night's export files; they are taken in name order (so an export names its loans file before
its guarantors, collateral and repayments files of the same night), each told apart by its
header as ``npl import`` does. For each file:

- its SHA-256 is computed; a checksum already recorded in ``feed_files`` means the file was
  ingested before: it is not applied again, only moved out of the inbox, with a note;
- otherwise it is imported in one transaction that also records it in ``feed_files`` (name,
  size, checksum, kind, rows accepted and rejected, the flow run, the business date); only
  after the commit is it moved to ``processed/`` — or to ``rejected/`` when nothing in it could
  be read (the file as a whole refused, or every row rejected), with its rejects file beside it.

A crash before the commit leaves the file in the inbox and nothing of it in the database: the
next run applies it once. A crash after the commit but before the move leaves a file whose
checksum is recorded: the next run just moves it. Each repayment's ``reference`` is booked at
most once besides (``payments.reference`` is unique), whatever file it arrives in.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from machines.policy import Policy, load_policy
from models.domain.dates import add_days
from models.domain.errors import BadInput
from models.importing import ImportReport, Rejected
from models.store import UnitOfWork, last_run_date
from models.tables import FeedFile
from services.importing import import_in

DEFAULT_INBOX = Path("var") / "inbox"
PROCESSED, REJECTED = "processed", "rejected"
REJECTS_SUFFIX = ".rejects.csv"
IN_PROGRESS_SUFFIXES = (".tmp", ".part", ".partial")  # an exporter still writing: left for the next run


def inbox_path(inbox: str | Path | None = None) -> Path:
    """``inbox``, else ``$NPL_INBOX``, else ``./var/inbox``."""
    return Path(inbox or os.environ.get("NPL_INBOX") or DEFAULT_INBOX)


@dataclass(frozen=True)
class FeedFileResult:
    """What became of one file of the inbox."""

    name: str
    outcome: str  # processed | rejected | skipped (ingested before: moved, not applied)
    kind: str | None = None
    accepted: int = 0
    rejected: int = 0
    already_booked: int = 0
    moved_to: str | None = None
    note: str | None = None


@dataclass
class FeedResult:
    """One ingestion of the inbox: every file in the order taken, and every rejected row."""

    inbox: str
    business_date: date | None
    files: list[FeedFileResult] = field(default_factory=list)
    rejected_rows: list[Rejected] = field(default_factory=list)

    @property
    def notes(self) -> list[str]:
        return [f"{f.name}: {f.note}" for f in self.files if f.note]


def ingest_inbox(
    url: str | None,
    inbox: Path,
    *,
    flow_run_id: str | None = None,
    business_date: date | None = None,
    policy: Policy | None = None,
) -> FeedResult:
    """Ingest every export file waiting in ``inbox``, in name order, each exactly once.

    ``business_date``: the date the files are ingested for (``feed_files.ingested_on``);
    default the day after the last business date run (the date the next run is for), or None
    before the first run. A file refused as a whole is not an error here: it is recorded and
    moved to ``rejected/``, and the result says why.
    """
    inbox = Path(inbox)
    policy = policy or load_policy()
    if business_date is None:
        with UnitOfWork(url) as uow:
            last = last_run_date(uow.session)
        business_date = add_days(last, 1) if last is not None else None
    result = FeedResult(str(inbox), business_date)
    for path in waiting(inbox):
        outcome = _ingest_file(url, inbox, path, flow_run_id, business_date, policy, result.rejected_rows)
        result.files.append(outcome)
    return result


def waiting(inbox: Path) -> list[Path]:
    """The files waiting in the inbox, in name order: regular files directly in it, not hidden,
    not a rejects file the import wrote, not one still being written."""
    if not inbox.is_dir():
        return []
    names = sorted(entry.name for entry in os.scandir(inbox) if entry.is_file(follow_symlinks=False))
    return [
        inbox / name
        for name in names
        if not name.startswith(".") and not name.endswith(REJECTS_SUFFIX) and not name.endswith(IN_PROGRESS_SUFFIXES)
    ]


def checksum(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _ingest_file(
    url: str | None,
    inbox: Path,
    path: Path,
    flow_run_id: str | None,
    business_date: date | None,
    policy: Policy,
    rejected_rows: list[Rejected],
) -> FeedFileResult:
    sha256, size = checksum(path)
    earlier = _recorded(url, sha256)
    if earlier is not None:
        return _skip(inbox, path, earlier)

    def record(report: ImportReport, uow: UnitOfWork) -> None:
        (summary,) = report.files
        uow.session.add(FeedFile(
            name=path.name, size=size, sha256=sha256, kind=summary.kind, outcome=_outcome(summary.imported, summary.rejected),
            rows_accepted=summary.imported, rows_rejected=summary.rejected, flow_run_id=flow_run_id,
            ingested_on=business_date, note=None,
        ))

    try:
        with UnitOfWork(url) as uow:
            report = import_in(uow, [path], policy=policy, before_commit=lambda report: record(report, uow))
    except BadInput as refused:  # nothing in the file could be read: record that, set it aside
        note = str(refused)
        try:
            with UnitOfWork(url) as uow:
                uow.session.add(FeedFile(
                    name=path.name, size=size, sha256=sha256, kind=None, outcome=REJECTED, rows_accepted=0,
                    rows_rejected=0, flow_run_id=flow_run_id, ingested_on=business_date, note=note,
                ))
                uow.commit()
        except IntegrityError:  # another run recorded the same file meanwhile
            return _skip(inbox, path, _recorded(url, sha256))
        moved = _move(path, inbox / REJECTED)
        return FeedFileResult(path.name, REJECTED, moved_to=str(moved), note=note)
    except IntegrityError:  # another run ingested the same file (or the same references) meanwhile
        earlier = _recorded(url, sha256)
        if earlier is None:
            raise
        return _skip(inbox, path, earlier)

    (summary,) = report.files
    outcome = _outcome(summary.imported, summary.rejected)
    destination = inbox / (REJECTED if outcome == REJECTED else PROCESSED)
    moved = _move(path, destination)
    for rejects_file in report.rejects_files:
        _move(Path(rejects_file), destination, name=moved.stem + REJECTS_SUFFIX)
    rejected_rows.extend(report.rejected)
    note = "every row was rejected" if outcome == REJECTED else None
    return FeedFileResult(
        path.name, outcome, summary.kind, summary.imported, summary.rejected, summary.already_booked, str(moved), note
    )


def _outcome(accepted: int, rejected: int) -> str:
    return REJECTED if rejected and not accepted else PROCESSED


def _recorded(url: str | None, sha256: str) -> FeedFile | None:
    with UnitOfWork(url) as uow:
        return uow.session.scalars(select(FeedFile).where(FeedFile.sha256 == sha256)).first()


def _skip(inbox: Path, path: Path, earlier: FeedFile | None) -> FeedFileResult:
    """A file ingested before (same checksum): moved where the first copy went, not applied."""
    outcome = earlier.outcome if earlier is not None else PROCESSED
    destination = inbox / (REJECTED if outcome == REJECTED else PROCESSED)
    rejects_file = path.with_name(path.stem + REJECTS_SUFFIX)  # left by a run that stopped before the move
    moved = _move(path, destination)
    if rejects_file.exists():
        _move(rejects_file, destination, name=moved.stem + REJECTS_SUFFIX)
    if earlier is not None:
        when = f" for {earlier.ingested_on}" if earlier.ingested_on else ""
        note = f"already ingested as {earlier.name}{when} (same checksum): not applied again"
    else:  # pragma: no cover - a concurrent run's record vanished
        note = "already ingested (same checksum): not applied again"
    return FeedFileResult(path.name, "skipped", earlier.kind if earlier else None, moved_to=str(moved), note=note)


def _move(path: Path, folder: Path, *, name: str | None = None) -> Path:
    """Move ``path`` into ``folder`` as ``name`` (default its own), never overwriting: a name
    taken there gets ``.1``, ``.2`` … before its suffix."""
    folder.mkdir(parents=True, exist_ok=True)
    name = name or path.name
    stem, suffix = _split(name)
    target = folder / name
    n = 0
    while target.exists():
        n += 1
        target = folder / f"{stem}.{n}{suffix}"
    os.replace(path, target)
    return target


def _split(name: str) -> tuple[str, str]:
    if name.endswith(REJECTS_SUFFIX):
        return name[: -len(REJECTS_SUFFIX)], REJECTS_SUFFIX
    stem, dot, suffix = name.rpartition(".")
    return (stem, "." + suffix) if dot and stem else (name, "")
