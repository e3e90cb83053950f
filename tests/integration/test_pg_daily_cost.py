"""On PostgreSQL a quiet business date costs what happens on it, not the size of the book.

services/daily.py promises it ("cost follows what happens, not the size of the book"). The
classification refresh that ends every run is one set-wise UPDATE; if its SQL grows large
(the same correlated subquery repeated in every CASE branch), PostgreSQL's JIT compiler
(on by default) spends seconds compiling it on every date, whatever changed.
"""

from __future__ import annotations

import time
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.builders import load, run
from tests.conftest import _empty

pytestmark = pytest.mark.postgres


def test_a_quiet_business_date_on_2000_loans_takes_well_under_a_second_or_two(pg_url: str, tmp_path: Path) -> None:
    _empty(pg_url)
    loans = [{"loan_id": f"L-{i:05d}", "maturity_on": (date(2008, 3, 1) + timedelta(days=i % 200)).isoformat()}
             for i in range(2000)]
    load(pg_url, tmp_path, loans)
    run(pg_url, date(2008, 6, 1))  # the book falls due; a few cases move each later date
    timings = []
    for day in (date(2008, 6, 2), date(2008, 6, 3), date(2008, 6, 5)):
        started = time.perf_counter()
        result = run(pg_url, day)
        timings.append(time.perf_counter() - started)
        assert result.dates_run
    print(f"\nquiet dates on 2,000 loans (PostgreSQL): {', '.join(f'{t:.2f} s' for t in timings)}")
    # ~0.1-0.2 s each when the refresh is cheap; several seconds when every date JIT-compiles it
    assert min(timings) < 1.5, timings
