"""The demand-letter flows against the session's real Prefect server: the daily flow generates
the letters due on its last date and lists them on its run page; record-service records a
service once, even when its run is tried again under the same key."""

from __future__ import annotations

import asyncio
from datetime import date

import pytest
from sqlalchemy import func, select

from models.store import UnitOfWork
from models.tables import DemandLetter, LegalAct
from tests.builders import load
from tests.flows.test_daily_flow import artifacts_of

GUARANTORS = [{"loan_id": "L-1", "guarantor_name": "Zhang", "guarantee_type": "joint"}]


def count(url: str, table: type) -> int:
    with UnitOfWork(url) as uow:
        return uow.session.scalar(select(func.count()).select_from(table))


def test_the_daily_flow_generates_the_letters_due_on_its_last_date_and_lists_them(prefect_server, tmp_path, monkeypatch):
    from flows.daily import daily_collection
    from flows.letters import demand_letters, record_service

    monkeypatch.setenv("NPL_LETTERS_DIR", str(tmp_path / "letters"))
    url = f"sqlite:///{tmp_path / 'npl.db'}"
    monkeypatch.setenv("NPL_DATABASE_URL", url)  # no flow takes a database URL
    load(url, tmp_path, [{"loan_id": "L-1"}], GUARANTORS)
    state = daily_collection(as_of=date(2008, 7, 1), through=date(2008, 11, 30), return_state=True)
    artifacts = asyncio.run(artifacts_of(str(state.state_details.flow_run_id)))
    assert "NPL-20081130-0001" in str(artifacts["demand-letters"])
    assert (tmp_path / "letters" / "2008-11-30" / "NPL-20081130-0001.pdf").exists()
    assert demand_letters(as_of=date(2008, 11, 30))["letters"] == []  # nothing new
    first = record_service(letter_no="NPL-20081130-0001", on=date(2008, 11, 30), method="mail", tracking="EMS 5",
                           by="E-01", key="svc-1")
    again = record_service(letter_no="NPL-20081130-0001", on=date(2008, 11, 30), method="mail", tracking="EMS 5",
                           by="E-01", key="svc-1")
    assert first == again and first["party"] == "Zhang"
    assert count(url, LegalAct) == 1 and count(url, DemandLetter) == 1
    with pytest.raises(Exception, match="already served"):
        record_service(letter_no="NPL-20081130-0001", on=date(2008, 11, 30), method="mail", by="E-01", key="svc-2")
