"""Flow runs started from the command line send heartbeats only to a server that outlives them."""

from __future__ import annotations

import os

from prefect.settings import get_current_settings, temporary_settings

from flows.prefect_env import command_line_run


def test_without_a_server_command_line_runs_send_no_heartbeats() -> None:
    with temporary_settings(updates={"api.url": None, "flows.heartbeat_frequency": 180}):
        with command_line_run():
            assert get_current_settings().flows.heartbeat_frequency is None
        assert get_current_settings().flows.heartbeat_frequency == 180


def test_with_a_server_command_line_runs_keep_their_heartbeats() -> None:
    with temporary_settings(updates={"api.url": "http://127.0.0.1:4200/api", "flows.heartbeat_frequency": 180}):
        with command_line_run():
            assert get_current_settings().flows.heartbeat_frequency == 180


def test_command_line_api_calls_are_bounded_by_prefects_own_timeout_settings(monkeypatch) -> None:
    from flows.prefect_env import quiet_prefect

    env = {k: v for k, v in os.environ.items() if k not in ("PREFECT_API_REQUEST_TIMEOUT", "PREFECT_CLIENT_MAX_RETRIES")}
    monkeypatch.setattr(os, "environ", env)  # quiet_prefect's defaults stay inside this test
    quiet_prefect()
    assert float(os.environ["PREFECT_API_REQUEST_TIMEOUT"]) <= 30
    assert int(os.environ["PREFECT_CLIENT_MAX_RETRIES"]) <= 2


def test_an_explicit_timeout_setting_wins(monkeypatch) -> None:
    from flows.prefect_env import quiet_prefect

    monkeypatch.setattr(os, "environ", {**os.environ, "PREFECT_API_REQUEST_TIMEOUT": "5"})
    quiet_prefect()
    assert os.environ["PREFECT_API_REQUEST_TIMEOUT"] == "5"


def test_the_command_lines_prefect_defaults_take_effect_though_flows_is_imported_first() -> None:
    """Prefect fixes its settings as it is imported: ``npl`` imports ``flows`` before it calls
    quiet_prefect, so flows must not import prefect (a temporary server's first start was given
    Prefect's 20 s, and a fresh machine's first benchmark timed out)."""
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    script = ("import flows.cli\n"
              "from flows.prefect_env import quiet_prefect\nquiet_prefect()\n"
              "from prefect.settings import get_current_settings\ns = get_current_settings()\n"
              "print(s.server.ephemeral.startup_timeout_seconds, s.api.request_timeout, s.client.max_retries)\n")
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True).stdout.split()
    assert out == ["120", "20.0", "2"]
