"""Validate before commit, everywhere (issue 16 part 2), and operators wired into every service
that acts or approves (parts 3/4).

- Each scenario of the issue's "Why" is a test: a promise due in 9999 and a judgment performable
  in 9998 (each stopped the daily run for good), a 523-line plan ending in 2074, a credit of
  99,999,999,999 — refused with exit 2 naming the policy's bound, the book unchanged, and the
  daily run still running afterwards.
- A failure injected after each computation step of every service in services/cases.py and
  services/escalations.py (the function the service calls last before committing, and the
  commit itself) leaves the database row-for-row unchanged (tests/canonical.py).
- Look-alike approvers (full-width, Unicode hyphen, zero-width space) are the requester; with the
  register in use ``E-0l`` is nobody, and an enrolled manager's approval needs their current code.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable

import pyotp
import pytest
from cryptography.fernet import Fernet

from models.store import UnitOfWork
from services import cases, escalations
from services.operators import ApprovalRefused, OperatorRefused, enroll, upsert_operators
from tests.builders import run
from tests.canonical import canonical_dump
from tests.integration.test_bad_inputs import _release_engines, collection_book, copy_of, npl  # noqa: F401 - fixtures

ON = date(2008, 9, 30)


@pytest.fixture(autouse=True)
def _keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NPL_POLICY", raising=False)
    monkeypatch.setenv("NPL_SECRET_KEY", Fernet.generate_key().decode())


@pytest.fixture
def book(collection_book: Path, tmp_path: Path) -> str:  # noqa: F811 - the imported fixture
    return copy_of(collection_book, tmp_path / "npl.db")


def in_litigation(url: str, loan_id: str = "L-0002") -> None:
    with UnitOfWork(url) as uow:
        escalations.escalate(uow, loan_id, to="litigation", reason="sue", by="E-01", approved_by="M-01", on=ON)


# --- the scenarios of "Why" --------------------------------------------------------------------------


@pytest.mark.parametrize("argv, bound", [
    (["visit", "L-0002", "--outcome", "promise", "--promise-amount", "100", "--promise-date", "9999-12-31", "--by", "E-02"],
     "bounds.promise_within_days"),
    (["plan", "L-0001", "--monthly", "5000.00", "--first-due", "2070-01-15", "--by", "E-01"], "bounds.plan_max_months"),
    (["revitalize", "L-0006", "--credit", "99999999999", "--by", "E-06", "--approved-by", "M-01"], "bounds.max_amount"),
    (["pay", "L-0001", "99999999999.00", "--by", "E-01"], "bounds.max_amount"),
    (["cost", "L-0001", "10000000000.01", "--what", "court fee", "--by", "E-01"], "bounds.max_amount"),
], ids=["promise-9999", "plan-ending-2074", "credit-99999999999", "payment-over-max", "cost-over-max"])
def test_an_implausible_value_is_refused_with_exit_2_naming_the_bound_and_changes_nothing(book, argv, bound):
    before = canonical_dump(book)
    result = npl(book, argv)
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert bound in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert canonical_dump(book) == before


def test_a_523_line_plan_ending_in_2052_is_refused_and_one_of_120_lines_is_signed(book):
    from services import case_view
    from models.domain.dates import add_months

    with UnitOfWork(book) as uow:
        total = Decimal(str(case_view.show(uow, "L-0002").balance.total))
    before = canonical_dump(book)
    monthly = (total / 522).quantize(Decimal("0.01")) - Decimal("0.01")  # 523 lines
    result = npl(book, ["plan", "L-0002", "--monthly", str(monthly), "--first-due", "2008-10-15", "--by", "E-02", "--on", "2008-09-30"])
    assert result.exit_code == 2 and "523 monthly lines" in result.stderr and "bounds.plan_max_months" in result.stderr, result.stderr
    assert str(add_months(date(2008, 10, 15), 522)) in result.stderr
    assert canonical_dump(book) == before
    monthly = (total / 120).quantize(Decimal("0.01")) + Decimal("0.01")  # 120 lines: the bound's edge
    signed = npl(book, ["plan", "L-0002", "--monthly", str(monthly), "--first-due", "2008-10-15", "--by", "E-02", "--on", "2008-09-30"])
    assert signed.exit_code == 0, signed.stderr


def test_a_promise_due_in_9999_is_refused_and_the_daily_run_keeps_running(book):
    refused = npl(book, ["visit", "L-0002", "--outcome", "promise", "--promise-amount", "100", "--promise-date", "9999-12-31",
                         "--by", "E-02"])
    assert refused.exit_code == 2
    within = npl(book, ["visit", "L-0002", "--outcome", "promise", "--promise-amount", "100", "--promise-date", "2009-09-30",
                        "--by", "E-02"])  # a year after the visit: the bound's own edge is accepted
    assert within.exit_code == 0, within.stderr
    run(book, date(2008, 10, 1), date(2008, 10, 31))  # the book advances: no OverflowError
    with UnitOfWork(book) as uow:
        from models.store import last_run_date
        assert last_run_date(uow.session) == date(2008, 10, 31)


def test_a_judgment_performable_in_9998_is_refused_before_anything_is_committed(book):
    in_litigation(book)
    before = canonical_dump(book)
    result = npl(book, ["judgment", "L-0002", "--amount", "100000", "--perform-by", "9998-12-31", "--by", "E-02"])
    assert result.exit_code == 2, result.stderr
    assert "bounds.judgment_perform_within_years" in result.stderr
    assert canonical_dump(book) == before
    run(book, date(2008, 10, 1), date(2008, 10, 10))  # and the daily run does not fail for good
    fine = npl(book, ["judgment", "L-0002", "--amount", "100000", "--perform-by", "2013-10-10", "--by", "E-02"])
    assert fine.exit_code == 0, fine.stderr


# --- a failure after each computation step changes nothing ---------------------------------------------


def _prep_litigation(url: str) -> None:
    in_litigation(url)


def _prep_judgment(url: str) -> None:
    in_litigation(url)
    with UnitOfWork(url) as uow:
        cases.judgment(uow, "L-0002", amount=Decimal("100000"), perform_by=date(2009, 3, 31), by="E-02", on=ON)


def _prep_taken(url: str) -> None:
    with UnitOfWork(url) as uow:
        cases.take_asset(uow, "L-0002", asset="A-YANG-FACTORY", value=Decimal("1000.00"), by="E-02", on=ON)


SERVICES: list[tuple[str, Callable[..., Any], Callable[[str], None] | None, dict[str, Any], tuple[str, ...]]] = [
    ("pay", cases.pay, None, {"loan_id": "L-0001", "amount": Decimal("100.00"), "by": "E-01"}, ("touch",)),
    ("visit", cases.visit, None, {"loan_id": "L-0002", "outcome": "promise", "promise_amount": Decimal("100"),
                                  "promise_date": date(2008, 12, 1), "by": "E-02"}, ("touch",)),
    ("demand", cases.demand, None, {"loan_id": "L-0002", "guarantor": "Zhang", "by": "E-02"}, ("touch",)),
    ("cost", cases.cost, None, {"loan_id": "L-0001", "amount": Decimal("300"), "what": "court fee", "by": "E-01"}, ("touch",)),
    ("freeze", cases.freeze, None, {"loan_id": "L-0002", "asset": "A-YANG-FACTORY", "by": "E-02"}, ("touch",)),
    ("take_asset", cases.take_asset, None, {"loan_id": "L-0002", "asset": "A-YANG-FACTORY", "value": Decimal("1000.00"),
                                            "by": "E-02"}, ("foreclosed_dispose_by",)),
    ("dispose_asset", cases.dispose_asset, _prep_taken, {"loan_id": "L-0002", "asset": "A-YANG-FACTORY",
                                                         "proceeds": Decimal("900"), "by": "E-02"}, ("foreclosed_dispose_by",)),
    ("judgment", cases.judgment, _prep_litigation, {"loan_id": "L-0002", "amount": Decimal("100000"),
                                                    "perform_by": date(2009, 3, 31), "by": "E-02"},
     ("enforcement_apply_by", "touch")),
    ("enforce", cases.enforce, _prep_judgment, {"loan_id": "L-0002", "by": "E-02"}, ("touch",)),
    ("rejection", escalations.record_rejection, None, {"loan_id": "L-0003", "to": "litigation", "reason": "sue",
                                                       "requested_by": "E-03", "rejected_by": "M-01"}, ()),
    ("plan", escalations.plan, None, {"loan_id": "L-0001", "monthly": Decimal("5000.00"), "first_due": date(2008, 10, 15),
                                      "by": "E-01"}, ("bind", "touch")),
    ("escalate", escalations.escalate, None, {"loan_id": "L-0003", "to": "litigation", "reason": "sue", "by": "E-03",
                                              "approved_by": "M-01"}, ("bind", "touch")),
    ("revitalize", escalations.revitalize, None, {"loan_id": "L-0006", "credit": Decimal("5000.00"), "by": "E-06",
                                                  "approved_by": "M-01"}, ("touch",)),
    ("write_off", escalations.write_off, None, {"loan_id": "L-0005", "reason": "uncollectable", "by": "E-05",
                                                "approved_by": "M-01"}, ("close",)),
]
CASES = [(name, service, prep, kwargs, point) for name, service, prep, kwargs, points in SERVICES
         for point in (*points, "finish", "commit")]


class Injected(RuntimeError):
    pass


def _boom(*_args: Any, **_kwargs: Any) -> Any:
    raise Injected("injected failure")


@pytest.mark.parametrize("name, service, prep, kwargs, point", CASES, ids=[f"{c[0]}-{c[4]}" for c in CASES])
def test_a_failure_after_any_computation_step_of_a_service_leaves_the_database_unchanged(
    book, monkeypatch, name, service, prep, kwargs, point,
):
    if prep is not None:
        prep(book)
    before = canonical_dump(book)
    module = cases if service.__module__ == "services.cases" else escalations
    if point == "commit":
        monkeypatch.setattr(UnitOfWork, "commit", _boom)
    else:
        assert hasattr(module, point), (module.__name__, point)
        monkeypatch.setattr(module, point, _boom)
    with UnitOfWork(book) as uow, pytest.raises(Injected):
        service(uow, on=ON, key=f"k-{name}", **kwargs)
    assert canonical_dump(book) == before
    monkeypatch.undo()
    with UnitOfWork(book) as uow:  # the same call, uninjected, goes through: the failure was the only obstacle
        service(uow, on=ON, key=f"k-{name}", **kwargs)
    assert canonical_dump(book) != before


# --- operators ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("approver", ["\uff25-01", "E\u201001", "E-01\u200b", " e-01 "],
                         ids=["full-width", "unicode-hyphen", "zero-width-space", "other-case"])
def test_a_look_alike_of_the_requester_does_not_approve_his_own_litigation(book, approver):
    before = canonical_dump(book)
    result = npl(book, ["escalate", "L-0001", "--to", "litigation", "--reason", "sue", "--by", "E-01", "--approved-by", approver])
    assert result.exit_code == 1, result.stderr
    assert "the approver must not be the requester" in result.stderr
    assert canonical_dump(book) == before


def _register(url: str, tmp_path: Path) -> pyotp.TOTP:
    with UnitOfWork(url) as uow:
        upsert_operators(uow, [{"operator_id": "E-01", "name": "Erin", "role": "officer"},
                               {"operator_id": "M-01", "name": "Mona", "role": "manager"},
                               {"operator_id": "E-02", "name": "Eli", "role": "officer"}])
        uow.commit()
    with UnitOfWork(url) as uow:
        enrolment = enroll(uow, "M-01", qr_path=tmp_path / "m01.png")
    return pyotp.TOTP(pyotp.parse_uri(enrolment.uri).secret)


def test_with_the_register_in_use_only_a_registered_manager_with_his_code_approves(book, tmp_path):
    totp = _register(book, tmp_path)
    before = canonical_dump(book)  # otp_attempts aside, nothing a refusal may change
    argv = ["escalate", "L-0001", "--to", "litigation", "--reason", "sue", "--by", "E-01"]
    for extra, message in ((["--approved-by", "E-0l"], "not in the operator register"),
                           (["--approved-by", "E-02"], "only an active manager approves"),
                           (["--approved-by", "M-01"], "one-time password"),
                           (["--approved-by", "M-01", "--otp", "000000" if totp.now() != "000000" else "111111"], "")):
        result = npl(book, argv + extra)
        assert result.exit_code == 1, (extra, result.stderr)
        assert message in result.stderr
    unregistered = npl(book, ["visit", "L-0001", "--outcome", "contacted", "--by", "X-99"])
    assert unregistered.exit_code == 1 and "not in the operator register" in unregistered.stderr
    kept = {"otp_attempts", "operators"}  # the failed attempts are recorded, by design
    assert {k: v for k, v in canonical_dump(book).items() if k not in kept} == {k: v for k, v in before.items() if k not in kept}
    ok = npl(book, argv + ["--approved-by", "Ｍ-01", "--otp", totp.now()])
    assert ok.exit_code == 0, ok.stderr
    assert "approved by M-01" in ok.stdout


def test_a_service_retried_after_a_lock_conflict_does_not_spend_the_approvers_code_twice(book, tmp_path, monkeypatch):
    totp = _register(book, tmp_path)
    from services import case_common
    from sqlalchemy.orm.exc import StaleDataError

    real, calls = case_common.bind, {"n": 0}

    def conflict_once(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise StaleDataError("another writer")
        return real(*args, **kwargs)

    monkeypatch.setattr(escalations, "bind", conflict_once)
    monkeypatch.setattr(case_common, "is_lock_conflict", lambda exc: True)
    with UnitOfWork(book) as uow:
        moved = escalations.escalate(uow, "L-0001", to="litigation", reason="sue", by="E-01", approved_by="M-01",
                                     otp=totp.now(), on=ON)
    assert (moved.to, moved.approved_by, calls["n"]) == ("litigation", "M-01", 2)
    with UnitOfWork(book) as uow, pytest.raises((ApprovalRefused, OperatorRefused)):
        escalations.write_off(uow, "L-0001", reason="x", by="E-01", approved_by="M-01", otp=totp.now(), on=ON)  # replay
