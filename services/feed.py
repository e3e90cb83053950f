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
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from machines.policy import Policy, load_policy
from models.domain.dates import add_days
from models.domain.errors import BadInput
from models.importing import KINDS, ImportReport, Rejected
from models.importing.files import inspect_file
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
    wait: ExportWait | None = None  # set when the run looked for the night's export (the scheduled run)

    @property
    def notes(self) -> list[str]:
        return [f"{f.name}: {f.note}" for f in self.files if f.note]


@dataclass(frozen=True)
class ExportWait:
    """The scheduled run's look for the night's export: the kinds it expected (policy
    ``[feed] expect``), those still missing when it stopped waiting, and how long it waited."""

    expected: tuple[str, ...]
    missing: tuple[str, ...]
    waited_seconds: float


def ingest_inbox(
    url: str | None,
    inbox: Path,
    *,
    flow_run_id: str | None = None,
    business_date: date | None = None,
    policy: Policy | None = None,
    names: Sequence[str] | None = None,
) -> FeedResult:
    """Ingest every export file waiting in ``inbox``, in name order, each exactly once.

    ``business_date``: the date the files are ingested for (``feed_files.ingested_on``);
    default the day after the last business date run (the date the next run is for), or None
    before the first run. A file refused as a whole is not an error here: it is recorded and
    moved to ``rejected/``, and the result says why. ``names``: only these files of the inbox
    (plain names, see ``check_names``; BadInput for one not waiting there).
    """
    inbox = Path(inbox)
    if names is not None:
        chosen = set(check_names(names))
        absent = sorted(chosen - {p.name for p in waiting(inbox)})
        if absent:
            raise BadInput(f"not waiting in the inbox {inbox}: {', '.join(absent)}")
    policy = policy or load_policy()
    if business_date is None:
        with UnitOfWork(url) as uow:
            last = last_run_date(uow.session)
        business_date = add_days(last, 1) if last is not None else None
    result = FeedResult(str(inbox), business_date)
    for path in waiting(inbox):
        if names is not None and path.name not in chosen:
            continue
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


# --- the scheduled run: waiting for the night's export ---------------------------------------------

POLL_SECONDS = 30.0  # how often a waiting run looks at the inbox again


def check_names(names: Sequence[str]) -> list[str]:
    """File names typed by hand (the ``ingest-export/ops`` deployment): plain names of files in
    the inbox, never paths — BadInput for one with a path separator, ``..``, or a leading dot."""
    checked = []
    for name in names:
        if not isinstance(name, str) or not name.strip():
            raise BadInput(f"not a file name: {name!r}")
        if "/" in name or "\\" in name or ".." in name or name.startswith(".") or "\0" in name:
            raise BadInput(f"{name!r}: give the name of a file in the inbox, not a path")
        checked.append(name)
    return checked


def folder_in(inbox: Path, folder: str | None) -> Path:
    """The folder to ingest: the inbox itself (``folder`` empty), or a folder inside it given by
    its relative name (e.g. a dated export ``2008-01-10``); BadInput for anything leading out."""
    if folder is None or not folder.strip() or folder.strip() == ".":
        return inbox
    parts = Path(folder.strip()).parts
    if Path(folder.strip()).is_absolute() or any(p in ("..", "") or p.startswith(".") for p in parts) or "\\" in folder:
        raise BadInput(f"{folder!r}: give a folder inside the inbox {inbox}, by its relative name")
    path = inbox.joinpath(*parts)
    if not path.is_dir():
        raise BadInput(f"{folder!r}: no such folder in the inbox {inbox}")
    return path


def kinds_waiting(inbox: Path) -> set[str]:
    """The file kinds (told by header) among the files waiting in the inbox; a file that cannot
    be read counts as none."""
    kinds = set()
    for path in waiting(inbox):
        try:
            kinds.add(inspect_file(path, 0, KINDS).kind)
        except (BadInput, OSError):
            continue
    return kinds


def kinds_ingested(url: str | None, business_date: date | None) -> set[str]:
    """The kinds already ingested for ``business_date`` (by an earlier run or by hand)."""
    if business_date is None:
        return set()
    with UnitOfWork(url) as uow:
        rows = uow.session.scalars(select(FeedFile.kind).where(
            FeedFile.ingested_on == business_date, FeedFile.outcome == PROCESSED, FeedFile.kind.is_not(None)))
        return set(rows)


