"""A daily run killed with SIGKILL at any point, run again, ends exactly where an uninterrupted
run ends (canonical dump compared row by row). SQLite file databases, real subprocesses."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from tests.builders import load, run
from tests.canonical import canonical_dump

ROOT = Path(__file__).resolve().parents[2]
KILL_POINTS = 10 if os.environ.get("NPL_RELIABILITY_FULL") else 3

CHILD = r"""
import os, signal, sys
from datetime import date
sys.path.insert(0, {root!r})
from machines.policy import load_policy
from models.store import UnitOfWork
from services import daily

daily.CHUNK = 25
kill_at, before_commit = int(sys.argv[2]), sys.argv[3] == "before"
calls = {{"n": 0}}
original = daily._process_chunk_once

def dying(uow, ids, day, policy, result, *rest):
    calls["n"] += 1
    if calls["n"] == kill_at and before_commit:
        uow.session.flush()
        os.kill(os.getpid(), signal.SIGKILL)
    original(uow, ids, day, policy, result, *rest)
    if calls["n"] == kill_at:
        os.kill(os.getpid(), signal.SIGKILL)

daily._process_chunk_once = dying
url = sys.argv[1]
daily.run_dates(lambda: UnitOfWork(url), date(2008, 7, 1), date(2008, 12, 31), load_policy())
"""


def portfolio() -> tuple[list[dict], list[dict]]:
    loans = [{"loan_id": f"L-{i:03d}", "maturity_on": f"2008-0{6 + i % 3}-{1 + i % 28:02d}",
              "origin": "insider" if i % 17 == 0 else "external"} for i in range(120)]
    guarantors = [{"loan_id": f"L-{i:03d}", "guarantor_name": "G", "guarantee_type": "joint" if i % 2 else "general"}
                  for i in range(0, 120, 4)]
    return loans, guarantors


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """The loaded book before the run, and the dump after an uninterrupted run."""
    folder = tmp_path_factory.mktemp("crash")
    start = folder / "start.db"
    url = f"sqlite:///{start}"
    load(url, folder, *portfolio())
    from models import store

    store.dispose_all()
    done = folder / "done.db"
    shutil.copy(start, done)
    run(f"sqlite:///{done}", date(2008, 7, 1), date(2008, 12, 31))
    return start, canonical_dump(f"sqlite:///{done}")


@pytest.mark.parametrize("point", range(KILL_POINTS))
def test_daily_run_killed_mid_way_and_run_again_ends_where_an_uninterrupted_run_ends(point, baseline, tmp_path):
    start, expected = baseline
    db = tmp_path / "crash.db"
    shutil.copy(start, db)
    url = f"sqlite:///{db}"
    rnd = random.Random(point)
    proc = subprocess.run(
        [sys.executable, "-c", CHILD.format(root=str(ROOT)), url, str(rnd.randrange(1, 40)), rnd.choice(["before", "after"])],
        capture_output=True, timeout=300,
    )
    assert proc.returncode == -9, proc.stderr.decode()[-2000:]  # it really was killed mid-run
    assert canonical_dump(url) != expected
    run(url, date(2008, 7, 1), date(2008, 12, 31))
    assert canonical_dump(url) == expected
