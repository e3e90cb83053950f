"""The daily collection run: advance every case on its business date, exactly once.

Cost follows what happens, not the size of the book:
- each case stores ``next_event_on``, the next date on which any rule can apply (indexed);
  a business date selects only cases whose date has come, plus cases touched by events;
- quiet dates are skipped in one step (a ledger row each), so a catch-up walks from event date
  to event date;
- days past due and classification are refreshed set-wise in one UPDATE for the last date of a
  run (and snapshotted set-wise at each month end);
- a machine is built only for a case that is due, and work is committed per chunk.
A killed run, run again, ends where an uninterrupted one would: a processed case has moved its
``next_event_on`` past the date, and the ledger row is written only when the date is complete.
"""

from __future__ import annotations

import calendar
import os
import socket
import time
import uuid
from collections import defaultdict
from dataclasses import replace
from datetime import date
from typing import Any, Callable, Mapping

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.orm import Session

from machines.escalation import CaseView, DayPlan, plan_day, setwise_plan
from machines.audit import AuditListener
from machines.loan_case import CaseBinder, CaseRefused, CaseState, LoanCase, allows, target_of
from machines.policy import Policy
from models import daily_sql
from models.daily_sql import (  # re-exported: the service's public names
    CATEGORIES, FLOOR_BOUNDS, MUTABLE, STAFF_RANK, CaseRow, any_touched, classification_expression, classify, complete,
    crossing_candidates, dpd_expression, mutable_values, next_due_date, oldest_due_expression, refresh_classification,
    snapshot_month_end,
)
from models.domain.dates import add_days
from models.store import UnitOfWork, last_run_date
from models.domain.errors import ConcurrentUpdate
from models.tables import Loan, Officer
from services.cases import release_officer_if_done
from services.daily_results import (  # re-exported: the run's results, its dates, the quarantine catch-up
    KEEP, KINDS, DayResult, RunResult, Tally, catch_up_quarantined, dates_to_run,
)
from services.restructuring import record_missed_installments
from services.views import CaseLoader, light_view
from services.worklist import clocks_watch

__all__ = [
    "CATEGORIES", "CHUNK", "FLOOR_BOUNDS", "KEEP", "KINDS", "MUTABLE", "STAFF_RANK", "CaseRow", "DayResult", "RunResult", "Tally",
    "any_touched", "catch_up_quarantined", "classification_expression", "classify", "complete", "crossing_candidates", "dates_to_run",
    "dpd_expression", "finish_parts", "is_month_end", "next_due_date", "oldest_due_expression", "process_chunk",
    "plan_parts", "process_ids", "refresh_classification", "reschedule", "run_dates", "snapshot_month_end", "work_parts",
]

# Cases judged, written and committed together. Each chunk has fixed costs (the loader's queries, the
# classification, the set-wise rungs, the write-back, the commit: the indexes' pages a chunk dirties
# are written once however many of its rows share them): at a million loans on SQLite the first date
# after an import judged 100,065 cases in-process in 68 s in chunks of 1,000 and in 52-60 s in chunks of
# 5,000 (53-54 s at 10,000). A case whose rule raises makes its chunk be judged again without it.
CHUNK = 5000


def setwise_enabled() -> bool:
    """Unguarded ladder moves go to the database set-wise unless ``NPL_SETWISE=0`` (which selects
    the per-case machine for every move: the reference the set-wise path is tested against)."""
    return os.environ.get("NPL_SETWISE", "1").strip() not in ("0", "false", "no", "off")


# --- which dates ------------------------------------------------------------------------------


CHUNKS_A_CALL = 2  # chunks one ``process`` call of run_dates is given (10,000 cases): the flow makes one Prefect task run of it


# --- one business date --------------------------------------------------------------------------


CONFLICT_RETRIES = 3
DEADLOCK = "40P01"  # PostgreSQL's SQLSTATE for a transaction chosen as a deadlock's victim
ERROR_TEXT = 500  # characters of a quarantined case's error kept


