"""Benchmark of the strategy replay (services.replay) on a synthetic book (SQLite).

    .venv/bin/python bench/replay_bench.py                 # 10,000 loans, a year
    .venv/bin/python bench/replay_bench.py --loans 100000  # the target: a year in ≤ 2 minutes

Steps: generate the daily benchmark's book (bench/daily_bench.py), import it, and record a year
of history on it as the branch would make it: the daily engine for every date, with operators'
acts recorded between runs (each month, visits on 1 in 200 loans, part payments on 1 in 500,
demands on 1 in 1,000) — untimed setup. Then time one replay of that year under a challenger
(`limits.visit` 10 instead of 30) against the champion: reading the source, the two scratch
replays and the comparison, as `npl replay` makes them.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import sys
import tempfile
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.daily_bench import generate

START = date(2025, 11, 2)


def record_history(url: str, loans: int, days: int, seed: int = 5) -> int:
    """The daily engine for ``days`` dates from START, with operators' acts each month; returns how many acts."""
    from machines.policy import load_policy
    from models.domain.errors import BadInput, RuleViolation
    from models.store import UnitOfWork
    from services import cases
    from services.daily import run_dates

    rnd = random.Random(seed)
    policy = load_policy()
    end = START + timedelta(days=days - 1)
    acts, day = 0, START
    run_dates(lambda: UnitOfWork(url), START, START, policy)
    while day < end:
        nxt = min(end, day + timedelta(days=30))
        run_dates(lambda: UnitOfWork(url), day, nxt, policy)
        day = nxt
        for kind, every in (("visit", 200), ("pay", 500), ("demand", 1000)):
            for _ in range(max(1, loans // every)):
                loan_id = f"L{rnd.randrange(loans):07d}"
                with UnitOfWork(url) as uow:
                    try:
                        if kind == "visit":
                            cases.visit(uow, loan_id, on=day, outcome=rnd.choice(["contacted", "refused", "not_found"]), by="E-BENCH")
                        elif kind == "pay":
                            cases.pay(uow, loan_id, Decimal(rnd.randrange(100, 3000)), on=day, by="E-BENCH", policy=policy)
                        else:
                            cases.demand(uow, loan_id, on=day, by="E-BENCH")
                        acts += 1
                    except (RuleViolation, BadInput):
                        pass
    return acts


def _cpu() -> float:
    """CPU seconds (user + sys) of this process and its finished children (the challenger's process)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--loans", type=int, default=10_000)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--source", type=Path, help="keep the recorded book in this SQLite file, and reuse it when it exists")
    ap.add_argument("--parallel", action=argparse.BooleanOptionalAction, default=None,
                    help="the challenger's branch in a second process (default: from 20,000 loans)")
    ap.add_argument("--profile", type=Path, help="write a cProfile of the replay here")
    args = ap.parse_args()
    from machines.policy import load_policy
    from models.store import dispose_all
    from services.importing import import_paths
    from services.replay import replay

    with tempfile.TemporaryDirectory(prefix="npl-replay-bench-") as tmp:
        work = Path(tmp)
        source = args.source or work / "source.db"
        url = f"sqlite:///{source.resolve()}"
        print(f"npl-collect replay benchmark: {args.loans:,} loans, {args.days} dates, SQLite")
        if not source.exists():
            t = time.perf_counter()
            import_paths(url, generate(work, args.loans))
            acts = record_history(url, args.loans, args.days)
            dispose_all()
            print(f"  setup: import + a recorded year ({acts:,} operators' acts)  {time.perf_counter() - t:8.1f} s (untimed)")
        (work / "challenger.toml").write_text("[limits]\nvisit = 10\n", encoding="utf-8")
        challenger = load_policy(work / "challenger.toml")
        end = START + timedelta(days=args.days - 1)
        profiler = None
        if args.profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        cpu = _cpu()
        t = time.perf_counter()
        report = replay(url, challenger, START, end, workdir=work, parallel=args.parallel,
                        on_progress=lambda m: print(f"    {time.perf_counter() - t:7.1f} s  {m}"))
        took, cpu = time.perf_counter() - t, _cpu() - cpu
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(args.profile)
        print(f"  replay {START} → {end}, champion and challenger          {took:8.1f} s wall, {cpu:8.1f} s CPU (user+sys, "
              f"this process and the challenger's)  load average {os.getloadavg()[0]:.1f}")
        print(f"    transitions in the window: champion {report.champion['entered_total']:,}, challenger {report.challenger['entered_total']:,}")
        print(f"  peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
