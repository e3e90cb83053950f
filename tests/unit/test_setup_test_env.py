"""scripts/setup-test-env: quiet when everything is present, ONE line naming what is missing and
the fixing command where it cannot install (not root, no apt-get) — never a wall of errors.

The machine's real packages and PostgreSQL are never touched: each test runs the script with a
PATH of fakes (dpkg-query, apt-get, id, pg_isready) next to the few real tools it uses."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "setup-test-env"
REAL_TOOLS = ("bash", "ls", "cat", "grep", "sort", "tail", "seq", "sleep", "mv", "mktemp", "rm")


def fake_path(tmp_path: Path, fakes: dict[str, str]) -> str:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in REAL_TOOLS:
        real = shutil.which(tool)
        assert real is not None, tool
        (bin_dir / tool).symlink_to(real)
    for name, body in fakes.items():
        fake = bin_dir / name
        fake.write_text(f"#!{shutil.which('bash')}\n{body}\n")
        fake.chmod(0o755)
    return str(bin_dir)


def run_script(tmp_path: Path, fakes: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": fake_path(tmp_path, fakes), "HOME": str(tmp_path)}
    return subprocess.run(["bash", str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=60)


def dpkg_with(installed: set[str]) -> str:
    cases = " ".join(installed) or "__none__"
    return f'for p in {cases}; do [ "${{@: -1}}" = "$p" ] && {{ echo -n installed; exit 0; }}; done; echo -n not-installed; exit 1'


APT_MUST_NOT_RUN = 'echo "apt-get called: $*" >> "$HOME/apt.log"; exit 0'
PG_UP = "exit 0"
ALL = {"chromium", "poppler-utils", "fonts-wqy-zenhei"}


def test_everything_present_is_quiet_and_succeeds(tmp_path: Path) -> None:
    done = run_script(tmp_path, {"dpkg-query": dpkg_with(ALL), "apt-get": APT_MUST_NOT_RUN, "id": "echo 1000",
                                 "pg_isready": PG_UP})
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    assert not (tmp_path / "apt.log").exists()


def test_not_root_on_debian_names_the_missing_package_and_the_command_in_one_line(tmp_path: Path) -> None:
    done = run_script(tmp_path, {"dpkg-query": dpkg_with(ALL - {"chromium"}), "apt-get": APT_MUST_NOT_RUN,
                                 "id": "echo 1000", "pg_isready": PG_UP})
    assert done.returncode == 1 and done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1
    assert "chromium" in lines[0] and "sudo apt-get install -y chromium" in lines[0]
    assert "poppler" not in lines[0]
    assert not (tmp_path / "apt.log").exists()


def test_check_mode_reports_without_installing_even_as_root(tmp_path: Path) -> None:
    done = run_script(tmp_path, {"dpkg-query": dpkg_with({"chromium"}), "apt-get": APT_MUST_NOT_RUN, "id": "echo 0",
                                 "pg_isready": PG_UP}, "--check")
    assert done.returncode == 1
    (line,) = done.stderr.splitlines()
    assert "poppler-utils" in line and "fonts-wqy-zenhei" in line and "sudo scripts/setup-test-env" in line
    assert not (tmp_path / "apt.log").exists()


def test_without_apt_it_names_what_is_missing_and_says_to_use_the_systems_package_manager(tmp_path: Path) -> None:
    done = run_script(tmp_path, {"id": "echo 0", "pg_isready": "exit 2"})
    assert done.returncode == 1
    (line,) = done.stderr.splitlines()
    assert "chromium" in line and "postgresql" in line and "no apt-get" in line


def test_postgresql_installed_but_down_needs_root_to_start(tmp_path: Path) -> None:
    assert os.listdir("/etc/postgresql"), "make test installs PostgreSQL before the suite runs"
    done = run_script(tmp_path, {"dpkg-query": dpkg_with(ALL), "apt-get": APT_MUST_NOT_RUN, "id": "echo 1000",
                                 "pg_isready": "exit 2", "pg_ctlcluster": "exit 1"})
    assert done.returncode == 1
    (line,) = done.stderr.splitlines()
    assert "not running" in line and "sudo scripts/setup-test-env" in line
