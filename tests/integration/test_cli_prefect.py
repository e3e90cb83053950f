"""How `npl daily` gets a Prefect API: the run ledger answers a completed date without one; an
API that never answers fails fast in one line; a temporary server dies with its parent, even on
kill -9. Each runs the installed `npl` (or a small parent process) as a subprocess."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path

from machines.policy import load_policy
from models.store import UnitOfWork
from services import daily

ROOT = Path(__file__).resolve().parents[2]
NPL = Path(sys.executable).with_name("npl")
DEMO = ROOT / "demo" / "data"


def clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """No configured server, no `make serve` state file, a private Prefect home."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "NPL_"))}
    env.update(PREFECT_HOME=str(tmp_path / "prefect-home"), NPL_PREFECT_HOME=str(tmp_path / "serve-home"),
               NPL_INBOX=str(tmp_path / "inbox"), **extra)
    return env


def unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_is_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def test_a_completed_date_is_answered_from_the_run_ledger_without_any_prefect_api(sqlite_db: str, tmp_path: Path) -> None:
    paths = [shutil.copy(DEMO / name, tmp_path / name) for name in ("loans.csv", "guarantors.csv", "collateral.csv")]
    subprocess.run([str(NPL), "import", *paths, "--db", sqlite_db], check=True, capture_output=True, timeout=120)
    daily.run_dates(lambda: UnitOfWork(sqlite_db), date(2008, 7, 1), date(2008, 7, 5), load_policy())
    # nothing listens there: any attempt to reach Prefect would fail the command
    env = clean_env(tmp_path, PREFECT_API_URL=f"http://127.0.0.1:{unused_port()}/api")
    done = subprocess.run([str(NPL), "daily", "--as-of", "2008-07-03", "--json", "--db", sqlite_db],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["already_done"] is True and answer["through"] == "2008-07-03" and answer["dates_run"] == 0
    assert answer["counts"] == dict.fromkeys(daily.KINDS, 0)
    assert isinstance(answer["deadlines_at_risk"], list)
    text = subprocess.run([str(NPL), "daily", "--as-of", "2008-07-05", "--db", sqlite_db],
                          env=env, capture_output=True, text=True, timeout=120)
    assert (text.returncode, text.stdout.strip()) == (0, "business date 2008-07-05 already completed: nothing changed")


def test_an_api_that_accepts_connections_but_never_answers_fails_within_30_s_in_one_line(sqlite_db: str, tmp_path: Path) -> None:
    held: list[socket.socket] = []
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    port = listener.getsockname()[1]
    stop = threading.Event()

    def accept_and_stay_silent() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept_and_stay_silent, daemon=True)
    thread.start()
    try:
        env = clean_env(tmp_path, PREFECT_API_URL=f"http://127.0.0.1:{port}/api")
        started = time.monotonic()
        done = subprocess.run([str(NPL), "daily", "--as-of", "2008-07-01", "--db", sqlite_db],
                              env=env, capture_output=True, text=True, timeout=120)
        elapsed = time.monotonic() - started
    finally:
        stop.set()
        thread.join(timeout=5)
        for conn in held:
            conn.close()
        listener.close()
    assert held, "the command never tried the API"
    assert done.returncode == 1
    assert elapsed <= 30, f"took {elapsed:.1f} s"
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("npl: ") and f"127.0.0.1:{port}" in lines[0] and "does not answer" in lines[0]
    assert "Traceback" not in done.stderr and done.stdout == ""


PARENT = """
import sys, time
from flows.local_server import command_line_api
with command_line_api() as (api_url, temporary):
    print(api_url, temporary, flush=True)
    time.sleep(600)
"""


def test_a_temporary_server_dies_with_its_parent_even_on_kill_9(tmp_path: Path) -> None:
    parent = subprocess.Popen([sys.executable, "-c", PARENT], cwd=ROOT, env=clean_env(tmp_path),
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, start_new_session=True)
    try:
        assert parent.stdout is not None
        api_url, temporary = parent.stdout.readline().split()
        assert temporary == "True"
        port = int(api_url.split(":")[2].split("/")[0])
        assert not port_is_free(port), "the temporary server is not listening"
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(timeout=10)
        deadline = time.monotonic() + 20
        while not port_is_free(port) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert port_is_free(port), f"the temporary server still listens on {port} after its parent was killed"
    finally:
        if parent.poll() is None:
            os.killpg(parent.pid, signal.SIGKILL)
            parent.wait(timeout=10)
        if parent.stdout is not None:
            parent.stdout.close()
