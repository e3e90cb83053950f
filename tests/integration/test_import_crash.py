"""An import killed with SIGKILL half-way leaves the database as it was (one transaction), and
importing again ends exactly where an uninterrupted import ends."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from models import store
from models.importing import import_files
from models.store import UnitOfWork
from tests.bench_book import write_book
from tests.canonical import canonical_dump

ROOT = Path(__file__).resolve().parents[2]
ROWS = 60_000 if os.environ.get("NPL_RELIABILITY_FULL") else 30_000
CHILD = "import sys; sys.path.insert(0, {root!r}); from models.importing import import_files; " \
        "from models.store import UnitOfWork; u = UnitOfWork(sys.argv[1]).__enter__(); print('started', flush=True); " \
        "import_files(u, sys.argv[2:])"


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Path], Path, dict, float]:
    folder = tmp_path_factory.mktemp("import-crash")
    files = write_book(folder, ROWS)
    empty = folder / "empty.db"
    store.engine_for(f"sqlite:///{empty}")
    store.dispose_all()
    done = folder / "done.db"
    shutil.copy(empty, done)
    began = time.perf_counter()
    with UnitOfWork(f"sqlite:///{done}") as uow:
        import_files(uow, files)
    took = time.perf_counter() - began
    store.dispose_all()
    return files, empty, canonical_dump(f"sqlite:///{done}"), took


# kill points as fractions of an uninterrupted import on this machine, whatever its speed
@pytest.mark.parametrize("fraction", [0.15, 0.45, 0.75])
def test_import_killed_half_way_writes_nothing_and_a_rerun_matches_an_uninterrupted_import(fraction, book, tmp_path):
    files, empty, expected, took = book
    db = tmp_path / "npl.db"
    shutil.copy(empty, db)
    url = f"sqlite:///{db}"
    before = canonical_dump(url)
    with subprocess.Popen([sys.executable, "-c", CHILD.format(root=str(ROOT)), url, *map(str, files)],
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL) as proc:
        assert proc.stdout is not None and proc.stdout.readline().startswith(b"started")
        time.sleep(fraction * took)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -9, "the import process ended before it could be killed: raise ROWS"
    # all or nothing: killed before its commit nothing is there, killed after it everything is
    after_kill = canonical_dump(url)
    assert after_kill in (before, expected)
    if after_kill == before:  # the import did not commit: run it again
        with UnitOfWork(url) as uow:
            import_files(uow, files)
        store.dispose_all()
    assert canonical_dump(url) == expected
