"""An operation's run page: the markdown account each operations flow attaches to its run —
what was recorded, a payment's allocation and the balance after it, the case's state and its
next deadline (and, on a retry, that nothing was booked again)."""

from __future__ import annotations

import re
from typing import Any

from prefect.artifacts import create_markdown_artifact
from prefect.context import get_run_context

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
    """The run page's account of an operation: what was recorded, a payment's allocation, the
    balance after, the case's state and its next deadline."""
    shown = jsonable(case)
    lines = [f"# {case.loan_id}: {title}", ""]
    if again:
        lines += ["**Already recorded** by an earlier try with the same key: nothing was booked again; "
                  "this is what was recorded.", ""]
    lines += ["## Recorded", "", "| | |", "|---|---|"]
    lines += [f"| {name} | {_cell(value)} |" for name, value in result.items() if not isinstance(value, (dict, list))]
    if isinstance(result.get("allocation"), dict):
        parts = result["allocation"]
        lines += ["", "## Allocation", "", "| costs | penalty | compound | interest | principal | delayed |", "|---:|---:|---:|---:|---:|---:|",
                  f"| {parts['costs']} | {parts['penalty']} | {parts.get('compound', '0.00')} | {parts['interest']} | {parts['principal']} "
                  f"| {parts.get('delayed', '0.00')} |"]
    if isinstance(result.get("balance_after"), dict):
        lines += ["", f"Balance after the payment on {result.get('paid_on')}: **{result['balance_after']['total']}**"]
    for w in result.get("warnings") or []:
        lines += ["", f"> **Warning:** {_cell(w)}"]
    b = shown["balance"]
    nxt = next_deadline(case)
    lines += [
        "", "## The case now", "",
        f"- **State:** {case.state}" + (f" ({case.closed_reason})" if case.closed_reason else ""),
        f"- **Balance** as of {_cell(shown['as_of'])}: **{b['total']}** = principal {b['principal']} + interest {b['interest']}"
        f" + penalty {b['penalty']} + costs {b['costs']} + compound {b.get('compound', '0.00')} + delayed {b.get('delayed', '0.00')}",
        f"- **Next deadline:** {nxt.on.isoformat()} — {nxt.what}" if nxt else "- **Next deadline:** none",
    ]
    if case.awaiting_approval:
        lines.append(f"- **Awaiting approval:** {case.awaiting_approval}: {_cell(case.awaiting_reason)}")
    return "\n".join(lines) + "\n"


def publish(db_url: str | None, title: str, loan_id: str, result: dict[str, Any], again: bool) -> None:
    """Attach the operation's account to the run (and keep the loan's latest under its key);
    outside a run (the flow's function called directly) there is no run page to attach it to."""
    if not in_a_run():
        return
    with UnitOfWork(db_url) as uow:
        case = case_view.show(uow, loan_id)
    create_markdown_artifact(markdown=result_markdown(title, result, case, again), key=f"operation-{_slug(loan_id)}",
                             description=f"{loan_id}: {title}")
