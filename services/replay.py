"""Strategy replay: the book's own history under another policy, before anyone is affected.

``replay(source_url, challenger, d1, d2)`` reads the live database read-only (SQLite opened with
``mode=ro``; PostgreSQL in READ ONLY, REPEATABLE READ transactions: one consistent snapshot),
and makes the book as of D1 in a scratch SQLite file (``services.replay_book``):

1. the loans, borrowers, guarantors and collateral as first imported (state performing; the
   balances the payments recorded since let us recover, see ``LIMITS``);
2. from the source's first business date to D1, the daily engine (``services.daily.run_dates``)
   under the champion, with every recorded act (``services.replay_events``) applied on its
   recorded date after that date's run — as the branch did. The source keeps each case as it
   stands now, not as it stood on D1, so the book as of D1 is made by running it there; the
   engine stops only on the dates that have recorded acts (its catch-up walks the rest);
3. there it branches: a copy continues under the challenger (next event dates recomputed with
   ``reschedule_rows``, as ``services.daily.reschedule``), the original under the champion, each to D2, with the same
   recorded acts, in two processes for a large book. An act the replayed case no longer allows
   is skipped and counted; what the challenger wants earlier than history did it is counted as
   "would be due on …", never done. Each side's legal clocks — the letters it has the branch
   send, the deadlines at risk each week — are followed case by case as they change
   (``services.replay_watch``), and measured at D2 (``services.replay_metrics``).

The comparison, its workbook, chart and markdown are ``services.replay_report``'s. The scratch
databases are deleted when the replay ends.
"""

from __future__ import annotations

import shutil
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Callable

from sqlalchemy import bindparam, select, text, update

from machines.policy import Policy, load_policy
from models.domain.dates import add_days
from machines.loan_case import CaseState
from models.daily_sql import CaseRow
from models.domain.errors import BadInput, ConcurrentUpdate, RuleViolation
from models.tables import History, Loan
from services import daily
from services.replay_book import Book, Scratch, read_book, rebuild, seed, source_engine
from services.replay_events import RecordedEvent, apply
from services.replay_metrics import CATEGORIES, RUNGS, iso_week, metrics
from services.replay_report import (
    KEEP, ReplayReport, chart, difference, markdown, summary_rows, weekly_table, would_be_due, write_files,
)
from services.replay_watch import DIRTY_SQL, LegalWatch
from services.views import CaseLoader

__all__ = [
    "CATEGORIES", "KEEP", "LIMITS", "RUNGS", "Acts", "Book", "ReplayReport", "Scratch", "advance", "chart", "markdown", "read_book",
    "rebuild", "replay", "reproduce", "seed", "source_engine", "summary_rows", "weekly_table", "write_files",
]

LIMITS = [
    "Borrowers' behaviour is held fixed: payments, promises and visit outcomes happen on their recorded dates, "
    "whatever the challenger would have done; a pay-off stays a pay-off of what the replayed case owed.",
    "An operator's act that the replayed case no longer allows (a move from a state it is not in, a judgment on a "
    "case not in litigation) is skipped and counted, never forced.",
    "Moves the challenger would want earlier than history has them are counted as \"would be due on\" their "
    "date; no operator act is invented.",
    "The book is rebuilt as first imported: balances are recovered from the recorded payments; interest owed "
    "before a loan's first payment is taken as what that payment settled of it, so balances before it can be "
    "off (transitions, days and workload do not depend on them). An overdue date set by an installment missed under an "
    "agreement is left to the replayed agreement to set again; a revitalization credit's loan is booked again by the "
    "replayed revitalization, with its recorded amount, rate and maturity.",
    "Loans added by a later import are replayed as if on file from the first business date; re-imported "
    "changes to a loan (new terms, new overdue dates) are replayed as their latest values.",
    "Within one date the source keeps no time of day across tables: acts are applied after that date's run, "
    "moves first, money last.",
    "Workload counts the tasks the policy gives the branch (demand letters to send — one per party whose demand falls "
    "due, not again while it awaits service —, cases sent to visit, approvals asked), per officer responsible and ISO "
    "week; not the time an officer spends on them. A demand letter's task follows a change of the case's state (a "
    "demand becoming a filing in litigation) within a week.",
    "The book as of --from is made by replaying the recorded history from the book's first business date under the "
    "policy in force (the database keeps each case as it stands now, not as it stood then): a long history costs "
    "its length once more.",
]


