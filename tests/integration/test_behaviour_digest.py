"""The daily engine's behaviour, pinned by a digest of the whole database (issue 13).

A 1,500-loan benchmark book (half of it past due) is imported, put in the benchmark's steady state,
run for its first business date and then a 30-date catch-up, all through the service layer. The
sha256 of the canonical dump (tests/canonical.py: every row of every non-empty table, without
surrogate ids or timestamps) is compared with the digest that the code before the issue-13
restructuring produced for the same book (commit 8910665, computed with this very procedure).

A refactoring must leave it unchanged. A change of behaviour that is meant (a new rule, a
corrected rule) changes it: then update GOLDEN in the same commit and say in the commit message
which rule changed and why the new digest is right.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

from bench.daily_bench import RUN_DATE, generate, steady_state
from machines.policy import load_policy
from models.store import UnitOfWork
from services.daily import run_dates
from services.importing import import_paths
from tests.canonical import canonical_dump

# Changed on purpose twice since 2335d876…ed93157 (the code before issue 13):
# - issue 14: the run records no legal act (no demanded_on / limitation_start written by the run;
#   tasks instead of "demands" in actions);
# - issue 15 rule 6: a broken plan with no guarantor liable moves installment → visit (plan_lapsed),
#   and days past due run from the first missed installment (the bench's plans carry no observation
#   period, so their loans fall from loss to special mention); rule 8: closed loans keep
#   classification_at_close.
# - issue 20: the bench's steady state records its demands as legal acts and actions (as ``npl
#   demand`` does) instead of only the cached dates: the clocks follow acts, so the book differs.
GOLDEN = "36b6e13198be0d5bc2b469b4396314e0d56a771ffd6b194f4218bc6a987f755b"

# Columns that later issues added; empty or defaulted on this book, left out so that a new
# column alone does not read as a change of behaviour.
ADDED_LATER = {("guarantors", "signed_on"), ("guarantors", "until_repaid"),
               # issue 15 (migration 0012); classification_at_close is not left out: closed loans set it
               *(("loans", c) for c in ("observation_from", "restructured_floor", "compound_fen", "delayed_fen", "parent_loan_id")),
               # issue 15 rule 4 (migration 0014)
               *(("loans", c) for c in ("misused_purpose", "judgment_debt_fen", "judgment_perform_by")),
               ("payments", "compound_fen"), ("payments", "delayed_fen"),
               # issue 20 (migration 0015): where the clocks end, a cache the deadlines at risk read
               ("loans", "clocks_ahead_on"), ("loans", "clocks_behind_on")}


def digest(url: str) -> str:
    dump = {name: rows for name, rows in canonical_dump(url, skip=ADDED_LATER).items() if rows}
    return hashlib.sha256(repr(sorted(dump.items())).encode()).hexdigest()


def test_first_date_and_a_30_date_catch_up_leave_the_database_the_code_before_issue_13_left(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'golden.db'}"
    import_paths(url, generate(tmp_path, 1500, past_due=0.5))
    steady_state(url)
    policy = load_policy()
    run_dates(lambda: UnitOfWork(url), RUN_DATE, None, policy)
    run_dates(lambda: UnitOfWork(url), RUN_DATE + timedelta(days=1), RUN_DATE + timedelta(days=30), policy)
    assert digest(url) == GOLDEN
