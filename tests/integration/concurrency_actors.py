"""The processes of tests/integration/test_concurrency.py (started with multiprocessing "spawn").

Kept out of the test module so a child imports only what it runs: the services, the daily
engine and this file. Every actor waits on a shared barrier so they all start together, does its
share of the work, and puts one dict on the result queue (counts, and a traceback for anything
that is neither success nor a refusal).
"""

from __future__ import annotations

import random
import time
import traceback
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

ESCALATION_TARGETS = ("internal_review", "visit", "guarantor_pressure", "litigation", "revitalization")
NEEDS_APPROVAL = ("litigation", "revitalization")
VISIT_OUTCOMES = ("contacted", "promise", "refused", "not_found")
KINDS = ("pay", "visit", "demand", "escalate", "write_off")
WEIGHTS = (40, 18, 15, 24, 3)
BARRIER_TIMEOUT = 300  # seconds for every actor to have started (imports on a loaded machine)


def counting_uow(url: str):  # the class is built after the child's imports
    """A UnitOfWork that counts its rollbacks: the services and the daily run roll back only to
    run again after a concurrent change (retry_on_conflict, process_chunk)."""
    from models.store import UnitOfWork

    class CountingUnitOfWork(UnitOfWork):
        retries = 0

        def rollback(self) -> None:
            type(self).retries += 1
            super().rollback()

    return CountingUnitOfWork


def _fen(fen: int) -> Decimal:
    return (Decimal(fen) / 100).quantize(Decimal("0.01"))


def _yuan_to_fen(text: str) -> int:
    return int(Decimal(text) * 100)


def _one_action(uow_class: Any, url: str, rng: random.Random, index: int, loan_id: str,
                guarantors: dict[str, list[str]]) -> str:
    """Issue one random action against ``loan_id``; return its kind. Raises what the service raises."""
    from flows.present import jsonable
    from services import cases

    with uow_class(url) as uow:
        case = jsonable(cases.show(uow, loan_id))
    as_of = date.fromisoformat(case["as_of"])
    total = _yuan_to_fen(case["balance"]["total"])
    kind = rng.choices(KINDS, WEIGHTS)[0]
    roll = rng.random()
    on: date | None = None  # mostly "today" (the last date run, as the command defaults it)
    if roll < 0.15:
        on = as_of - timedelta(days=rng.randrange(1, 30))  # back-dated
    elif roll < 0.25:
        on = as_of + timedelta(days=1)  # the day after the last run: allowed
    by = f"op-{index}"
    with uow_class(url) as uow:
        if kind == "pay":
            if total <= 0:
                amount = Decimal("1.00")  # a closed case: refused
            elif rng.random() < 0.1:
                amount = _fen(total)  # pays the loan off on as_of (more is owed a day later)
            else:
                amount = _fen(rng.randrange(1, total + 1))
            payer = "borrower"
            if guarantors.get(loan_id) and rng.random() < 0.2:
                payer = f"guarantor:{rng.choice(guarantors[loan_id])}"
            cases.pay(uow, loan_id, amount, on=on, payer=payer, by=by)
        elif kind == "visit":
            outcome = rng.choice(VISIT_OUTCOMES)
            promise = {}
            if outcome == "promise":
                promise = {"promise_amount": _fen(max(1, total // rng.randrange(2, 10))),
                           "promise_date": as_of + timedelta(days=rng.randrange(5, 40))}
            cases.visit(uow, loan_id, on=on, outcome=outcome, employer=rng.random() < 0.1, by=by, **promise)
        elif kind == "demand":
            target = None
            if guarantors.get(loan_id) and rng.random() < 0.5:
                target = rng.choice(guarantors[loan_id])
            elif rng.random() < 0.05:
                target = "Nobody"  # no such guarantor: refused
            cases.demand(uow, loan_id, on=on, guarantor=target, by=by)
        elif kind == "escalate":
            to = rng.choice(ESCALATION_TARGETS)
            approved_by = None
            if to in NEEDS_APPROVAL:
                pick = rng.random()
                approved_by = by if pick < 0.1 else None if pick < 0.15 else f"checker-{(index + 1) % 8}"
            cases.escalate(uow, loan_id, to=to, reason=f"manual escalation by actor {index}", by=by, on=on,
                           approved_by=approved_by)
        else:
            cases.write_off(uow, loan_id, on=on, reason="uncollectable (reliability test)", by=by,
                            approved_by=f"checker-{(index + 1) % 8}")
    return kind


def actor(url: str, index: int, actions: int, seed: int, loan_ids: list[str], hot_ids: list[str],
          guarantors: dict[str, list[str]], barrier: Any, results: Any) -> None:
    """One operator at a terminal: ``actions`` random manual actions against random loans."""
    out: dict[str, Any] = {"actor": index, "counts": Counter(), "failures": [], "latencies": []}
    try:
        from models.domain.errors import ConcurrentUpdate, RuleViolation

        uow_class = counting_uow(url)
        rng = random.Random(seed * 1000 + index)
        barrier.wait(timeout=BARRIER_TIMEOUT)
        out["released_at"] = time.time()
        started = time.perf_counter()
        for _ in range(actions):
            loan_id = rng.choice(hot_ids) if rng.random() < 0.5 else rng.choice(loan_ids)
            began = time.perf_counter()
            try:
                kind = _one_action(uow_class, url, rng, index, loan_id, guarantors)
            except ConcurrentUpdate:
                out["counts"]["gave_up_on_conflict"] += 1
                out["counts"]["refused"] += 1
            except RuleViolation:
                out["counts"]["refused"] += 1
            except Exception:  # anything else is what the test is looking for
                out["failures"].append(f"actor {index}, {loan_id}:\n{traceback.format_exc()}")
            else:
                out["counts"]["done"] += 1
                out["counts"][f"done_{kind}"] += 1
            finally:
                out["latencies"].append(time.perf_counter() - began)
        out["elapsed"] = time.perf_counter() - started
        out["counts"]["conflicts_retried"] = uow_class.retries
    except Exception:
        out["failures"].append(f"actor {index} crashed:\n{traceback.format_exc()}")
        barrier.abort()  # nobody waits for an actor that will not come
    out["counts"] = dict(out["counts"])
    results.put(out)


def daily_actor(url: str, first: date, last: date, stop: Any, barrier: Any, results: Any) -> None:
    """The daily engine, one business date after another from ``first``, until the operators are
    done (``stop``) or ``last`` is reached."""
    out: dict[str, Any] = {"actor": "daily", "counts": Counter(), "failures": [], "date_seconds": []}
    uow_class = None
    started = time.perf_counter()
    day = first
    try:
        from machines.policy import load_policy
        from services.daily import run_dates

        uow_class = counting_uow(url)
        policy = load_policy()
        barrier.wait(timeout=BARRIER_TIMEOUT)
        out["released_at"] = time.time()
        started = time.perf_counter()
        while day <= last and not stop.is_set():
            began = time.perf_counter()
            result = run_dates(lambda: uow_class(url), day, None, policy)
            out["date_seconds"].append(round(time.perf_counter() - began, 2))
            out["counts"]["dates"] += len(result.dates_run)
            out["counts"]["transitions"] += result.count("transitions")
            day += timedelta(days=1)
    except Exception:
        out["failures"].append(f"daily run crashed on {day}:\n{traceback.format_exc()}")
        barrier.abort()
    finally:
        out["last_date"] = (day - timedelta(days=1)).isoformat() if day > first else None
        out["elapsed"] = time.perf_counter() - started
        out["counts"]["chunks_retried"] = uow_class.retries if uow_class else 0
        out["counts"] = dict(out["counts"])
        results.put(out)
