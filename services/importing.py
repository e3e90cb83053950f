"""The import use case: what `npl import`, the demo, the feed and the flows call.

Opens a unit of work on the database, imports the core-banking export files into it in one
transaction (``models.importing``), and returns the typed report (:class:`ImportReport`)
that each edge formats in its own words. Refusals of a whole file raise BadInput (CLI exit 2).

A repayments file's rows are booked through the payment service (``services.cases``: the
same checks, allocation and closing as ``npl pay``), each payment keeping its ``reference``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.orm import Session

from machines.policy import Policy, load_policy
from models.domain.errors import BadInput, NotFound, RuleViolation
from models.importing import ImportedFile, ImportReport, Rejected, import_files
from models.importing.fields import ImportBounds, shown
from models.importing.repayments import Repayment
from models.store import UnitOfWork
from models.tables import Payment
from services import cases, operators
from services.case_common import require_open

__all__ = ["ImportReport", "ImportedFile", "Rejected", "import_in", "import_paths", "repayment_booker"]

RECORDED_BY_MAIL_ROOM = "mail-room"  # legal_acts.recorded_by of what a deliveries file records
RECORDED_BY = "core-banking"  # payments.recorded_by and history.by of what a repayments file books


def import_paths(url: str | None, paths: Sequence[str | Path], *, policy: Policy | None = None) -> ImportReport:
    """Import the files at ``paths`` into the database at ``url`` (None: the default database)."""
    with UnitOfWork(url) as uow:
        return import_in(uow, paths, policy=policy)


def import_in(
    uow: UnitOfWork,
    paths: Sequence[str | Path],
    *,
    policy: Policy | None = None,
    before_commit: Callable[[ImportReport], None] | None = None,
) -> ImportReport:
    """Import into an open unit of work, committing once; ``before_commit`` runs inside the
    transaction with the finished report (the feed records the file there)."""
    policy = policy or load_policy()
    booker = repayment_booker(policy)

    return import_files(uow, list(paths), before_commit=before_commit, bounds=import_bounds(policy), services={
        "repayments": booker, "deliveries": lazy_delivery_booker(),
        "operators": lambda rows: operators.upsert_operators(uow, rows)})


def lazy_delivery_booker() -> Callable[[Session, object], tuple[str, str] | None]:
    """``services.letters.delivery_booker``, imported on the first deliveries row: the letters
    service pulls in the PDF and spreadsheet libraries (measured: 1-4 s of CPU), which an
    import without a deliveries file never needs."""
    booker: list[Callable[[Session, object], tuple[str, str] | None]] = []

    def book(session: Session, row: object) -> tuple[str, str] | None:
        if not booker:
            from services.letters import delivery_booker

            booker.append(delivery_booker(RECORDED_BY_MAIL_ROOM))
        return booker[0](session, row)

    return book


def import_bounds(policy: Policy) -> ImportBounds:
    """The policy's plausibility bounds in the importer's terms."""
    b = policy.bounds
    return ImportBounds(b.earliest_date, b.max_term_years, b.max_amount_fen, b.max_rate_ppm)


def repayment_booker(policy: Policy) -> Callable[[Session, Repayment], tuple[str, str] | None]:
    """Book one repayment row as ``npl pay`` would, in the import's transaction; answer None,
    or the (column, reason) it is refused for (the case is then unchanged)."""

    def book(session: Session, row: Repayment) -> tuple[str, str] | None:
        try:
            loan = cases.load_case(session, row.loan_id)
        except NotFound:
            return "loan_id", f"unknown loan_id {shown(row.loan_id)} (not on file)"
        try:
            require_open(loan)
        except RuleViolation as refused:
            return "loan_id", str(refused)
        try:
            on = cases.event_date(session, loan, row.paid_on)
        except (RuleViolation, BadInput) as refused:
            return "paid_on", str(refused)
        if row.guarantor is not None:
            try:
                cases.find_guarantor(session, row.loan_id, row.guarantor)
            except NotFound as refused:
                return "payer", str(refused)
        # A deduction is the bank taking the arrears from the borrower's own account under the
        # loan contract (SPC limitation rules 2020 Art. 8(3)): the borrower's money, booked as the
        # borrower's payment, which interrupts limitation as the payment service does for them.
        payer = "borrower" if row.payer == "deduction" else row.payer
        with payments_added(session) as added:
            try:
                cases.apply_payment(session, loan, on, row.amount_fen, payer, row.guarantor, RECORDED_BY, policy)
            except RuleViolation as refused:
                return "amount", str(refused)
        if len(added) != 1:  # pragma: no cover - the payment service records one payment per call
            raise RuntimeError(f"the payment service recorded {len(added)} payments for one repayment")
        added[0].reference = row.reference
        return None

    return book


@contextmanager
def payments_added(session: Session) -> Iterator[list[Payment]]:
    """The payments added to ``session`` inside the block (to give them their reference)."""
    added: list[Payment] = []

    def pending(_session: Session, instance: object) -> None:
        if isinstance(instance, Payment):
            added.append(instance)

    event.listen(session, "transient_to_pending", pending)
    try:
        yield added
    finally:
        event.remove(session, "transient_to_pending", pending)
