"""An operation's run page: the markdown account each operations flow attaches to its run —
what was recorded, a payment's allocation and the balance after it, the case's state and its
next deadline (and, on a retry, that nothing was booked again)."""

from __future__ import annotations

import re
from typing import Any

from prefect.artifacts import create_markdown_artifact
from prefect.context import get_run_context

from flows.i18n import amount, t
from flows.present import jsonable
from models.store import UnitOfWork
from services import case_view
from services.case_view import CaseDetail, next_deadline


def in_a_run() -> bool:
    try:
        return get_run_context().flow_run is not None  # type: ignore[union-attr]
    except Exception:  # called outside a run
        return False


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "case"


def _cell(value: Any) -> str:
    return "—" if value is None or value == "" else str(value).replace("|", "\\|").replace("\n", " ")


def result_markdown(title: str, result: dict[str, Any], case: CaseDetail, again: bool) -> str:
    """The run page's account of an operation: what was recorded (the result's own keys and
    values, as the run's result holds them), a payment's allocation, the balance after, the case's
    state and its next deadline; words in the chosen language, amounts with thousands separators."""
    shown = jsonable(case)
    lines = [f"# {t('page.title', loan_id=case.loan_id, title=title)}", ""]
    if again:
        lines += [t("page.already"), ""]
    lines += [f"## {t('page.recorded')}", "", "| | |", "|---|---|"]
    lines += [f"| {name} | {_cell(value)} |" for name, value in result.items() if not isinstance(value, (dict, list))]
    if isinstance(result.get("allocation"), dict):
        parts = result["allocation"]
        lines += ["", f"## {t('page.allocation')}", "",
                  f"| {t('case.costs')} | {t('case.penalty')} | {t('case.compound')} | {t('case.interest')} | {t('case.principal')} "
                  f"| {t('case.delayed')} |", "|---:|---:|---:|---:|---:|---:|",
                  f"| {amount(parts['costs'])} | {amount(parts['penalty'])} | {amount(parts.get('compound', '0.00'))} "
                  f"| {amount(parts['interest'])} | {amount(parts['principal'])} | {amount(parts.get('delayed', '0.00'))} |"]
    if isinstance(result.get("balance_after"), dict):
        lines += ["", t("page.balance_after", date=result.get("paid_on"), total=amount(result["balance_after"]["total"]))]
    for w in result.get("warnings") or []:
        lines += ["", f"> **{t('page.warning')}:** {_cell(w)}"]
    b = shown["balance"]
    nxt = next_deadline(case)
    lines += [
        "", f"## {t('page.case_now')}", "",
        f"- **{t('case.state')}:** {case.state}" + (f" ({case.closed_reason})" if case.closed_reason else ""),
        "- " + t("page.balance", date=_cell(shown["as_of"]), total=amount(b["total"]), principal=amount(b["principal"]),
                 interest=amount(b["interest"]), penalty=amount(b["penalty"]), costs=amount(b["costs"]),
                 compound=amount(b.get("compound", "0.00")), delayed=amount(b.get("delayed", "0.00"))),
        f"- **{t('page.next_deadline')}:** " + (f"{nxt.on.isoformat()} — {nxt.what}" if nxt else t("case.none")),
    ]
    if case.awaiting_approval:
        lines.append(f"- **{t('task.approval_awaited')}:** {case.awaiting_approval}: {_cell(case.awaiting_reason)}")
    return "\n".join(lines) + "\n"


def publish(db_url: str | None, title: str, loan_id: str, result: dict[str, Any], again: bool) -> None:
    """Attach the operation's account to the run (and keep the loan's latest under its key);
    outside a run (the flow's function called directly) there is no run page to attach it to."""
    if not in_a_run():
        return
    with UnitOfWork(db_url) as uow:
        case = case_view.show(uow, loan_id)
    create_markdown_artifact(markdown=result_markdown(title, result, case, again), key=f"operation-{_slug(loan_id)}",
                             description=t("page.title", loan_id=loan_id, title=title))
