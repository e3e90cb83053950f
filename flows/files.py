"""The reports folder over HTTP, read-only: the workbooks and charts the report run links to
from its artifacts. Started by ``make serve`` (deployments/serve.py) on loopback.

- Serves ONLY ``reports_dir()`` (``$NPL_REPORTS_DIR``, default ``var/reports``); a request
  naming anything outside it (``..``, an absolute path, a symbolic link leading out) is 404;
  no directory listings; GET and HEAD only (anything else is 405).
- Host and port: ``$NPL_FILES_HOST`` (default 127.0.0.1) and ``$NPL_FILES_PORT`` (default 4280).
"""

from __future__ import annotations

import os
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4280


def reports_dir() -> Path:
    return Path(os.environ.get("NPL_REPORTS_DIR") or ROOT / "var" / "reports").resolve()


def address() -> tuple[str, int]:
    return os.environ.get("NPL_FILES_HOST", DEFAULT_HOST), int(os.environ.get("NPL_FILES_PORT", DEFAULT_PORT))


def url_of(path: Path) -> str:
    """The address a file of the reports folder is served at (for the artifacts' links)."""
    host, port = address()
    relative = path.resolve().relative_to(reports_dir())
    return f"http://{host}:{port}/{quote(relative.as_posix())}"


class ReportsHandler(SimpleHTTPRequestHandler):
    """SimpleHTTPRequestHandler confined to one folder, without listings or writes."""

    def send_head(self):  # type: ignore[no-untyped-def]
        base = Path(self.directory).resolve()
        target = Path(self.translate_path(self.path)).resolve()
        if target == base or base not in target.parents or not target.is_file():
            self.send_error(404, "not found")
            return None
        return super().send_head()

    def list_directory(self, path):  # type: ignore[no-untyped-def]
        self.send_error(404, "not found")
        return None

    def _refuse(self) -> None:
        self.send_error(405, "read-only")

    do_POST = do_PUT = do_DELETE = do_PATCH = _refuse

    def log_message(self, format: str, *args: object) -> None:  # the base class's name
        pass


def start(folder: Path | None = None, host: str | None = None, port: int | None = None) -> ThreadingHTTPServer:
    """Serve ``folder`` (default ``reports_dir()``) in a daemon thread; ``shutdown()`` stops it."""
    folder = folder or reports_dir()
    folder.mkdir(parents=True, exist_ok=True)
    default_host, default_port = address()
    server = ThreadingHTTPServer((host or default_host, default_port if port is None else port),
                                 partial(ReportsHandler, directory=str(folder)))
    threading.Thread(target=server.serve_forever, name="npl-files", daemon=True).start()
    return server
