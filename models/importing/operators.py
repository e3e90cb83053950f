"""The operators file (issue 16 part 3): ``operator_id, name, role`` [, ``active``], told by header.

Rows are read and checked by models/operators_file.py (ids normalized, look-alikes refused with
the character named, roles officer | manager | admin); bad rows go to the rejects file like any
other kind's. The good rows are booked by the operator register's service
(``services.operators.upsert_operators``, which keeps an operator's enrolment), passed in by the
use case as ``loading.services["operators"]``, in the import's one transaction.
"""

from __future__ import annotations

from models.importing.files import Source
from models.importing.loaders import Kind, Loading, read_rows
from models.importing.rejects import Rejects
from models.operators_file import HEADER_OPTIONAL, HEADER_REQUIRED, parse_rows


def load(loading: Loading, source: Source, rejects: Rejects) -> int:
    book = loading.services.get("operators")
    if book is None:
        raise RuntimeError("an operators file is booked through the operator register: import it through services.importing")
    rows, bad = parse_rows(source.path)
    if bad:
        cells = dict(read_rows(source, Rejects(source, [])))  # the raw cells, for the rejects file
        for r in bad:
            rejects.add(r.line, cells.get(r.line, []), [(r.column, r.reason)])
        rejects.flush()
    if rows:
        book(rows)
    return len(rows)


KIND = Kind("operators", HEADER_REQUIRED, HEADER_OPTIONAL, load)
