"""Prefect flow ``case-lookup``: one case on one page, for staff who have a loan id and a question.

The run publishes a markdown artifact (key ``case-<loan id>``, the latest lookup of that loan)
with the case's summary, balance, legal clocks and their status, state history, actions, and
the events the daily run will bring next (``npl explain``, services.explain). Nothing is written.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import Field
from typing_extensions import Annotated

from prefect import flow
from prefect.artifacts import create_markdown_artifact

from flows.i18n import amount, t
from flows.present import jsonable
from flows.publishing import officer_key
from flows.run_names import case_name
from models.domain.errors import BadInput
from models.store import UnitOfWork
from services import case_view, explain


def _cell(value: Any) -> str:
    return "—" if value is None or value == "" else str(value).replace("|", "\\|").replace("\n", " ")


def _table(headers: list[str], rows: list[list[Any]]) -> list[str]:
    if not rows:
        return [t("case.none")]
    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    return out + ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]


def _clock_rows(case: dict[str, Any]) -> list[list[Any]]:
    """The case's internal time limit, then every legal clock (``show``'s ``clocks``, contract
    shape: clock, party, status, end, days_left, rule, act) with its status and the rule or the
    act that decided it."""
    rows: list[list[Any]] = []
    limit = case["deadlines"].get("state_deadline")
    if limit:
        rows.append(["state_deadline", limit, _status(limit, case["as_of"]), None])
    for c in case.get("clocks") or []:
        name = c["clock"] if c.get("party") in (None, "borrower") else f"{c['clock']} ({c['party']})"
        status = c["status"] + (f" ({t('clock.days_left', days=c['days_left'])})" if c.get("days_left") is not None else "")
        act = c.get("act")
        detail = f"{act['kind']} {act['on']}" + (f", {act['evidence']}" if act.get("evidence") else "") if act else c.get("rule")
        rows.append([name, c.get("end"), status, detail])
    return rows


def _status(ends: str, as_of: str | None) -> str | None:
    """How a clock stands on the case's date: passed, or the days left."""
    if not as_of:
        return None
    left = (date.fromisoformat(ends) - date.fromisoformat(as_of)).days
    return t("clock.passed") if left < 0 else t("clock.days_left", days=left)


def case_markdown(case: dict[str, Any], coming: dict[str, Any] | None) -> str:
    b = case["balance"]
    lines = [f"# {t('case.title', loan_id=case['loan_id'])}", "", f"## {t('case.summary')}", ""]
    lines += [f"- **{t('case.state')}:** {case['state']}" + (f" ({case['closed_reason']})" if case.get("closed_reason") else ""),
              f"- **{t('case.classification')}:** {_cell(case['classification'])}",
              f"- **{t('case.dpd')}:** {case['dpd']}",
              f"- **{t('case.borrower')}:** {_cell((case.get('borrower') or {}).get('name'))}",
              f"- **{t('col.officer')}:** " + (f"[{case['assigned_to']}](/artifacts/key/{officer_key(case['assigned_to'])})"
                                                 if case.get("assigned_to") else "—")]
    if case.get("awaiting_approval"):
        lines.append("- **" + t("case.awaiting", move=case["awaiting_approval"], reason=_cell(case.get("awaiting_reason"))) + "**")
    lines += ["", f"## {t('case.balance', date=_cell(case['as_of']))}", ""]
    lines += _table([t("case.principal"), t("case.interest"), t("case.penalty"), t("case.compound"), t("case.delayed"), t("case.costs"),
                     t("case.total")],
                    [[amount(b["principal"]), amount(b["interest"]), amount(b["penalty"]), amount(b.get("compound", "0.00")), amount(b.get("delayed", "0.00")),
                      amount(b["costs"]), f"**{amount(b['total'])}**"]])
    lines += ["", f"## {t('case.clocks')}", ""]
    lines += _table([t("case.clock"), t("case.ends"), t("case.status"), t("col.detail")], _clock_rows(case))
    lines += ["", f"## {t('case.history')}", ""]
    lines += _table([t("col.on"), t("col.from"), t("col.to"), t("col.by"), t("col.approved_by"), t("col.reason")],
                    [[h["on"], h["from"], h["to"], h["by"], h["approved_by"], h["reason"]] for h in case["history"]])
    lines += ["", f"## {t('case.actions')}", ""]
    lines += _table([t("col.on"), t("col.kind"), t("col.by"), t("col.amount"), t("case.status"), t("col.detail")],
                    [[a["on"], a["kind"], a["by"], amount(a["amount"]) if a["amount"] else None, a["status"] or a["outcome"],
                      " ".join(str(x) for x in (a["target"], a["detail"]) if x)] for a in case.get("actions", [])])
    lines += ["", f"## {t('case.next_events')}", ""]
    events = (coming or {}).get("events", [])
    lines += _table([t("col.on"), t("col.kind"), t("col.detail"), t("col.who"), t("col.unless")],
                    [[e["on"], e["kind"], e["does"], e["who"], e["unless"]] for e in events])
    return "\n".join(lines) + "\n"


@flow(name="case-lookup", flow_run_name=case_name)
def case_lookup(loan_id: Annotated[str, Field(min_length=1, description="the loan, e.g. L-0001")]) -> dict[str, Any]:
    """Look a case up: summary, balance, clocks with their status, history, actions and the
    events the daily run will bring next. Reads only.

    Args:
        loan_id: the loan, e.g. L-0001
    """
    loan_id = loan_id.strip()
    with UnitOfWork() as uow:
        case = jsonable(case_view.show(uow, loan_id))
        try:
            coming: dict[str, Any] | None = explain.explain(uow, loan_id).as_dict()
        except BadInput:  # no business date run yet: nothing to project from
            coming = None
    create_markdown_artifact(key=f"case-{officer_key(loan_id).removeprefix('worklist-')}", markdown=case_markdown(case, coming),
                             description=t("run.case", loan_id=loan_id))
    return {"loan_id": loan_id, "state": case["state"], "balance": case["balance"]["total"]}
