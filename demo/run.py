"""`make demo`: import the seed's six cases and replay them day by day to 2010-12-31.

Everything runs on the embedded default (SQLite under ./var/demo) with a temporary Prefect
server; the daily flow advances the cases between the events the branch recorded, then every
case's history and the portfolio report are printed.

`make demo-feed` (``python -m demo.run --feed``): the same cases, but nothing is imported or paid
by hand: the seed is laid out as the core-banking system's dated nightly exports
(``var/demo/exports/YYYY-MM-DD/``, demo/feed.py), each delivered into the inbox
(``var/demo/inbox``) on its night, and the daily flow ingests it before it advances the book.
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Paid:
    """A repayment among the recorded events: booked by hand (``make demo``) or delivered in the
    night's repayments export (``make demo-feed``)."""

    loan_id: str
    amount: Callable[[], Decimal]
    by: str
    payer: str = "borrower"

    def __call__(self, uow: Any) -> Any:
        from services import cases

        return cases.pay(uow, self.loan_id, self.amount(), **({"payer": self.payer} if self.payer != "borrower" else {}), by=self.by)


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
        (d(2007, 4, 10), "L-0003 court deducts the balance from Wu's account", Paid("L-0003", lambda: total_due(url, "L-0003"), "E-03", payer="court")),
        # Strategy 5 — Wang Moumou's installment agreement (signed after long arrears)
        (d(2008, 12, 28), "L-0004 installment agreement 1,500 a month", lambda u: c.plan(u, "L-0004", monthly=Decimal("1500"), first_due=d(2010, 1, 20), by="E-02")),
        # Strategy 3 — Yang; guarantor Zhang's account and Yang's factory sealed
        (d(2008, 9, 15), "L-0002 Zhang's account sealed", lambda u: c.freeze(u, "L-0002", guarantor="Zhang", authority="District enforcement authority", by="E-02")),
        (d(2008, 9, 15), "L-0002 Yang's factory sealed", lambda u: c.freeze(u, "L-0002", asset="A-YANG-FACTORY", authority="District enforcement authority", by="E-02")),
        # the written demand on Zhang, served in person on the date the run used to record it
        (d(2008, 11, 30), "L-0002 demand on guarantor Zhang served in person", lambda u: c.demand(u, "L-0002", guarantor="Zhang", on=d(2008, 11, 30), method="in_person", tracking="signed receipt", by="E-02")),
        (d(2008, 12, 15), "L-0002 Zhang buys the factory; loan repaid in full", Paid("L-0002", lambda: total_due(url, "L-0002"), "E-02", payer="guarantor:Zhang")),
        # Strategy 2 — Wang, government employee: the unit's leaders are told
        (d(2008, 8, 20), "L-0001 home visit, refused", lambda u: c.visit(u, "L-0001", outcome="refused", by="E-01")),
        (d(2008, 8, 25), "L-0001 visit at the District Land Bureau, promise", lambda u: c.visit(u, "L-0001", outcome="promise", promise_amount=Decimal("290000"), promise_date=d(2008, 8, 30), employer=True, by="E-01")),
        (d(2008, 8, 30), "L-0001 paid off", Paid("L-0001", lambda: total_due(url, "L-0001"), "E-01")),
        # Strategy 6 — Zhou's fish ponds: further credit, then gradual repayment
        (d(2008, 10, 20), "L-0006 revitalization credit 50,000", lambda u: c.revitalize(u, "L-0006", credit=Decimal("50000"), by="E-06", approved_by="M-01", reason="on-site check: ponds productive, cash squeeze only")),
        (d(2009, 6, 30), "L-0006 repays 30,000", Paid("L-0006", lambda: Decimal("30000"), "E-06")),
        (d(2009, 12, 31), "L-0006 repays 60,000", Paid("L-0006", lambda: Decimal("60000"), "E-06")),
        (d(2010, 6, 30), "L-0006 repays the rest", Paid("L-0006", lambda: total_due(url, "L-0006"), "E-06")),
        # Strategy 1 — Chen's loan introduced by employee E-05, finally collected
        (d(2009, 3, 10), "L-0005 repaid after the introducer's suspension", Paid("L-0005", lambda: total_due(url, "L-0005"), "E-05")),
    ]
    for month in range(12):  # twelve installments paid, as in the seed (balance 29,000)
        due = d(2010, 1 + month, 20)
        ev.append((due, f"L-0004 installment {month + 1}", Paid("L-0004", lambda: Decimal("1500"), "E-02")))
    return sorted(ev, key=lambda e: e[0])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m demo.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--feed", action="store_true", help="feed the seed as dated nightly exports through the inbox")
    args = parser.parse_args(argv)
    started = time.monotonic()
    if VAR.exists():
        shutil.rmtree(VAR)
    VAR.mkdir(parents=True)
    os.environ.setdefault("PREFECT_HOME", str((VAR / "prefect").resolve()))
    os.environ["NPL_INBOX"] = str((VAR / "inbox").resolve())  # the demo's own inbox, never ./var/inbox
    from flows.prefect_env import command_line_run, quiet_prefect

    quiet_prefect()
    with command_line_run():
        replay(started, feed=args.feed)


