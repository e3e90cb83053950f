"""Worker processes for tests/integration/test_same_answer.py (spawned: importable by name)."""

from __future__ import annotations

import os
import signal
from datetime import date


def work(url: str, day: date, chunk: int) -> int:
    """One worker of ``day``: claim parts until none is left; returns the cases it judged."""
    from machines.policy import load_policy
    from models.store import UnitOfWork
    from services import daily

    daily.CHUNK = chunk
    result = daily.DayResult(day, daily.Tally(keep=None))
    daily.work_parts(lambda: UnitOfWork(url), day, load_policy(), result)
    return result.cases


def work_and_die(url: str, day: date, chunk: int, die_at: int | None, last_id: str) -> None:
    """A worker SIGKILLed inside its ``die_at``-th chunk (or, with None, inside the chunk that
    holds ``last_id``, the date's last due case), after the chunk's moves and before its commit."""
    from models import daily_sql

    seen = [0]
    real = daily_sql.write_cases

    def dying(session, changed, *rest):
        real(session, changed, *rest)
        seen[0] += 1
        if seen[0] == die_at or (die_at is None and any(c.loan_id == last_id for c in changed)):
            os.kill(os.getpid(), signal.SIGKILL)

    daily_sql.write_cases = dying
    work(url, day, chunk)
