"""`make demo-feed`: the demo's seed laid out as dated nightly exports and fed through the inbox
ends every case where `make demo` (imported and paid by hand) ends it. The daily flow is replaced
here by what it does — ingest the inbox, then run the dates with the engine — so the replay runs
without a Prefect server (tests/flows/test_feed_flow.py runs the flow itself)."""

from __future__ import annotations

import csv
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from models.store import UnitOfWork
from models.tables import FeedFile, Payment
from services import feed
from tests.builders import run


def engine_daily(as_of: date, through: date | None = None, db_url: str | None = None, publish: bool = True,
                 wait_for_export: bool = False) -> dict[str, Any]:
    ingested = feed.nightly(db_url, feed.inbox_path(), business_date=feed.next_business_date(db_url, as_of))
    run(db_url, as_of, through)
    return {"feed": feed.as_dict(ingested)}


def no_report(**_kwargs: Any) -> dict[str, Any]:
    return {"as_of": "-", "loans": 0, "npl_ratio": "-", "recovered": {"total": "-", "by_strategy": {}}}


def replay(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *, fed: bool) -> tuple[str, str]:
    from demo import run as demo

    home = tmp_path / ("fed" if fed else "by-hand")
    (home / "var" / "demo").mkdir(parents=True)
    monkeypatch.chdir(home)
    monkeypatch.setenv("NPL_INBOX", str(home / "var" / "demo" / "inbox"))
    monkeypatch.setattr("flows.daily.daily_collection", engine_daily)
    monkeypatch.setattr("flows.reports.portfolio_report", no_report)
    demo.replay(0.0, feed=fed)
    return capsys.readouterr().out, f"sqlite:///{home / 'var' / 'demo' / 'npl.db'}"


def cases_part(out: str) -> list[str]:
    """The printed cases: from the first case's heading to the report."""
    return out[out.index("\nL-0001 ") :].split("\nPortfolio as of")[0].splitlines()


def test_the_seed_fed_as_nightly_exports_ends_every_case_as_the_demo_does(tmp_path, monkeypatch, capsys):
    by_hand, _ = replay(tmp_path, monkeypatch, capsys, fed=False)
    fed, url = replay(tmp_path, monkeypatch, capsys, fed=True)

    def normalized(out: str) -> list[str]:  # a payment from the feed is recorded by core-banking, not an officer
        return [re.sub(r"by (core-banking|E-0\d): paid off", "by PAYER: paid off", line) for line in cases_part(out)]

    assert normalized(fed) == normalized(by_hand)
    assert "L-0004 Wang Moumou: installment, substandard, balance 29000.00" in fed  # a restructured asset in observation (issue 15)
    exports = tmp_path / "fed" / "var" / "demo" / "exports"
    assert sorted(p.name for p in (exports / "2006-09-14").iterdir()) == [
        "20060914-1-loans.csv", "20060914-2-guarantors.csv", "20060914-3-collateral.csv"]
    with (exports / "2008-12-15" / "20081215-4-repayments.csv").open(encoding="utf-8", newline="") as handle:
        assert list(csv.DictReader(handle)) == [{"loan_id": "L-0002", "paid_on": "2008-12-15", "amount": "53520.15",  # owed that day, compound interest included
                                                 "reference": "CB-20081215-0001", "payer": "guarantor:Zhang"}]
    with UnitOfWork(url) as uow:
        references = list(uow.session.scalars(select(Payment.reference).order_by(Payment.paid_on)))
        recorded = list(uow.session.scalars(select(FeedFile.name).order_by(FeedFile.id)))
    assert len(references) == 19 and len(set(references)) == 19 and all(r.startswith("CB-") for r in references)
    assert len(recorded) == 3 + 19  # the book and one repayments file a night; the file sent again is not recorded
    assert "ingested 20080830-4-repayments.csv: skipped, already ingested as 20080830-4-repayments.csv" in fed
    assert not [p for p in (tmp_path / "fed" / "var" / "demo" / "inbox").iterdir() if p.is_file()]
