"""One import call on an open unit of work: check every file, load each kind in order, commit once.

Loans files are loaded first, then guarantors, then collateral (so guarantors may name loans
from a loans file of the same call), in batches of core ``INSERT ... ON CONFLICT DO UPDATE``
statements, then repayments (booked one by one through the payment service the use case
passes in), all in one transaction committed at the end. The use case callers go through is
``services.importing``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from pathlib import Path
from typing import Any

from models.importing import collateral, deliveries, guarantors, loans, operators, repayments
from models.importing.fields import DEFAULT_BOUNDS, ImportBounds
from models.importing.files import inspect_all
from models.importing.loaders import Kind, Loading
from models.importing.rejects import Rejects
from models.importing.report import ImportedFile, ImportReport
from models.importing.upsert import Store
from models.store import CLASSIFICATION_MARK, UnitOfWork, forget_mark

# every kind of file, in the order files are loaded; a new kind is one module and one line here
KINDS: tuple[Kind, ...] = (loans.KIND, guarantors.KIND, collateral.KIND, repayments.KIND, deliveries.KIND, operators.KIND)


def import_files(
    uow: UnitOfWork,
    paths: Sequence[str | Path],
    *,
    kinds: Sequence[Kind] = KINDS,
    services: Mapping[str, Callable[..., Any]] | None = None,
    before_commit: Callable[[ImportReport], None] | None = None,
    bounds: ImportBounds = DEFAULT_BOUNDS,
) -> ImportReport:
    """Import core-banking CSV exports (each kind in ``kinds`` order); commit once.

    Raises BadInput, before anything is written, when any file is unreadable as a whole (not
    UTF-8, empty, no data rows, unknown header). Rejected rows are reported and written to
    ``<stem>.rejects.csv`` beside their input; a stale rejects file is removed.
    ``services``: what a kind books through (named by the kind's module), given by the use case.
    ``before_commit``: called with the finished report inside the transaction, before the
    commit (a caller recording the import in the same transaction).
    ``bounds``: plausibility bounds a row must keep (the policy's ``[bounds]``).
    """
    sources = inspect_all(paths, kinds)
    report = ImportReport()
    store = Store(uow)
    loading = Loading(store, services=dict(services or {}), bounds=bounds)
    sinks: list[Rejects] = []
    summaries: dict[int, ImportedFile] = {}
    try:
        incoming: dict[str, int] = {}
        for source in sources:
            incoming[source.kind] = incoming.get(source.kind, 0) + source.records
        store.plan(incoming)  # a large load into a small table: its indexes are rebuilt at the end
        for kind in kinds:
            for source in (s for s in sources if s.kind == kind.name):
                rejects = Rejects(source, report.rejected)
                sinks.append(rejects)
                skipped = loading.already_booked
                imported = kind.load(loading, source, rejects)
                setattr(report, kind.name, getattr(report, kind.name) + imported)
                summaries[source.order] = ImportedFile(
                    source.name, kind.name, imported, rejects.count, loading.already_booked - skipped
                )
        store.finish()
        order = {source.name: source.order for source in sources}
        report.rejected.sort(key=lambda rejected: (order[rejected.file], rejected.line))
        report.files = [summaries[i] for i in sorted(summaries)]
        report.loans_created = store.loans_created
        report.loans_updated = store.loans_updated
        report.already_booked = loading.already_booked
        if before_commit is not None:
            before_commit(report)
        sinks.sort(key=lambda sink: sink.source.order)
        for sink in sinks:
            written = sink.publish()
            if written is not None:
                report.rejects_files.append(str(written))
        if store.loans_created:  # new loans carry no classification yet: the next refresh reads the whole book
            forget_mark(uow.session, CLASSIFICATION_MARK)
        store.close()
        uow.commit()
    except BaseException:
        for sink in sinks:
            sink.discard()
        uow.rollback()
        with suppress(Exception):
            store.close()
        raise
    return report