FIRST = date(2006, 9, 14)  # the first business date of the replay (the night the seed's book is exported)


def replay(started: float, *, feed: bool = False) -> None:
    """Import the demo portfolio (or feed it through the inbox), run it day by day with the
    recorded events, print the outcome."""
    from flows.daily import daily_collection
    from flows.present import jsonable
    from flows.reports import portfolio_report
    from models.store import UnitOfWork
    from services import cases
    from services.importing import import_paths

    from demo import feed as nightly

    url = f"sqlite:///{(VAR / 'npl.db').resolve()}"
    os.environ["NPL_DATABASE_URL"] = url  # the flows read the database from the environment
    exports = nightly.Exports(VAR / "exports", VAR / "inbox")
    if feed:
        night = exports.book(FIRST, HERE / "data")
        print(f"{FIRST}  the core system exports the book: {', '.join(p.name for p in night)}")
    else:
        rep = import_paths(url, [HERE / "data" / f for f in ("loans.csv", "guarantors.csv", "collateral.csv")])
        print(f"imported {rep.loans} loans, {rep.guarantors} guarantors, {rep.collateral} collateral")

    first = FIRST
    last_run: date | None = None
    for when, label, action in events(url):
        if last_run is None or when > last_run:
            exports.deliver_all()  # the nights' exports not yet delivered land in the inbox
            run = daily_collection(as_of=first if last_run is None else last_run, through=when, publish=False)
            if feed:
                nightly.print_ingested(run["feed"])
            last_run = when
        if feed and isinstance(action, Paid):  # paid at the counter: in tonight's repayments export
            amount = action.amount()
            exports.repayment(when, action.loan_id, amount, action.payer)
            print(f"{when}  {label} (in the night's export: {amount:.2f})")
            continue
        with UnitOfWork(url) as uow:
            action(uow)
        print(f"{when}  {label}")
    exports.deliver_all()
    if feed:
        exports.resend(date(2008, 8, 30))  # the core system sends one night's repayments again: skipped
    final = daily_collection(as_of=last_run or first, through=END)
    if feed:
        nightly.print_ingested(final["feed"])

    for loan_id in ("L-0001", "L-0002", "L-0003", "L-0004", "L-0005", "L-0006"):
        with UnitOfWork(url) as uow:
            case = jsonable(cases.show(uow, loan_id))
        print(f"\n{loan_id} {case['borrower']['name']}: {case['state']}"
              f"{' (' + case['closed_reason'] + ')' if case['closed_reason'] else ''}, "
              f"{case['classification'] or 'was ' + str(case['classification_at_close']) + ' at close'}, "
              f"balance {case['balance']['total']}")
        for h in case["history"]:
            print(f"  {h['on']}  {h['from']:>18} → {h['to']:<18} {h['event']:<10} by {h['by']}: {h['reason']}")
    report = portfolio_report(as_of=END, xlsx=str(VAR / "report.xlsx"))
    print(f"\nPortfolio as of {report['as_of']}: {report['loans']} open loan(s), NPL ratio {report['npl_ratio']}, "
          f"recovered {report['recovered']['total']}")
    for strategy, amount in report["recovered"]["by_strategy"].items():
        print(f"  recovered via {strategy:<15} {amount:>14}")
    print(f"workbook and charts: {', '.join(report.get('files', []))}")
    print(f"demo finished in {time.monotonic() - started:.1f} s")


if __name__ == "__main__":
    main()
