"""Benchmark of import and the daily run on a synthetic book, on SQLite (default) or PostgreSQL.

    make bench                                         # 100,000 loans, a SQLite row and a PostgreSQL row
    make bench BENCH_ARGS="--loans 1000000"
    bench/daily_bench.py --db postgresql+psycopg://postgres@127.0.0.1:5432/test   # one backend

Steps: generate CSV exports (a realistic mix: about 10% of the loans past due on RUN_DATE, due
dates spread over ten years, 40% guaranteed, insider and relationship loans), then

1. import them (timed) into an empty database;
2. **the first business date after the import**: the freshly imported book run for RUN_DATE
   (every past-due case placed on the ladder; what a bank meets on its first day);
3. a steady state, as if the branch had been running npl-collect (states spread along the
   ladder, installment plans, the demands recorded as legal acts: set with SQL, then every case's next event date and
   classification computed by the engine: untimed setup; on PostgreSQL then ``VACUUM ANALYZE``d,
   as autovacuum keeps a running system's tables: see ``settle``), built once and copied for each run
   below, so each starts from the same state; on each copy (untimed) the officers' worklist tables
   of the eve are published, as the branch's run of the day before left them (a date publishes
   again only the tables that changed):
   a. one business date (RUN_DATE),
   b. a ``--through`` catch-up of 30 business dates (RUN_DATE and the 29 after it),
   c. a date on which nothing falls due (every next event moved 400 days on in one ``UPDATE``,
      on PostgreSQL its table settled again, then RUN_DATE).

The temporary Prefect server is warmed up before the first timed run (its start is excluded,
as the targets say). Copies: on PostgreSQL each run gets its own scratch database
(``npl_bench_<random>_<step>``, ``CREATE DATABASE … TEMPLATE …``), all dropped at the end, also
on failure or Ctrl-C; on SQLite the database file is copied (sqlite3's backup API).

CPU per due case = CPU-seconds of the step / cases the flow judged (its ``cases_judged``):
this process (``getrusage`` self + children; the temporary Prefect server is a live subprocess:
not counted, its CPU is shown beside each step) plus, on PostgreSQL, the server backends serving this process's own
connections (each connection's backend pid, read from ``/proc/<pid>/stat`` before and after the
step, and as the connection closes if it closes during the step). Other clients of the same
server and its background processes (checkpointer, WAL writer, autovacuum) are not counted: the
machine is shared, and a total over every ``postgres`` process would count other people's work.

``--digest`` prints a sha256 of tests/canonical.py's canonical dump after the first steady-state
date and the 30 dates after it (on that run's copy, untimed, after the timings; before any
quiet-date manipulation), so a refactor can show it behaves identically.

``--book DIR --on DATE`` measures a book this generator did not make (another mix, a bank's own
export): the folder's CSV files (copied into the work folder first, so the rejects files of rows
the import refuses land there, not in DIR) are imported (timed), ``DATE`` is run as the first
business date after the import, then the ``--days`` dates after it as one ``--through`` catch-up
on the same book (what a bank meets after an outage). The steady-state and quiet-date steps are
the synthetic book's own (its loan numbers spread the states) and are not run.

``--rows FILE`` appends this run's row (JSON) to FILE; ``--table FILE`` prints the rows of FILE
as one table (what ``make bench`` does after running each backend).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import random
import resource
import shutil
import signal
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

RUN_DATE = date(2026, 11, 2)
PAST_DUE = 0.10  # share of the book past due on RUN_DATE (issue 20's 1M book: about 10%)
FIRST_MATURITY = date(2016, 1, 1)
LATEST_MATURITY_DAYS = 400  # loans not yet due mature within 400 days of RUN_DATE


def generate(folder: Path, n: int, seed: int = 7, past_due: float = PAST_DUE) -> list[Path]:
    """loans.csv and guarantors.csv for ``n`` loans; a share ``past_due`` of them matured before
    RUN_DATE (uniformly since 2016), the others mature within 400 days of it."""
    rnd = random.Random(seed)
    loans, guarantors = folder / "loans.csv", folder / "guarantors.csv"
    with loans.open("w", newline="") as lf, guarantors.open("w", newline="") as gf:
        lw, gw = csv.writer(lf), csv.writer(gf)
        lw.writerow(["loan_id", "borrower_name", "principal", "annual_rate", "disbursed_on", "maturity_on", "outstanding_principal",
                     "origin", "officer_id", "introduced_by", "employer_type", "product", "credit_rating", "address"])
        gw.writerow(["loan_id", "guarantor_name", "guarantee_type"])
        past_span = (RUN_DATE - FIRST_MATURITY).days
        origins = ["external"] * 85 + ["relationship"] * 10 + ["insider"] * 3 + ["insider_introduced"] * 2
        for i in range(n):
            if rnd.random() < past_due:
                maturity = FIRST_MATURITY + timedelta(days=rnd.randrange(past_span))
            else:
                maturity = RUN_DATE + timedelta(days=rnd.randrange(LATEST_MATURITY_DAYS))
            principal = rnd.randrange(10_000, 2_000_000)
            origin = rnd.choice(origins)
            lw.writerow([f"L{i:07d}", f"Borrower {i}", f"{principal}.00", f"0.0{rnd.randrange(400, 900)}",
                         (maturity - timedelta(days=365)).isoformat(), maturity.isoformat(), f"{principal * rnd.randrange(30, 101) // 100}.00",
                         origin, f"E-{rnd.randrange(200):03d}", f"E-{rnd.randrange(200):03d}" if origin == "insider_introduced" else "",
                         rnd.choice(["government", "institution", "private", "none"]), rnd.choice(["business", "consumer", "agriculture", "aquaculture"]),
                         rnd.choice(["AAA", "AA", "A", "BBB", "BB", "B", "C"]), f"{i} Main Street"])
            if rnd.random() < 0.4:
                gw.writerow([f"L{i:07d}", f"Guarantor {i}", "joint" if rnd.random() < 0.7 else "general"])
    return [loans, guarantors]


def copy_book(book: Path, folder: Path) -> list[Path]:
    """The export files of the folder ``book`` (every ``*.csv`` but rejects files an earlier
    import wrote), copied into ``folder``, in name order; refused if there are none."""
    sources = sorted(p for p in book.glob("*.csv") if not p.name.endswith(".rejects.csv"))
    if not sources:
        raise SystemExit(f"--book {book}: no .csv export file in that folder")
    copies = []
    for source in sources:
        copies.append(folder / source.name)
        shutil.copyfile(source, copies[-1])
    return copies


def import_book(url: str, files: list[Path]) -> Any:
    """The import under test (the one place that names the importer)."""
    from services.importing import import_paths

    return import_paths(url, files)


# The steady state, one list per dialect: the same statements, only the date arithmetic differs
# (tests/integration/test_bench_steady_state.py checks both leave the same state). ``k`` below is
# the loan's number (L0000123 → 123): states, dates and demands are spread by it, so the state
# never depends on surrogate ids. Plans are numbered in loan order (INSERT … SELECT … ORDER BY).
_K = "CAST(substr(loan_id, 2) AS INTEGER)"
_LADDER = f"""CASE WHEN {_K} % 20 < 2 THEN 'internal_review'
           WHEN {_K} % 20 < 8 THEN 'visit'
           WHEN {_K} % 20 < 12 THEN 'guarantor_pressure'
           WHEN {_K} % 20 < 16 THEN 'litigation'
           WHEN {_K} % 20 < 19 THEN 'installment'
           ELSE 'revitalization' END"""
# days since entering the state, within that state's time limit
_DAYS_IN_STATE = f"""({_K} / 20 % CASE state
           WHEN 'overdue' THEN 3 WHEN 'internal_review' THEN 7 WHEN 'visit' THEN 30 WHEN 'guarantor_pressure' THEN 60
           WHEN 'revitalization' THEN 365 ELSE 29 END + 1)"""

# The demands of the steady state as recorded acts and actions (the same SQL on both backends):
# one on the borrower on the date it entered its state, one on each demanded guarantor on the
# date that preserved the guarantee, and one more where it was demanded again later.
_DEMANDS = """SELECT loan_id, 'borrower' AS party, state_entered_on AS took_effect_on FROM loans WHERE state != 'performing'
           UNION ALL SELECT loan_id, name, demanded_on FROM guarantors WHERE demanded_on IS NOT NULL
           UNION ALL SELECT loan_id, name, limitation_interrupted_on FROM guarantors WHERE limitation_interrupted_on > demanded_on"""
_DEMAND_ACTS = [
    f"""INSERT INTO legal_acts (loan_id, party, kind, method, took_effect_on, evidence, recorded_by, recorded_on)
        SELECT loan_id, party, 'demand', 'mail', took_effect_on, 'bench-' || loan_id, 'bench', took_effect_on
        FROM ({_DEMANDS}) AS d ORDER BY loan_id, took_effect_on, party""",
    f"""INSERT INTO actions (loan_id, kind, "on", "by", target, outcome)
        SELECT loan_id, 'demand', took_effect_on, 'bench', CASE WHEN party = 'borrower' THEN NULL ELSE party END, 'issued'
        FROM ({_DEMANDS}) AS d ORDER BY loan_id, took_effect_on, party""",
]

STEADY_STATE_SQL: dict[str, list[str]] = {
    "sqlite": [
        # loans past due on the run date, spread along the ladder as a running system leaves them
        f"""UPDATE loans SET state = CASE WHEN julianday(:d) - julianday(maturity_on) <= 3 THEN 'overdue' ELSE {_LADDER} END,
             sued_on = NULL WHERE maturity_on < :d""",
        # each case entered its state some days ago, spread within that state's time limit
        f"UPDATE loans SET state_entered_on = date(:d, '-' || {_DAYS_IN_STATE} || ' days'), touched = 0 WHERE state != 'performing'",
        "UPDATE loans SET touched = 0",
        "UPDATE loans SET sued_on = state_entered_on WHERE state = 'litigation'",
        # a running system has already demanded what the law required, each demand recorded as
        # ``npl demand`` records it (services.cases.demand): the legal act with its evidence (the
        # only fact the legal clocks follow, issue 14), the action, and the cached dates. The
        # borrower was demanded on entering the state (limitation interrupted), joint guarantors
        # soon after maturity ...
        "UPDATE loans SET limitation_start = state_entered_on WHERE state != 'performing'",
        """UPDATE guarantors SET demanded_on = (SELECT date(maturity_on, '+10 days') FROM loans WHERE loans.loan_id = guarantors.loan_id)
           WHERE guarantee_type = 'joint' AND loan_id IN (SELECT loan_id FROM loans WHERE maturity_on < date(:d, '-10 days'))""",
        # ... and demanded each of them again within the last three years (Art. 694: the guarantee debt's limitation)
        f"""UPDATE guarantors SET limitation_interrupted_on = max(demanded_on, date(:d, '-' || ({_K} % 997) || ' days'))
           WHERE demanded_on IS NOT NULL""",
        *_DEMAND_ACTS,
        "UPDATE loans SET accrual_stopped = 1, accrued_to = state_entered_on WHERE state = 'installment'",
        # monthly lines on the signing day, at most the 28th (so month arithmetic agrees on both backends)
        """INSERT INTO plans (loan_id, signed_on, monthly_fen, first_due, total_fen, status)
           SELECT loan_id, state_entered_on, outstanding_principal_fen / 24 + 1,
                  date(state_entered_on, '-' || max(CAST(strftime('%d', state_entered_on) AS INTEGER) - 28, 0) || ' days', '+1 month'),
                  outstanding_principal_fen, 'active' FROM loans WHERE state = 'installment' ORDER BY loan_id""",
        """WITH RECURSIVE n(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM n WHERE k < 24)
           INSERT INTO plan_lines (plan_id, seq, due_on, amount_fen, paid_fen)
           SELECT p.id, n.k, date(p.first_due, '+' || (n.k - 1) || ' months'),
                  CASE WHEN n.k < 24 THEN p.monthly_fen ELSE p.total_fen - 23 * p.monthly_fen END, 0
           FROM plans p CROSS JOIN n""",
        "INSERT INTO run_ledger (business_date, completed_at, transitions) VALUES (date(:d, '-1 day'), CURRENT_TIMESTAMP, 0)",
    ],
    "postgresql": [
        f"""UPDATE loans SET state = CASE WHEN CAST(:d AS date) - maturity_on <= 3 THEN 'overdue' ELSE {_LADDER} END,
             sued_on = NULL WHERE maturity_on < CAST(:d AS date)""",
        f"UPDATE loans SET state_entered_on = CAST(:d AS date) - {_DAYS_IN_STATE}, touched = FALSE WHERE state != 'performing'",
        "UPDATE loans SET touched = FALSE",
        "UPDATE loans SET sued_on = state_entered_on WHERE state = 'litigation'",
        "UPDATE loans SET limitation_start = state_entered_on WHERE state != 'performing'",
        """UPDATE guarantors SET demanded_on = (SELECT maturity_on + 10 FROM loans WHERE loans.loan_id = guarantors.loan_id)
           WHERE guarantee_type = 'joint' AND loan_id IN (SELECT loan_id FROM loans WHERE maturity_on < CAST(:d AS date) - 10)""",
        f"""UPDATE guarantors SET limitation_interrupted_on = greatest(demanded_on, CAST(:d AS date) - ({_K} % 997))
           WHERE demanded_on IS NOT NULL""",
        *_DEMAND_ACTS,
        "UPDATE loans SET accrual_stopped = TRUE, accrued_to = state_entered_on WHERE state = 'installment'",
        """INSERT INTO plans (loan_id, signed_on, monthly_fen, first_due, total_fen, status)
           SELECT loan_id, state_entered_on, outstanding_principal_fen / 24 + 1,
                  CAST(state_entered_on - greatest(CAST(extract(day FROM state_entered_on) AS integer) - 28, 0) + interval '1 month' AS date),
                  outstanding_principal_fen, 'active' FROM loans WHERE state = 'installment' ORDER BY loan_id""",
        """INSERT INTO plan_lines (plan_id, seq, due_on, amount_fen, paid_fen)
           SELECT p.id, n.k, CAST(p.first_due + (n.k - 1) * interval '1 month' AS date),
                  CASE WHEN n.k < 24 THEN p.monthly_fen ELSE p.total_fen - 23 * p.monthly_fen END, 0
           FROM plans p CROSS JOIN generate_series(1, 24) AS n(k)""",
        "INSERT INTO run_ledger (business_date, completed_at, transitions) VALUES (CAST(:d AS date) - 1, CURRENT_TIMESTAMP, 0)",
    ],
}

# a date on which nothing falls due: every next event moved beyond it
QUIET_SQL = {
    "sqlite": "UPDATE loans SET next_event_on = date(next_event_on, '+400 days') WHERE next_event_on IS NOT NULL",
    "postgresql": "UPDATE loans SET next_event_on = next_event_on + 400 WHERE next_event_on IS NOT NULL",
}


def _date_param(dialect: str, day: date) -> Any:
    return day.isoformat() if dialect == "sqlite" else day  # SQLite stores ISO text


def steady_state(url: str, day: date = RUN_DATE) -> None:
    """Put a freshly imported book in the state a running system leaves it in on the eve of ``day``."""
    from sqlalchemy import text

    from machines.policy import load_policy
    from models.store import UnitOfWork
    from services.daily import refresh_classification, reschedule

    with UnitOfWork(url) as uow:
        for sql in STEADY_STATE_SQL[uow.dialect]:
            uow.session.execute(text(sql), {"d": _date_param(uow.dialect, day)})
        uow.commit()
    reschedule(lambda: UnitOfWork(url), day - timedelta(days=1), load_policy())
    with UnitOfWork(url) as uow:  # classified as of the last completed date, as the running system left it
        refresh_classification(uow, day - timedelta(days=1))
    settle(url)


def settle(url: str, table: str | None = None) -> None:
    """PostgreSQL: the book's tables (or ``table``) as autovacuum keeps a running system's: the
    dead row versions of the bulk updates that built the state cleared, the planner's statistics
    current (``VACUUM ANALYZE``). Without it each timed copy (a template copy keeps them) started
    with the dead versions of every row those updates wrote — a million in every index of
    ``loans`` after the quiet date's one ``UPDATE`` — for its first reads to step over and an
    autovacuum to clear during the timed run. SQLite keeps no dead versions: nothing to do."""
    if not url.startswith("postgresql"):
        return
    from sqlalchemy import create_engine

    engine = create_engine(url, isolation_level="AUTOCOMMIT")  # VACUUM runs outside a transaction
    with engine.connect() as connection:
        connection.exec_driver_sql(f"VACUUM ANALYZE {table}" if table else "VACUUM ANALYZE")
    engine.dispose()


def quiet_book(url: str) -> None:
    """A book on which nothing falls due on RUN_DATE: every next event moved 400 days on in one
    ``UPDATE`` (``QUIET_SQL``), then settled (``settle``)."""
    from sqlalchemy import text

    from models.store import UnitOfWork

    with UnitOfWork(url) as uow:
        uow.session.execute(text(QUIET_SQL[uow.dialect]))
        uow.commit()
    settle(url, "loans")


def digest(url: str) -> str:
    """sha256 of tests/canonical.py's canonical dump (no surrogate ids, no timestamps)."""
    from tests.canonical import canonical_dump

    h = hashlib.sha256()
    for table, rows in sorted(canonical_dump(url).items()):
        h.update(f"{table}\n".encode())
        for row in rows:
            h.update(repr(row).encode() + b"\n")
    return h.hexdigest()


