"""Prefect settings for the command line: quiet, no analytics, a temporary server when no API URL."""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Iterator


def quiet_prefect() -> None:
    """Set before prefect is imported: no analytics, logs at WARNING unless asked otherwise."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_LOGGING_TO_API_ENABLED", "true")
    # a first start migrates the temporary server's database: give it time on a busy machine
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")


@contextmanager
def command_line_run() -> Iterator[None]:
    """Settings for flow runs started from the command line (``npl``, the demo, the benchmark).

    Without ``PREFECT_API_URL`` the runs report to a temporary server that ends with the process,
    so they send no heartbeats: heartbeats let a long-lived server notice a crashed run, and
    stopping their thread costs up to a second per flow run. With a server, nothing changes."""
    from prefect.settings import get_current_settings, temporary_settings

    if get_current_settings().api.url:
        yield
        return
    with temporary_settings(updates={"flows.heartbeat_frequency": None}):
        yield
