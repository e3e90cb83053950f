"""The one translation table: every label the code uses exists in Chinese and English, no text is
entered twice, and amounts show with thousands separators."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest

from flows import i18n
from models import portfolio
from services.worklist import TASK_ORDER

ROOT = Path(__file__).resolve().parents[2]
# flows and deployments call t("key"); services and models get the caller's t as ``label`` and
# name their keys as literals ("summary.title"), as do the flows' key maps (flows.reports.COLUMNS)
SOURCES = [path for package in ("flows", "deployments", "services", "models") for path in (ROOT / package).rglob("*.py")]
NAMESPACES = sorted({key.split(".")[0] for key in i18n.LABELS if "." in key})
USES = [
    re.compile(r"""\b(?:t|label)\(\s*["']([a-z_.]+)["']"""),  # t("case.title", ...), label("yes")
    re.compile(r"""\bt\(f?["']([a-z_]+\.[a-z_]+)["']"""),
    re.compile(r"""["']((?:%s)\.[a-z_]+)["']""" % "|".join(NAMESPACES)),  # "summary.at_risk", "notify.promise_broken"
]
OPERATION = re.compile(r"""operation\(["']([a-z_]+)["']\)""")


def labels_in_use() -> set[str]:
    used: set[str] = {f"task.{task}" for task in TASK_ORDER}  # flows.i18n.task_label
    used |= {f"strategy.{s}" for s in portfolio.STRATEGIES} | {f"class.{c}" for c in portfolio.CATEGORIES}  # charts, workbook
    for path in SOURCES:
        text = path.read_text(encoding="utf-8")
        for pattern in USES:
            used |= set(pattern.findall(text))
        used |= {f"run.{key}" for key in OPERATION.findall(text)}
    return used


def test_the_code_uses_labels_and_finds_them_in_the_sources() -> None:
    used = labels_in_use()
    assert {"run.daily", "run.payment", "case.title", "daily.my_work", "notify.promise_broken", "task.visit"} <= used
    assert {"summary.title", "feed.missing", "sheet.aging", "chart.recoveries", "class.loss", "yes"} <= used


def test_every_label_in_use_has_both_languages() -> None:
    for key in sorted(labels_in_use()):
        assert key in i18n.LABELS, f"{key} is used but not in flows/i18n.py"
        for lang in i18n.LANGS:
            assert i18n.LABELS[key].get(lang, "").strip(), f"{key} has no {lang} text"


def test_both_languages_of_a_label_take_the_same_placeholders() -> None:
    for key, texts in i18n.LABELS.items():
        assert set(i18n.PLACEHOLDER.findall(texts["zh"])) == set(i18n.PLACEHOLDER.findall(texts["en"])), key


def test_no_label_is_entered_twice() -> None:
    for lang in i18n.LANGS:
        seen: dict[str, str] = {}
        for key, texts in i18n.LABELS.items():
            assert texts[lang] not in seen, f"{key} repeats {seen.get(texts[lang])} in {lang}"
            seen[texts[lang]] = key


def test_the_language_is_chinese_by_default_and_english_on_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NPL_LANG", raising=False)
    assert i18n.t("run.daily", date="2008-11-30") == "每日催收 2008-11-30"
    monkeypatch.setenv("NPL_LANG", "en")
    assert i18n.t("run.daily", date="2008-11-30") == "daily 2008-11-30"


def test_amounts_show_with_thousands_separators() -> None:
    assert i18n.amount("1234567.5") == "1,234,567.50"
    assert i18n.amount(Decimal("999.99")) == "999.99"
    assert i18n.amount(None) == "—"


@pytest.mark.parametrize("text", ["abc", "0", "-5", "1.234", "", "1e400"])
def test_a_wrong_amount_is_explained_in_words_naming_the_field(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setenv("NPL_LANG", "en")
    with pytest.raises(ValueError) as refused:
        i18n.amount_error(text)
    message = str(refused.value)
    assert message.startswith("amount: an amount is a positive number of yuan with at most two decimals")
    assert "^" not in message and "\\d" not in message  # words, not a pattern


def test_a_right_amount_is_read_exactly() -> None:
    assert i18n.amount_error(" 1000.50 ") == Decimal("1000.50")


@pytest.mark.parametrize("language", i18n.LANGS)
def test_every_served_deployment_and_every_field_of_its_form_is_described_in_the_chosen_language(
    monkeypatch: pytest.MonkeyPatch, language: str
) -> None:
    from deployments.serve import build_deployments
    from flows.forms import FORMS

    monkeypatch.setenv("NPL_LANG", language)
    deployments = build_deployments()
    assert {d.flow_name for d in deployments} == set(FORMS)
    for deployment in deployments:
        description, fields = FORMS[deployment.flow_name]
        assert deployment.description == i18n.t_in(language, description)
        properties = deployment._parameter_openapi_schema.properties
        assert set(properties) == set(fields), deployment.flow_name  # every field has its words, none is left in English
        for name, label in fields.items():
            assert properties[name]["description"] == i18n.t_in(language, label)
            assert properties[name]["title"] == name  # the parameter's key, as the run page and the API show it
    payment = next(d for d in deployments if d.flow_name == "record-payment")
    expected = {"zh": "收到的金额（元，例如 1000.00）", "en": "the amount received (yuan, e.g. 1000.00)"}[language]
    assert payment._parameter_openapi_schema.properties["amount"]["description"] == expected


def test_the_new_detail_metric_and_replay_labels_are_seen_in_use() -> None:
    used = labels_in_use()
    assert {"detail.visit", "detail.quarantined", "detail.clock_ends", "risk.lapsed", "replay.title", "replay.limit_from",
            "metric.days_from_due", "metric.acts_skipped"} <= used


def test_a_worklist_detail_reads_in_the_chosen_language_and_in_english_as_the_command_gives_it(monkeypatch: pytest.MonkeyPatch) -> None:
    item = {"detail": "guarantee ends 2009-03-01: Zhou: sue the borrower (general guarantee): an approved decision, then the filing",
            "detail_parts": [["detail.clock_ends", {"clock": "guarantee", "date": "2009-03-01"}],
                             ["detail.sue_general_guarantee", {"guarantor": "Zhou"}]]}
    monkeypatch.delenv("NPL_LANG", raising=False)
    assert i18n.detail_text(item) == "guarantee 于 2009-03-01 届满：Zhou：起诉借款人（一般保证）：先经审批决定，再提起诉讼"
    monkeypatch.setenv("NPL_LANG", "en")
    assert i18n.detail_text(item) == item["detail"]
    assert i18n.detail_text({"detail": "free text"}) == "free text"  # an item without parts keeps its words


def test_the_replay_limits_in_english_are_the_reports_own_words() -> None:
    from services.replay import LIMITS
    from services.replay_report import LIMIT_LABELS, METRIC_LABELS

    assert [i18n.t_in("en", key) for key in LIMIT_LABELS] == LIMITS
    assert all(key in i18n.LABELS for key in METRIC_LABELS.values())


@pytest.mark.parametrize("language, heading, row, limits", [
    ("zh", "# 策略重放 2008-06-30 → 2008-12-31", "| 自到期起天数 / guarantor_pressure / 中位数 | 40 | 20 | -20 |", "## 局限"),
    ("en", "# Policy replay 2008-06-30 → 2008-12-31", "| days from due / guarantor_pressure / median | 40 | 20 | -20 |", "## Limits"),
])
def test_the_replay_markdown_is_in_the_callers_language(language: str, heading: str, row: str, limits: str) -> None:
    from datetime import date

    from services.replay import LIMITS
    from services.replay_report import ReplayReport, markdown

    def side(median: int) -> dict[str, object]:
        return {"days_from_due": {"guarantor_pressure": {"median": median}}, "weekly": [{"week": "2008-W30", "tasks": 3, "deadlines_at_risk": 1}],
                "tasks_by_officer_week": [], "acts": {"applied": 5, "capped": 0, "skipped": 1, "skipped_items": []}}

    report = ReplayReport(date(2008, 6, 30), date(2008, 12, 31), side(40), side(20), {}, {"count": 0, "items": []}, list(LIMITS))
    text = markdown(report, lambda key, **values: i18n.t_in(language, key, **values))
    assert text.startswith(heading) and row in text and limits in text
    assert "| 2008-W30 | 3 | 3 | 1 | 1 |" in text
    assert f"- {i18n.t_in(language, 'replay.limit_behaviour')}" in text