@dataclass
class Acts:
    applied: int = 0
    capped: int = 0
    skipped: int = 0
    skipped_items: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"applied": self.applied, "capped": self.capped, "skipped": self.skipped, "skipped_items": self.skipped_items}

    def apply(self, scratch: Scratch, events: list[RecordedEvent], policy: Policy) -> None:
        """Apply one date's recorded acts in their order, each in its own transaction (a refused
        act is rolled back alone: skipped and counted)."""
        for ev in events:
            with scratch.uow() as uow:
                try:
                    outcome = apply(uow, ev, policy)
                except (RuleViolation, BadInput) as refused:
                    self.skipped += 1
                    if len(self.skipped_items) < KEEP:
                        self.skipped_items.append({"loan_id": ev.loan_id, "act": ev.kind, "on": ev.on.isoformat(), "why": str(refused)})
                    continue
            self.applied += 1
            self.capped += outcome == "capped"


def advance(scratch: Scratch, events: list[RecordedEvent], policy: Policy, start: date, end: date, acts: Acts,
            watch: LegalWatch | None = None, risks: dict[str, dict[str, int]] | None = None) -> None:
    """Run the daily engine from ``start`` (or the scratch's next date) to ``end`` under
    ``policy``, stopping only where something is recorded: each date with recorded acts, whose
    acts are applied after that date's run; between stops the engine's own catch-up walks the
    dates (it skips the quiet ones). With ``watch``: its clocks follow each stop, and
    ``risks`` gets the deadlines at risk at each week's end (Sunday) and at ``end``."""
    by_day: dict[date, list[RecordedEvent]] = defaultdict(list)
    for ev in events:
        if start <= ev.on <= end:
            by_day[ev.on].append(ev)
    stops = set(by_day) | {end}
    if watch is not None:
        first_sunday = add_days(start, (7 - start.isoweekday()) % 7)
        stops |= {add_days(first_sunday, 7 * k) for k in range((end - first_sunday).days // 7 + 1)}
    for stop in sorted(d for d in stops if start <= d <= end):
        daily.run_dates(scratch.uow, start, stop, policy)
        acts.apply(scratch, by_day.get(stop, []), policy)
        if watch is not None:
            with scratch.uow() as uow:
                watch.advance(uow.session, stop)
                if risks is not None and (stop.isoweekday() == 7 or stop == end):
                    risks[iso_week(stop)] = {"at_risk": watch.listed(uow.session, stop)}
                uow.commit()


def apply_before(scratch: Scratch, events: list[RecordedEvent], first: date, policy: Policy, acts: Acts) -> list[RecordedEvent]:
    """Acts dated before the first business date (recorded before any run): applied first."""
    acts.apply(scratch, [e for e in events if e.on < first], policy)
    return [e for e in events if e.on >= first]


def as_of(scratch: Scratch, book: Book, policy: Policy, d1: date) -> list[RecordedEvent]:
    """Make the book as of ``d1`` in ``scratch`` (module docstring, steps 1 and 2); the recorded
    acts after ``d1``."""
    assert book.first_date is not None
    seed(scratch, book)
    events = apply_before(scratch, book.events, book.first_date, policy, Acts())
    advance(scratch, events, policy, book.first_date, d1, Acts())
    return [e for e in events if e.on > d1]


def reproduce(source_url: str | None, policy: Policy | None = None, through: date | None = None,
              workdir: str | Path | None = None) -> list[tuple[str, str, str, str, date]]:
    """The source's history as the replay makes it from the book as first imported, under
    ``policy`` (the policy in force) to ``through`` (the source's last date): the determinism check."""
    policy = policy or load_policy()
    book = read_book(source_url)
    if book.first_date is None:
        return []
    end = through or book.last_date
    assert end is not None
    with tempfile.TemporaryDirectory(prefix="npl-replay-", dir=workdir) as tmp:
        scratch = Scratch(Path(tmp) / "champion.db")
        try:
            as_of(scratch, book, policy, end)
            with scratch.uow() as uow:
                rows = uow.session.execute(select(History.loan_id, History.from_state, History.to_state, History.event, History.on)).all()
        finally:
            scratch.close()
    return sorted(tuple(r) for r in rows)  # type: ignore[misc]


def reschedule_rows(scratch: Scratch, day: date, policy: Policy) -> int:
    """``services.daily.reschedule`` on plain rows: every open case's next event date recomputed
    under ``policy`` as of ``day``, the changed ones written back in one executemany (their version
    moved on, as the mapped objects' flush does). Mapping and flushing every loan of a large book
    one object at a time cost the challenger several times what judging them does."""
    from machines.escalation import next_event_on

    table = Loan.__table__
    stmt = (update(table).where(table.c.loan_id == bindparam("b_loan_id"), table.c.version == bindparam("b_version"))
            .values(next_event_on=bindparam("v_next"), version=table.c.version + 1))
    count, after = 0, ""
    while True:
        with scratch.uow() as uow:
            s = uow.session
            loans = [CaseRow(r._mapping) for r in s.execute(
                select(table).where(table.c.state != CaseState.closed.value, table.c.loan_id > after)
                .order_by(table.c.loan_id).limit(daily.CHUNK))]
            if not loans:
                return count
            loader = CaseLoader(s, loans, plain=True)
            changed = []
            for loan in loans:
                nxt = next_event_on(loader.view(loan, day, policy), day, policy)
                if nxt != loan.next_event_on:
                    changed.append({"b_loan_id": loan.loan_id, "b_version": loan.version, "v_next": nxt})
            if changed and s.connection().execute(stmt, changed).rowcount != len(changed):
                raise ConcurrentUpdate("a scratch case changed while its next event date was recomputed")
            uow.commit()
            count += len(loans)
            after = loans[-1].loan_id


PARALLEL_FROM = 20_000  # below this, a second process costs more to start than it saves


def _branch(path: Path, events: list[RecordedEvent], policy: Policy, d1: date, d2: date, scratch: Scratch | None = None,
            reschedule: bool = False) -> dict[str, Any]:
    """One side of the fork: from the day after ``d1`` to ``d2`` under ``policy``; its metrics.
    ``reschedule``: every case's next event date recomputed under ``policy`` first (the challenger)."""
    own = scratch is None
    scratch = scratch or Scratch(path)
    try:
        if reschedule:
            reschedule_rows(scratch, d1, policy)  # the challenger's limits move every next event date
        acts, risks, watch = Acts(), {}, LegalWatch(policy)
        with scratch.uow() as uow:
            watch.start(uow.session, d1)
            uow.commit()
        advance(scratch, events, policy, add_days(d1, 1), d2, acts, watch, risks)
        return metrics(scratch, d1, d2, watch, risks, acts.as_dict())
    finally:
        if own:
            scratch.close()


def replay(
    source_url: str | None, challenger: Policy, d1: date, d2: date, *, champion: Policy | None = None,
    workdir: str | Path | None = None, on_progress: Callable[[str], None] | None = None, keep: str | Path | None = None,
    parallel: bool | None = None,
) -> ReplayReport:
    """Replay the book under ``challenger`` and ``champion`` (default: the policy in force) from
    ``d1`` to ``d2`` and compare (module docstring). ``keep``: a folder to copy the two scratch
    databases into (champion.db, challenger.db) before they are deleted. ``parallel``: run the
    challenger's branch in a second process (default: for books of PARALLEL_FROM loans or more)."""
    if d2 <= d1:
        raise BadInput("--to must be after --from")
    champion = champion or load_policy()
    say = on_progress or (lambda _message: None)
    say("reading the book")
    book = read_book(source_url)
    first = book.first_date or d1
    if d1 < first:
        raise BadInput(f"--from {d1} is before the book's first business date {first}")
    book.first_date = first
    with tempfile.TemporaryDirectory(prefix="npl-replay-", dir=workdir) as tmp:
        base = Scratch(Path(tmp) / "champion.db")
        scratches = [base]
        try:
            say(f"making the book as of {d1}: {first} → {d1} under the champion")
            later = as_of(base, book, champion, d1)
            with base.engine.begin() as conn:  # from the fork on, a write to a case marks it for the legal watch
                for sql in DIRTY_SQL:
                    conn.execute(text(sql))
            alt = base.copy_to(Path(tmp) / "challenger.db")
            scratches.append(alt)
            results = {}
            if parallel is None:
                parallel = len(book.loans) >= PARALLEL_FROM
            if parallel:  # the two branches are independent files: the challenger's in a second process
                import multiprocessing
                from concurrent.futures import ProcessPoolExecutor

                alt.close()
                say(f"replaying {add_days(d1, 1)} → {d2} under the champion and the challenger, in two processes")
                with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
                    other = pool.submit(_branch, alt.path, later, challenger, d1, d2, None, True)
                    results["champion"] = _branch(base.path, later, champion, d1, d2, base)
                    results["challenger"] = other.result()
            else:
                for name, scratch, policy in (("champion", base, champion), ("challenger", alt, challenger)):
                    say(f"replaying {add_days(d1, 1)} → {d2} under the {name}")
                    results[name] = _branch(scratch.path, later, policy, d1, d2, scratch, reschedule=name == "challenger")
            if keep is not None:
                Path(keep).mkdir(parents=True, exist_ok=True)
                for scratch in scratches:
                    scratch.close()
                    shutil.copyfile(scratch.path, Path(keep) / scratch.path.name)
        finally:
            for scratch in scratches:
                scratch.close()
    earlier = would_be_due(results["champion"].pop("_first_awaiting"), results["challenger"].pop("_first_awaiting"), d1, d2)
    skip = ("weekly", "tasks_by_officer_week", "acts")
    compared = difference({k: v for k, v in results["champion"].items() if k not in skip},
                          {k: v for k, v in results["challenger"].items() if k not in skip})
    return ReplayReport(d1, d2, results["champion"], results["challenger"], compared, earlier, list(LIMITS))
