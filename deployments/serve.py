"""Local operations: every deployment served from one process (``make serve``).

    python -m deployments.serve

With ``PREFECT_API_URL`` unset this first starts a local Prefect server (SQLite, its home under
``./var/prefect`` or ``$NPL_PREFECT_HOME``, UI at http://127.0.0.1:4200 or ``$NPL_PREFECT_PORT``)
and stops it on exit (reusing one already answering on that port); with it set, it serves
against that server (waiting up to ``$NPL_PREFECT_WAIT_S`` seconds for it to answer). Then it registers and serves:

- ``daily-collection/scheduled``  cron ``$NPL_DAILY_CRON`` (default ``0 6 * * *``) in
  ``$NPL_TIMEZONE`` (default ``Asia/Shanghai``); one run at a time, a colliding run cancelled
- ``manual-escalation/ops``       manual moves, approvals by a second person in the UI
- ``record-payment/ops``, ``record-visit/ops``, ``record-demand/ops``, ``record-cost/ops``,
  ``sign-installment-plan/ops``, ``record-judgment/ops``, ``record-enforcement/ops``,
  ``take-asset/ops``, ``dispose-asset/ops``
- ``portfolio-report/ops``        also run by the automation on ``npl.deadline.at_risk``

and creates (or updates) the automations in ``AUTOMATIONS``. Flow runs use
``$NPL_DATABASE_URL`` (the flows' ``db_url`` parameter overrides it).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import IO, Any
from uuid import UUID

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PREFECT_HOME = ROOT / "var" / "prefect"
DEFAULT_PORT = 4200

DAILY_CRON = "0 6 * * *"
TIMEZONE = "Asia/Shanghai"
OPS = "ops"

logger = logging.getLogger("npl.serve")


# --- a local Prefect server -------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def is_healthy(api_url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(f"{api_url}/health", timeout=timeout) as response:  # noqa: S310 - local URL
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


@dataclass
class LocalServer:
    """A ``prefect server start`` child process (its own process group) and its API URL."""

    process: subprocess.Popen[bytes]
    api_url: str
    home: Path

    @property
    def ui_url(self) -> str:
        return self.api_url.removesuffix("/api")

    def stop(self, timeout: float = 15.0) -> None:
        if self.process.poll() is not None:
            return
        pgid = self.process.pid  # started with start_new_session: the group is ours alone
        try:
            os.killpg(pgid, signal.SIGTERM)
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(pgid, signal.SIGKILL)
            self.process.wait(timeout=timeout)
        except ProcessLookupError:
            pass


def server_env(home: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env.update(
        PREFECT_HOME=str(home),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT="false",
    )
    env.update(extra or {})
    return env


def launch_local_server(
    home: Path, port: int | None = None, *, log: IO[bytes] | None = None, extra_env: dict[str, str] | None = None,
) -> LocalServer:
    """Start ``prefect server start`` on 127.0.0.1 (SQLite under ``home``); do not wait."""
    home.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    prefect_cli = Path(sys.executable).with_name("prefect")
    command = [str(prefect_cli) if prefect_cli.exists() else "prefect", "server", "start",
               "--host", "127.0.0.1", "--port", str(port)]
    api_url = f"http://127.0.0.1:{port}/api"
    # the UI asks its browser to call PREFECT_UI_API_URL (default: port 4200, whatever --port says)
    env = server_env(home, {"PREFECT_SERVER_API_HOST": "127.0.0.1", "PREFECT_SERVER_API_PORT": str(port),
                            "PREFECT_UI_API_URL": api_url, **(extra_env or {})})
    process = subprocess.Popen(  # noqa: S603 - fixed command
        command, env=env, stdout=log or subprocess.DEVNULL, stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL, start_new_session=True,
    )
    return LocalServer(process, api_url, home)


def wait_healthy(api_url: str, timeout: float, process: subprocess.Popen[bytes] | None = None) -> None:
    """Wait until the server answers its health check (``process``: fail early if it exits)."""
    deadline = time.monotonic() + timeout
    while not is_healthy(api_url, timeout=1.0):
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"prefect server exited with code {process.returncode} before it was healthy")
        if time.monotonic() > deadline:
            raise TimeoutError(f"prefect server on {api_url} not healthy after {timeout:.0f} s")
        time.sleep(0.25)


def start_local_server(
    home: Path, port: int | None = None, *, log: IO[bytes] | None = None, timeout: float = 60.0,
    extra_env: dict[str, str] | None = None,
) -> LocalServer:
    """Start ``prefect server start`` on 127.0.0.1 (SQLite under ``home``) and wait until healthy."""
    server = launch_local_server(home, port, log=log, extra_env=extra_env)
    try:
        wait_healthy(server.api_url, timeout, server.process)
    except BaseException:
        server.stop()
        raise
    return server


# --- deployments ---------------------------------------------------------------------------------------


def _optional_flow(module: str, name: str) -> Any | None:
    """A flow from a module that may not be written yet (only that module's absence is excused)."""
    import importlib

    try:
        return getattr(importlib.import_module(module), name)
    except ModuleNotFoundError as exc:
        if exc.name != module:
            raise
        logger.warning("%s is missing: its deployment is not served", module)
        return None


def daily_concurrency() -> Any:
    from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy

    return ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW)


