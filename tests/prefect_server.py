"""One real Prefect server (API and UI) and one ``deployments.serve`` runner per test session,
shared by tests/flows and tests/e2e (both conftests import this module's fixtures and hooks).

- Launched as soon as collection ends, when any collected test uses ``prefect_server`` or
  ``ops_runner``: they boot (~10 s) while the unit and integration tests run. Stopped at the
  end of the session (each is its own process group: the runner's flow runs go with it).
- The server: ``prefect server start`` on a free 127.0.0.1 port, its ``PREFECT_HOME`` and SQLite
  database in a temporary directory, analytics off, services the tests do not use off.
- The server runs with the Prefect server's own basic authentication on (``AUTH``, as
  ``make serve`` does with ``NPL_PREFECT_AUTH``) and CSRF protection: every client here (this
  process, the runner, its flow runs) authenticates with ``PREFECT_API_AUTH_STRING``.
- The runner: ``python -m deployments.serve`` against that server, polling every second. No flow
  takes the database as a parameter and the runner has no ``NPL_DATABASE_URL``: its flow runs
  find their database in the Prefect Secret block ``npl-database-url``, which a test points at
  its own book with ``serve_database(url)`` (a throwaway SQLite file until then).
- This process talks to the server through a settings context (as ``prefect_test_harness``
  does) entered by the fixture; ``os.environ`` carries the URL to child processes.

Logs (``prefect-server.log``, ``ops-runner.log``) stay in the printed temporary directory
when a test failed.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pytest

from deployments.serve import ROOT, LocalServer, free_port, launch_local_server, wait_healthy

FIXTURES = {"prefect_server", "ops_runner"}
AUTH = "npl-test:not-a-real-password"  # the test server's basic-authentication string (user:password)
# off: the scheduler would fill the database with the daily deployment's future runs; on:
# events (flushed every half second so tests see them quickly), triggers and actions
SERVER_ENV = {
    "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_LATE_RUNS_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_FOREMAN_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_EVENT_PERSISTER_FLUSH_INTERVAL": "0.5",
    "PREFECT_SERVER_API_AUTH_STRING": AUTH,
    "PREFECT_SERVER_CSRF_PROTECTION_ENABLED": "true",
}


@dataclass(frozen=True)
class TestServer:
    api_url: str
    ui_url: str
    home: Path
    log: Path


@dataclass(frozen=True)
class TestRunner:
    process: subprocess.Popen[bytes]
    log: Path
    db_url: str
    files_url: str = ""  # the runner's read-only reports server
    reports_dir: Path | None = None


class _Session:
    """The session's processes: launched once, stopped once."""

    def __init__(self) -> None:
        self.base: Path | None = None
        self.server: LocalServer | None = None
        self.runner: subprocess.Popen[bytes] | None = None
        self.logs: list[IO[bytes]] = []
        self.database_set = False

    def launch(self) -> None:
        if self.base is not None:
            return
        self.base = Path(tempfile.mkdtemp(prefix="npl-prefect-"))
        home = self.base / "prefect-home"
        port = free_port()
        server_log = open(self.base / "prefect-server.log", "ab")  # open while the child runs
        runner_log = open(self.base / "ops-runner.log", "ab")
        self.logs = [server_log, runner_log]
        self.server = launch_local_server(home, port, log=server_log, extra_env=SERVER_ENV)
        # the Secret block says which database; the served process speaks the default language
        # (Chinese) whatever NPL_LANG the test that happens to start it has set
        env = {k: v for k, v in os.environ.items() if k not in ("NPL_DATABASE_URL", "NPL_LANG")}
        env.update(
            PREFECT_API_URL=self.server.api_url, PREFECT_HOME=str(home), PREFECT_SERVER_ANALYTICS_ENABLED="false",
            PREFECT_RUNNER_POLL_FREQUENCY="1", PYTHONUNBUFFERED="1", NPL_PREFECT_AUTH=AUTH, PREFECT_API_AUTH_STRING=AUTH,
            NPL_FILES_PORT=str(self.files_port), NPL_REPORTS_DIR=str(self.base / "reports"),
        )
        self.runner = subprocess.Popen(  # fixed command; waits for the server itself
            [sys.executable, "-m", "deployments.serve"], cwd=ROOT, env=env, stdout=runner_log,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )

    @property
    def files_port(self) -> int:
        """The runner's read-only reports server (flows/files.py): a free port of its own."""
        if not hasattr(self, "_files_port"):
            self._files_port = free_port()
        return self._files_port

    @property
    def runner_db_url(self) -> str:
        assert self.base is not None
        return f"sqlite:///{self.base / 'runner-default.db'}"

    def server_ready(self) -> TestServer:
        self.launch()
        assert self.server is not None and self.base is not None
        wait_healthy(self.server.api_url, 120, self.server.process)
        return TestServer(self.server.api_url, self.server.ui_url, self.server.home, self.base / "prefect-server.log")

    def runner_ready(self) -> TestRunner:
        self.server_ready()
        assert self.runner is not None and self.base is not None
        log = self.base / "ops-runner.log"
        wait_until_served(log, 120, self.runner)
        if not self.database_set:
            serve_database(self.runner_db_url)
            self.database_set = True
        return TestRunner(self.runner, log, self.runner_db_url, f"http://127.0.0.1:{self.files_port}", self.base / "reports")

    def shutdown(self, keep_logs: bool) -> None:
        if self.base is None:
            return
        if self.runner is not None and self.runner.poll() is None:
            _stop_group(self.runner)
        if self.server is not None:
            self.server.stop()
        for log in self.logs:
            log.close()
        if keep_logs:
            print(f"\nPrefect server and runner logs: {self.base}", file=sys.stderr)
        else:
            shutil.rmtree(self.base, ignore_errors=True)
        self.__init__()  # type: ignore[misc]


