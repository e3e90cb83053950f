"""Demand letters wired into the system (issue 14 part 5): generated for the daily run's
``send_demand`` tasks, served and recorded as demand acts.

``generate`` writes one letter per ``send_demand`` task due on a date — the tasks come from
``services.worklist.legal_deadlines`` (the clocks' own rules, no second copy): to the borrower a
逾期贷款催收通知书, to each guarantor separately a 履行保证责任通知书 — with the amounts the
same money code as ``npl show`` gives (``balances_as_of``), a PDF each (``models.letters``) and
one register per batch (xlsx + CSV) for the mail room.

A task stays on the list every day until its act is recorded. So a letter is generated for a
(loan, party) only while no letter to that party of that loan is still unserved: the same open
task the next day gets no second letter; once the letter is served (a demand act) the clock is
protected and the task leaves the list, and when a new demand falls due (e.g. the guarantee
debt's limitation two years on) the next letter is generated. Running it twice for a date
generates nothing new.

``served`` records that a letter took effect (signed for, arrived, published: SPC limitation
rules 2020 Art. 8) as a demand act with the letter's number and the tracking number as
evidence; ``serve_in`` is the same inside an open transaction (the deliveries import file).

Where the bank's branch is printed: ``NPL_BRANCH_NAME`` and ``NPL_BRANCH_ADDRESS`` (deployment
facts, not policy); the letter number starts with ``NPL_BRANCH_CODE`` (default ``NPL``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from machines.policy import Policy
from models import letters as paper
from models.domain import law
from models.domain.dates import add_days
from models.domain.errors import BadInput, NotFound, RuleViolation
from models.domain.money import from_fen
from models.store import UnitOfWork, last_run_date
from models.tables import Borrower, DemandLetter, Guarantor, Loan
from services.acts import add_act
from services.case_common import Balance, policy_or_default, require_operator, touch
from services.operation_keys import finish, idempotent
from services.views import balances_as_of
from services.worklist import legal_deadlines

BRANCH_NAME_ENV, BRANCH_ADDRESS_ENV, BRANCH_CODE_ENV = "NPL_BRANCH_NAME", "NPL_BRANCH_ADDRESS", "NPL_BRANCH_CODE"
DEFAULT_BRANCH_NAME = "农村商业银行营业部"
DEFAULT_BRANCH_ADDRESS = "（营业部地址未配置：设置 NPL_BRANCH_ADDRESS）"
NO_ADDRESS = "（地址未登记，请核实后送达）"
PLANNED_METHOD = "mail"
SERVICE_METHODS = paper.METHODS  # in_person | mail | electronic | announcement


@dataclass(frozen=True)
class Batch:
    as_of: date
    letters: tuple[str, ...]  # the letter numbers generated, in order
    pdfs: tuple[Path, ...]
    register_xlsx: Path | None  # None when nothing new was due
    register_csv: Path | None


@dataclass(frozen=True)
class Served:
    letter_no: str
    loan_id: str
    party: str
    on: date
    method: str
    tracking: str | None


LETTERS_DIR_ENV = "NPL_LETTERS_DIR"


def default_out_dir(as_of: date) -> Path:
    """``$NPL_LETTERS_DIR/<date>/``, default ``./var/letters/<date>/``."""
    return Path(os.environ.get(LETTERS_DIR_ENV) or Path("var") / "letters") / as_of.isoformat()


def letter_prefix(as_of: date) -> str:
    code = (os.environ.get(BRANCH_CODE_ENV) or "").strip() or "NPL"
    return f"{code}-{as_of:%Y%m%d}-"


def due_demands(session: Session, as_of: date, policy: Policy) -> list[tuple[str, str]]:
    """(loan_id, party) of every ``send_demand`` task due on ``as_of``, the borrower first in
    each loan; one per party even where two clocks of the party need the demand."""
    seen: dict[tuple[str, str], None] = {}
    for risk in legal_deadlines(session, as_of, policy):
        if risk["status"] == "at_risk" and risk["task"] == "send_demand":
            seen.setdefault((risk["loan_id"], risk["party"]), None)
    return sorted(seen, key=lambda k: (k[0], k[1] != law.BORROWER, k[1]))


def generate(uow: UnitOfWork, as_of: date, out_dir: str | Path | None = None, *, policy: Policy | None = None) -> Batch:
    """Generate the letters due on ``as_of`` (see the module's doc for which), write their PDFs
    and the batch register into ``out_dir`` (default ``var/letters/<date>/``), commit."""
    policy = policy_or_default(policy)
    s = uow.session
    last = last_run_date(s)
    if last is None or as_of > last:
        raise RuleViolation(f"letters are generated for a business date run (the last is {last or 'none'}; asked {as_of})")
    out = Path(out_dir) if out_dir is not None else default_out_dir(as_of)
    unserved = {(r[0], r[1]) for r in s.execute(select(DemandLetter.loan_id, DemandLetter.party).where(DemandLetter.served_on.is_(None)))}
    todo = [k for k in due_demands(s, as_of, policy) if k not in unserved]
    if not todo:
        return Batch(as_of, (), (), None, None)
    prefix = letter_prefix(as_of)
    seq = s.scalar(select(func.count()).select_from(DemandLetter).where(DemandLetter.letter_no.like(prefix + "%"))) or 0
    branch = (os.environ.get(BRANCH_NAME_ENV) or "").strip() or DEFAULT_BRANCH_NAME
    branch_address = (os.environ.get(BRANCH_ADDRESS_ENV) or "").strip() or DEFAULT_BRANCH_ADDRESS
    pay_by = add_days(as_of, policy.letters["pay_within_days"])
    made: list[paper.Letter] = []
    # a large batch is laid out on several processes, the first letters while the rest are read
    with paper.LetterPress(len(todo)) as press:
        for loan_id, party in todo:
            seq += 1
            made.append(_letter(s, s.get(Loan, loan_id), party, f"{prefix}{seq:04d}", as_of, pay_by, branch, branch_address, policy))
            press.put(made[-1], out / f"{made[-1].letter_no}.pdf")
        paths = press.paths()
    for (loan_id, party), letter, path in zip(todo, made, paths):
        s.add(DemandLetter(letter_no=letter.letter_no, loan_id=loan_id, party=party, kind=letter.kind, issued_on=as_of,
                           pay_by=pay_by, total_fen=int(letter.total * 100), method_planned=letter.method, path=str(path)))
    first = made[0].letter_no.rsplit("-", 1)[1]
    stem = out / f"register-{as_of:%Y%m%d}-{first}"
    xlsx, csv_path = paper.write_register(made, stem.with_suffix(".xlsx"), stem.with_suffix(".csv"))
    uow.commit()
    return Batch(as_of, tuple(m.letter_no for m in made), tuple(paths), xlsx, csv_path)


def _letter(s: Session, loan: Loan, party: str, letter_no: str, as_of: date, pay_by: date, branch: str,
            branch_address: str, policy: Policy) -> paper.Letter:
    owed = Balance.of(balances_as_of(loan, as_of, policy))  # what `npl show` gives for the date
    borrower = s.get(Borrower, loan.borrower_id)
    common = dict(letter_no=letter_no, branch_name=branch, branch_address=branch_address, loan_id=loan.loan_id,
                  contract_no=loan.loan_id, disbursed_on=loan.disbursed_on, maturity_on=loan.maturity_on,
                  principal=owed.principal, interest=owed.interest, penalty=owed.penalty, costs=owed.costs,
                  total=owed.total, compound=owed.compound, delayed=owed.delayed, pay_by=pay_by, issued_on=as_of, owed_as_of=as_of, method=PLANNED_METHOD)
    if party == law.BORROWER:
        return paper.Letter(kind="borrower", recipient_name=borrower.name, recipient_address=borrower.address or NO_ADDRESS,
                            legal_basis=paper.borrower_legal_basis(), **common)
    g = s.scalars(select(Guarantor).where(Guarantor.loan_id == loan.loan_id, Guarantor.name == party)).one()
    kind = g.guarantee_type if g.guarantee_type in ("joint", "general") else "unstated"
    return paper.Letter(kind="guarantor", recipient_name=g.name, recipient_address=NO_ADDRESS,
                        legal_basis=paper.guarantor_legal_basis(kind), borrower_name=borrower.name, guarantee_type=kind,
                        guarantee_period_end=g.period_end, **common)


def serve_in(s: Session, letter_no: str, *, on: date, method: str | None, tracking: str | None, by: str) -> Served:
    """Record in the open transaction that letter ``letter_no`` was served on ``on``: a demand
    act (SPC limitation rules 2020 Art. 8: a demand interrupts limitation from the day the
    document reaches the party — in_person: signed, sealed or thumb-printed, Art. 8(1); mail,
    electronic: the letter or data message arrived, Art. 8(2); announcement: published, Art.
    8(4)) carrying the letter number and the tracking number
    as evidence. Refused, changing nothing: an unknown letter (NotFound), a date before the
    letter was generated or after the last business date run, a letter already served."""
    by = require_operator(by)
    letter = s.get(DemandLetter, letter_no)
    if letter is None:
        raise NotFound(f"no letter numbered {letter_no!r}")
    method = method or letter.method_planned
    if method not in SERVICE_METHODS:
        raise BadInput(f"the method must be one of {', '.join(SERVICE_METHODS)} (got {method!r})")
    if letter.served_on is not None:
        raise RuleViolation(f"letter {letter_no} was already served on {letter.served_on} ({letter.served_method})")
    if on < letter.issued_on:
        raise RuleViolation(f"{on} is before letter {letter_no} was generated ({letter.issued_on})")
    last = last_run_date(s)
    if last is None or on > last:
        raise RuleViolation(f"{on} is after the last business date run ({last}): record the service once that day is run")
    loan = s.get(Loan, letter.loan_id)
    tracking = (tracking or "").strip() or None
    add_act(s, loan, kind="demand", party=letter.party, on=on, by=by, method=method, evidence=tracking, letter_no=letter_no)
    letter.served_on, letter.served_method, letter.tracking, letter.served_by = on, method, tracking, by
    touch(loan, s, on)
    s.flush()
    return Served(letter_no, letter.loan_id, letter.party, on, method, tracking)


@idempotent("letter_served")
def served(uow: UnitOfWork, letter_no: str, *, on: date, method: str, tracking: str | None = None, by: str) -> Served:
    """``npl served`` and ``record-service/ops``: record the service of one letter
    (``serve_in``) and commit; under a ``key`` (the flow run's id) a retry returns what the
    first try recorded (the key is kept with the letter number)."""
    return finish(uow, serve_in(uow.session, letter_no, on=on, method=method, tracking=tracking, by=by))


def delivery_booker(by: str) -> Callable[[Session, object], tuple[str, str] | None]:
    """Record one deliveries-file row (``models.importing.deliveries.Delivery``) as ``served``
    would, in the import's transaction; answer None, or the (column, reason) it is refused for."""

    def book(session: Session, row: object) -> tuple[str, str] | None:
        try:
            with session.begin_nested():
                serve_in(session, row.letter_no, on=row.delivered_on, method=row.method,  # type: ignore[attr-defined]
                         tracking=row.tracking, by=by)  # type: ignore[attr-defined]
        except NotFound as refused:
            return "letter_no", str(refused)
        except (RuleViolation, BadInput) as refused:
            text = str(refused)
            column = "method" if "method" in text else "letter_no" if "already served" in text else "delivered_on"
            return column, text
        return None

    return book


def total_of(letter: DemandLetter) -> Decimal:
    return from_fen(letter.total_fen)
