"""The day's work per officer, and the legal deadlines at risk — queried set-wise."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import date
from typing import Any

from sqlalchemy import false, func, or_, select, true
from sqlalchemy.orm import Session

from machines.escalation import INSIDER_ORIGINS, CaseView
from machines.loan_case import CaseState
from machines.policy import Policy
from machines.rules.clocks import Clock, borrower_filed, clocks
from models.domain.dates import add_days, add_years
from models.domain.deadlines import FORECLOSED_DISPOSAL_YEARS, GuaranteeType, foreclosed_dispose_by
from models.domain.law import Status
from models.privacy import mask_phone
from models.tables import Borrower, Collateral, Loan, Quarantine
from services.views import CaseLoader
from models.store import last_run_date
from models.daily_sql import CaseRow, among, write_clocks_watch

UNASSIGNED = "unassigned"
QUARANTINED = "quarantined"  # the daily run could not judge the case: listed before everything else
TASK_ORDER = (QUARANTINED, "approval_awaited", "deadline_at_risk", "deadline_lapsed", "send_demand", "file_suit", "visit",
              "press_guarantor", "prepare_filing", "apply_enforcement")


def started_by(as_of: date, lead: int, years: int) -> date:
    """The latest start of a ``years``-long period that can end within ``lead`` days of
    ``as_of`` (two days' slack: a 29 February start shifts the end); rows started by then are
    the candidates, each then checked exactly."""
    return add_days(add_years(add_days(as_of, lead), -years), 2)


SCAN_CHUNK = 1000
# the risk row's clock name (kept from before issue 14) for each legal clock, and its lead key
RISK_CLOCK = {"guarantee_period": ("guarantee", "guarantee"), "guarantee_limitation": ("guarantee_limitation", "limitation"),
              "limitation": ("limitation", "limitation"), "enforcement_application": ("enforcement", "enforcement")}


# An item's ``detail`` is English text (the command's JSON and CSV); ``detail_parts`` says the same
# as labels of flows/i18n.py with their values, [[key, {name: value}], ...] to be joined, so that the
# artifacts show it in the chosen language (services never import flows: the caller translates).
Parts = list[list[Any]]


def _part(key: str, **values: object) -> list[Any]:
    return [key, {k: str(v) for k, v in values.items()}]


def _task_for(clock: Clock, view: CaseView) -> tuple[str, str, Parts]:
    """The act a person must record to protect ``clock`` (the same the rules list as a task)."""
    if clock.clock == "enforcement_application":
        return ("apply_enforcement", f"apply for enforcement of judgment {clock.target} and record it (npl enforce)",
                [_part("detail.apply_enforcement", judgment=clock.target)])
    if clock.clock == "guarantee_limitation":
        return ("send_demand", f"{clock.party}: demand the guarantor to interrupt the guarantee debt's limitation",
                [_part("detail.demand_guarantor_limitation", party=clock.party)])
    if clock.clock == "guarantee_period":
        g = next(g for g in view.guarantees if g.name == clock.target)
        if g.kind is GuaranteeType.joint:
            return ("send_demand", f"{g.name}: demand the joint guarantor and record it with its evidence",
                    [_part("detail.demand_joint_guarantor", guarantor=g.name)])
        if view.state == CaseState.litigation.value:
            return ("file_suit", f"{g.name}: file the suit against the borrower (general guarantee) and record it",
                    [_part("detail.file_suit_general_guarantee", guarantor=g.name)])
        return ("deadline_at_risk", f"{g.name}: sue the borrower (general guarantee): an approved decision, then the filing",
                [_part("detail.sue_general_guarantee", guarantor=g.name)])
    if view.state == CaseState.litigation.value:
        return "file_suit", "file the suit to interrupt the limitation period and record it", [_part("detail.file_suit_limitation")]
    if view.last_visit_outcome == "not_found":
        return "deadline_at_risk", "the borrower cannot be found: sue to interrupt the limitation period", [_part("detail.borrower_not_found")]
    return ("send_demand", "demand the borrower to interrupt the limitation period and record it with its evidence",
            [_part("detail.demand_borrower")])


FAR = date(9000, 1, 1)  # a day by which every clock has run: each listable clock shows its end


def _listable(clock: Clock, filed: bool) -> bool:
    """A clock the deadlines at risk may list: a legal clock with an end (the borrower's
    limitation not while a filing against the borrower stands)."""
    return clock.clock in RISK_CLOCK and clock.status.end is not None and not (clock.clock == "limitation" and filed)


def clocks_watch(view: CaseView, day: date) -> tuple[date | None, date | None]:
    """(ahead, behind) for ``loans.clocks_ahead_on`` / ``clocks_behind_on``: the earliest end on
    or after ``day`` and the latest end before it of the case's listable clocks as the recorded
    acts in ``view`` leave them (``FAR`` ahead, None behind, where there is none: an unknown
    ahead is None, and the case is read). Ends are read where every clock has
    run (``FAR``): a clock that starts later (a guarantee debt's limitation) shows its end too,
    and a preserved guarantee period, which nothing but a new act can reopen, none."""
    filed = borrower_filed(view) is not None
    ahead: date | None = None
    behind: date | None = None
    for clock in clocks(view, FAR):
        end = clock.status.end
        if end is None or not _listable(clock, filed) or clock.status.status in (Status.preserved, Status.not_applicable):
            continue
        if end >= day:
            ahead = end if ahead is None else min(ahead, end)
        else:
            behind = end if behind is None else max(behind, end)
    return (FAR if ahead is None else ahead), behind


def _widest_lead(policy: Policy) -> int:
    return max(policy.lead(lead_key) for _name, lead_key in RISK_CLOCK.values())


def deadline_candidates(session: Session, as_of: date, policy: Policy, officer: str | None = None) -> list[str]:
    """The open cases whose listable clocks can end within the widest lead days of ``as_of``
    (either side): ``clocks_ahead_on`` unknown or by ``as_of`` + lead, ``clocks_behind_on`` from
    ``as_of`` − lead, or touched since the last run (facts recorded since the bounds were read).
    One indexed query per condition; every other case has no clock that ``legal_deadlines``
    could list on ``as_of``."""
    lead = _widest_lead(policy)
    # ``touched = true``, not ``IS TRUE``: only the former matches the partial index on touched
    conditions = (Loan.touched == true(), Loan.clocks_ahead_on.is_(None), Loan.clocks_ahead_on <= add_days(as_of, lead),
                  Loan.clocks_behind_on >= add_days(as_of, -lead))
    found: set[str] = set()
    for condition in conditions:
        query = select(Loan.loan_id).where(condition, Loan.state != CaseState.closed.value)
        if officer:
            query = query.where(Loan.assigned_to == officer)
        found.update(session.scalars(query))
    return sorted(found)


def legal_deadlines(session: Session, as_of: date, policy: Policy, officer: str | None = None, *,
                    refresh: bool = False, every_case: bool = False) -> list[dict[str, Any]]:
    """Every open case's legal clock (``machines.rules.clocks``, from the recorded acts only) that
    ends within its lead days and is not protected (``status`` at_risk, with the ``task`` that
    protects it), or that lapsed within the last lead days (``status`` lapsed).

    Only the cases ``deadline_candidates`` returns are read (all open cases for a date before the
    last run's, or with ``every_case``: the reference the tests compare with), in chunks, with
    what the clocks need. ``refresh``: the
    bounds of each case read are stored again as of ``as_of`` (the daily run's publishing does
    this, so that a clock's end once passed stops making its case a candidate); the caller commits."""
    out: list[dict[str, Any]] = []
    last = last_run_date(session)
    # the bounds hold from the last run's date on: a case untouched since has no act dated after
    # it (an act may be dated the day after the last run, and touches its case); before that
    # date an act recorded since could hide a clock that was running then
    if every_case or (last is not None and as_of < last):
        query = select(Loan.loan_id).where(Loan.state != CaseState.closed.value).order_by(Loan.loan_id)
        ids = list(session.scalars(query.where(Loan.assigned_to == officer) if officer else query))
    else:
        ids = deadline_candidates(session, as_of, policy, officer)
    for i in range(0, len(ids), SCAN_CHUNK):
        loans = [CaseRow(r._mapping) for r in session.execute(
            select(Loan.__table__).where(among(session, Loan.loan_id, ids[i:i + SCAN_CHUNK])).order_by(Loan.loan_id))]
        loader = CaseLoader(session, loans, plain=True, clocks_only=True)
        bounds: list[dict[str, Any]] = []
        for loan in loans:
            view = loader.clock_view(loan, as_of)
            out.extend(_listed(loan, view, as_of, policy))
            if refresh:  # from every recorded act (one may be dated the day after the last run)
                ahead, behind = clocks_watch(loader.clock_view(loan, None), as_of)
                if (ahead, behind) != (loan.clocks_ahead_on, loan.clocks_behind_on):
                    bounds.append({"b_loan_id": loan.loan_id, "b_version": loan.version, "ahead": ahead, "behind": behind})
        write_clocks_watch(session, bounds, versioned=True)
    return out


def _listed(loan: CaseRow, view: CaseView, as_of: date, policy: Policy) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    filed = borrower_filed(view) is not None
    for clock in clocks(view, as_of):
        st = clock.status
        if not _listable(clock, filed):
            continue
        assert st.end is not None
        name, lead_key = RISK_CLOCK[clock.clock]
        lead = policy.lead(lead_key)
        if st.status in (Status.live, Status.interrupted) and st.end <= add_days(as_of, lead):
            task, detail, parts = _task_for(clock, view)
            out.append({"loan_id": loan.loan_id, "clock": name, "date": st.end.isoformat(), "detail": detail,
                        "officer": loan.assigned_to or UNASSIGNED, "status": "at_risk", "task": task,
                        "party": clock.party, "rule": st.rule, "detail_parts": parts})
        elif st.status is Status.lapsed and add_days(st.end, 1) <= as_of <= add_days(st.end, lead):
            out.append({"loan_id": loan.loan_id, "clock": name, "date": st.end.isoformat(),
                        "detail": f"{clock.party}: LAPSED on {st.end} ({st.rule})", "officer": loan.assigned_to or UNASSIGNED,
                        "status": "lapsed", "task": None, "party": clock.party, "rule": st.rule,
                        "detail_parts": [_part("detail.lapsed", party=clock.party, date=st.end, rule=st.rule)]})
    return out


def deadlines_at_risk(session: Session, as_of: date, policy: Policy, refresh: bool = False) -> list[dict[str, Any]]:
    """Every open case's legal clock whose end is within its lead days and not yet protected by a
    recorded act, and the clocks lapsed within the last lead days (``status``: at_risk | lapsed),
    each with the responsible officer; and the assets taken in settlement to dispose of.
    ``refresh``: as ``legal_deadlines``'s (the caller commits)."""
    out = legal_deadlines(session, as_of, policy, refresh=refresh)
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
                        "detail": f"{asset.asset_id}: {what} (Commercial Bank Law Art. 42)", "officer": officer or UNASSIGNED,
                        "status": "at_risk" if as_of <= end else "lapsed", "task": None, "party": asset.asset_id,
                        "rule": "Commercial Bank Law Art. 42",
                        "detail_parts": [_part("detail.dispose_asset" if as_of <= end else "detail.disposal_passed", asset=asset.asset_id)]})
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
    excerpt of a large book; the command lists everything). Quarantined cases first, then by
    officer, task, urgency and loan."""
    items = [item for _officer, mine in worklist_by_officer(session, as_of, policy, officer, tasks, risks, most) for item in mine]
    items.sort(key=_worklist_order)
    return items


def _worklist_order(item: dict[str, Any]) -> tuple[Any, ...]:
    return item["task"] != QUARANTINED, item["officer"], TASK_ORDER.index(item["task"]), not item["urgent"], item["loan_id"]


BATCH_CASES = 5000  # cases whose items are built at once: an officer's table can be published while the next are built


def worklist_by_officer(
    session: Session, as_of: date, policy: Policy, officer: str | None = None, tasks: tuple[str, ...] = TASK_ORDER,
    risks: list[dict[str, Any]] | None = None, most: int | None = None, batch: int = BATCH_CASES,
) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """``worklist``'s items officer by officer, in the officers' order, each officer's in
    ``worklist``'s order: the cases are read at once, their items built for about ``batch`` cases
    of officers at a time (the daily run publishes each officer's table while the next ones are
    built: at a million loans the Prefect server stores 200 tables for seconds)."""
    states = tuple(st for st, task in (("visit", "visit"), ("guarantor_pressure", "press_guarantor"), ("litigation", "prepare_filing")) if task in tasks)
    held: dict[str, list[Any]] = defaultdict(list)
    if QUARANTINED in tasks:
        quarantined = select(Quarantine.loan_id, Quarantine.business_date, Quarantine.error, Loan.assigned_to).join(
            Loan, Loan.loan_id == Quarantine.loan_id).where(Quarantine.released_on.is_(None)).order_by(Quarantine.loan_id, Quarantine.business_date)
        if officer:
            quarantined = quarantined.where(Loan.assigned_to == officer)
        for row in session.execute(quarantined):
            held[row.assigned_to or UNASSIGNED].append(row)
    # plain columns, not ORM objects: tens of thousands of rows on a large book
    open_loans = select(
        Loan.loan_id, Loan.state, Loan.assigned_to, Loan.awaiting_approval, Loan.awaiting_reason, Loan.urgent,
        Loan.employer_pressure, Loan.origin, Loan.maturity_on, Loan.disbursed_on, Borrower.name, Borrower.address,
        Borrower.employer, Borrower.employer_type, Borrower.phone,
    ).join(Borrower, Borrower.borrower_id == Loan.borrower_id).where(Loan.state != "closed")
    if officer:
        open_loans = open_loans.where(Loan.assigned_to == officer)
    wanted = [Loan.state.in_(states)] if states else []
    if "approval_awaited" in tasks:
        wanted.append(Loan.awaiting_approval.is_not(None))
    work = open_loans.where(or_(*wanted)) if wanted else open_loans.where(false())
    if most is not None:
        work = work.order_by(Loan.urgent.desc(), Loan.loan_id).limit(most)
    cases: dict[str, list[Any]] = defaultdict(list)
    for case in session.execute(work):
        cases[case.assigned_to or UNASSIGNED].append(case)
    # tasks are derived from the clocks every day until their act is recorded (never stored)
    at_risk: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for risk in (deadlines_at_risk(session, as_of, policy) if risks is None else risks)[:most]:
        if not officer or risk["officer"] == officer:
            at_risk[risk["officer"]].append(risk)
    officers = sorted(held.keys() | cases.keys() | at_risk.keys())
    start, size = 0, 0
    for i, officer_id in enumerate(officers):
        size += len(cases.get(officer_id, ()))
        if size >= batch or i == len(officers) - 1:
            built = _officers_items(session, as_of, officers[start:i + 1], held, cases, at_risk, tasks, states)
            for one in officers[start:i + 1]:
                yield one, sorted(built[one], key=_worklist_order)
            start, size = i + 1, 0


def _officers_items(
    session: Session, as_of: date, officers: list[str], held: dict[str, list[Any]], cases: dict[str, list[Any]],
    at_risk: dict[str, list[dict[str, Any]]], tasks: tuple[str, ...], states: tuple[str, ...],
) -> dict[str, list[dict[str, Any]]]:
    """The items of these officers (unsorted), from their quarantined cases, their cases' rows and their deadlines."""
    out: dict[str, list[dict[str, Any]]] = {officer_id: [] for officer_id in officers}

    def add(officer_id: str, loan_id: str, task: str, detail: str, urgent: bool = False, due: str | None = None,
            parts: Parts | None = None) -> dict[str, Any]:
        item = {"officer": officer_id, "loan_id": loan_id, "task": task, "detail": detail, "due": due, "urgent": urgent,
                "detail_parts": parts or []}
        out[officer_id].append(item)
        return item

    pressed: list[Any] = []  # the rows of the cases whose guarantors are pressed: what their guarantees' clocks read
    pressing: list[dict[str, Any]] = []
    for officer_id in officers:
        for loan_id, since, error, _assigned in held.get(officer_id, ()):
            add(officer_id, loan_id, QUARANTINED, f"the daily run could not judge this case on {since} ({error}); "
                "correct it, and the next run catches up the dates it missed", True, since.isoformat(),
                [_part("detail.quarantined", date=since, error=error)])
        for case in cases.get(officer_id, ()):
            if case.awaiting_approval and "approval_awaited" in tasks:
                add(officer_id, case.loan_id, "approval_awaited", f"{case.awaiting_approval}: {case.awaiting_reason or ''}", case.urgent,
                    parts=[_part("detail.approval", move=case.awaiting_approval, reason=case.awaiting_reason or "")])
            if case.state not in states:
                continue
            if case.state == "visit":
                detail, parts = _visit_detail(case)
                add(officer_id, case.loan_id, "visit", detail, parts=parts)
            elif case.state == "guarantor_pressure":
                pressed.append(case)
                pressing.append(add(officer_id, case.loan_id, "press_guarantor", ""))
            elif case.state == "litigation":
                add(officer_id, case.loan_id, "prepare_filing", "file / follow the suit; seek seizure or account deduction",
                    parts=[_part("detail.prepare_filing")])
        for risk in at_risk.get(officer_id, ()):
            if risk.get("status") == "lapsed":
                task = "deadline_lapsed"
            else:
                task = risk.get("task") or ("apply_enforcement" if risk["clock"] == "enforcement" else "deadline_at_risk")
            if task in tasks:
                add(officer_id, risk["loan_id"], task, f"{risk['clock']} ends {risk['date']}: {risk['detail']}", True, risk["date"],
                    [_part("detail.clock_ends", clock=risk["clock"], date=risk["date"]), *risk.get("detail_parts", [])])
    if pressed:  # only guarantors still liable: a lapsed guarantee frees its guarantor (Civil Code Art. 693)
        loader = CaseLoader(session, pressed, plain=True, clocks_only=True)
        liable = {case.loan_id: [f"{g.name} ({g.kind.value})" for g in loader.guarantees(case, as_of) if g.status.liable_on(as_of)]
                  for case in pressed}
        for item in pressing:
            names = liable.get(item["loan_id"]) or ["no guarantor on record"]
            item["detail"] = "demand, freeze request or in-kind settlement: " + ", ".join(names)
            item["detail_parts"] = ([_part("detail.press_guarantor", guarantors=", ".join(names))] if liable.get(item["loan_id"])
                                    else [_part("detail.no_guarantor")])
    return out


def _visit_detail(case: Any) -> tuple[str, Parts]:
    """A visit's detail (address, employer, masked phone, insider) and its parts."""
    where = case.address or "address unknown"
    if case.employer_pressure and case.employer:
        detail = f"visit the borrower's unit {case.employer} ({case.employer_type}); home: {where}"
        parts = [_part("detail.visit_unit", employer=case.employer, employer_type=case.employer_type, address=case.address) if case.address
                 else _part("detail.visit_unit_no_address", employer=case.employer, employer_type=case.employer_type)]
    else:
        detail = f"visit {case.name} at {where}" + (f"; employer {case.employer}" if case.employer else "")
        parts = [_part("detail.visit", name=case.name, address=case.address) if case.address
                 else _part("detail.visit_no_address", name=case.name)]
        parts += [_part("detail.visit_employer", employer=case.employer)] if case.employer else []
    detail += f"; phone {mask_phone(case.phone)}" if case.phone else ""
    parts += [_part("detail.phone", phone=mask_phone(case.phone))] if case.phone else []
    if case.origin in INSIDER_ORIGINS:
        detail += " (insider loan: your responsibility)"
        parts.append(_part("detail.insider"))
    return detail, parts


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
    for risk in deadlines_at_risk(session, as_of, policy) if risks is None else risks:
        if risk.get("status") == "lapsed":
            continue
        bump(risk["officer"], "deadlines_at_risk", 1)
        if risk.get("task") == "send_demand":
            bump(risk["officer"], "demands_to_send", 1)
    return [{"officer": officer_id, **row} for officer_id, row in sorted(counts.items())]


ITEM_KEYS = ("officer", "loan_id", "task", "detail", "due", "urgent")  # the command's JSON and CSV (docs/contract.md)
SUMMARY_COLUMNS = ("approvals_awaited", "deadlines_at_risk", "demands_to_send", "visits", "guarantors_to_press", "filings")
URGENT_TASKS = (QUARANTINED, "approval_awaited", "deadline_at_risk", "deadline_lapsed", "send_demand", "file_suit", "apply_enforcement")