def wait_for_export(
    url: str | None,
    inbox: Path,
    business_date: date | None,
    policy: Policy,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> ExportWait:
    """Wait until the inbox (with what was already ingested for ``business_date``) holds every
    kind ``[feed] expect`` names, looking every POLL_SECONDS, for at most ``[feed] wait_minutes``."""
    expected = policy.feed.expect
    started = clock()
    deadline = started + policy.feed.wait_minutes * 60
    while True:
        have = kinds_waiting(inbox) | kinds_ingested(url, business_date)
        missing = tuple(k for k in expected if k not in have)
        remaining = deadline - clock()
        if not missing or remaining <= 0:
            return ExportWait(expected, missing, round(clock() - started, 1))
        sleep(min(POLL_SECONDS, remaining))


def next_business_date(url: str | None, as_of: date) -> date:
    """The date a daily run's ingestion is for: the first date the run advances (the day after
    the last business date run); ``as_of`` before any run, or when ``as_of`` is completed already
    (a scheduled run after ``npl daily`` ran the day by hand looks for that day's export, not
    the next day's)."""
    with UnitOfWork(url) as uow:
        last = last_run_date(uow.session)
    return add_days(last, 1) if last is not None and last < as_of else as_of


def nightly(
    url: str | None,
    inbox: Path,
    *,
    business_date: date,
    flow_run_id: str | None = None,
    wait: bool = False,
    policy: Policy | None = None,
) -> FeedResult:
    """The daily run's first step: wait for the night's export of ``business_date`` when ``wait``
    (the scheduled run), then ingest whatever waits in the inbox."""
    policy = policy or load_policy()
    looked = wait_for_export(url, inbox, business_date, policy) if wait else None
    result = ingest_inbox(url, inbox, flow_run_id=flow_run_id, business_date=business_date, policy=policy)
    result.wait = looked
    return result


# --- reporting -------------------------------------------------------------------------------------

REJECTED_ROWS_SHOWN = 50  # rejected rows listed in a run's result and summary (the count says how many)


def as_dict(result: FeedResult, rows: int = REJECTED_ROWS_SHOWN) -> dict[str, Any]:
    """The result as plain data (a flow run's result, ``npl daily --json``)."""
    return {
        "inbox": result.inbox,
        "business_date": result.business_date.isoformat() if result.business_date else None,
        "files": [{"name": f.name, "kind": f.kind, "outcome": f.outcome, "accepted": f.accepted, "rejected": f.rejected,
                   "already_booked": f.already_booked, "note": f.note} for f in result.files],
        "rejected_rows": [{"file": Path(r.file).name, "line": r.line, "column": r.column, "reason": r.reason}
                          for r in result.rejected_rows[:rows]],
        "rejected_count": len(result.rejected_rows),
        "expected": list(result.wait.expected) if result.wait else None,
        "missing": list(result.wait.missing) if result.wait else [],
        "waited_minutes": round(result.wait.waited_seconds / 60, 2) if result.wait else 0,
    }


def _cell(text: Any) -> str:
    return " ".join(str(text if text is not None else "-").split()).replace("|", "/")


def markdown(feed: dict[str, Any], label: Callable[..., str], title: str = "feed.title", level: str = "##") -> str:
    """The feed's section of a summary: a missing export first, then each file, then the
    rejected rows (the first ones, with the count). ``label`` (flows.i18n.t) gives the words in
    the chosen language; ``title`` is the label of the heading."""
    lines = [f"{level} {label(title)} ({feed['inbox']})", ""]
    if feed["missing"]:
        lines += [label("feed.missing", files=", ".join(feed["missing"]), date=feed["business_date"] or label("feed.this_run"),
                        minutes=f"{feed['waited_minutes']:g}"), ""]
    files = feed["files"]
    if not files:
        lines.append(label("feed.no_files"))
    else:
        headers = ["feed.file", "col.kind", "feed.outcome", "feed.accepted", "feed.rejected", "feed.already_booked", "feed.note"]
        lines += ["| " + " | ".join(label(h) for h in headers) + " |", "|---|---|---|---|---|---|---|"]
        lines += [f"| {_cell(f['name'])} | {_cell(f['kind'])} | {f['outcome']} | {f['accepted']} | {f['rejected']} | "
                  f"{f['already_booked']} | {_cell(f['note'] or '')} |" for f in files]
    if feed["rejected_count"]:
        headers = ["feed.file", "feed.line", "feed.column", "col.reason"]
        lines += ["", f"### {label('feed.rejected_rows')} ({feed['rejected_count']})", "",
                  "| " + " | ".join(label(h) for h in headers) + " |", "|---|---|---|---|"]
        lines += [f"| {_cell(r['file'])} | {r['line']} | {_cell(r['column'])} | {_cell(r['reason'])} |" for r in feed["rejected_rows"]]
        if feed["rejected_count"] > len(feed["rejected_rows"]):
            lines.append(label("feed.first_rejected", shown=len(feed["rejected_rows"]), total=feed["rejected_count"]))
    return "\n".join(lines)


def with_section(summary: str, section: str) -> str:
    """``summary`` with ``section`` right under its title."""
    title, _, rest = summary.partition("\n\n")
    return f"{title}\n\n{section}\n\n{rest}" if rest else f"{title}\n\n{section}"
