"""The daily run's bookkeeping: which dates it runs, what it keeps of what it did, and the
second chance of the cases it quarantined.

Split out of :mod:`services.daily` (issue 13), which re-exports every name here; its engine
(``run_dates``, ``process_chunk``, the parts) fills these results.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Callable

from sqlalchemy.orm import Session

from models import daily_sql
from models.domain.dates import add_days
from models.store import UnitOfWork, last_run_date

KINDS = ("transitions", "alerts", "awaiting", "suspended", "refused", "quarantined")
KEEP = 500  # items of each kind a run keeps in full (what it reports and emits as events)


@dataclass
class Tally:
    """What a run did to the cases: how many of each kind, and the first ``keep`` of each in
    full. A catch-up on a large book moves hundreds of thousands of cases; the history and the
    actions tables hold every one, so a run keeps in memory only what it reports."""

    keep: int | None = KEEP
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    items: dict[str, list[Any]] = field(default_factory=lambda: {kind: [] for kind in KINDS})

    def add(self, kind: str, item: Any) -> None:
        self.counts[kind] += 1
        if self.keep is None or len(self.items[kind]) < self.keep:
            self.items[kind].append(item)

    def room(self) -> dict[str, int | None]:
        """How many more items of each kind this tally keeps (None: no limit)."""
        return {kind: None if self.keep is None else max(0, self.keep - len(self.items[kind])) for kind in KINDS}

    def digest(self, room: dict[str, int | None] | None = None) -> dict[str, Any]:
        """Counts and items as plain data, the items cut to ``room`` (a task's return value)."""
        room = room or {}
        return {"counts": dict(self.counts), "items": {k: v[: room.get(k)] for k, v in self.items.items()}}

    def merge(self, digest: dict[str, Any]) -> None:
        room = self.room()
        for kind in KINDS:
            self.counts[kind] += digest["counts"][kind]
            self.items[kind].extend(digest["items"][kind][: room[kind]])


@dataclass
class DayResult:
    """One business date's (or one chunk's) outcome; items go to ``tally``."""

    business_date: date
    tally: Tally = field(default_factory=Tally)
    cases: int = 0

    def add(self, kind: str, item: Any) -> None:
        self.tally.add(kind, item)


@dataclass
class RunResult:
    requested: date
    through: date
    dates_run: list[date] = field(default_factory=list)
    already_done: bool = False
    days: list[DayResult] = field(default_factory=list)  # the dates on which cases were judged
    tally: Tally = field(default_factory=Tally)  # every day's outcome, shared by the days

    @property
    def transitions(self) -> list[dict[str, Any]]:
        """The first ``KEEP`` transitions (``tally.counts`` has how many there were)."""
        return self.tally.items["transitions"]

    @property
    def alerts(self) -> list[dict[str, Any]]:
        return self.tally.items["alerts"]

    def count(self, kind: str) -> int:
        return self.tally.counts[kind]


# --- which dates ------------------------------------------------------------------------------


def dates_to_run(session: Session, as_of: date, through: date | None) -> tuple[date | None, date]:
    """(first date to run or None if everything is done, last date). Skipped dates since the last
    completed one are run first."""
    end = max(as_of, through or as_of)
    last = last_run_date(session)
    if last is not None and end <= last:
        return None, end
    start = add_days(last, 1) if last is not None else as_of
    return start, end


# --- the quarantined cases, again --------------------------------------------------------------


def catch_up_quarantined(
    make_uow: Callable[[], UnitOfWork], last: date, process: Callable[[list[str], date, DayResult], None], result: RunResult,
) -> None:
    """Judge each quarantined case again on the dates it missed, up to ``last`` (the last date
    completed), from its next event date (which stayed at the date it failed) or, if that is
    not due by ``last``, on ``last``. A case judged without error leaves quarantine and joins
    the run; one that fails again stays, with the new error."""
    with make_uow() as uow:
        waiting = daily_sql.quarantined(uow.session)
    for loan_id, due in waiting.items():
        day = due if due is not None and due <= last else last
        while day <= last:
            day_result = DayResult(day, result.tally)
            process([loan_id], day, day_result)
            result.days.append(day_result)
            with make_uow() as uow:
                if loan_id in daily_sql.quarantined(uow.session, [loan_id]):
                    break
                nxt = daily_sql.next_event_of(uow.session, loan_id)
            if nxt is None:
                break
            day = max(nxt, add_days(day, 1))