def _stop_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the child's own process group (it and its flow runs), SIGKILL if it lingers."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)
    except ProcessLookupError:
        pass


_session = _Session()


def wait_until_served(log: Path, timeout: float, process: subprocess.Popen[bytes]) -> None:
    """Wait for ``deployments.serve`` to say "serving …": it prints that line only after every
    deployment and every automation is registered, so no test races a late registration."""
    deadline = time.monotonic() + timeout
    while True:
        text = log.read_text(errors="replace") if log.exists() else ""
        if any(line.startswith("serving ") for line in text.splitlines()):
            return
        if process.poll() is not None:
            raise RuntimeError(f"deployments.serve exited ({process.returncode}) before serving:\n{text[-3000:]}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"deployments.serve did not finish registering after {timeout:.0f} s:\n{text[-3000:]}")
        time.sleep(0.25)


def wait_for_deployment(name: str, timeout: float, process: subprocess.Popen[bytes] | None = None,
                        log: Path | None = None) -> Any:
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while True:
            try:
                return client.read_deployment_by_name(name)
            except ObjectNotFound:
                pass
            if process is not None and process.poll() is not None:
                tail = log.read_text(errors="replace")[-3000:] if log else ""
                raise RuntimeError(f"deployments.serve exited ({process.returncode}) before registering {name}:\n{tail}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"deployment {name} not registered after {timeout:.0f} s")
            time.sleep(0.25)


def serve_database(url: str) -> None:
    """Point the served flow runs at ``url`` (the Secret block ``npl-database-url``; a flow run
    reads it when it starts)."""
    from prefect.blocks.system import Secret

    from flows.prefect_env import DATABASE_SECRET_BLOCK

    Secret(value=url).save(DATABASE_SECRET_BLOCK, overwrite=True)


def _drain_workers() -> None:
    """Flush logs and events this process still holds before the server goes away."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    try:
        APILogWorker.drain_all(timeout=5)
    except RuntimeError:
        pass
    EventsWorker.drain_all(timeout=5)


# --- hooks (each conftest re-exports them; both calls are idempotent) ------------------------------


def pytest_collection_finish(session: pytest.Session) -> None:
    if any(FIXTURES & set(getattr(item, "fixturenames", ())) for item in session.items):
        _session.launch()


def pytest_sessionfinish(session: pytest.Session) -> None:
    _session.shutdown(keep_logs=bool(session.testsfailed))


# --- fixtures ------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def prefect_server() -> Iterator[TestServer]:
    """The session's Prefect server (API and UI); this process's PREFECT_API_URL points at it."""
    import prefect.context
    from prefect.settings import (
        PREFECT_API_AUTH_STRING,
        PREFECT_API_URL,
        PREFECT_HOME,
        PREFECT_SERVER_ANALYTICS_ENABLED,
        temporary_settings,
    )

    server = _session.server_ready()
    saved = {k: os.environ.get(k) for k in ("PREFECT_API_URL", "PREFECT_HOME", "PREFECT_API_AUTH_STRING")}
    os.environ.update(PREFECT_API_URL=server.api_url, PREFECT_HOME=str(server.home), PREFECT_API_AUTH_STRING=AUTH)
    with ExitStack() as stack:
        stack.enter_context(temporary_settings(updates={
            PREFECT_API_URL: server.api_url, PREFECT_HOME: str(server.home), PREFECT_SERVER_ANALYTICS_ENABLED: False,
            PREFECT_API_AUTH_STRING: AUTH,
        }))
        stack.enter_context(prefect.context._temporary_global_settings_context(prefect.context.get_settings_context()))
        yield server
        _drain_workers()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def ops_runner(prefect_server: TestServer) -> TestRunner:
    """``python -m deployments.serve`` serving every deployment against the session's server."""
    return _session.runner_ready()
