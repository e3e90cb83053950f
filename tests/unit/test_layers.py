"""Dependencies point one way: models.domain ← machines ← services ← flows ← deployments.

Every module of every package is parsed (imports inside functions included) and checked against
what its layer may import. The domain's own, stricter rule (standard library only) is in
test_domain_purity.py; this test holds the rest of the house to the layering.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.test_domain_purity import imported_modules

ROOT = Path(__file__).resolve().parents[2]

# package → (project packages it must not import, third-party packages it must not import)
FORBIDDEN: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # persistence and reports: the domain's data, never the machine, a use case or an edge
    "models": (("machines.loan_case", "machines.escalation", "machines.rules", "machines.audit", "services", "flows", "deployments"),
               ("prefect",)),
    # the case machine and its rules: pure decisions, never a session, a use case or Prefect
    "machines": (("models.tables", "models.store", "models.importing", "models.daily_sql", "services", "flows", "deployments"),
                 ("sqlalchemy", "prefect", "pandas")),
    # use cases: called by the edges, never calling them
    "services": (("flows", "deployments"), ("prefect",)),
    # flows and the command line: may use everything below, never the served deployments
    "flows": (("deployments",), ()),
}


def modules_of(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def violations(package: str) -> set[str]:
    project, third_party = FORBIDDEN[package]
    found = set()
    for path in modules_of(package):
        for name in imported_modules(path):
            banned = [p for p in project + third_party if name == p or name.startswith(p + ".")]
            if banned:
                found.add(f"{path.relative_to(ROOT)}: {name}")
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_each_package_imports_only_from_the_layers_below_it(package: str) -> None:
    assert modules_of(package), f"no modules found under {package}/"
    assert violations(package) == set()


def test_the_layer_check_would_catch_a_machine_importing_a_session_or_a_service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "machines"
    fake.mkdir()
    (fake / "bad.py").write_text(
        "from models.store import UnitOfWork\nfrom models.domain.dates import add_days\n"
        "def f():\n    from services import cases\n    import sqlalchemy\n",
        encoding="utf-8",
    )
    monkeypatch.setattr(__import__(__name__, fromlist=["ROOT"]), "ROOT", tmp_path)
    assert violations("machines") == {
        "machines/bad.py: models.store.UnitOfWork", "machines/bad.py: services.cases", "machines/bad.py: sqlalchemy",
    }
