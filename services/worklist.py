"""The day's work per officer, and the legal deadlines at risk — queried set-wise."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import and_, false, func, or_, select
from sqlalchemy.orm import Session

from machines.escalation import INSIDER_ORIGINS
from machines.policy import Policy
from models.domain.dates import add_days, add_years
from models.domain.deadlines import FORECLOSED_DISPOSAL_YEARS, LIMITATION_YEARS, enforcement_apply_by, foreclosed_dispose_by, limitation_end
from models.privacy import mask_phone
from models.tables import Action, Borrower, Collateral, Guarantor, Judgment, Loan, Quarantine
from services.views import guarantee_of

UNASSIGNED = "unassigned"
QUARANTINED = "quarantined"  # the daily run could not judge the case: listed before everything else
TASK_ORDER = (QUARANTINED, "approval_awaited", "deadline_at_risk", "send_demand", "visit", "press_guarantor", "prepare_filing", "apply_enforcement")


def started_by(as_of: date, lead: int, years: int) -> date:
    """The latest start of a ``years``-long period that can end within ``lead`` days of
    ``as_of`` (two days' slack: a 29 February start shifts the end); rows started by then are
    the candidates, each then checked exactly."""
    return add_days(add_years(add_days(as_of, lead), -years), 2)


def deadlines_at_risk(session: Session, as_of: date, policy: Policy) -> list[dict[str, Any]]:
    """Every open case's legal clock whose end is within its lead days and not yet protected."""
    out: list[dict[str, Any]] = []
    lead_g = policy.lead("guarantee")
    rows = session.execute(
        select(Guarantor, Loan.assigned_to, Loan.sued_on)
        .join(Loan, Loan.loan_id == Guarantor.loan_id)
        .where(
            Loan.state != "closed",
            Guarantor.period_end >= as_of,
            Guarantor.period_end <= add_days(as_of, lead_g),
            or_(
                and_(Guarantor.guarantee_type == "joint", Guarantor.demanded_on.is_(None)),
                and_(Guarantor.guarantee_type == "general", Loan.sued_on.is_(None)),
            ),
        )
    )
    for g, officer, _sued in rows:
        act = "demand the joint guarantor" if g.guarantee_type == "joint" else "sue the borrower (general guarantee)"
        out.append({"loan_id": g.loan_id, "clock": "guarantee", "date": g.period_end.isoformat(),
                    "detail": f"{g.name}: {act}", "officer": officer or UNASSIGNED})
    # the preserved joint guarantee debt's own limitation (Art. 694): three years from the latest
    # demand on (or payment by) the guarantor
    lead_l = policy.lead("limitation")
    last_demand = func.coalesce(Guarantor.limitation_interrupted_on, Guarantor.demanded_on)
    for g, loan in session.execute(
        select(Guarantor, Loan).join(Loan, Loan.loan_id == Guarantor.loan_id).where(
            Loan.state != "closed", Guarantor.guarantee_type == "joint", Guarantor.demanded_on.is_not(None),
            last_demand <= started_by(as_of, lead_l, LIMITATION_YEARS),
        )
    ):
        end = guarantee_of(g, loan).debt_limitation_end()
        if end is not None and as_of <= end <= add_days(as_of, lead_l):
            out.append({"loan_id": g.loan_id, "clock": "guarantee_limitation", "date": end.isoformat(),
                        "detail": f"{g.name}: demand the guarantor to interrupt the guarantee debt's limitation",
                        "officer": loan.assigned_to or UNASSIGNED})
    horizon = started_by(as_of, lead_l, LIMITATION_YEARS)
    lim_rows = session.execute(
        select(Loan.loan_id, Loan.maturity_on, Loan.limitation_start, Loan.assigned_to).where(
            Loan.state != "closed", Loan.sued_on.is_(None),
            or_(Loan.limitation_start <= horizon, and_(Loan.limitation_start.is_(None), Loan.maturity_on <= horizon)),
        )
    )
    for loan_id, maturity, start, officer in lim_rows:
        end = limitation_end(maturity, [start] if start else [])
        if as_of <= end <= add_days(as_of, lead_l):
            out.append({"loan_id": loan_id, "clock": "limitation", "date": end.isoformat(),
                        "detail": "demand or sue to interrupt the limitation period", "officer": officer or UNASSIGNED})
    lead_e = policy.lead("enforcement")
    for j, officer in session.execute(
        select(Judgment, Loan.assigned_to).join(Loan, Loan.loan_id == Judgment.loan_id).where(
            Loan.state != "closed", Judgment.enforcement_applied_on.is_(None)
        )
    ):
        end = enforcement_apply_by(j.perform_by)
        if as_of <= end <= add_days(as_of, lead_e):
            out.append({"loan_id": j.loan_id, "clock": "enforcement", "date": end.isoformat(),
                        "detail": "apply for enforcement of the judgment", "officer": officer or UNASSIGNED})
    # assets taken in settlement (Commercial Bank Law Art. 42): the bank's own property, whatever
    # became of the case; listed from the lead date until disposed of, even past the deadline
    lead_a = policy.lead("foreclosed_asset")
    for asset, officer in session.execute(
        select(Collateral, Loan.assigned_to).join(Loan, Loan.loan_id == Collateral.loan_id).where(
            Collateral.disposed_on.is_(None), Collateral.taken_on.is_not(None),
            Collateral.taken_on <= started_by(as_of, lead_a, FORECLOSED_DISPOSAL_YEARS),
        )
    ):
        end = foreclosed_dispose_by(asset.taken_on)
        if end <= add_days(as_of, lead_a):
            what = "dispose of the asset taken in settlement" if as_of <= end else "disposal deadline passed: dispose of the asset"
            out.append({"loan_id": asset.loan_id, "clock": "foreclosed_asset", "date": end.isoformat(),
                        "detail": f"{asset.asset_id}: {what} (Commercial Bank Law Art. 42)", "officer": officer or UNASSIGNED})
    out.sort(key=lambda r: (r["date"], r["loan_id"], r["clock"]))
    return out


def worklist(
    session: Session, as_of: date, policy: Policy, officer: str | None = None, tasks: tuple[str, ...] = TASK_ORDER,
    risks: list[dict[str, Any]] | None = None, most: int | None = None,
) -> list[dict[str, Any]]:
    """Per officer: approvals awaited, deadlines at risk, demands to send, visits (address,
    employer), guarantors to press, filings to prepare, enforcement applications (``tasks``
    narrows the kinds; ``risks``: ``deadlines_at_risk`` of the same date, if already read;
    ``most``: read at most this many cases from each source, urgent ones first — for a published
    excerpt of a large book; the command lists everything)."""
    items: list[dict[str, Any]] = []
    states = tuple(st for st, task in (("visit", "visit"), ("guarantor_pressure", "press_guarantor"), ("litigation", "prepare_filing")) if task in tasks)

    def add(officer_id: str | None, loan_id: str, task: str, detail: str, urgent: bool = False, due: str | None = None) -> None:
        items.append({"officer": officer_id or UNASSIGNED, "loan_id": loan_id, "task": task, "detail": detail,
                      "due": due, "urgent": urgent})

    if QUARANTINED in tasks:
        held = select(Quarantine.loan_id, Quarantine.business_date, Quarantine.error, Loan.assigned_to).join(
            Loan, Loan.loan_id == Quarantine.loan_id).where(Quarantine.released_on.is_(None)).order_by(Quarantine.loan_id, Quarantine.business_date)
        if officer:
            held = held.where(Loan.assigned_to == officer)
        for loan_id, since, error, assigned in session.execute(held):
            add(assigned, loan_id, QUARANTINED, f"the daily run could not judge this case on {since} ({error}); "
                "correct it, and the next run catches up the dates it missed", True, since.isoformat())
    # plain columns, not ORM objects: tens of thousands of rows on a large book
    open_loans = select(
        Loan.loan_id, Loan.state, Loan.assigned_to, Loan.awaiting_approval, Loan.awaiting_reason, Loan.urgent,
        Loan.employer_pressure, Loan.origin, Borrower.name, Borrower.address, Borrower.employer, Borrower.employer_type,
        Borrower.phone,
    ).join(Borrower, Borrower.borrower_id == Loan.borrower_id).where(Loan.state != "closed")
    if officer:
        open_loans = open_loans.where(Loan.assigned_to == officer)
    wanted = [Loan.state.in_(states)] if states else []
    if "approval_awaited" in tasks:
        wanted.append(Loan.awaiting_approval.is_not(None))
    work = open_loans.where(or_(*wanted)) if wanted else open_loans.where(false())
    if most is not None:
        work = work.order_by(Loan.urgent.desc(), Loan.loan_id).limit(most)
    guarantors: dict[str, list[str]] = {}
    for case in session.execute(work):
        if case.awaiting_approval and "approval_awaited" in tasks:
            add(case.assigned_to, case.loan_id, "approval_awaited", f"{case.awaiting_approval}: {case.awaiting_reason or ''}", case.urgent)
        if case.state not in states:
            continue
        if case.state == "visit":
            where = case.address or "address unknown"
            if case.employer_pressure and case.employer:
                detail = f"visit the borrower's unit {case.employer} ({case.employer_type}); home: {where}"
            else:
                detail = f"visit {case.name} at {where}" + (f"; employer {case.employer}" if case.employer else "")
            detail += f"; phone {mask_phone(case.phone)}" if case.phone else ""
            if case.origin in INSIDER_ORIGINS:
                detail += " (insider loan: your responsibility)"
            add(case.assigned_to, case.loan_id, "visit", detail)
        elif case.state == "guarantor_pressure":
            guarantors[case.loan_id] = []
            add(case.assigned_to, case.loan_id, "press_guarantor", "")
        elif case.state == "litigation":
            add(case.assigned_to, case.loan_id, "prepare_filing", "file / follow the suit; seek seizure or account deduction")
    if guarantors:
        for g in session.scalars(select(Guarantor).where(Guarantor.loan_id.in_(list(guarantors)))):
            guarantors[g.loan_id].append(f"{g.name} ({g.guarantee_type})")
        for item in items:
            if item["task"] == "press_guarantor":
                names = guarantors.get(item["loan_id"]) or ["no guarantor on record"]
                item["detail"] = "demand, freeze request or in-kind settlement: " + ", ".join(names)
    demands = select(Action, Loan.assigned_to).join(Loan, Loan.loan_id == Action.loan_id).where(
        Action.kind == "demand", Action.by == "system", Action.on == as_of
    )
    if officer:
        demands = demands.where(Loan.assigned_to == officer)
    if most is not None:
        demands = demands.order_by(Action.loan_id).limit(most)
    for action, assigned in (session.execute(demands) if "send_demand" in tasks else ()):
        add(assigned, action.loan_id, "send_demand", f"written demand on {action.target or 'the borrower'}: {action.detail or ''}")
    for risk in (deadlines_at_risk(session, as_of, policy) if risks is None else risks)[:most]:
        task = "apply_enforcement" if risk["clock"] == "enforcement" else "deadline_at_risk"
        if (officer and risk["officer"] != officer) or task not in tasks:
            continue
        add(risk["officer"], risk["loan_id"], task, f"{risk['clock']} ends {risk['date']}: {risk['detail']}", True, risk["date"])
    items.sort(key=lambda i: (i["task"] != QUARANTINED, i["officer"], TASK_ORDER.index(i["task"]), not i["urgent"], i["loan_id"]))
    return items


def worklist_summary(
    session: Session, as_of: date, policy: Policy, risks: list[dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """Per officer, how much of each kind of work there is (GROUP BYs over covering indexes,
    whatever the book's size; ``risks``: ``deadlines_at_risk`` of the same date, if already read)."""
    counts: dict[str, dict[str, int]] = {}

    def bump(officer_id: str | None, key: str, n: int) -> None:
        row = counts.setdefault(officer_id or UNASSIGNED, dict.fromkeys(SUMMARY_COLUMNS, 0))
        row[key] += int(n)

    by_state = {"visit": "visits", "guarantor_pressure": "guarantors_to_press", "litigation": "filings"}
    for officer_id, state, n in session.execute(
        select(Loan.assigned_to, Loan.state, func.count()).where(Loan.state.in_(tuple(by_state))).group_by(Loan.assigned_to, Loan.state)
    ):
        bump(officer_id, by_state[state], n)
    for officer_id, n in session.execute(
        select(Loan.assigned_to, func.count()).where(Loan.awaiting_approval.is_not(None), Loan.state != "closed").group_by(Loan.assigned_to)
    ):
        bump(officer_id, "approvals_awaited", n)
    for officer_id, n in session.execute(
        select(Loan.assigned_to, func.count()).join(Action, Action.loan_id == Loan.loan_id)
        .where(Action.kind == "demand", Action.by == "system", Action.on == as_of).group_by(Loan.assigned_to)
    ):
        bump(officer_id, "demands_to_send", n)
    for risk in deadlines_at_risk(session, as_of, policy) if risks is None else risks:
        bump(risk["officer"], "deadlines_at_risk", 1)
    return [{"officer": officer_id, **row} for officer_id, row in sorted(counts.items())]


SUMMARY_COLUMNS = ("approvals_awaited", "deadlines_at_risk", "demands_to_send", "visits", "guarantors_to_press", "filings")
URGENT_TASKS = (QUARANTINED, "approval_awaited", "deadline_at_risk", "send_demand", "apply_enforcement")
