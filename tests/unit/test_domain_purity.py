"""models.domain is pure: it imports only the standard library and itself."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import models.domain

DOMAIN_DIR = Path(models.domain.__file__).parent
MODULES = sorted(DOMAIN_DIR.glob("*.py"))


def imported_modules(path: Path) -> set[str]:
    """Absolute names of every module ``path`` imports, at any depth (functions included)."""
    package = "models.domain"
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against models.domain
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            # ``from models import tables`` imports models.tables: judge the imported names too
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def is_allowed(name: str) -> bool:
    top = name.split(".")[0]
    return top in sys.stdlib_module_names or name == "models.domain" or name.startswith("models.domain.")


def test_every_domain_module_is_checked():
    assert {p.stem for p in MODULES} >= {
        "__init__", "dates", "money", "classification", "deadlines", "interest", "allocation", "schedule", "errors",
    }


def test_domain_imports_only_the_standard_library_and_itself():
    offenders = {
        f"{path.name}: {name}" for path in MODULES for name in imported_modules(path) if not is_allowed(name)
    }
    assert offenders == set()


def test_the_purity_check_would_catch_a_third_party_or_sibling_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import sqlalchemy\nfrom models import tables\nfrom machines.policy import Policy\n"
        "from models import domain\nfrom . import dates\nfrom datetime import date\n"
        "def f():\n    import pandas as pd\n"
    )
    assert {n for n in imported_modules(bad) if not is_allowed(n)} == {
        "sqlalchemy", "models.tables", "machines.policy.Policy", "pandas",
    }
