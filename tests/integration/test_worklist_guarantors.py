"""The worklist's "press guarantor" items name only the guarantors still liable on the date
(Civil Code Art. 693: a guarantee period that ran out without the creditor's demand frees its
guarantor), read from the guarantees' clocks as the recorded acts leave them."""

from __future__ import annotations

from datetime import date

from machines.policy import load_policy
from models.store import UnitOfWork
from services import worklist
from tests.builders import load, run


def pressed(url: str, on: date) -> dict[str, str]:
    with UnitOfWork(url) as uow:
        items = worklist.worklist(uow.session, on, load_policy(), tasks=("press_guarantor",))
    return {i["loan_id"]: i["detail"] for i in items}


def test_a_pressed_case_lists_its_liable_guarantors_and_drops_one_whose_guarantee_period_ran_out(db_url, tmp_path):
    load(db_url, tmp_path, [{"loan_id": "L-1"}, {"loan_id": "L-2"}], [
        {"loan_id": "L-1", "guarantor_name": "Zhang", "guarantee_type": "joint", "guarantee_period_end": "2008-07-20"},
        {"loan_id": "L-1", "guarantor_name": "Wang", "guarantee_type": "joint", "guarantee_period_end": "2008-07-05"},
        {"loan_id": "L-2", "guarantor_name": "Li", "guarantee_type": "joint", "guarantee_period_end": "2008-07-03"},
    ])
    run(db_url, date(2008, 7, 1))
    assert pressed(db_url, date(2008, 7, 1)) == {
        "L-1": "demand, freeze request or in-kind settlement: Zhang (joint), Wang (joint)",
        "L-2": "demand, freeze request or in-kind settlement: Li (joint)",
    }
    run(db_url, date(2008, 7, 2), date(2008, 7, 10))
    assert pressed(db_url, date(2008, 7, 10)) == {
        "L-1": "demand, freeze request or in-kind settlement: Zhang (joint)",
        "L-2": "demand, freeze request or in-kind settlement: no guarantor on record",
    }
