"""The reports folder over HTTP: its files read-only, nothing outside it, no listings."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from flows import files


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "portfolio-2009-02-01.xlsx").write_bytes(b"PK workbook")
    (tmp_path / "secret.txt").write_text("not for the web")
    (reports / "escape").symlink_to(tmp_path / "secret.txt")
    server = files.start(reports, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", reports
    finally:
        server.shutdown()
        server.server_close()


def status(url: str, method: str = "GET") -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method=method), timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_a_file_of_the_reports_folder_is_served(served: tuple[str, Path]) -> None:
    base, _ = served
    with urllib.request.urlopen(f"{base}/portfolio-2009-02-01.xlsx", timeout=5) as response:
        assert response.read() == b"PK workbook"


@pytest.mark.parametrize("path", ["/../secret.txt", "/%2e%2e/secret.txt", "/escape", "/", "/nothing.xlsx"])
def test_nothing_outside_the_folder_and_no_listing(served: tuple[str, Path], path: str) -> None:
    base, _ = served
    assert status(base + path) == 404


def test_the_server_is_read_only(served: tuple[str, Path]) -> None:
    base, _ = served
    assert status(f"{base}/portfolio-2009-02-01.xlsx", "POST") == 405
    assert status(f"{base}/new.xlsx", "PUT") == 405


def test_a_link_names_the_configured_host_and_port(served: tuple[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    _, reports = served
    monkeypatch.setenv("NPL_REPORTS_DIR", str(reports))
    monkeypatch.setenv("NPL_FILES_HOST", "127.0.0.1")
    monkeypatch.setenv("NPL_FILES_PORT", "4999")
    assert files.url_of(reports / "portfolio 1.xlsx") == "http://127.0.0.1:4999/portfolio%201.xlsx"