def build_deployments() -> list[Any]:
    """Every deployment this process serves (RunnerDeployments, not yet registered)."""
    from prefect.deployments.runner import EntrypointType
    from prefect.schedules import Cron

    from flows.operations import EVENT_FLOWS, manual_escalation

    module_path = EntrypointType.MODULE_PATH  # "flows.operations.manual_escalation": no file paths
    deployments = []
    daily = _optional_flow("flows.daily", "daily_collection")
    if daily is not None:
        deployments.append(daily.to_deployment(
            "scheduled",
            schedules=[Cron(os.environ.get("NPL_DAILY_CRON", DAILY_CRON), timezone=os.environ.get("NPL_TIMEZONE", TIMEZONE))],
            concurrency_limit=daily_concurrency(),
            description="The daily collection run for each business date (catches up missed dates in order).",
            tags=["npl", "daily"],
            entrypoint_type=module_path,
        ))
    deployments.append(manual_escalation.to_deployment(
        OPS, description="Manual escalation; litigation, write-off and revitalization wait for a second person's approval.",
        tags=["npl", "ops"], entrypoint_type=module_path,
    ))
    for event_flow in EVENT_FLOWS:
        deployments.append(event_flow.to_deployment(OPS, tags=["npl", "ops"], entrypoint_type=module_path))
    report = _optional_flow("flows.reports", "portfolio_report")
    if report is not None:
        deployments.append(report.to_deployment(
            OPS, tags=["npl", "report"], entrypoint_type=module_path,
            concurrency_limit=daily_concurrency(),  # a burst of triggers makes one report
        ))
    return deployments


def full_name(deployment: Any) -> str:
    return f"{deployment.flow_name}/{deployment.name}"


# --- automations ---------------------------------------------------------------------------------------

# name → (event it reacts to, deployment it runs, parameters). The trigger fires on the first
# matching event, then stays quiet for REPORT_QUIET: one daily run's burst of per-loan
# `npl.deadline.at_risk` events makes one report.
REPORT_QUIET = timedelta(minutes=30)
AUTOMATIONS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "npl-deadline-at-risk-report": ("npl.deadline.at_risk", "portfolio-report/ops", {}),
}


def automation_spec(name: str, deployment_id: UUID) -> Any:
    from prefect.events.actions import RunDeployment
    from prefect.events.schemas.automations import AutomationCore, EventTrigger, Posture

    event, deployment, parameters = AUTOMATIONS[name]
    return AutomationCore(
        name=name,
        description=f"On {event}, run {deployment} (created by deployments/serve.py).",
        trigger=EventTrigger(
            expect={event}, match={"prefect.resource.id": "npl.*"}, posture=Posture.Reactive,
            threshold=1, within=REPORT_QUIET,
        ),
        actions=[RunDeployment(source="selected", deployment_id=deployment_id, parameters=parameters)],
    )


def ensure_automations(deployment_ids: dict[str, UUID]) -> dict[str, UUID]:
    """Create each automation whose deployment is served, or update it in place (idempotent:
    one automation per name however often this runs)."""
    from prefect.client.orchestration import get_client

    ensured: dict[str, UUID] = {}
    with get_client(sync_client=True) as client:
        for name, (_event, deployment, _parameters) in AUTOMATIONS.items():
            if deployment not in deployment_ids:
                logger.warning("automation %s skipped: %s is not served", name, deployment)
                continue
            spec = automation_spec(name, deployment_ids[deployment])
            existing = client.read_automations_by_name(name)
            if existing:
                keep, *duplicates = existing
                client.update_automation(keep.id, spec)
                for extra in duplicates:
                    client.delete_automation(extra.id)
                ensured[name] = keep.id
            else:
                ensured[name] = client.create_automation(spec)
    return ensured


# --- main --------------------------------------------------------------------------------------------


def serve_all(limit: int | None = None) -> None:
    """Register every deployment and the automations, then serve until interrupted."""
    from prefect.runner import Runner
    from prefect.exceptions import TerminationSignal

    runner = Runner(name="npl-ops", pause_on_shutdown=True, limit=limit)
    ids = {full_name(d): runner.add_deployment(d) for d in build_deployments()}
    ensure_automations(ids)
    print("serving " + ", ".join(sorted(ids)), flush=True)
    try:
        asyncio.run(runner.start())
    except (KeyboardInterrupt, TerminationSignal):
        logger.info("shutting down")


def _exit_on_sigterm(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)  # unwinds through `finally`: the local server is stopped too


def main() -> None:
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logger.setLevel(logging.INFO)
    os.chdir(ROOT)  # flow runs import flows.* from the repository root
    if os.environ.get("PREFECT_API_URL"):  # a server started alongside may still be booting
        wait_healthy(os.environ["PREFECT_API_URL"].rstrip("/"), float(os.environ.get("NPL_PREFECT_WAIT_S", "120")))
        serve_all()
        return
    home = Path(os.environ.get("NPL_PREFECT_HOME") or DEFAULT_PREFECT_HOME)
    port = int(os.environ.get("NPL_PREFECT_PORT", DEFAULT_PORT))
    api_url = f"http://127.0.0.1:{port}/api"
    server: LocalServer | None = None
    if is_healthy(api_url):
        print(f"using the Prefect server already running at {api_url}", flush=True)
    else:
        log_path = home / "server.log"
        home.mkdir(parents=True, exist_ok=True)
        with open(log_path, "ab") as log:
            server = start_local_server(home, port, log=log)
        print(f"Prefect server (log: {log_path}) — UI at {server.ui_url}", flush=True)
    os.environ["PREFECT_API_URL"] = api_url
    os.environ["PREFECT_HOME"] = str(home)  # results of suspended runs, for the flow runs too
    from prefect.settings import PREFECT_API_URL, PREFECT_HOME, temporary_settings

    try:
        with temporary_settings(updates={PREFECT_API_URL: api_url, PREFECT_HOME: str(home)}):
            serve_all()
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