# --- scratch databases --------------------------------------------------------------------------


class SqliteScratch:
    """Database files in the work folder; a copy is sqlite3's online backup of the source."""

    label = "SQLite"
    dialect = "sqlite"

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _path(self, url: str) -> str:
        return url.removeprefix("sqlite:///")

    def new(self, step: str) -> str:
        from models import store

        url = f"sqlite:///{self.folder / f'{step}.db'}"
        store.engine_for(url)  # migrated, empty
        return url

    def copy(self, source: str, step: str) -> str:
        target = self.folder / f"{step}.db"
        src, dst = sqlite3.connect(self._path(source)), sqlite3.connect(target)
        try:
            src.backup(dst)
        finally:
            src.close()
            dst.close()
        return f"sqlite:///{target}"

    def drop(self, url: str) -> None:
        from models import store

        store.dispose_all()
        for suffix in ("", "-wal", "-shm"):
            Path(self._path(url) + suffix).unlink(missing_ok=True)

    def close(self) -> None:
        pass


class PostgresScratch:
    """Scratch databases ``npl_bench_<random>_<step>`` on the server of ``url`` (whose own
    database is used only to create and drop them); dropped by :meth:`close`."""

    label = "PostgreSQL"
    dialect = "postgresql"

    def __init__(self, url: str) -> None:
        from sqlalchemy import create_engine
        from sqlalchemy.engine import make_url

        from models.store import database_url

        self.base = make_url(database_url(url))
        self.prefix = f"npl_bench_{uuid.uuid4().hex[:8]}"
        self.admin = create_engine(self.base, isolation_level="AUTOCOMMIT")
        self.created: list[str] = []

    def _url(self, name: str) -> str:
        return self.base.set(database=name).render_as_string(hide_password=False)

    def _execute(self, sql: str) -> None:
        from sqlalchemy import text

        with self.admin.connect() as conn:
            conn.execute(text(sql))

    def new(self, step: str) -> str:
        from models import store

        name = f"{self.prefix}_{step}"
        self._execute(f'CREATE DATABASE "{name}"')
        self.created.append(name)
        url = self._url(name)
        store.engine_for(url)  # migrated, empty
        return url

    def copy(self, source: str, step: str) -> str:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import OperationalError

        from models import store

        name, template = f"{self.prefix}_{step}", make_url(source).database
        store.dispose_all()  # a template must have no open connections
        for attempt in range(10):
            try:
                self._execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
                break
            except OperationalError:  # a backend of a closed connection may still be exiting
                if attempt == 9:
                    raise
                time.sleep(0.5)
        self.created.append(name)
        return self._url(name)

    def drop(self, url: str) -> None:
        from sqlalchemy.engine import make_url

        from models import store

        name = make_url(url).database
        store.dispose_all()
        self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.created.remove(name)

    def close(self) -> None:
        from models import store

        store.dispose_all()
        for name in list(self.created):
            try:
                self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                self.created.remove(name)
            except Exception as exc:  # report and go on dropping the others
                print(f"  could not drop scratch database {name}: {exc}", file=sys.stderr)
        self.admin.dispose()


