"""On PostgreSQL the set-wise classification refresh must not be JIT-compiled on every run.

The refresh that ends every run is one UPDATE whose CASE repeats a correlated subquery; with
PostgreSQL's JIT on (the default) it spent seconds compiling it on every date, whatever changed
(measured: 6–14 s a quiet date on 2,000 loans, 0.1–0.2 s without JIT). Speed itself is measured
by `make bench`; this test pins the cause: the project's connections run with JIT off.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text

from models import store

pytestmark = pytest.mark.postgres


def test_project_connections_to_postgresql_run_without_jit(pg_url: str) -> None:
    with store.engine_for(pg_url).connect() as conn:
        assert conn.execute(text("SHOW jit")).scalar() == "off"
