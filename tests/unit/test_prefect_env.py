"""Flow runs started from the command line send heartbeats only to a server that outlives them."""

from __future__ import annotations

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
