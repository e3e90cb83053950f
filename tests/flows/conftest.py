"""Flows tests run against the session's real Prefect server and its served deployments
(tests/prefect_server.py: one server and one runner per session, shared with tests/e2e)."""

from prefect_server import (  # noqa: F401 - fixtures and hooks
    ops_runner,
    prefect_server,
    pytest_collection_finish,
    pytest_sessionfinish,
)
