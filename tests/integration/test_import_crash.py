"""An import killed with SIGKILL half-way leaves the database as it was (one transaction), and
importing again ends exactly where an uninterrupted import ends.

The child process kills itself at a chosen point of the import (after its n-th batch write, or
just before the commit), so every point is reached whatever the machine's speed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from models import store
from models.importing import BATCH_ROWS, import_files
from models.store import UnitOfWork
from tests.bench_book import write_book
from tests.canonical import canonical_dump

ROOT = Path(__file__).resolve().parents[2]
ROWS = 6 * BATCH_ROWS  # six loan batches, then the guarantors' (about 40% of the loans have one)
FULL = bool(os.environ.get("NPL_RELIABILITY_FULL"))
CHILD = r"""
import os, signal, sys
sys.path.insert(0, {root!r})
from models import importing
from models.importing.upsert import Store
from models.store import UnitOfWork

kill_at = sys.argv[2]
writes = {{"n": 0}}

def dying(method):
    def wrapper(self, rows):
        method(self, rows)
        writes["n"] += 1
        if str(writes["n"]) == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
    return wrapper

def close_then_die(self):
    original_close(self)
    if kill_at == "commit":  # everything written, the commit not yet made
        os.kill(os.getpid(), signal.SIGKILL)

Store.loans = dying(Store.loans)
Store.guarantors = dying(Store.guarantors)
original_close = Store.close
Store.close = close_then_die
with UnitOfWork(sys.argv[1]) as uow:
    importing.import_files(uow, sys.argv[3:])
"""
# after the first loan batch, mid-way through the loans, among the guarantors, before the commit
KILL_POINTS = [str(n) for n in range(1, 10)] + ["commit"] if FULL else ["1", "4", "7", "commit"]


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Path], Path, dict]:
    folder = tmp_path_factory.mktemp("import-crash")
    files = write_book(folder, ROWS)
    empty = folder / "empty.db"
    store.engine_for(f"sqlite:///{empty}")
    store.dispose_all()
    done = folder / "done.db"
    shutil.copy(empty, done)
    with UnitOfWork(f"sqlite:///{done}") as uow:
        import_files(uow, files)
    store.dispose_all()
    return files, empty, canonical_dump(f"sqlite:///{done}")


@pytest.mark.parametrize("kill_at", KILL_POINTS)
def test_import_killed_half_way_writes_nothing_and_a_rerun_matches_an_uninterrupted_import(kill_at, book, tmp_path):
    files, empty, expected = book
    db = tmp_path / "npl.db"
    shutil.copy(empty, db)
    url = f"sqlite:///{db}"
    before = canonical_dump(url)
    child = subprocess.run([sys.executable, "-c", CHILD.format(root=str(ROOT)), url, kill_at, *map(str, files)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=300)
    assert child.returncode == -9, f"the import was not killed at {kill_at}: {child.stderr.decode()[-500:]}"
    assert canonical_dump(url) == before  # killed before its commit: nothing is there
    with UnitOfWork(url) as uow:
        import_files(uow, files)
    store.dispose_all()
    assert canonical_dump(url) == expected
