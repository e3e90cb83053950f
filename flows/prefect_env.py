"""Prefect settings for the command line: quiet, no analytics, a temporary server when no API URL."""

from __future__ import annotations

import os


def quiet_prefect() -> None:
    """Set before prefect is imported: no analytics, logs at WARNING unless asked otherwise."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_LOGGING_TO_API_ENABLED", "true")
    # a first start migrates the temporary server's database: give it time on a busy machine
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
