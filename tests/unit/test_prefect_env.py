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
