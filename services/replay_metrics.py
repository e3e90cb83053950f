"""The strategy replay's measures of one side (champion or challenger), from its scratch
database after the replay (services.replay)."""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from datetime import date
from typing import Any

from sqlalchemy import select, text

from machines.rules.clocks import guarantee_clock
from models.domain.deadlines import limitation_end
from models.tables import Guarantor, History, Judgment, Loan
from services.acts import acts_of
from services import daily
from services.replay_book import Scratch
from services.replay_watch import LegalWatch
from services.views import GUARANTEE_TERMS, guarantee_facts

RUNGS = ("overdue", "internal_review", "visit", "guarantor_pressure", "litigation", "installment", "revitalization", "closed")
CATEGORIES = daily.CATEGORIES
CHUNK = 1000


def _percentile(values: list[int], q: float) -> int | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]  # nearest rank


def iso_week(d: date) -> str:
    year, week, _ = d.isocalendar()
    return f"{year}-W{week:02d}"


def metrics(scratch: Scratch, d1: date, d2: date, watch: LegalWatch, risks_by_week: dict[str, dict[str, int]],
            acts: dict[str, Any]) -> dict[str, Any]:
    """One side's measures over (d1, d2]; ``watch`` followed its legal clocks to ``d2``."""
    with scratch.uow() as uow:
        s = uow.session
        officer = dict(s.execute(select(Loan.loan_id, Loan.assigned_to)).all())
        hist = s.execute(select(History.loan_id, History.to_state, History.event, History.on).order_by(History.id)).all()
        fell_due = {}
        for loan_id, _to_state, ev, on in hist:
            if ev == "fall_due" and loan_id not in fell_due:
                fell_due[loan_id] = on
        entered: Counter[str] = Counter()
        days_to: dict[str, list[int]] = defaultdict(list)
        seen: set[tuple[str, str]] = set()
        tasks: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
        for loan_id, to_state, _ev, on in hist:
            if not d1 < on <= d2:
                continue
            entered[to_state] += 1
            if (loan_id, to_state) not in seen and loan_id in fell_due:
                seen.add((loan_id, to_state))
                days_to[to_state].append((on - fell_due[loan_id]).days)
            if to_state == "visit":
                tasks[(officer.get(loan_id) or "unassigned", iso_week(on))]["visits"] += 1
        for loan_id, _officer, on in watch.letters:  # the demand letters the policy has the branch send
            if d1 < on <= d2:
                tasks[(officer.get(loan_id) or "unassigned", iso_week(on))]["letters"] += 1
        awaiting = s.execute(text("SELECT loan_id, event, officer, day FROM replay_awaiting")).all()
        first_awaiting: dict[tuple[str, str], date] = {}
        approvals = 0
        for loan_id, ev, off, day_text in awaiting:
            day = date.fromisoformat(day_text) if day_text else d1
            first_awaiting.setdefault((loan_id, ev), day)
            if d1 < day <= d2:
                approvals += 1
                tasks[(off or "unassigned", iso_week(day))]["approvals"] += 1
        open_rows = s.execute(select(Loan.classification, Loan.state, Loan.outstanding_principal_fen)).all()
        mix = Counter(c if st != "closed" else "closed" for c, st, _ in open_rows)
        lapsed = _lapsed(s, d1, d2)
        risks_at_end = watch.listed(s, d2)
    weeks = sorted({w for _, w in tasks} | set(risks_by_week))
    per_week = []
    for w in weeks:
        row = {"week": w, "letters": 0, "visits": 0, "approvals": 0}
        for (_officer, week), c in tasks.items():
            if week == w:
                for k in ("letters", "visits", "approvals"):
                    row[k] += c[k]
        row["tasks"] = row["letters"] + row["visits"] + row["approvals"]
        row["deadlines_at_risk"] = risks_by_week.get(w, {}).get("at_risk", 0)
        per_week.append(row)
    officer_weeks = [sum(c.values()) for c in tasks.values()]
    return {
        "entered": {r: entered.get(r, 0) for r in RUNGS},
        "entered_total": sum(entered.values()),
        "days_from_due": {r: {"cases": len(days_to[r]), "median": statistics.median(days_to[r]) if days_to[r] else None,
                              "p90": _percentile(days_to[r], 0.9)} for r in RUNGS if r != "overdue"},
        "tasks": {"letters": sum(c["letters"] for c in tasks.values()), "visits": sum(c["visits"] for c in tasks.values()),
                  "approvals": approvals},
        "tasks_per_officer_week": {"officer_weeks": len(officer_weeks),
                                   "mean": round(sum(officer_weeks) / len(officer_weeks), 2) if officer_weeks else 0,
                                   "max": max(officer_weeks, default=0)},
        "tasks_by_officer_week": [{"officer": off, "week": w, **{k: c[k] for k in ("letters", "visits", "approvals")}}
                                  for (off, w), c in sorted(tasks.items())],
        "approvals_needed": approvals,
        "deadlines": {"at_risk_at_end": risks_at_end,
                      "at_risk_weekly_max": max((v["at_risk"] for v in risks_by_week.values()), default=0),
                      "lapsed": lapsed},
        "classification_at_end": {c: mix.get(c, 0) for c in (*CATEGORIES, "closed")},
        "weekly": per_week,
        "acts": acts,
        "_first_awaiting": first_awaiting,
    }


def _lapsed(s: Any, d1: date, d2: date) -> dict[str, int]:
    """Legal periods that ended in (d1, d2] on a case still open at d2 without the act that keeps them."""
    guarantees = limitation = 0
    # plain rows, not mapped objects (a hundred thousand loans take seconds to map)
    loans = {loan.loan_id: loan for loan in s.execute(select(Loan.loan_id, Loan.maturity_on, Loan.disbursed_on, Loan.sued_on,
                                                             Loan.limitation_start).where(Loan.state != "closed"))}
    by_loan: dict[str, list[Any]] = defaultdict(list)
    for g in s.execute(select(*GUARANTEE_TERMS).order_by(Guarantor.id)):
        if g.loan_id in loans:
            by_loan[g.loan_id].append(g)
    ids = sorted(by_loan)
    for i in range(0, len(ids), CHUNK):  # the acts and judgments read per chunk, not per guarantee
        part = ids[i:i + CHUNK]
        acts = acts_of(s, part)
        judged: dict[str, list[tuple[date, date]]] = defaultdict(list)
        for j in s.execute(select(Judgment.loan_id, Judgment.judged_on, Judgment.perform_by).where(Judgment.loan_id.in_(part))
                           .order_by(Judgment.id)):
            judged[j.loan_id].append((j.judged_on, j.perform_by))
        for loan_id in part:
            loan = loans[loan_id]
            for g in by_loan[loan_id]:  # as services.views.guarantee_of, from the rows read here
                status = guarantee_clock(guarantee_facts(g, loan.disbursed_on or loan.maturity_on), loan.maturity_on,
                                         acts.get(loan_id, []), judged[loan_id])
                if d1 < status.period_end <= d2 and not status.preserved:
                    guarantees += 1
    for loan in loans.values():
        if loan.sued_on is None:
            end = limitation_end(loan.maturity_on, [loan.limitation_start] if loan.limitation_start else [])
            if d1 < end <= d2:
                limitation += 1
    return {"guarantee_period": guarantees, "limitation": limitation}

