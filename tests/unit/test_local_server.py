"""The command line finds the server `make serve` runs through its state file, only while that
server answers; a stale or foreign state file is ignored."""

from __future__ import annotations

import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import pytest

from flows.local_server import STATE_FILE, clear_state, free_port, running_local_api, write_state


class Healthy(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # http.server's name
        self.send_response(200 if self.path == "/api/health" else 404)
        self.end_headers()
        self.wfile.write(b"true")

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def healthy_api() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Healthy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/api"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_the_state_file_of_a_server_that_answers_is_reused(tmp_path: Path, healthy_api: str) -> None:
    write_state(tmp_path, healthy_api)
    assert running_local_api(tmp_path) == healthy_api


def test_a_state_file_left_by_a_server_that_is_gone_is_ignored(tmp_path: Path) -> None:
    write_state(tmp_path, f"http://127.0.0.1:{free_port()}/api")
    assert running_local_api(tmp_path) is None


def test_no_or_a_broken_state_file_means_no_running_server(tmp_path: Path) -> None:
    assert running_local_api(tmp_path) is None
    (tmp_path / STATE_FILE).write_text("{not json", encoding="utf-8")
    assert running_local_api(tmp_path) is None


def test_a_serving_process_removes_only_its_own_state_file(tmp_path: Path, healthy_api: str) -> None:
    write_state(tmp_path, healthy_api)
    clear_state(tmp_path)
    assert not (tmp_path / STATE_FILE).exists()
    (tmp_path / STATE_FILE).write_text(json.dumps({"api_url": healthy_api, "pid": os.getpid() + 1}), encoding="utf-8")
    clear_state(tmp_path)
    assert running_local_api(tmp_path) == healthy_api
