"""Local operations: every deployment served from one process (``make serve``).

    python -m deployments.serve

With ``PREFECT_API_URL`` unset this first starts a local Prefect server (SQLite, its home under
``./var/prefect`` or ``$NPL_PREFECT_HOME``, UI at http://127.0.0.1:4200 or ``$NPL_PREFECT_PORT``)
and stops it on exit (reusing one already answering on that port); with it set, it serves
against that server (waiting up to ``$NPL_PREFECT_WAIT_S`` seconds for it to answer). Then it registers and serves:

- ``daily-collection/scheduled``  cron ``$NPL_DAILY_CRON`` (default ``0 6 * * *``) in
  ``$NPL_TIMEZONE`` (default ``Asia/Shanghai``); one run at a time, a colliding run cancelled;
  it waits for a missing night's export (``wait_for_export``, policy ``[feed]``)
- ``ingest-export/ops``           ingest the inbox, a folder in it or named files of it, by hand
- ``manual-escalation/ops``       manual moves, approvals by a second person in the UI
- ``record-payment/ops``, ``record-visit/ops``, ``record-demand/ops``, ``record-filing/ops``, ``record-cost/ops``,
  ``sign-installment-plan/ops``, ``record-judgment/ops``, ``record-enforcement/ops``,
  ``take-asset/ops``, ``dispose-asset/ops``, ``demand-letters/ops``, ``record-service/ops``
- ``portfolio-report/ops``        also run by the automation on ``npl.deadline.at_risk``
- ``case-lookup/ops``             one case on one page (flows/case_lookup.py)
- ``pending-approvals/ops``       the approval inbox refreshed (flows/approvals.py)

It also serves the reports folder read-only over HTTP on loopback (flows/files.py;
``$NPL_FILES_HOST``/``$NPL_FILES_PORT``, default 127.0.0.1:4280, ``off`` to disable) and, when a
webhook block exists (``$NPL_WEBHOOK_URL``), the notification automations in ``NOTIFY``.

and creates (or updates) the automations in ``AUTOMATIONS``. While it serves its local server, it
leaves that server's API URL in ``server.json`` under its home, so that ``npl daily`` and ``npl report`` reuse this
server instead of starting a temporary one (flows/local_server.py). Flow runs use
``$NPL_DATABASE_URL``, else the Prefect Secret block ``npl-database-url`` (never a flow
parameter: Prefect shows parameters to anyone who reaches its API).

API authentication (issue 16 part 5): with ``$NPL_PREFECT_AUTH`` (or
``$PREFECT_SERVER_API_AUTH_STRING``) set to ``user:password``, the local server is started with
the Prefect server's own basic authentication (``PREFECT_SERVER_API_AUTH_STRING``: every API
call but the health check without that ``Authorization: Basic`` header is refused with 401; the
UI asks for the string once) and CSRF protection (``PREFECT_SERVER_CSRF_PROTECTION_ENABLED``),
and this process and its flow runs authenticate with ``PREFECT_API_AUTH_STRING``. For a server
of one's own (``PREFECT_API_URL`` set), set those two settings on it and give this process
``PREFECT_API_AUTH_STRING``. In production the UI sits behind the bank's sign-on (README).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from datetime import timedelta
from typing import Any
from uuid import UUID

from flows.local_server import (  # noqa: F401 - also used by the test harness
    DEFAULT_PORT, DEFAULT_PREFECT_HOME, ROOT, LocalServer, clear_state, free_port, is_healthy, launch_local_server,
    prefect_home, server_env, start_local_server, wait_healthy, write_state,
)

DAILY_CRON = "0 6 * * *"
TIMEZONE = "Asia/Shanghai"
OPS = "ops"

logger = logging.getLogger("npl.serve")


# --- deployments ---------------------------------------------------------------------------------------


def daily_concurrency() -> Any:
    from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy

    return ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW)


def build_deployments() -> list[Any]:
    """Every deployment this process serves (RunnerDeployments, not yet registered), their
    descriptions and forms in the chosen language (flows.forms, NPL_LANG)."""
    from prefect.deployments.runner import EntrypointType
    from prefect.schedules import Cron

    from flows.approvals import pending_approvals
    from flows.case_lookup import case_lookup
    from flows.daily import daily_collection
    from flows.feed import ingest_export
    from flows.forms import localize
    from flows.letters import demand_letters, record_service
    from flows.operations import EVENT_FLOWS, manual_escalation
    from flows.replay import policy_replay
    from flows.reports import portfolio_report

    module_path = EntrypointType.MODULE_PATH  # "flows.operations.manual_escalation": no file paths
    ops = {"tags": ["npl", "ops"], "entrypoint_type": module_path}
    return [localize(d) for d in (
        daily_collection.to_deployment(
            "scheduled",
            schedules=[Cron(os.environ.get("NPL_DAILY_CRON", DAILY_CRON), timezone=os.environ.get("NPL_TIMEZONE", TIMEZONE))],
            concurrency_limit=daily_concurrency(),
            parameters={"wait_for_export": True},
            tags=["npl", "daily"],
            entrypoint_type=module_path,
        ),
        manual_escalation.to_deployment(OPS, **ops),
        *(event_flow.to_deployment(OPS, **ops) for event_flow in EVENT_FLOWS),
        ingest_export.to_deployment(OPS, tags=["npl", "ops", "feed"], entrypoint_type=module_path),
        case_lookup.to_deployment(OPS, **ops),
        pending_approvals.to_deployment(OPS, **ops),
        demand_letters.to_deployment(OPS, **ops),
        record_service.to_deployment(OPS, **ops),
        policy_replay.to_deployment(OPS, tags=["npl", "report"], entrypoint_type=module_path),
        portfolio_report.to_deployment(
            OPS, tags=["npl", "report"], entrypoint_type=module_path,
            concurrency_limit=daily_concurrency(),  # a burst of triggers makes one report
        ),
    )]


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

    from flows.i18n import t

    event, deployment, parameters = AUTOMATIONS[name]
    return AutomationCore(
        name=name,
        description=t("automation.run", event=event, deployment=deployment),
        trigger=EventTrigger(
            expect={event}, match={"prefect.resource.id": "npl.*"}, posture=Posture.Reactive,
            threshold=1, within=REPORT_QUIET,
        ),
        actions=[RunDeployment(source="selected", deployment_id=deployment_id, parameters=parameters)],
    )


def upsert_automation(client: Any, name: str, spec: Any) -> UUID:
    """Create the automation ``name``, or update it in place (deleting any duplicates a crash
    left behind): serving twice never makes two."""
    existing = client.read_automations_by_name(name)
    if not existing:
        return client.create_automation(spec)
    keep, *duplicates = existing
    client.update_automation(keep.id, spec)
    for extra in duplicates:
        client.delete_automation(extra.id)
    return keep.id


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
            ensured[name] = upsert_automation(client, name, automation_spec(name, deployment_ids[deployment]))
    return ensured


# --- notifications -----------------------------------------------------------------------------------

# The work group's robot hears of these (a JSON POST {"msgtype": "text", "text": {"content": …}}):
# the webhook is a Prefect block (CustomWebhookNotificationBlock) named WEBHOOK_BLOCK, created from
# $NPL_WEBHOOK_URL when set, else as configured in the UI (Blocks); no block, no notifications.
WEBHOOK_BLOCK = "npl-work-group"
NOTIFY = {
    "npl-notify-approval-needed": ("npl.approval.needed", "notify.approval_needed"),
    "npl-notify-deadline-at-risk": ("npl.deadline.at_risk", "notify.deadline_at_risk"),
    "npl-notify-promise-broken": ("npl.promise.broken", "notify.promise_broken"),
}


def ensure_webhook_block(url: str | None = None) -> UUID | None:
    """The work group's webhook block: (re)written from ``url`` (default ``$NPL_WEBHOOK_URL``) when
    given, else the one already saved, else None."""
    from prefect.blocks.notifications import CustomWebhookNotificationBlock

    url = url or os.environ.get("NPL_WEBHOOK_URL")
    if url:
        block = CustomWebhookNotificationBlock(
            name="npl", url=url, method="POST", json_data={"msgtype": "text", "text": {"content": "{{body}}"}},
        )
        return block.save(WEBHOOK_BLOCK, overwrite=True)
    try:
        return CustomWebhookNotificationBlock.load(WEBHOOK_BLOCK)._block_document_id
    except ValueError:  # no such block
        return None


def notification_spec(name: str, block_id: UUID) -> Any:
    from prefect.events.actions import SendNotification
    from prefect.events.schemas.automations import AutomationCore, EventTrigger, Posture

    from flows.i18n import t

    event, label = NOTIFY[name]
    body = t(label) + ": {{ event.resource.id | replace('npl.loan.', '') }} {{ event.payload | tojson }}"
    return AutomationCore(
        name=name, description=t("automation.notify", event=event, block=WEBHOOK_BLOCK),
        trigger=EventTrigger(expect={event}, match={"prefect.resource.id": "npl.*"}, posture=Posture.Reactive, threshold=1,
                             within=timedelta(0)),
        actions=[SendNotification(block_document_id=block_id, subject=event, body=body)],
    )


def ensure_notifications(block_id: UUID | None = None) -> dict[str, UUID]:
    """One automation per NOTIFY entry, created or updated in place; none without a webhook block."""
    from prefect.client.orchestration import get_client

    block_id = block_id or ensure_webhook_block()
    if block_id is None:
        logger.warning("no %s webhook block (set NPL_WEBHOOK_URL): no notifications", WEBHOOK_BLOCK)
        return {}
    ensured: dict[str, UUID] = {}
    with get_client(sync_client=True) as client:
        for name in NOTIFY:
            ensured[name] = upsert_automation(client, name, notification_spec(name, block_id))
    return ensured


# --- main --------------------------------------------------------------------------------------------


def serve_all(limit: int | None = None) -> None:
    """Register every deployment and the automations, then serve until interrupted."""
    from prefect.runner import Runner
    from prefect.exceptions import TerminationSignal

    runner = Runner(name="npl-ops", pause_on_shutdown=True, limit=limit)
    ids = {full_name(d): runner.add_deployment(d) for d in build_deployments()}
    ensure_automations(ids)
    ensure_notifications()
    from flows import files

    files_server = None
    if os.environ.get("NPL_FILES_PORT", "") != "off":
        try:
            files_server = files.start()
        except OSError as exc:  # the port is taken: the flows still run, the links do not answer
            logger.warning("reports folder not served: %s", exc)
    if files_server is not None:
        host, port = files_server.server_address[:2]
        print(f"reports folder {files.reports_dir()} served read-only at http://{host}:{port}/", flush=True)
    print("serving " + ", ".join(sorted(ids)), flush=True)
    try:
        asyncio.run(runner.start())
    except (KeyboardInterrupt, TerminationSignal):
        logger.info("shutting down")
    finally:
        if files_server is not None:
            files_server.shutdown()


AUTH_ENV = "NPL_PREFECT_AUTH"


def server_auth_env() -> dict[str, str]:
    """The server's settings for basic authentication, when configured; this process and its
    children (the flow runs) get the client's side, ``PREFECT_API_AUTH_STRING``."""
    auth = os.environ.get(AUTH_ENV) or os.environ.get("PREFECT_SERVER_API_AUTH_STRING")
    if not auth:
        return {}
    user, _, password = auth.partition(":")
    if not user or not password:
        raise SystemExit(f"{AUTH_ENV} must be user:password")
    os.environ.setdefault("PREFECT_API_AUTH_STRING", auth)
    return {"PREFECT_SERVER_API_AUTH_STRING": auth, "PREFECT_SERVER_CSRF_PROTECTION_ENABLED": "true"}