# --- CPU ------------------------------------------------------------------------------------------

_TICK = os.sysconf("SC_CLK_TCK")


def _proc_stat(pid: int | str) -> tuple[str, list[str]] | None:
    """(command name, the fields after it) of /proc/<pid>/stat, None if the process is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.index("(") + 1 : stat.rindex(")")], stat[stat.rindex(")") + 2 :].split()


def _proc_cpu(pid: int) -> float | None:
    """utime + stime of a local process in seconds (None if it is not a local postgres process)."""
    stat = _proc_stat(pid)
    if stat is None or stat[0] != "postgres":
        return None
    return (int(stat[1][11]) + int(stat[1][12])) / _TICK  # fields 14 and 15 of proc(5)


def live_children_cpu() -> float:
    """CPU of this process's live child processes (the temporary Prefect server): shown beside
    the figures, not counted in them."""
    total, me = 0, str(os.getpid())
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _proc_stat(entry.name)) is not None and stat[1][1] == me:
            total += int(stat[1][11]) + int(stat[1][12])
    return total / _TICK


class BackendCpu:
    """CPU of the PostgreSQL backends serving this process's connections: each pooled DBAPI
    connection's backend pid (psycopg's ``info.backend_pid``) is read from /proc when asked,
    and one last time as the connection closes."""

    def __init__(self) -> None:
        from sqlalchemy import event
        from sqlalchemy.pool import Pool

        self.live: set[int] = set()
        self.closed = 0.0
        self.available = True
        event.listen(Pool, "connect", self._connect)
        event.listen(Pool, "close", self._close)

    def _connect(self, dbapi_connection: Any, record: Any) -> None:
        pid = getattr(getattr(dbapi_connection, "info", None), "backend_pid", None)
        if pid:
            record.info["backend_pid"] = pid
            self.live.add(pid)

    def _close(self, _dbapi_connection: Any, record: Any) -> None:
        pid = record.info.pop("backend_pid", None)
        if pid in self.live:
            self.live.discard(pid)
            cpu = _proc_cpu(pid)
            self.available &= cpu is not None
            self.closed += cpu or 0.0

    def total(self) -> float | None:
        cpus = [_proc_cpu(pid) for pid in self.live]
        if not self.available or any(c is None for c in cpus):
            self.available = False  # a remote server: its processes are not ours to read
            return None
        return self.closed + sum(cpus)  # type: ignore[arg-type]


def python_cpu() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


@dataclass
class Step:
    seconds: float = 0.0
    python_cpu: float = 0.0
    backend_cpu: float | None = None
    cases: int = 0
    transitions: int = 0
    dates: int = 0
    prefect_server_cpu: float = 0.0  # the temporary Prefect server's CPU during the step (not in the figures)

    def cpu_per_case_ms(self) -> str:
        if not self.cases:
            return "–"
        total = self.python_cpu + (self.backend_cpu or 0.0)
        per = lambda s: 1000 * s / self.cases  # noqa: E731
        if self.backend_cpu is None:
            return f"{per(total):.2f} ms"
        return f"{per(total):.2f} ms (Python {per(self.python_cpu):.2f} + PostgreSQL {per(self.backend_cpu):.2f})"

    def log(self) -> str:
        return (f"{self.cases:,} cases judged, {self.transitions:,} transitions, CPU {self.cpu_per_case_ms()} a case; "
                f"Prefect server {self.prefect_server_cpu:.1f} CPU-s")


@contextmanager
def measured(step: Step, backends: BackendCpu | None) -> Iterator[Step]:
    b0 = backends.total() if backends else None
    s0, c0, t0 = live_children_cpu(), python_cpu(), time.perf_counter()
    yield step
    step.seconds = time.perf_counter() - t0
    step.python_cpu = python_cpu() - c0
    step.prefect_server_cpu = live_children_cpu() - s0
    b1 = backends.total() if backends else None
    step.backend_cpu = b1 - b0 if b0 is not None and b1 is not None else None


@dataclass
class Row:
    backend: str
    loans: int
    import_s: float = 0.0
    guarantors: int = 0
    first: Step = field(default_factory=Step)
    one: Step = field(default_factory=Step)
    catch_up: Step = field(default_factory=Step)
    quiet: Step = field(default_factory=Step)
    rss_mb: float = 0.0
    days: int = 30  # business dates in the catch-up (and after the first date, for the digest)
    digest: str | None = None


HEADER = ("| backend | loans | import | first date after the import | CPU per due case | a steady-state date | CPU per due case "
          "| `--through` catch-up | CPU per due case | a date with nothing due | peak RSS |")


def table_line(row: Row) -> str:
    f, o, c, q = row.first, row.one, row.catch_up, row.quiet

    def ran(step: Step, text: str) -> str:
        return text if step.seconds else "not run"

    return (f"| {row.backend} | {row.loans:,} | {row.import_s:.1f} s | {f.seconds:.1f} s ({f.cases:,} cases, {f.transitions:,} transitions) "
            f"| {f.cpu_per_case_ms()} | {ran(o, f'{o.seconds:.2f} s ({o.cases:,} cases, {o.transitions:,} transitions)')} | {ran(o, o.cpu_per_case_ms())} "
            f"| {ran(c, f'{c.seconds:.1f} s ({c.dates} dates, {c.seconds / max(c.dates, 1):.2f} s a date, {c.transitions:,} transitions)')} | {ran(c, c.cpu_per_case_ms())} "
            f"| {ran(q, f'{q.seconds:.2f} s')} | {row.rss_mb:.0f} MB |")


def print_table(rows: list[Row]) -> None:
    print(HEADER)
    print("|" + "---|" * HEADER.count(" | ") + "---|")
    for row in rows:
        print(table_line(row))
    for row in rows:
        if row.digest:
            print(f"digest ({row.backend}, {row.loans:,} loans) after {RUN_DATE} and {row.days} more dates: {row.digest}")


def load_rows(path: Path) -> list[Row]:
    rows = []
    for line in path.read_text().splitlines():
        data = json.loads(line)
        steps = {k: Step(**data.pop(k)) for k in ("first", "one", "catch_up", "quiet")}
        rows.append(Row(**data, **steps))
    return rows


# --- the run ----------------------------------------------------------------------------------------


def _terminate(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)  # unwinds through the scratch databases' cleanup


def main() -> None:
    from flows.collector import fewer_full_collections

    fewer_full_collections()  # as `npl` does for the import and the daily run
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--loans", type=int, default=100_000)
    ap.add_argument("--days", type=int, default=30, help="business dates in the --through catch-up (default 30)")
    ap.add_argument("--past-due", type=float, default=PAST_DUE, help=f"share of the book past due on {RUN_DATE} (default {PAST_DUE})")
    ap.add_argument("--db", help="a PostgreSQL URL (its server gets scratch databases; default: SQLite files in the work folder)")
    ap.add_argument("--digest", action="store_true", help="print a sha256 of the canonical dump after the first date and the 30 after it")
    ap.add_argument("--rows", type=Path, help="append this run's row (JSON) to this file")
    ap.add_argument("--table", type=Path, help="print the rows of this file as one table, and run nothing")
    ap.add_argument("--keep", action="store_true", help="keep the work folder (SQLite databases and CSV files)")
    ap.add_argument("--workers", type=int, default=1,
                    help="PostgreSQL: worker processes a date is given (NPL_WORKERS; the flow's process-pool task runner)")
    ap.add_argument("--first-date-only", action="store_true",
                    help="stop after the first business date after the import (e.g. to compare worker counts on it)")
    ap.add_argument("--per-case", action="store_true", help="every move through its case's machine (NPL_SETWISE=0): the reference")
    ap.add_argument("--book", type=Path, help="import this folder's CSV export files instead of generating a book (needs --on)")
    ap.add_argument("--on", type=date.fromisoformat,
                    help="with --book: the first business date after the import (YYYY-MM-DD); the catch-up runs the --days dates after it")
    args = ap.parse_args()
    if args.table:
        print_table(load_rows(args.table))
        return
    if args.db and not args.db.startswith("postgresql"):
        ap.error("--db takes a PostgreSQL URL (SQLite is the default)")

    if (args.book is None) != (args.on is None):
        ap.error("--book and --on go together: the folder of export files and the first business date to run on it")
    if args.book is not None and not args.book.is_dir():
        ap.error(f"--book {args.book}: no such folder")
    if args.book is not None and args.digest:
        ap.error("--digest is the synthetic book's (after its steady-state dates): not with --book")
    if args.workers > 1 and not args.db:
        ap.error("--workers needs --db: SQLite runs a date in one process")
    os.environ["NPL_WORKERS"] = str(args.workers)  # read as flows.daily is imported (its task runner)
    if args.per_case:
        os.environ["NPL_SETWISE"] = "0"

    signal.signal(signal.SIGTERM, _terminate)
    work = Path(tempfile.mkdtemp(prefix="npl-bench-"))
    os.environ["PREFECT_HOME"] = str(work / "prefect")
    from flows.prefect_env import quiet_prefect

    quiet_prefect()
    scratch = PostgresScratch(args.db) if args.db else SqliteScratch(work)
    # the workers' own connections are not this process's: with several, PostgreSQL's CPU is not counted
    backends = BackendCpu() if args.db and args.workers == 1 else None
    if args.workers > 1:
        scratch.label += f", {args.workers} workers (CPU: Python only)"
    if args.per_case:
        scratch.label += ", per-case moves"
    if args.book is not None:
        scratch.label += f", book {args.book.name}"
    try:
        row = run(args, work, scratch, backends)
    finally:
        scratch.close()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print()
    print_table([row])
    if args.rows:
        with args.rows.open("a") as f:
            f.write(json.dumps(asdict(row)) + "\n")


def run(args: argparse.Namespace, work: Path, scratch: SqliteScratch | PostgresScratch, backends: BackendCpu | None) -> Row:
    from sqlalchemy import func, select

    from flows.daily import daily_collection
    from flows.prefect_env import database_for_flows
    from models.store import UnitOfWork
    from models.tables import History, Loan

    row = Row(scratch.label, args.loans, days=args.days)
    where = f"server {scratch.base.render_as_string()}" if isinstance(scratch, PostgresScratch) else f"work folder {work}"
    first_day = args.on or RUN_DATE
    if args.book is not None:
        print(f"npl-collect benchmark: the book in {args.book}, first date {first_day}, {scratch.label}, {where}")
        files = copy_book(args.book, work)
    else:
        print(f"npl-collect benchmark: {args.loans:,} loans ({args.past_due:.0%} past due on {RUN_DATE}), {scratch.label}, {where}")
        t = time.perf_counter()
        files = generate(work, args.loans, past_due=args.past_due)
        print(f"  generate CSV                       {time.perf_counter() - t:8.1f} s")

    imported = scratch.new("import")
    t = time.perf_counter()
    rep = import_book(imported, files)
    row.import_s, row.guarantors = time.perf_counter() - t, rep.guarantors
    if args.book is not None:
        row.loans = rep.loans
    refused = len(rep.rejected)
    rejected = f", {refused:,} row{'' if refused == 1 else 's'} rejected (see the rejects files in the work folder)" if refused else ""
    print(f"  import                             {row.import_s:8.1f} s   ({rep.loans:,} loans, {rep.guarantors:,} guarantors, "
          f"{rep.loans / row.import_s:,.0f} loans/s{rejected})")
    base = None if args.book is not None else scratch.copy(imported, "steady")  # the imported book, before any date runs on it

    from prefect import flow

    @flow(name="bench-warm-up")
    def warm_up() -> None:
        return None

    t = time.perf_counter()
    warm_up()
    print(f"  Prefect server start (excluded)    {time.perf_counter() - t:8.1f} s")

    def transitions(url: str) -> int:
        with UnitOfWork(url) as uow:
            return uow.session.execute(select(func.count()).select_from(History)).scalar_one()

    @flow(name="bench-eve-publishing")
    def eve_publishing(url: str, day: date) -> None:
        """What the branch's run of ``day`` published: each officer's table (a date publishes the
        tables that changed since, as a running system does)."""
        from flows import publishing
        from machines.policy import load_policy
        from services import worklist

        with UnitOfWork(url) as uow:
            items = worklist.worklist(uow.session, day, load_policy())
        publishing.publish_officer_worklists(items, day, url)

    def on_the_eve(url: str) -> None:
        t = time.perf_counter()
        eve_publishing(url, RUN_DATE - timedelta(days=1))
        print(f"  the eve's worklists (untimed)      {time.perf_counter() - t:8.1f} s")

    def timed(step: Step, url: str, as_of: date, through: date | None = None) -> None:
        h0 = transitions(url)
        with measured(step, backends):
            with database_for_flows(url):  # the flow reads the database from its environment
                result = daily_collection(as_of=as_of, through=through)
        step.cases, step.dates = result["cases_judged"], result["dates_run"]
        step.transitions = transitions(url) - h0

    f = row.first
    timed(f, imported, first_day)
    print(f"  first business date after import   {f.seconds:8.1f} s   ({f.log()})")
    if args.book is not None:  # the dates after it on the same book: a catch-up after an outage
        if not args.first_date_only:
            c = row.catch_up
            timed(c, imported, first_day + timedelta(days=1), first_day + timedelta(days=args.days))
            label = f"{args.days} dates after it (--through)"
            print(f"  {label:<35}{c.seconds:8.1f} s   ({c.seconds / max(c.dates, 1):.2f} s a date, {c.log()})")
        scratch.drop(imported)
        row.rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"  peak RSS                           {row.rss_mb:8.0f} MB")
        return row
    assert base is not None
    scratch.drop(imported)
    if args.first_date_only:
        scratch.drop(base)
        row.rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return row

    t = time.perf_counter()
    steady_state(base)
    print(f"  steady-state setup (untimed)       {time.perf_counter() - t:8.1f} s")

    one = scratch.copy(base, "date")
    on_the_eve(one)
    o = row.one
    timed(o, one, RUN_DATE)
    print(f"  one business date                  {o.seconds:8.2f} s   ({o.log()})")

    catch_up = scratch.copy(base, "catchup")
    on_the_eve(catch_up)
    c = row.catch_up
    timed(c, catch_up, RUN_DATE, RUN_DATE + timedelta(days=args.days - 1))
    print(f"  {args.days} dates (--through)              {c.seconds:8.1f} s   ({c.seconds / max(c.dates, 1):.2f} s a date, {c.log()})")
    with UnitOfWork(catch_up) as uow:
        open_loans = uow.session.execute(select(func.count()).select_from(Loan).where(Loan.state != "closed")).scalar_one()
    scratch.drop(catch_up)

    quiet = scratch.copy(base, "quiet")
    quiet_book(quiet)
    on_the_eve(quiet)
    timed(row.quiet, quiet, RUN_DATE)
    print(f"  a date with nothing due            {row.quiet.seconds:8.2f} s   (Prefect server {row.quiet.prefect_server_cpu:.1f} CPU-s)")
    scratch.drop(quiet)
    print(f"  open cases after the catch-up      {open_loans:>10,}")
    row.rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  peak RSS                           {row.rss_mb:8.0f} MB")

    if args.digest:  # after the timings and the RSS reading: the dump is held in memory
        with database_for_flows(one):
            daily_collection(as_of=RUN_DATE + timedelta(days=1), through=RUN_DATE + timedelta(days=args.days))
        row.digest = digest(one)
    return row


if __name__ == "__main__":
    main()
