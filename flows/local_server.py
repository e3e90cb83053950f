"""A local Prefect server: the one ``make serve`` runs, or a temporary one for a command line.

Which Prefect API a command-line flow run (``npl daily``, ``npl report``) reports to, in order:

1. ``PREFECT_API_URL`` when set (any server; nothing is started);
2. the server ``make serve`` runs on this machine, found through the state file it writes
   (``var/prefect/server.json``, or under ``$NPL_PREFECT_HOME``) and answering its health check;
3. else a temporary server started for this one command, stopped when it ends — and killed by
   the kernel if the command dies first, even on ``kill -9`` (its own process group, and
   ``PR_SET_PDEATHSIG`` set in the child before it runs).

Starting a server costs seconds (migrations, the app); keeping ``make serve`` running makes every
command-line run reuse it. The flows package owns this module so the command line need not
import ``deployments/`` (dependency rule: flows ← deployments).
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Iterator

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PREFECT_HOME = ROOT / "var" / "prefect"
DEFAULT_PORT = 4200
STATE_FILE = "server.json"
PR_SET_PDEATHSIG = 1  # <sys/prctl.h>


class ServerUnavailable(RuntimeError):
    """The Prefect API cannot be reached or did not answer in time (one line for the user)."""


class ServerTimeout(ServerUnavailable, TimeoutError):
    """A server did not become healthy in time."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def is_healthy(api_url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(f"{api_url.rstrip('/')}/health", timeout=timeout) as response:  # local URL
            return response.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def prefect_home() -> Path:
    """Where ``make serve`` keeps its server's data and state file."""
    return Path(os.environ.get("NPL_PREFECT_HOME") or DEFAULT_PREFECT_HOME)


# --- the child process: own process group, dies with its parent --------------------------------------


def _die_with_parent(parent: int) -> None:
    """preexec_fn: ask the kernel for SIGKILL when the parent dies (Linux prctl); if the parent is
    already gone (it died between fork and here), exit at once."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the parent's own stop() and watchdog remain
        pass
    if os.getppid() != parent:
        os._exit(1)


@dataclass
class LocalServer:
    """A ``prefect server start`` child process (its own process group) and its API URL."""

    process: subprocess.Popen[bytes]
    api_url: str
    home: Path

    @property
    def ui_url(self) -> str:
        return self.api_url.removesuffix("/api")

    def stop(self, timeout: float = 15.0) -> None:
        if self.process.poll() is not None:
            return
        pgid = self.process.pid  # started with start_new_session: the group is ours alone
        try:
            os.killpg(pgid, signal.SIGTERM)
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(pgid, signal.SIGKILL)
            self.process.wait(timeout=timeout)
        except ProcessLookupError:
            pass


def server_env(home: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env.update(
        PREFECT_HOME=str(home),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT="false",
    )
    env.update(extra or {})
    return env


def launch_local_server(
    home: Path, port: int | None = None, *, log: IO[bytes] | None = None, extra_env: dict[str, str] | None = None,
    options: tuple[str, ...] = (),
) -> LocalServer:
    """Start ``prefect server start`` on 127.0.0.1 (SQLite under ``home``); do not wait. The server
    runs in its own process group and is killed by the kernel when this process dies."""
    home.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    prefect_cli = Path(sys.executable).with_name("prefect")
    command = [str(prefect_cli) if prefect_cli.exists() else "prefect", "server", "start",
               "--host", "127.0.0.1", "--port", str(port), *options]
    api_url = f"http://127.0.0.1:{port}/api"
    # the UI asks its browser to call PREFECT_UI_API_URL (default: port 4200, whatever --port says)
    env = server_env(home, {"PREFECT_SERVER_API_HOST": "127.0.0.1", "PREFECT_SERVER_API_PORT": str(port),
                            "PREFECT_UI_API_URL": api_url, **(extra_env or {})})
    parent = os.getpid()
    process = subprocess.Popen(  # fixed command
        command, env=env, stdout=log or subprocess.DEVNULL, stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL, start_new_session=True, preexec_fn=lambda: _die_with_parent(parent),
    )
    return LocalServer(process, api_url, home)


def wait_healthy(api_url: str, timeout: float, process: subprocess.Popen[bytes] | None = None) -> None:
    """Wait until the server answers its health check (``process``: fail early if it exits)."""
    deadline = time.monotonic() + timeout
    while not is_healthy(api_url, timeout=1.0):
        if process is not None and process.poll() is not None:
            raise ServerUnavailable(f"prefect server exited with code {process.returncode} before it was healthy")
        if time.monotonic() > deadline:
            raise ServerTimeout(f"prefect server on {api_url} not healthy after {timeout:.0f} s")
        time.sleep(0.25)


def start_local_server(
    home: Path, port: int | None = None, *, log: IO[bytes] | None = None, timeout: float = 60.0,
    extra_env: dict[str, str] | None = None, options: tuple[str, ...] = (),
) -> LocalServer:
    """Start ``prefect server start`` on 127.0.0.1 (SQLite under ``home``) and wait until healthy."""
    server = launch_local_server(home, port, log=log, extra_env=extra_env, options=options)
    try:
        wait_healthy(server.api_url, timeout, server.process)
    except BaseException:
        server.stop()
        raise
    return server


# --- the state file `make serve` leaves for the command line ---------------------------------------


def write_state(home: Path, api_url: str) -> Path:
    """Record the API URL of the server this process serves against (``make serve``)."""
    path = home / STATE_FILE
    home.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"api_url": api_url, "pid": os.getpid()}), encoding="utf-8")
    tmp.replace(path)
    return path


def clear_state(home: Path) -> None:
    path = home / STATE_FILE
    with contextlib.suppress(OSError, ValueError):
        if json.loads(path.read_text(encoding="utf-8")).get("pid") == os.getpid():
            path.unlink()


def running_local_api(home: Path | None = None, timeout: float = 1.0) -> str | None:
    """The API URL of the server ``make serve`` runs, if its state file names one that answers."""
    path = (home or prefect_home()) / STATE_FILE
    try:
        api_url = json.loads(path.read_text(encoding="utf-8"))["api_url"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return api_url if isinstance(api_url, str) and is_healthy(api_url, timeout) else None


# --- what a command line uses -----------------------------------------------------------------------


@contextlib.contextmanager
def command_line_api(probe_timeout: float = 10.0, startup_timeout: float = 120.0) -> Iterator[tuple[str, bool]]:
    """Yield (API URL, temporary?) for a command-line flow run (see the module docstring), with
    ``PREFECT_API_URL`` set inside; a temporary server started here stops on exit. A configured
    API must answer its health check within ``probe_timeout`` seconds."""
    from prefect.settings import PREFECT_API_URL, get_current_settings, temporary_settings

    configured = get_current_settings().api.url
    if configured:
        if not is_healthy(configured, timeout=probe_timeout):
            raise ServerUnavailable(f"the Prefect API at {configured} does not answer within {probe_timeout:g} s "
                                    "(PREFECT_API_URL; NPL_PREFECT_PROBE_TIMEOUT)")
        yield configured, False
        return
    running = running_local_api()
    if running is not None:
        with temporary_settings(updates={PREFECT_API_URL: running}):
            yield running, False
        return
    home = Path(get_current_settings().home)  # where Prefect's temporary server always kept its data
    server = start_local_server(home, timeout=startup_timeout, options=("--no-services",),
                                extra_env={"PREFECT_SERVER_UI_ENABLED": "false"})
    try:
        with temporary_settings(updates={PREFECT_API_URL: server.api_url}):
            yield server.api_url, True
    finally:
        server.stop()