def _exit_on_sigterm(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)  # unwinds through `finally`: the local server is stopped too


def main() -> None:
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logger.setLevel(logging.INFO)
    os.chdir(ROOT)  # flow runs import flows.* from the repository root
    auth_env = server_auth_env()
    if os.environ.get("PREFECT_API_URL"):  # a server started alongside may still be booting
        wait_healthy(os.environ["PREFECT_API_URL"].rstrip("/"), float(os.environ.get("NPL_PREFECT_WAIT_S", "120")))
        serve_all()  # the command line finds this server through the same PREFECT_API_URL
        return
    home = prefect_home()
    port = int(os.environ.get("NPL_PREFECT_PORT", DEFAULT_PORT))
    api_url = f"http://127.0.0.1:{port}/api"
    server: LocalServer | None = None
    if is_healthy(api_url):
        print(f"using the Prefect server already running at {api_url}", flush=True)
    else:
        log_path = home / "server.log"
        home.mkdir(parents=True, exist_ok=True)
        with open(log_path, "ab") as log:
            server = start_local_server(home, port, log=log, extra_env=auth_env)
        print(f"Prefect server (log: {log_path}) — UI at {server.ui_url}"
              + (" (basic authentication on)" if auth_env else " (no authentication: set NPL_PREFECT_AUTH=user:password)"),
              flush=True)
    os.environ["PREFECT_API_URL"] = api_url
    os.environ["PREFECT_HOME"] = str(home)  # results of suspended runs, for the flow runs too
    from prefect.settings import PREFECT_API_URL, PREFECT_HOME, temporary_settings

    write_state(home, api_url)
    try:
        with temporary_settings(updates={PREFECT_API_URL: api_url, PREFECT_HOME: str(home)}):
            serve_all()
    finally:
        clear_state(home)
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
