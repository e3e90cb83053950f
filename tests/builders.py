"""Literal portfolios for tests: small CSV files in the contract's format, imported for real."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path
from typing import Any

from machines.policy import load_policy
from models.store import UnitOfWork
from services import daily
from services.importing import import_paths

LOAN_DEFAULTS: dict[str, Any] = {
    "borrower_name": "Borrower",
    "principal": "100000.00",
    "annual_rate": "0.0720",
    "disbursed_on": "2008-01-01",
    "maturity_on": "2008-06-30",
    "outstanding_principal": "100000.00",
    "origin": "external",
    "officer_id": "E-01",
    "product": "business",
}


def write_csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    columns: list[str] = []
    for row in rows:
        columns += [k for k in row if k not in columns]
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=columns)
        w.writeheader()
        w.writerows(rows)
    return path


def load(url: str, tmp: Path, loans: list[dict[str, Any]], guarantors: list[dict[str, Any]] | None = None) -> None:
    """Import ``loans`` (each overriding LOAN_DEFAULTS) and ``guarantors``; fail on any reject."""
    paths = [write_csv(tmp / "loans.csv", [{**LOAN_DEFAULTS, **loan} for loan in loans])]
    if guarantors:
        paths.append(write_csv(tmp / "guarantors.csv", guarantors))
    report = import_paths(url, paths)
    assert not report.rejected, report.rejected


def run(url: str, as_of: date, through: date | None = None) -> daily.RunResult:
    """The daily engine without Prefect (the flow wraps exactly this)."""
    return daily.run_dates(lambda: UnitOfWork(url), as_of, through, load_policy())
