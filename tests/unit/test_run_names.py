"""Run names: by loan or date, in the chosen language, from the run's parameters."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from flows import run_names


@pytest.fixture(autouse=True)
def english(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NPL_LANG", "en")


def test_a_daily_run_is_named_by_the_last_date_it_covers() -> None:
    assert run_names.daily_name({"as_of": date(2008, 11, 1), "through": date(2008, 11, 30)}) == "daily 2008-11-30"
    assert run_names.daily_name({"as_of": "2008-11-30"}) == "daily 2008-11-30"


def test_an_operation_is_named_by_its_loan_and_what_it_records() -> None:
    assert run_names.operation("payment")({"loan_id": "L-0001", "amount": Decimal("1000.00")}) == "L-0001: payment 1000.00"
    assert run_names.operation("payment")({"loan_id": "L-0001", "amount": "abc"}) == "L-0001: payment abc"  # a failed one too
    assert run_names.operation("demand")({"loan_id": "L-0001"}) == "L-0001: demand"


def test_a_request_of_the_daily_run_says_who_asked() -> None:
    assert run_names.escalation_name({"loan_id": "L-0002", "to": "litigation", "requested_by": run_names.DAILY_REQUESTER}) == (
        "L-0002 → litigation (requested by the daily run)")
    assert run_names.escalation_name({"loan_id": "L-0002", "to": "litigation", "requested_by": "E-01"}) == "L-0002 → litigation by E-01"


def test_names_are_chinese_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NPL_LANG")
    assert run_names.operation("payment")({"loan_id": "L-0001", "amount": "1000.00"}) == "L-0001：还款 1000.00"
