"""Prefect settings for the command line: quiet, no analytics, bounded waits, and which server.

Every Prefect API call a command makes is bounded by Prefect's own client settings, defaulted here
(an explicit environment variable wins):

- ``PREFECT_API_REQUEST_TIMEOUT`` (default here 20 s; Prefect's own is 60 s): one request;
- ``PREFECT_CLIENT_MAX_RETRIES`` (default here 2; Prefect's own is 5): retries of a request that
  timed out or met 429/502/503, with backoff;
- ``NPL_PREFECT_PROBE_TIMEOUT`` (default 10 s): the health check a command makes before it starts
  a flow run, so that an API which accepts connections but never answers fails fast, in one line.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Callable, Iterator

API_REQUEST_TIMEOUT_S = "20"
CLIENT_MAX_RETRIES = "2"
PROBE_TIMEOUT_S = "10"


def quiet_prefect() -> None:
    """The command line's Prefect defaults (each unless set already): no analytics, time for a
    temporary server's first start, bounded API calls. Prefect reads its settings once, as it is
    imported: call this first (importing ``flows`` does not import prefect). Run logs stay at
    Prefect's INFO, sent to the API: a run started from the command line shows its log lines in
    the UI like a served one."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_TO_API_ENABLED", "true")
    # a first start migrates the temporary server's database: give it time on a busy machine
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    # bounded waits: no API call hangs for minutes (Prefect's defaults: 60 s × 6 attempts)
    os.environ.setdefault("PREFECT_API_REQUEST_TIMEOUT", API_REQUEST_TIMEOUT_S)
    os.environ.setdefault("PREFECT_CLIENT_MAX_RETRIES", CLIENT_MAX_RETRIES)
    # the API's basic authentication (deployments/serve.py): the command line authenticates as `make serve` does
    auth = os.environ.get("NPL_PREFECT_AUTH") or os.environ.get("PREFECT_SERVER_API_AUTH_STRING")
    if auth:
        os.environ.setdefault("PREFECT_API_AUTH_STRING", auth)


def probe_timeout() -> float:
    return float(os.environ.get("NPL_PREFECT_PROBE_TIMEOUT") or PROBE_TIMEOUT_S)


@contextmanager
def command_line_run(temporary: bool | None = None) -> Iterator[None]:
    """Settings for flow runs started from the command line (``npl``, the demo, the benchmark).

    On a temporary server (``temporary``; by default: no ``PREFECT_API_URL``) the runs send no
    heartbeats: heartbeats let a long-lived server notice a crashed run, and stopping their thread
    costs up to a second per flow run. With a server that outlives the command, nothing changes."""
    from prefect.settings import get_current_settings, temporary_settings

    if temporary is None:
        temporary = not get_current_settings().api.url
    if not temporary:
        yield
        return
    with temporary_settings(updates={"flows.heartbeat_frequency": None}):
        yield


@contextmanager
def command_line_flow_run() -> Iterator[str]:
    """The Prefect API a command-line flow run reports to (flows/local_server.py chooses: the
    configured one, the one ``make serve`` runs, or a temporary one), with the settings above."""
    from flows.local_server import command_line_api

    with command_line_api(probe_timeout=probe_timeout()) as (api_url, temporary):
        with command_line_run(temporary=temporary):
            yield api_url


@contextmanager
def prefect_unavailable(report: Callable[[str], None]) -> Iterator[None]:
    """Turn "the Prefect API cannot be reached / does not answer" into ``report(one line)``."""
    import httpx
    from prefect.exceptions import PrefectHTTPStatusError

    from flows.local_server import ServerUnavailable

    try:
        yield
    except ServerUnavailable as exc:
        report(str(exc))
    except httpx.TimeoutException as exc:
        report(f"the Prefect API did not answer in time ({type(exc).__name__}; PREFECT_API_REQUEST_TIMEOUT)")
    except (httpx.HTTPError, PrefectHTTPStatusError) as exc:
        report(f"the Prefect API failed: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}")


# --- the database a flow run uses (issue 16 part 5: no database URL in any Prefect record) ---------

DATABASE_SECRET_BLOCK = "npl-database-url"


def flow_database_url() -> str:
    """The database a flow run uses: ``$NPL_DATABASE_URL``, else the Prefect Secret block
    ``npl-database-url``, else the SQLite file under ./var/. Never a flow parameter: Prefect keeps
    a run's parameters in its database and shows them in the UI and the API, to anyone who can
    reach it. The command line's ``--db`` sets the environment for the flow it runs in-process."""
    from models.store import database_url

    return database_url(os.environ.get("NPL_DATABASE_URL") or _secret_block_url())


_SECRET: dict[str, str | None] = {}  # one look-up per process: a served flow run is its own process


def _secret_block_url() -> str | None:
    if DATABASE_SECRET_BLOCK not in _SECRET:
        _SECRET[DATABASE_SECRET_BLOCK] = _load_secret_block()
    return _SECRET[DATABASE_SECRET_BLOCK]


def _load_secret_block() -> str | None:
    from prefect.blocks.system import Secret
    from prefect.exceptions import ObjectNotFound

    try:
        value = Secret.load(DATABASE_SECRET_BLOCK).get()
    except (ValueError, ObjectNotFound):  # no such block (or none of its type yet): the next default
        return None
    return str(value) if value else None


@contextmanager
def database_for_flows(url: str | None) -> Iterator[None]:
    """The command line's ``--db`` for a flow it runs in-process: set as ``$NPL_DATABASE_URL``
    for the block (never passed as a flow parameter), restored after."""
    if not url:
        yield
        return
    saved = os.environ.get("NPL_DATABASE_URL")
    os.environ["NPL_DATABASE_URL"] = url
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("NPL_DATABASE_URL", None)
        else:
            os.environ["NPL_DATABASE_URL"] = saved
