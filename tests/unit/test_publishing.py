"""The daily run's publishing: an officer's worklist key, most urgent first, the summary's links,
and the rule that a past date publishes nothing as the latest."""

from __future__ import annotations

import re
from datetime import date

import pytest

from flows import publishing


@pytest.mark.parametrize("officer, key", [("E-01", "worklist-e-01"), ("Wang Li", "worklist-wang-li"),
                                          ("张三", "worklist-x"), ("unassigned", "worklist-unassigned")])
def test_an_officers_worklist_key_is_normalized_for_prefect(officer: str, key: str) -> None:
    assert publishing.officer_key(officer) == key
    assert re.fullmatch(r"[a-z0-9-]*", publishing.officer_key(officer))


def item(loan: str, task: str, urgent: bool = False, due: str | None = None, officer: str = "E-01") -> dict[str, object]:
    return {"officer": officer, "loan_id": loan, "task": task, "detail": "", "due": due, "urgent": urgent}


def test_an_officers_items_come_most_urgent_first() -> None:
    items = [item("L-1", "visit"), item("L-2", "deadline_at_risk", True, "2009-03-01"),
             item("L-3", "quarantined", True, "2008-12-01"), item("L-4", "deadline_at_risk", True, "2009-01-15"),
             item("L-5", "send_demand")]
    assert [i["loan_id"] for i in publishing.most_urgent_first(items)] == ["L-3", "L-4", "L-2", "L-5", "L-1"]


def test_items_are_split_per_officer_with_every_column(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NPL_LANG", "en")
    per = publishing.by_officer([item("L-1", "visit", officer="E-02"), item("L-2", "visit"), item("L-3", "send_demand", officer="E-02")])
    assert list(per) == ["E-01", "E-02"] and len(per["E-02"]) == 2
    [row] = publishing.officer_rows(per["E-01"])
    assert list(row) == ["loan", "task", "detail", "due", "urgent"]


def test_the_summary_links_to_each_officers_worklist_with_the_date_of_the_table(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NPL_LANG", "en")
    section = publishing.my_work_markdown([("E-01", "worklist-e-01", 3, date(2008, 11, 28))])
    assert "## My work today" in section and "| [E-01](/artifacts/key/worklist-e-01) | 3 | 2008-11-28 |" in section
    merged = publishing.with_section("# Daily collection — 2008-11-30\n\nRan 1 date.\n", section)
    assert merged.startswith("# Daily collection — 2008-11-30\n\n## My work today")
    assert merged.rstrip().endswith("Ran 1 date.")


def test_only_a_date_before_the_last_completed_one_is_past() -> None:
    assert publishing.is_past(date(2008, 7, 15), date(2008, 7, 31))
    assert not publishing.is_past(date(2008, 7, 31), date(2008, 7, 31))
    assert not publishing.is_past(date(2008, 7, 31), None)


def test_the_worklist_workbook_has_a_sheet_per_officer_most_urgent_first(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    import openpyxl

    monkeypatch.setenv("NPL_LANG", "en")
    path = publishing.write_worklist_workbook(publishing.officer_tables(
        [item("L-1", "visit"), item("L-2", "deadline_at_risk", True, "2009-03-01"), item("L-3", "visit", officer="E-02")]),
        date(2008, 11, 30), tmp_path)
    assert path.name == "worklist-2008-11-30.xlsx"
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["E-01", "E-02"]
    rows = list(book["E-01"].iter_rows(values_only=True))
    assert rows[0] == ("officer", "loan", "task", "detail", "due", "urgent")
    assert [r[1] for r in rows[1:]] == ["L-2", "L-1"]


SUMMARY = {"by_state": [("overdue", 2, 123456789)], "by_classification": [("substandard", 2, 123456789)]}
RUN = {"counts": {"transitions": 1, "awaiting": 1}, "through": "2008-11-30", "dates_run": 1, "event_dates": 1, "cases_judged": 2,
       "transitions": [{"loan_id": "L-1", "from": "overdue", "to": "visit", "on": "2008-11-30", "reason": "r"}],
       "awaiting": [{"loan_id": "L-2", "event": "litigation", "reason": "r", "urgent": True}]}
RISKS = [{"loan_id": "L-3", "clock": "guarantee", "date": "2009-03-01", "detail": "d", "officer": "E-01"}]


def summary() -> str:
    from flows.i18n import t
    from services.daily_summary import summary_markdown

    return summary_markdown(date(2008, 11, 30), SUMMARY, RUN, RISKS, t)


def test_the_daily_summary_is_in_chinese_by_default_with_thousands_separators(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NPL_LANG", raising=False)
    text = summary()
    assert text.startswith("# 每日催收汇总 — 2008-11-30\n\n运行 1 个营业日")
    for heading in ("## 各状态案件", "## 在册案件按五级分类", "## 状态变更 (1)", "## 即将届满的法定期限 (1)", "## 新增待审批 (1)"):
        assert heading in text
    assert "| overdue | 2 | 1,234,567.89 |" in text and "| L-2 | litigation | r | 是 |" in text
    assert not re.search(r"\b(?:Cases|Transitions|Deadlines|Ran|loan|reason)\b", text)  # no English word left


def test_the_daily_summary_is_in_english_under_npl_lang_en(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NPL_LANG", "en")
    text = summary()
    assert text.startswith("# Daily collection — 2008-11-30\n\nRan 1 business date(s) (1 with events); 2 case(s) judged")
    assert "## Cases by state" in text and "| state | cases | outstanding principal |" in text
    assert "| overdue | 2 | 1,234,567.89 |" in text and "| loan | clock | ends | what to do | officer |" in text


def test_the_feed_section_speaks_the_chosen_language(monkeypatch: pytest.MonkeyPatch) -> None:
    from flows.i18n import t
    from services.feed import markdown

    feed = {"inbox": "var/inbox", "missing": ["loans"], "business_date": "2008-07-03", "waited_minutes": 5.0, "files": [],
            "rejected_count": 0, "rejected_rows": []}
    monkeypatch.delenv("NPL_LANG", raising=False)
    assert markdown(feed, t).startswith("## 夜间数据 (var/inbox)\n\n**数据缺失**：等待 5 分钟后仍无 2008-07-03 的 loans 文件")
    monkeypatch.setenv("NPL_LANG", "en")
    assert "**Export missing**: no loans file for 2008-07-03 after waiting 5 min" in markdown(feed, t)


def test_the_daily_summary_orders_states_and_classes_as_the_portfolio_report_does() -> None:
    # the report's orders are a copy in models (which may not import the machine): they must not drift
    from models import portfolio
    from services import daily_summary

    assert daily_summary.STATES == portfolio.STATES
    assert daily_summary.CATEGORIES == portfolio.CATEGORIES
