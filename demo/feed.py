"""The demo's core-banking side for ``make demo-feed``: the seed laid out as dated nightly exports.

``var/demo/exports/YYYY-MM-DD/`` holds what the core system exported that night, named so that
name order is the order to ingest in (``YYYYMMDD-1-loans.csv``, ``-2-guarantors``,
``-3-collateral``, ``-4-repayments``):

- the first night: the book (demo/data's loans, guarantors and collateral files, as they are);
- each night a repayment was made: a repayments file (``loan_id, paid_on, amount, reference,
  payer``), one row per repayment, each with the core system's transaction id as ``reference``.

``deliver`` copies a night's files into the inbox, as the export job does before the morning
run; the daily flow then ingests them (services/feed.py) before it advances the book.
"""

from __future__ import annotations

import csv
import shutil
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

BOOK = ("loans", "guarantors", "collateral")
REPAYMENT_COLUMNS = ("loan_id", "paid_on", "amount", "reference", "payer")


@dataclass
class Exports:
    root: Path  # var/demo/exports
    inbox: Path  # var/demo/inbox
    delivered: set[date] = field(default_factory=set)

    def night(self, on: date) -> Path:
        folder = self.root / on.isoformat()
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def book(self, on: date, data: Path) -> list[Path]:
        """The night's export of the whole book: the seed's files under export names."""
        folder = self.night(on)
        return [Path(shutil.copyfile(data / f"{kind}.csv", folder / f"{on:%Y%m%d}-{n}-{kind}.csv"))
                for n, kind in enumerate(BOOK, start=1)]

    def repayment(self, on: date, loan_id: str, amount: Decimal, payer: str = "borrower") -> Path:
        """Add a repayment made on ``on`` to that night's repayments file."""
        path = self.night(on) / f"{on:%Y%m%d}-4-repayments.csv"
        new = not path.exists()
        with path.open("a", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            if new:
                writer.writerow(REPAYMENT_COLUMNS)
                rows = 0
            else:
                rows = sum(1 for _ in path.open(encoding="utf-8")) - 1
            writer.writerow([loan_id, on.isoformat(), f"{amount:.2f}", f"CB-{on:%Y%m%d}-{rows + 1:04d}", payer])
        return path

    def deliver(self, on: date) -> list[Path]:
        """Copy the night's export into the inbox (once)."""
        self.delivered.add(on)
        self.inbox.mkdir(parents=True, exist_ok=True)
        return [Path(shutil.copy2(p, self.inbox / p.name)) for p in sorted(self.night(on).iterdir())]

    def deliver_all(self) -> None:
        """Every night exported and not yet delivered, in date order."""
        if self.root.is_dir():
            for folder in sorted(self.root.iterdir()):
                on = date.fromisoformat(folder.name)
                if on not in self.delivered:
                    self.deliver(on)

    def resend(self, on: date) -> None:
        """The core system delivers an earlier night's export again (the feed skips it)."""
        self.deliver(on)


def print_ingested(feed: dict[str, Any]) -> None:
    """One line per file the daily run ingested, and each rejected row."""
    for f in feed["files"]:
        what = f"{f['accepted']} row(s)" if f["outcome"] != "skipped" else f["note"]
        print(f"            ingested {f['name']}: {f['outcome']}, {what}")
    for r in feed["rejected_rows"]:
        print(f"            rejected {r['file']}:{r['line']}: column {r['column']}: {r['reason']}")
