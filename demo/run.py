"""`make demo`: import the seed's six cases and replay them day by day to 2010-12-31.

Everything runs on the embedded default (SQLite under ./var/demo) with a temporary Prefect
server; the daily flow advances the cases between the events the branch recorded, then every
case's history and the portfolio report are printed.
"""

from __future__ import annotations

import os
import shutil
import time
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).parent
VAR = Path("var/demo")
END = date(2010, 12, 31)


def total_due(url: str, loan_id: str) -> Decimal:
    from services import cases
    from models.store import UnitOfWork

    with UnitOfWork(url) as uow:
        return cases.show(uow, loan_id).balance.total


def events(url: str) -> list[tuple[date, str, Callable[[Any], Any]]]:
    """The branch's recorded actions, by business date (the seed's six strategies)."""
    from services import acts
    from services import cases as c

    d = date
    ev: list[tuple[date, str, Callable[[Any], Any]]] = [
        # Strategy 4 — Xu Moumou, sued directly; the court deducts from guarantor Wu's account
        (d(2006, 10, 10), "L-0003 sued by decision of the sub-branch", lambda u: c.escalate(u, "L-0003", to="litigation", reason="repeatedly refuses to cooperate; sub-branch decision to sue", by="E-03", approved_by="M-01")),
        # the acts are recorded explicitly: the daily run never records one (issue 14). The suit is
        # filed on the decision date against Xu and, as the court later deducts from Wu's account,
        # against the joint guarantor Wu as co-defendant (Guarantee Law 1995 Art. 26 ¶2)
        (d(2006, 10, 10), "L-0003 suit filed against Xu", lambda u: acts.file_suit(u, "L-0003", on=d(2006, 10, 10), court="District People's Court", by="E-03")),
        (d(2006, 10, 10), "L-0003 suit filed against guarantor Wu", lambda u: acts.record_act(u, "L-0003", kind="suit", party="Wu", on=d(2006, 10, 10), court="District People's Court", by="E-03")),
        (d(2007, 1, 15), "L-0003 judgment", lambda u: c.judgment(u, "L-0003", amount=Decimal("290000.00"), perform_by=d(2007, 2, 15), by="E-03")),
        (d(2007, 3, 1), "L-0003 enforcement applied for", lambda u: c.enforce(u, "L-0003", by="E-03")),
        (d(2007, 4, 10), "L-0003 court deducts the balance from Wu's account", lambda u: c.pay(u, "L-0003", total_due(url, "L-0003"), payer="court", by="E-03")),
        # Strategy 5 — Wang Moumou's installment agreement (signed after long arrears)
        (d(2008, 12, 28), "L-0004 installment agreement 1,500 a month", lambda u: c.plan(u, "L-0004", monthly=Decimal("1500"), first_due=d(2010, 1, 20), by="E-02")),
        # Strategy 3 — Yang; guarantor Zhang's account and Yang's factory sealed
        (d(2008, 9, 15), "L-0002 Zhang's account sealed", lambda u: c.freeze(u, "L-0002", guarantor="Zhang", authority="District enforcement authority", by="E-02")),
        (d(2008, 9, 15), "L-0002 Yang's factory sealed", lambda u: c.freeze(u, "L-0002", asset="A-YANG-FACTORY", authority="District enforcement authority", by="E-02")),
        # the written demand on Zhang, served in person on the date the run used to record it
        (d(2008, 11, 30), "L-0002 demand on guarantor Zhang served in person", lambda u: c.demand(u, "L-0002", guarantor="Zhang", on=d(2008, 11, 30), method="in_person", tracking="signed receipt", by="E-02")),
        (d(2008, 12, 15), "L-0002 Zhang buys the factory; loan repaid in full", lambda u: c.pay(u, "L-0002", total_due(url, "L-0002"), payer="guarantor:Zhang", by="E-02")),
        # Strategy 2 — Wang, government employee: the unit's leaders are told
        (d(2008, 8, 20), "L-0001 home visit, refused", lambda u: c.visit(u, "L-0001", outcome="refused", by="E-01")),
        (d(2008, 8, 25), "L-0001 visit at the District Land Bureau, promise", lambda u: c.visit(u, "L-0001", outcome="promise", promise_amount=Decimal("290000"), promise_date=d(2008, 8, 30), employer=True, by="E-01")),
        (d(2008, 8, 30), "L-0001 paid off", lambda u: c.pay(u, "L-0001", total_due(url, "L-0001"), by="E-01")),
        # Strategy 6 — Zhou's fish ponds: further credit, then gradual repayment
        (d(2008, 10, 20), "L-0006 revitalization credit 50,000", lambda u: c.revitalize(u, "L-0006", credit=Decimal("50000"), by="E-06", approved_by="M-01", reason="on-site check: ponds productive, cash squeeze only")),
        (d(2009, 6, 30), "L-0006 repays 30,000", lambda u: c.pay(u, "L-0006", Decimal("30000"), by="E-06")),
        (d(2009, 12, 31), "L-0006 repays 60,000", lambda u: c.pay(u, "L-0006", Decimal("60000"), by="E-06")),
        (d(2010, 6, 30), "L-0006 repays the rest", lambda u: c.pay(u, "L-0006", total_due(url, "L-0006"), by="E-06")),
        # Strategy 1 — Chen's loan introduced by employee E-05, finally collected
        (d(2009, 3, 10), "L-0005 repaid after the introducer's suspension", lambda u: c.pay(u, "L-0005", total_due(url, "L-0005"), by="E-05")),
    ]
    for month in range(12):  # twelve installments paid, as in the seed (balance 29,000)
        due = d(2010, 1 + month, 20)
        ev.append((due, f"L-0004 installment {month + 1}", lambda u: c.pay(u, "L-0004", Decimal("1500"), by="E-02")))
    return sorted(ev, key=lambda e: e[0])


