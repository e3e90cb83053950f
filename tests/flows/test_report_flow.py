"""`npl report` on the demo portfolio: the JSON keys of CONTRACT.md, and a workbook whose sheets
reconcile with the JSON (runs the report flow under the session's Prefect server)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import openpyxl
from typer.testing import CliRunner

from flows.cli import app
from models.store import UnitOfWork
from services import cases
from services.importing import import_paths
from tests.builders import run

DEMO = Path(__file__).resolve().parents[2] / "demo" / "data"
CONTRACT_KEYS = {"as_of", "loans", "by_state", "by_classification", "npl_ratio", "recovered", "deadlines_at_risk", "suspended_officers"}


def test_report_json_has_the_contract_keys_and_the_workbook_reconciles_with_it(prefect_server, tmp_path, monkeypatch):
    monkeypatch.delenv("NPL_LANG", raising=False)  # the default: the workbook in Chinese, the JSON's keys as ever
    url = f"sqlite:///{tmp_path / 'npl.db'}"
    import_paths(url, [DEMO / "loans.csv", DEMO / "guarantors.csv", DEMO / "collateral.csv"])
    run(url, date(2008, 6, 1), date(2008, 12, 1))
    with UnitOfWork(url) as uow:
        cases.pay(uow, "L-0002", Decimal("1000.00"), on=date(2008, 12, 1), payer="guarantor:Zhang")
    run(url, date(2008, 12, 2), date(2009, 2, 1))
    book = tmp_path / "report.xlsx"
    out = CliRunner().invoke(app, ["report", "--as-of", "2009-02-01", "--json", "--xlsx", str(book), "--db", url])
    assert out.exit_code == 0, out.output
    report = json.loads(out.stdout)
    assert CONTRACT_KEYS <= set(report)
    assert report["as_of"] == "2009-02-01"
    assert report["recovered"]["by_payer"]["guarantor"] == "1000.00"
    assert report["suspended_officers"] == [{"officer_id": "E-05", "suspended_since": "2008-10-17"}]
    assert [(r["loan_id"], r["clock"]) for r in report["deadlines_at_risk"]] == [("L-0006", "guarantee")]

    wb = openpyxl.load_workbook(book)
    assert {"按状态", "按五级分类", "账龄", "按清收方式回收", "客户经理责任", "即将届满的法定期限", "回收图", "五级分类图"} <= set(wb.sheetnames)
    rows = list(wb["按状态"].iter_rows(values_only=True))
    assert rows[0][:3] == ("状态", "笔数", "余额合计")
    sheet = {r[0]: (r[1], Decimal(str(r[2])).quantize(Decimal("0.01"))) for r in rows[1:] if r[0]}
    for state, v in report["by_state"].items():
        assert sheet[state] == (v["count"], Decimal(v["balance"]))
    assert Path(str(book).replace(".xlsx", "-recoveries.png")).stat().st_size > 1000

    monkeypatch.setenv("NPL_LANG", "en")
    english = tmp_path / "report-en.xlsx"
    again = CliRunner().invoke(app, ["report", "--as-of", "2009-02-01", "--json", "--xlsx", str(english), "--db", url])
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["by_state"] == report["by_state"]  # the language never touches the JSON
    wb = openpyxl.load_workbook(english)
    assert {"By state", "By classification", "aging", "recoveries by strategy", "Deadlines at risk", "recoveries chart"} <= set(wb.sheetnames)
    assert list(wb["By state"].iter_rows(values_only=True))[0][:3] == ("state", "count", "balance")