class CasesFailed(Exception):
    """Judging some cases of a chunk raised: ``errors`` maps each loan id to its error."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(f"{len(errors)} case(s) could not be judged")
        self.errors = errors


def process_chunk(uow: UnitOfWork, ids: list[str], day: date, policy: Policy, result: DayResult, recheck: bool = False) -> None:
    """Judge and advance one chunk of due cases and commit once; on a concurrent change to any
    of its loans (optimistic version check) the chunk is judged again from fresh rows.

    Bulkheads: a case whose evaluation raises must not stop the others. Nothing of a chunk is
    written before every case in it is judged, so the pass is rolled back and the chunk judged
    again without the failed cases, which are quarantined in the same commit (their rows, next
    event date included, stay as they were: a later run picks them up from that date).

    ``recheck``: judge only the cases still due on ``day`` once their rows are locked (parallel
    workers: a case is never judged twice for one date). Two workers' chunks may lock the same
    officers in opposite orders (suspension, release): PostgreSQL then aborts one as a deadlock
    victim, and that chunk is judged again."""
    failed: dict[str, str] = {}
    conflicts = 0
    while True:
        partial = DayResult(day, Tally(keep=None))
        try:
            _process_chunk_once(uow, ids, day, policy, partial, failed, recheck)
        except (ConcurrentUpdate, DBAPIError) as exc:
            if isinstance(exc, DBAPIError) and not _deadlock(exc):
                raise
            uow.rollback()
            conflicts += 1
            if conflicts == CONFLICT_RETRIES:
                raise
            continue
        except CasesFailed as exc:  # at most one pass more per failing case: each pass leaves more out
            uow.rollback()
            failed.update(exc.errors)
            continue
        result.tally.merge(partial.tally.digest())
        result.cases += partial.cases
        return


def process_ids(make_uow: Callable[[], UnitOfWork], ids: list[str], day: date, policy: Policy, result: DayResult) -> None:
    """Judge ``ids`` a chunk (``CHUNK``) at a time, each chunk in a unit of work of its own and
    committed on its own (``process_chunk``)."""
    for at in range(0, len(ids), CHUNK):
        with make_uow() as uow:
            process_chunk(uow, ids[at:at + CHUNK], day, policy, result)


def _deadlock(exc: DBAPIError) -> bool:
    return getattr(exc.orig, "sqlstate", None) == DEADLOCK


def _error_text(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"[:ERROR_TEXT]


def _process_chunk_once(
    uow: UnitOfWork, ids: list[str], day: date, policy: Policy, result: DayResult, failed: Mapping[str, str] | None = None,
    recheck: bool = False,
) -> None:
    """One pass over the chunk, leaving out the ``failed`` cases (quarantined in this commit);
    raises ``CasesFailed`` before writing anything if judging another case raises."""
    failed = failed or {}
    s = uow.session
    loans = daily_sql.read_cases(uow, ids, due_on=day if recheck else None, classify_on=day)
    before = {loan.loan_id: loan._read for loan in loans}  # the MUTABLE values as read
    # First each case from its own row (``light_view``): a case whose rules end the day without
    # reading its other tables (a performing loan not yet past due, e.g. every loan an import of
    # guarantors touched) is judged with no query and no clock; the others are loaded together.
    # Only a performing loan whose next event has not come is tried so: one whose event has come
    # is falling due (its day has events, and the light judgement was thrown away: a fifth of a
    # case's CPU on the first date after an import, where every due case is one), and a case on
    # the ladder has rules that read its other tables (every light try raised NotLoaded on a
    # steady date). The plan is the same either way; only the work differs.
    light: dict[str, tuple[CaseView, DayPlan]] = {}
    for loan in loans:
        if loan.loan_id in failed or loan.state != CaseState.performing.value:
            continue
        if loan.next_event_on is not None and loan.next_event_on <= day:
            continue
        try:
            quick = light_view(loan, day, policy)
            quick_plan = plan_day(quick, day, policy)
        except Exception:  # NotLoaded, or anything else: judged (and reported) on the full view below
            continue
        if not quick_plan.events:
            light[loan.loan_id] = (quick, quick_plan)
    loader = CaseLoader(s, [loan for loan in loans if loan.loan_id not in light], plain=True)
    history: list[dict[str, Any]] = []
    actions: list[dict[str, Any]] = []
    binder: list[CaseBinder] = []  # built on first use: most due cases do not move
    errors: dict[str, str] = {}

    def record(t: Any) -> None:
        history.append({"loan_id": t.loan_id, "from_state": t.from_state, "to_state": t.to_state, "event": t.event,
                        "on": t.on, "by": t.by, "reason": t.reason, "approved_by": t.approved_by})

    def machine_for(loan: CaseRow) -> LoanCase:
        if not binder:
            binder.append(CaseBinder(lambda loan_id: [AuditListener(loan_id, record)]))
        return binder[0].bind(loan)

    setwise = setwise_enabled()
    watch: dict[str, tuple[date, date | None]] = {}  # where the judged cases' legal clocks end (services.worklist), where it moved
    broken: list[tuple[CaseRow, date]] = []  # (case, the installment's due date) of the plans broken
    plans_changed: set[str] = set()  # cases whose plan broke today: their classification is left to classify()
    # (position in the case's day, event, source, target, reason) → the cases taking that rung
    rungs: dict[tuple[int, str, str, str, str], list[str]] = defaultdict(list)
    for loan in loans:
        if loan.loan_id in failed:
            continue
        if loan.state == CaseState.closed.value:
            loan.next_event_on, loan.touched = None, False
            continue
        try:
            if loan.loan_id in light:
                view, plan = light[loan.loan_id]
            else:
                view = loader.view(loan, day, policy)
                plan = plan_day(view, day, policy)
            moves = _setwise_moves(loan.state, plan) if setwise else None
            if moves is not None:
                for k, (event, source, target, reason) in enumerate(moves):
                    rungs[(k, event, source, target, reason)].append(loan.loan_id)
                    result.add("transitions", {"loan_id": loan.loan_id, "from": source, "to": target, "event": event,
                                               "on": day.isoformat(), "reason": reason, "officer": loan.assigned_to})
                loan.state, loan.state_entered_on = moves[-1][2], day  # as the database will hold it
                plan = replace(plan, steps=[step for step in plan.steps if not step.event])  # the rest, per case
            apply_plan(s, loan, view, plan, day, loader, result, machine_for, actions)
            if loan.loan_id not in light and loan.state != CaseState.closed.value:  # the clocks are loaded: where they end
                ahead, behind = clocks_watch(view, day)
                if (ahead, behind) != (loan.clocks_ahead_on, loan.clocks_behind_on):
                    watch[loan.loan_id] = (ahead, behind)
            if plan.plan_broken:
                plans_changed.add(loan.loan_id)
            if plan.plan_broken and view.oldest_unpaid_line_due is not None:  # recorded set-wise below
                broken.append((loan, view.oldest_unpaid_line_due))
        except SQLAlchemyError:
            raise  # the database, not the case: the run fails and is run again
        except Exception as exc:  # any rule's failure is this case's alone
            errors[loan.loan_id] = _error_text(exc)
            continue
        result.cases += 1
    # a missed installment restarts a restructured asset's observation (issue 15 rule 1)
    record_missed_installments(s, broken, policy, failed=lambda loan, exc: errors.setdefault(loan.loan_id, _error_text(exc)))
    if errors:
        raise CasesFailed(errors)

    for (_k, event, source, target, reason), moved in sorted(rungs.items()):  # a case's rungs in its own order
        daily_sql.fire_setwise(s, day, event, source, target, reason, moved)
    changed = [loan for loan in loans if mutable_values(loan) != before[loan.loan_id]]
    # a row written anyway takes along its clocks' bounds and, where the judging left it right, its
    # classification as read: classify() below then finds it already right (one write, not two)
    daily_sql.write_cases(s, changed, watch, daily_sql.classification_along(changed, plans_changed))
    written = {loan.loan_id for loan in changed}
    daily_sql.write_clocks_watch(s, [{"b_loan_id": loan_id, "ahead": ahead, "behind": behind}
                                     for loan_id, (ahead, behind) in watch.items() if loan_id not in written])
    daily_sql.append_history_and_actions(s, history, actions)
    for loan in loans:
        if loan.loan_id in failed:
            daily_sql.quarantine(s, loan.loan_id, day, failed[loan.loan_id])
            result.add("quarantined", {"loan_id": loan.loan_id, "business_date": day.isoformat(), "error": failed[loan.loan_id],
                                       "officer": loan.assigned_to})
        elif loan.state == CaseState.closed.value and before[loan.loan_id][0] != CaseState.closed.value:
            s.flush()
            release_officer_if_done(s, loan)
    daily_sql.release(s, [i for i in daily_sql.quarantined(s, [loan.loan_id for loan in loans]) if i not in failed], day)
    judged = [loan.loan_id for loan in loans if loan.loan_id not in failed]
    classify(s, uow.dialect, day, daily_sql.among(s, Loan.loan_id, judged))  # events and moves may have changed them
    uow.commit()


def _setwise_moves(state: str, plan: DayPlan) -> list[tuple[str, str, str, str]] | None:
    """The plan's moves as (event, source, target, reason), each checked against the transitions
    ``LoanCase`` declares, when every move of the plan is an unguarded one (``setwise_plan``);
    else None: the case goes through its machine."""
    if not setwise_plan(plan):
        return None
    moves = []
    for step in plan.events:
        assert step.event is not None
        if not allows(step.event, state):
            return None  # the machine refuses it: the per-case path records the refusal
        target = target_of(step.event, state).value
        moves.append((step.event, state, target, step.reason))
        state = target
    return moves


def apply_plan(
    s: Session, loan: CaseRow, view: CaseView, plan: DayPlan, day: date, loader: CaseLoader, result: DayResult,
    machine_for: Callable[[CaseRow], LoanCase], actions: list[dict[str, Any]],
) -> None:
    """Carry out one case's plan for the day: record actions, fire events through the machine,
    set the flags; the row is written back by the caller."""

    def act(kind: str, target: str | None = None, detail: str = "", outcome: str | None = None) -> None:
        actions.append({"loan_id": loan.loan_id, "kind": kind, "on": day, "by": "system", "target": target,
                        "detail": detail, "outcome": outcome, "amount_fen": None, "due_on": None, "status": None})

    # The run never records a legal act nor sets a legal date (issue 14): its tasks (send_demand,
    # file_suit, apply_enforcement) are derived from the clocks every day until a person records
    # the act with its evidence, and are not stored.
    if plan.suspend_officer and loan.assigned_to:
        officer = s.get(Officer, loan.assigned_to)
        if officer is not None and officer.suspended_since is None:
            officer.suspended_since = day
            result.add("suspended", officer.officer_id)
    for step in plan.steps:
        if step.action == "plan_broken":
            agreement = loader.plans.get(loan.loan_id)
            if agreement is not None:
                agreement.status, agreement.ended_on = "broken", day
            loan.accrual_stopped = False
            loan.accrued_to = max(loan.accrued_to, day)
            act("plan_broken", detail=step.detail)
        elif step.action == "promise_broken":
            act("promise_broken", step.target, step.detail)
        if step.event:
            source = loan.state
            try:
                machine_for(loan).fire(step.event, on=day, by="system", reason=step.reason,
                                       guarantees=[g.status for g in view.guarantees],
                                       balance_fen=view.balance_fen, closed_reason=step.closed_reason)
            except CaseRefused as exc:
                result.add("refused", f"{loan.loan_id}: {exc}")
                act("alert", detail=f"daily run refused: {exc}")
                break
            result.add("transitions", {"loan_id": loan.loan_id, "from": source, "to": loan.state, "event": step.event,
                                       "on": day.isoformat(), "reason": step.reason, "officer": loan.assigned_to})
            if loan.state == CaseState.closed.value:
                loan.awaiting_approval = loan.awaiting_reason = None
                loan.urgent = False
    for action in loader.promises.get(loan.loan_id, []):
        if action.id in plan.promises:
            action.status = plan.promises[action.id]
    if plan.employer_pressure:
        loan.employer_pressure = True
    if plan.awaiting and loan.state != CaseState.closed.value:
        event, reason = plan.awaiting
        if loan.awaiting_approval != event:
            result.add("awaiting", {"loan_id": loan.loan_id, "event": event, "reason": reason, "urgent": plan.urgent,
                                    "officer": loan.assigned_to})
        loan.awaiting_approval, loan.awaiting_reason = event, reason
    if plan.urgent and not loan.urgent and loan.state != CaseState.closed.value:
        loan.urgent = True
    for clock, when, text in plan.alerts:
        result.add("alerts", {"loan_id": loan.loan_id, "clock": clock, "date": when.isoformat(), "text": text, "officer": loan.assigned_to})
    loan.next_event_on = plan.next_event_on if loan.state != CaseState.closed.value else None
    loan.touched = False


# --- a date in parts: parallel workers on PostgreSQL ----------------------------------------------

MOST_PARTS = 32  # a date makes at most this many parts, whatever the size of the book
PART_CASES = 1000  # a part per this many due cases (up to MOST_PARTS); a part is judged in chunks of at most CHUNK
LEASE_SECONDS = 300.0  # a part not renewed for this long (its worker died) is taken over


def lease_seconds() -> float:
    return float(os.environ.get("NPL_LEASE_SECONDS") or LEASE_SECONDS)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def plan_parts(make_uow: Callable[[], UnitOfWork], day: date, workers: int = 1) -> int:
    """The date's parts (kept if a killed run already made them): for several workers one per
    ``PART_CASES`` due cases, so that each has its share; for one, one per ``CHUNK``, so that
    each part is judged in chunks as large as any."""
    with make_uow() as uow:
        n = daily_sql.plan_parts(uow.session, day, PART_CASES if workers > 1 else CHUNK, MOST_PARTS)
        uow.commit()
    return n


def work_parts(make_uow: Callable[[], UnitOfWork], day: date, policy: Policy, result: DayResult,
               worker: str | None = None, lease: float | None = None) -> int:
    """Claim parts of ``day`` until none is left and judge their due cases chunk by chunk (each
    chunk its own transaction; the lease renewed after each). A worker killed mid-chunk leaves
    that chunk rolled back and its part taken until the lease runs out; then any worker takes the
    part over and judges what is still due in it. Returns how many parts this worker finished."""
    worker, lease = worker or worker_name(), lease or lease_seconds()
    done = 0
    while True:
        with make_uow() as uow:
            claimed = daily_sql.claim_part(uow.session, day, worker, lease)
            uow.commit()
        if claimed is None:
            return done
        part, lo, hi = claimed
        with make_uow() as uow:
            chunks = list(daily_sql.due_chunks(uow.session, day, CHUNK, lo, hi))
        mine = True
        for ids in chunks:
            with make_uow() as uow:
                process_chunk(uow, ids, day, policy, result, recheck=True)
            with make_uow() as uow:
                mine = daily_sql.renew_part(uow.session, day, part, worker, lease)
                uow.commit()
            if not mine:
                break  # taken over: the other worker judges what is still due
        if mine:
            with make_uow() as uow:
                daily_sql.finish_part(uow.session, day, part, worker)
                uow.commit()
            done += 1


def finish_parts(make_uow: Callable[[], UnitOfWork], day: date, policy: Policy, result: DayResult) -> None:
    """After the workers: take over any part a dead worker left, once its lease has run out, so
    the date completes in this run."""
    while True:
        work_parts(make_uow, day, policy, result)
        with make_uow() as uow:
            left, wait = daily_sql.parts_left(uow.session, day)
        if not left:
            return
        time.sleep(min(wait if wait is not None else 0.0, lease_seconds()) + 0.05)


def is_month_end(day: date) -> bool:
    return day.day == calendar.monthrange(day.year, day.month)[1]


# --- the run -------------------------------------------------------------------------------------


def run_dates(
    make_uow: Callable[[], UnitOfWork],
    as_of: date,
    through: date | None,
    policy: Policy,
    *,
    flow_run_id: str | None = None,
    on_progress: Callable[[date, date], None] | None = None,
    process: Callable[[list[str], date, DayResult], None] | None = None,
    run_parts: Callable[[date, DayResult], None] | None = None,
    workers: int = 1,
) -> RunResult:
    """Run every business date not yet completed up to ``through`` (or ``as_of``), in order,
    skipping quiet stretches. ``process(ids, date, result)`` judges the ids of up to
    ``CHUNKS_A_CALL`` chunks, committing per chunk (``process_ids``; the flow makes each call one
    Prefect task run, each a set of states and events on the Prefect server: a first date at a
    million loans makes 11, a catch-up date one);
    on PostgreSQL a date is split into parts (``day_parts``) that ``run_parts(date, result)``
    hands to parallel workers when there are several (``workers``: how many it starts); then this process works what is left (a
    date of one part, or a part a dead worker left once its lease has run out);
    ``on_progress(date reached, last date)`` is told after each date or quiet stretch.

    When every date is already completed nothing moves, but a run killed after its last date
    and before its final classification refresh is completed here (the refresh is idempotent)."""
    with make_uow() as uow:
        start, end = dates_to_run(uow.session, as_of, through)
        last = last_run_date(uow.session)
        in_parts = uow.dialect == "postgresql"
    result = RunResult(requested=as_of, through=end)

    def default_process(ids: list[str], day: date, day_result: DayResult) -> None:
        process_ids(make_uow, ids, day, policy, day_result)

    process = process or default_process
    if last is not None:
        catch_up_quarantined(make_uow, last, process, result)
    if start is None:
        result.already_done = True
        if last is not None:
            with make_uow() as uow:
                refresh_classification(uow, last)
        return result
    day = start
    while day <= end:
        with make_uow() as uow:
            nxt = next_due_date(uow.session)
            touched = any_touched(uow.session)
        if not touched and (nxt is None or nxt > day):
            # quiet stretch: nothing can happen before nxt; month ends inside it still snapshot
            quiet_end = min(end, add_days(nxt, -1)) if nxt is not None else end
            quiet = []
            d = day
            while d <= quiet_end:
                quiet.append(d)
                if is_month_end(d):
                    with make_uow() as uow:
                        snapshot_month_end(uow, d)
                d = add_days(d, 1)
            with make_uow() as uow:
                complete(uow, quiet, flow_run_id)
            result.dates_run.extend(quiet)
            if on_progress:
                on_progress(quiet_end, end)
            day = add_days(quiet_end, 1)
            continue
        day_result = DayResult(day, result.tally)
        if in_parts:  # SQLite allows one writer at a time: its run stays in one process
            if plan_parts(make_uow, day, workers) > 1 and run_parts is not None:  # a date of one part: not worth a worker
                run_parts(day, day_result)
            finish_parts(make_uow, day, policy, day_result)
        else:
            with make_uow() as uow:  # a few calls (task runs) a date, each committing per chunk
                calls = list(daily_sql.due_chunks(uow.session, day, CHUNK * CHUNKS_A_CALL))
            for ids in calls:
                process(ids, day, day_result)
        if is_month_end(day):
            with make_uow() as uow:
                snapshot_month_end(uow, day)
        with make_uow() as uow:
            complete(uow, [day], flow_run_id)
        result.days.append(day_result)
        result.dates_run.append(day)
        if on_progress:
            on_progress(day, end)
        day = add_days(day, 1)
    with make_uow() as uow:
        refresh_classification(uow, end)
    return result


def reschedule(make_uow: Callable[[], UnitOfWork], day: date, policy: Policy) -> int:
    """Recompute every open case's next event date as of ``day`` without moving any case.

    Run it after changing the policy file (time limits and lead days move the dates), or after
    loading cases by other means than the importer (it also stores where each case's legal clocks
    end, ``services.worklist.clocks_watch``).
    """
    from machines.escalation import next_event_on

    count, after = 0, ""
    while True:
        with make_uow() as uow:
            s = uow.session
            loans = list(s.scalars(select(Loan).where(Loan.state != CaseState.closed.value, Loan.loan_id > after)
                                   .order_by(Loan.loan_id).limit(CHUNK)))
            if not loans:
                return count
            loader = CaseLoader(s, loans)
            bounds = []
            for loan in loans:
                view = loader.view(loan, day, policy)
                loan.next_event_on = next_event_on(view, day, policy)
                ahead, behind = clocks_watch(view, day)
                bounds.append({"b_loan_id": loan.loan_id, "ahead": ahead, "behind": behind})
            s.flush()
            daily_sql.write_clocks_watch(s, bounds)  # a cache, not the case: no version moves
            uow.commit()
            count += len(loans)
            after = loans[-1].loan_id