def main() -> None:
    started = time.monotonic()
    if VAR.exists():
        shutil.rmtree(VAR)
    VAR.mkdir(parents=True)
    os.environ.setdefault("PREFECT_HOME", str((VAR / "prefect").resolve()))
    from flows.prefect_env import command_line_run, quiet_prefect

    quiet_prefect()
    with command_line_run():
        replay(started)


def replay(started: float) -> None:
    """Import the demo portfolio, run it day by day with the recorded events, print the outcome."""
    from flows.daily import daily_collection
    from flows.present import jsonable
    from flows.reports import portfolio_report
    from models.store import UnitOfWork
    from services import cases
    from services.importing import import_paths

    url = f"sqlite:///{(VAR / 'npl.db').resolve()}"
    rep = import_paths(url, [HERE / "data" / f for f in ("loans.csv", "guarantors.csv", "collateral.csv")])
    print(f"imported {rep.loans} loans, {rep.guarantors} guarantors, {rep.collateral} collateral")

    first = date(2006, 9, 14)
    last_run: date | None = None
    for when, label, action in events(url):
        if last_run is None or when > last_run:
            daily_collection(as_of=first if last_run is None else last_run, through=when, db_url=url, publish=False)
            last_run = when
        with UnitOfWork(url) as uow:
            action(uow)
        print(f"{when}  {label}")
    daily_collection(as_of=last_run or first, through=END, db_url=url)

    for loan_id in ("L-0001", "L-0002", "L-0003", "L-0004", "L-0005", "L-0006"):
        with UnitOfWork(url) as uow:
            case = jsonable(cases.show(uow, loan_id))
        print(f"\n{loan_id} {case['borrower']['name']}: {case['state']}"
              f"{' (' + case['closed_reason'] + ')' if case['closed_reason'] else ''}, {case['classification']}, "
              f"balance {case['balance']['total']}")
        for h in case["history"]:
            print(f"  {h['on']}  {h['from']:>18} → {h['to']:<18} {h['event']:<10} by {h['by']}: {h['reason']}")
    report = portfolio_report(as_of=END, db_url=url, xlsx=str(VAR / "report.xlsx"))
    print(f"\nPortfolio as of {report['as_of']}: {report['loans']} open loan(s), NPL ratio {report['npl_ratio']}, "
          f"recovered {report['recovered']['total']}")
    for strategy, amount in report["recovered"]["by_strategy"].items():
        print(f"  recovered via {strategy:<15} {amount:>14}")
    print(f"workbook and charts: {', '.join(report.get('files', []))}")
    print(f"demo finished in {time.monotonic() - started:.1f} s")


if __name__ == "__main__":
    main()
