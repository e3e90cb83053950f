"""Prefect without open doors (issue 16 part 5), against the session's real server and runner:

- the API refuses a call without the basic-authentication string (401) and answers one with it;
- no database URL or password lands in any Prefect record: a daily run and a report from the
  command line (``--db``), an operation called in-process and one served by the runner (which
  finds its database in the Secret block), all on a PostgreSQL database reached as a role whose
  password is a marker; then every flow run (parameters, state messages), task run, artifact,
  event and log the server holds is searched for the marker, and none has it.
"""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from flows.cli import app
from models import store
from services.importing import import_paths
from tests.conftest import PG_ADMIN_URL
from tests.prefect_server import AUTH, serve_database

DEMO = Path(__file__).resolve().parents[2] / "demo" / "data"
MARKER = "s3cr3t-marker"


def test_an_api_call_without_the_auth_string_is_refused_and_one_with_it_answers(prefect_server: Any) -> None:
    api = prefect_server.api_url
    user, _, password = AUTH.partition(":")
    assert httpx.get(f"{api}/admin/version", timeout=10).status_code == 401
    assert httpx.get(f"{api}/admin/version", auth=(user, "wrong"), timeout=10).status_code == 401
    # nobody lists the runs: a POST without a CSRF token is refused (403) before its credentials are even read
    assert httpx.post(f"{api}/flow_runs/filter", json={}, timeout=10).status_code in (401, 403)
    assert httpx.post(f"{api}/flow_runs/filter", json={}, headers={"Prefect-Csrf-Client": "x", "Prefect-Csrf-Token": "y"},
                      timeout=10).status_code in (401, 403)
    answered = httpx.get(f"{api}/admin/version", auth=(user, password), timeout=10)
    assert answered.status_code == 200 and answered.json()
    assert httpx.get(f"{api}/health", timeout=10).status_code == 200  # the health check stays open (probes)


@pytest.fixture
def marked_database() -> Iterator[str]:
    """A PostgreSQL database owned by a role whose password contains MARKER, reached by password over 127.0.0.1."""
    suffix = uuid.uuid4().hex[:8]
    role, name, password = f"npl_marked_{suffix}", f"npl_marked_{suffix}", f"{MARKER}-{suffix}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'"))
        conn.execute(text(f'CREATE DATABASE "{name}" OWNER {role}'))
    try:
        yield f"postgresql+psycopg://{role}:{password}@127.0.0.1:5432/{name}"
    finally:
        store.dispose_all()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f"DROP ROLE IF EXISTS {role}"))
        admin.dispose()


def _everything_prefect_holds(since: datetime) -> Iterator[tuple[str, str]]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.sorting import FlowRunSort
    from prefect.events.filters import EventFilter, EventOccurredFilter

    with get_client(sync_client=True) as client:
        offset = 0
        while page := client.read_flow_runs(sort=FlowRunSort.START_TIME_DESC, limit=200, offset=offset):
            for run in page:
                yield f"flow run {run.name}", run.model_dump_json()
            offset += len(page)
        offset = 0
        while page := client.read_task_runs(limit=200, offset=offset):
            for task_run in page:
                yield f"task run {task_run.name}", task_run.model_dump_json()
            offset += len(page)
        for artifact in client.read_artifacts():
            yield f"artifact {artifact.key}", artifact.model_dump_json()
        offset = 0
        while page := client.read_logs(limit=200, offset=offset):
            for log in page:
                yield "log", log.model_dump_json()
            offset += len(page)
        events = client.read_events(filter=EventFilter(occurred=EventOccurredFilter(since=since)), limit=50)
        while True:
            for event in events.events:
                yield f"event {event.event}", event.model_dump_json()
            if not events.next_page:
                break
            events = client.read_events_page(str(events.next_page))
        for deployment in client.read_deployments():
            yield f"deployment {deployment.name}", json.dumps(deployment.model_dump(mode="json"))


def test_no_database_password_in_any_flow_run_task_run_artifact_event_or_log(ops_runner: Any, marked_database: str,
                                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from flows import operations
    from tests.flows.test_operations import is_final, wait_for
    from prefect.deployments import run_deployment

    since = datetime.now(timezone.utc) - timedelta(minutes=1)
    url = marked_database
    assert not import_paths(url, [DEMO / "loans.csv", DEMO / "guarantors.csv", DEMO / "collateral.csv"]).rejected
    cli = CliRunner()
    daily = cli.invoke(app, ["daily", "--as-of", "2008-07-01", "--through", "2008-09-30", "--db", url])
    assert daily.exit_code == 0, daily.output
    report = cli.invoke(app, ["report", "--as-of", "2008-09-30", "--db", url])
    assert report.exit_code == 0, report.output

    monkeypatch.setenv("NPL_DATABASE_URL", url)  # an operation's flow called in this process
    paid = operations.record_payment(loan_id="L-0001", amount=Decimal("100.00"), by="E-01")
    assert paid["amount"] == "100.00"
    refused = operations.record_payment(loan_id="L-0001", amount=Decimal("99999999999.00"), by="E-01", return_state=True)
    assert refused.is_failed()  # a failed run's message and logs are searched too
    monkeypatch.delenv("NPL_DATABASE_URL")

    serve_database(url)  # and one served by the runner, which reads the Secret block
    try:
        started = run_deployment("record-visit/ops", parameters={"loan_id": "L-0002", "outcome": "contacted", "by": "E-02",
                                                                 "on": date(2008, 9, 30).isoformat()}, timeout=0)
        served = wait_for(started.id, is_final)
        assert served.state.is_completed(), served.state.message
    finally:
        serve_database(ops_runner.db_url)

    from tests.prefect_server import _drain_workers

    _drain_workers()
    import time

    time.sleep(2)  # the event persister flushes every half second
    searched = 0
    for where, record in _everything_prefect_holds(since):
        searched += 1
        assert MARKER not in record, f"the database password is in a Prefect record: {where}"
        assert "postgresql+psycopg://npl_marked" not in record, f"a database URL is in a Prefect record: {where}"
    assert searched > 20  # runs, task runs, artifacts, logs and events were there to search


def test_no_flow_takes_a_database_url_and_a_run_that_passes_one_is_refused() -> None:
    from prefect.exceptions import SignatureMismatchError

    from flows import operations
    from flows.daily import daily_collection
    from flows.reports import portfolio_report

    flows = [daily_collection, portfolio_report, operations.manual_escalation, *operations.EVENT_FLOWS]
    for flow in flows:
        names = set(flow.parameters.properties)
        assert not {n for n in names if "db" in n or "url" in n or "database" in n}, (flow.name, names)
    with pytest.raises(SignatureMismatchError):  # an API caller cannot make a run open a database of their choosing
        operations.record_payment.validate_parameters({"loan_id": "L-0001", "amount": "1.00", "db_url": "sqlite:////tmp/x.db"})
