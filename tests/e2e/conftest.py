"""The UI end-to-end tests use the same Prefect server and runner as tests/flows
(tests/prefect_server.py: one of each per session)."""

from prefect_server import (  # noqa: F401 - fixtures and hooks
    ops_runner,
    prefect_server,
    pytest_collection_finish,
    pytest_sessionfinish,
)
