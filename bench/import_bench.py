"""Benchmark of the import alone: the daily benchmark's synthetic book (``daily_bench.generate``)
imported into a fresh database, on SQLite (default) or PostgreSQL.

    .venv/bin/python bench/import_bench.py --loans 1000000
    .venv/bin/python bench/import_bench.py --loans 1000000 --db postgresql+psycopg://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/import_bench.py --loans 100000 --profile /tmp/import.prof   # cProfile of the import

Prints wall seconds, this process's CPU-seconds (user + sys), on PostgreSQL the CPU of the
server backends serving this process's connections (as ``daily_bench`` counts them), and the
peak RSS of this process. The CSV files are generated once into ``--folder`` (kept, reused
when they exist for the same ``--loans``); each run imports into a new empty database,
dropped at the end.
"""

from __future__ import annotations

import argparse
import cProfile
import resource
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.daily_bench import BackendCpu, PostgresScratch, SqliteScratch, Step, generate, measured


def files_for(folder: Path, loans: int) -> list[Path]:
    """loans.csv and guarantors.csv of ``loans`` loans in ``folder/<loans>`` (generated once)."""
    book = folder / str(loans)
    paths = [book / "loans.csv", book / "guarantors.csv"]
    if not all(path.exists() for path in paths):
        book.mkdir(parents=True, exist_ok=True)
        paths = generate(book, loans)
    return paths


def main() -> None:
    from flows.collector import fewer_full_collections

    fewer_full_collections()  # as `npl` does for the import and the daily run
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--loans", type=int, default=100_000)
    parser.add_argument("--db", default=None, help="a PostgreSQL URL (default: a SQLite file in a temporary folder)")
    parser.add_argument("--folder", type=Path, default=Path(tempfile.gettempdir()) / "npl-import-bench")
    parser.add_argument("--profile", type=Path, default=None, help="write a cProfile of the import here")
    args = parser.parse_args()

    from services.importing import import_paths

    paths = files_for(args.folder, args.loans)
    with tempfile.TemporaryDirectory() as work:
        scratch = PostgresScratch(args.db) if args.db else SqliteScratch(Path(work))
        backends = BackendCpu() if args.db else None
        try:
            url = scratch.new("import")
            step = Step()
            profiler = cProfile.Profile() if args.profile else None
            with measured(step, backends):
                if profiler is not None:
                    profiler.enable()
                report = import_paths(url, paths)
                if profiler is not None:
                    profiler.disable()
            if profiler is not None:
                profiler.dump_stats(args.profile)
            rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            backend = "" if step.backend_cpu is None else f" + PostgreSQL backends {step.backend_cpu:.1f} CPU-s"
            print(
                f"{scratch.label}: {report.loans:,} loans + {report.guarantors:,} guarantors imported in "
                f"{step.seconds:.1f} s wall; Python {step.python_cpu:.1f} CPU-s{backend}; peak RSS {rss_mb:.0f} MB; "
                f"{len(report.rejected)} rejected"
            )
        finally:
            scratch.close()


if __name__ == "__main__":
    main()
