"""A judged case's new classification goes out with the chunk's one write of its row
(``daily_sql.classification_along``): the chunk's classify() then finds it already right.

Same answer: random books (loans 0–400 days past due on their first date, then a 30-date
catch-up) end row for row as they do when classify() alone writes every classification.
Fewer writes: on the first date after the import classify() writes no case of the chunk."""

from __future__ import annotations

from datetime import timedelta

import pytest

from machines.policy import load_policy
from models import daily_sql
from models.store import UnitOfWork
from services import daily
from services.daily import run_dates
from tests.builders import load
from tests.canonical import canonical_dump
from tests.conftest import _empty
from tests.integration.test_setwise_moves import RUN_DATE, random_book


def _run(url: str, tmp_path, book, along: bool, monkeypatch) -> tuple[dict, int]:
    """The book's first date and 30 more; returns the dumps and how many rows the chunks'
    classify() wrote on the first date."""
    _empty(url)
    load(url, tmp_path, *book)
    if not along:
        monkeypatch.setattr(daily_sql, "classification_along", lambda rows, unsure=(): {})
    written: list[int] = []
    real = daily_sql.classify

    def counting(session, dialect, day, *where):
        written.append(real(session, dialect, day, *where))
        return written[-1]

    monkeypatch.setattr(daily, "classify", counting)  # the chunks' (the date's refresh calls daily_sql's own)
    policy = load_policy()
    run_dates(lambda: UnitOfWork(url), RUN_DATE, None, policy)
    by_chunks = sum(written)
    first = canonical_dump(url)
    run_dates(lambda: UnitOfWork(url), RUN_DATE + timedelta(days=1), RUN_DATE + timedelta(days=30), policy)
    monkeypatch.undo()
    return {"first": first, "after": canonical_dump(url)}, by_chunks


@pytest.mark.parametrize("seed", [4, 5])
def test_classifications_written_with_the_judged_rows_leave_the_same_book_as_classify_alone(
        db_url, tmp_path, monkeypatch, seed):
    book = random_book(seed, 250)
    alone, alone_wrote = _run(db_url, tmp_path, book, False, monkeypatch)
    along, along_wrote = _run(db_url, tmp_path, book, True, monkeypatch)

    assert alone_wrote > 100  # without it, classify() writes the new past-due cases' classifications
    assert along_wrote == 0  # with it, each went out with its row's one write
    assert along["first"]["loans"] == alone["first"]["loans"]
    assert along == alone
