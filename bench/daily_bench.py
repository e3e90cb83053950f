"""Benchmark of import and the daily run on a synthetic book (SQLite, the embedded default).

    make bench                      # 100,000 loans
    make bench BENCH_ARGS="--loans 1000000"

Steps: generate CSV exports (a realistic mix: due dates spread over ten years, 40% guaranteed,
insider and relationship loans), import them (timed), put the book in a steady state as if the
branch had been running npl-collect (states spread along the ladder, installment plans; set
with SQL, then every case's next event date and classification computed by the engine: untimed
setup), warm up
the temporary Prefect server (excluded, as the targets say), then time one business date, 30
more in one `--through` run, and a date on which nothing falls due.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import resource
import shutil
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

RUN_DATE = date(2026, 11, 2)


def generate(folder: Path, n: int, seed: int = 7) -> list[Path]:
    rnd = random.Random(seed)
    loans, guarantors = folder / "loans.csv", folder / "guarantors.csv"
    with loans.open("w", newline="") as lf, guarantors.open("w", newline="") as gf:
        lw, gw = csv.writer(lf), csv.writer(gf)
        lw.writerow(["loan_id", "borrower_name", "principal", "annual_rate", "disbursed_on", "maturity_on", "outstanding_principal",
                     "origin", "officer_id", "introduced_by", "employer_type", "product", "credit_rating", "address"])
        gw.writerow(["loan_id", "guarantor_name", "guarantee_type"])
        span = (RUN_DATE + timedelta(days=400) - date(2016, 1, 1)).days
        origins = ["external"] * 85 + ["relationship"] * 10 + ["insider"] * 3 + ["insider_introduced"] * 2
        for i in range(n):
            maturity = date(2016, 1, 1) + timedelta(days=rnd.randrange(span))
            principal = rnd.randrange(10_000, 2_000_000)
            origin = rnd.choice(origins)
            lw.writerow([f"L{i:07d}", f"Borrower {i}", f"{principal}.00", f"0.0{rnd.randrange(400, 900)}",
                         (maturity - timedelta(days=365)).isoformat(), maturity.isoformat(), f"{principal * rnd.randrange(30, 101) // 100}.00",
                         origin, f"E-{rnd.randrange(200):03d}", f"E-{rnd.randrange(200):03d}" if origin == "insider_introduced" else "",
                         rnd.choice(["government", "institution", "private", "none"]), rnd.choice(["business", "consumer", "agriculture", "aquaculture"]),
                         rnd.choice(["AAA", "AA", "A", "BBB", "BB", "B", "C"]), f"{i} Main Street"])
            if rnd.random() < 0.4:
                gw.writerow([f"L{i:07d}", f"Guarantor {i}", "joint" if rnd.random() < 0.7 else "general"])
    return [loans, guarantors]


STEADY_STATE_SQL = [
    # loans past due on the run date, spread along the ladder as a running system leaves them
    """UPDATE loans SET
         state = CASE
           WHEN julianday(:d) - julianday(maturity_on) <= 3 THEN 'overdue'
           WHEN CAST(substr(loan_id, 2) AS INTEGER) % 20 < 2 THEN 'internal_review'
           WHEN CAST(substr(loan_id, 2) AS INTEGER) % 20 < 8 THEN 'visit'
           WHEN CAST(substr(loan_id, 2) AS INTEGER) % 20 < 12 THEN 'guarantor_pressure'
           WHEN CAST(substr(loan_id, 2) AS INTEGER) % 20 < 16 THEN 'litigation'
           WHEN CAST(substr(loan_id, 2) AS INTEGER) % 20 < 19 THEN 'installment'
           ELSE 'revitalization' END,
         sued_on = NULL
       WHERE maturity_on < :d""",
    # each case entered its state some days ago, spread within that state's time limit
    """UPDATE loans SET state_entered_on = date(:d, '-' || (CAST(substr(loan_id, 2) AS INTEGER) / 20 % CASE state
           WHEN 'overdue' THEN 3 WHEN 'internal_review' THEN 7 WHEN 'visit' THEN 30 WHEN 'guarantor_pressure' THEN 60
           WHEN 'revitalization' THEN 365 ELSE 29 END + 1) || ' days'), touched = 0
       WHERE state != 'performing'""",
    "UPDATE loans SET touched = 0",
    "UPDATE loans SET sued_on = state_entered_on WHERE state = 'litigation'",
    # a running system has already demanded what the law required: limitation interrupted on
    # entering the state, joint guarantors demanded soon after maturity
    "UPDATE loans SET limitation_start = state_entered_on WHERE state != 'performing'",
    """UPDATE guarantors SET demanded_on = (SELECT date(maturity_on, '+10 days') FROM loans WHERE loans.loan_id = guarantors.loan_id)
       WHERE guarantee_type = 'joint' AND loan_id IN (SELECT loan_id FROM loans WHERE maturity_on < date(:d, '-10 days'))""",
    # ... and demanded each of them again within the last three years (Art. 694: the guarantee debt's limitation)
    """UPDATE guarantors SET limitation_interrupted_on = max(demanded_on, date(:d, '-' || (id % 1000) || ' days'))
       WHERE demanded_on IS NOT NULL""",
    "UPDATE loans SET accrual_stopped = 1, accrued_to = state_entered_on WHERE state = 'installment'",
    """INSERT INTO plans (loan_id, signed_on, monthly_fen, first_due, total_fen, status)
       SELECT loan_id, state_entered_on, outstanding_principal_fen / 24 + 1, date(state_entered_on, '+1 month'),
              outstanding_principal_fen, 'active' FROM loans WHERE state = 'installment'""",
    """WITH RECURSIVE n(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM n WHERE k < 24)
       INSERT INTO plan_lines (plan_id, seq, due_on, amount_fen, paid_fen)
       SELECT p.id, n.k, date(p.first_due, '+' || (n.k - 1) || ' months'),
              CASE WHEN n.k < 24 THEN p.monthly_fen ELSE p.total_fen - 23 * p.monthly_fen END, 0
       FROM plans p CROSS JOIN n""",
    "INSERT INTO run_ledger (business_date, completed_at, transitions) VALUES (date(:d, '-1 day'), CURRENT_TIMESTAMP, 0)",
]


def rss_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return own / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--loans", type=int, default=100_000)
    ap.add_argument("--days", type=int, default=30, help="business dates in the --through run (default 30)")
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="npl-bench-"))
    os.environ["PREFECT_HOME"] = str(work / "prefect")
    from flows.prefect_env import quiet_prefect

    quiet_prefect()
    from sqlalchemy import func, select, text

    from flows.daily import daily_collection
    from machines.policy import load_policy
    from models.store import UnitOfWork
    from models.tables import History, Loan
    from services.daily import refresh_classification, reschedule
    from services.importing import import_paths

    url = f"sqlite:///{work / 'bench.db'}"
    print(f"npl-collect benchmark: {args.loans:,} loans, SQLite, work folder {work}")
    t = time.perf_counter()
    files = generate(work, args.loans)
    print(f"  generate CSV                 {time.perf_counter() - t:8.1f} s")

    t = time.perf_counter()
    rep = import_paths(url, files)
    t_import = time.perf_counter() - t
    print(f"  import                       {t_import:8.1f} s   ({rep.loans:,} loans, {rep.guarantors:,} guarantors, "
          f"{args.loans / t_import:,.0f} loans/s)")

    t = time.perf_counter()
    with UnitOfWork(url) as uow:
        for sql in STEADY_STATE_SQL:
            uow.session.execute(text(sql), {"d": RUN_DATE.isoformat()})
        uow.commit()
    reschedule(lambda: UnitOfWork(url), RUN_DATE - timedelta(days=1), load_policy())
    with UnitOfWork(url) as uow:  # classified as of the last completed date, as the running system left it
        refresh_classification(uow, RUN_DATE - timedelta(days=1))
    print(f"  steady-state setup (untimed) {time.perf_counter() - t:8.1f} s")

    from prefect import flow

    @flow(name="bench-warm-up")
    def warm_up() -> None:
        return None

    t = time.perf_counter()
    warm_up()
    print(f"  Prefect server start (excl.) {time.perf_counter() - t:8.1f} s")

    def transitions() -> int:
        with UnitOfWork(url) as uow:
            return uow.session.execute(select(func.count()).select_from(History)).scalar_one()

    h0 = transitions()
    t = time.perf_counter()
    daily_collection(as_of=RUN_DATE, db_url=url)
    t_one = time.perf_counter() - t
    h1 = transitions()
    print(f"  one business date            {t_one:8.1f} s   ({h1 - h0:,} transitions, {args.loans / t_one:,.0f} loans/s)")

    t = time.perf_counter()
    days = args.days
    daily_collection(as_of=RUN_DATE + timedelta(days=1), through=RUN_DATE + timedelta(days=days), db_url=url)
    t_30 = time.perf_counter() - t
    h2 = transitions()
    print(f"  {days} more dates (--through)    {t_30:8.1f} s   ({t_30 / days:.2f} s a date, {h2 - h1:,} transitions)")

    # a date on which nothing falls due: move every next event beyond it, then run it
    with UnitOfWork(url) as uow:
        uow.session.execute(text("UPDATE loans SET next_event_on = date(next_event_on, '+400 days') WHERE next_event_on IS NOT NULL"))
        uow.commit()
    t = time.perf_counter()
    daily_collection(as_of=RUN_DATE + timedelta(days=days + 1), db_url=url)
    t_quiet = time.perf_counter() - t
    print(f"  a date with nothing due      {t_quiet:8.1f} s")
    with UnitOfWork(url) as uow:
        open_loans = uow.session.execute(select(func.count()).select_from(Loan).where(Loan.state != "closed")).scalar_one()
    print(f"  open cases at the end        {open_loans:>10,}")
    print(f"  peak RSS                     {rss_mb():8.0f} MB")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
