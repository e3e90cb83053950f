"""The daily run's summary: cases and outstanding principal by state and by classification (one
GROUP BY), and the summary artifact's markdown. No pandas: every daily run publishes it (the
portfolio report, with its frames, is :mod:`services.reporting`)."""

from __future__ import annotations

from datetime import date
from typing import Any, Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from machines.loan_case import CaseState
from machines.policy import Policy
from models.domain.classification import Category
from models.domain.money import from_fen
from models.tables import Loan

STATES: tuple[str, ...] = tuple(s.value for s in CaseState)  # the ladder's order, side tracks after it
CATEGORIES: tuple[str, ...] = tuple(c.value for c in Category)  # normal ... loss, best first


def summary_tables(session: Session, policy: Policy) -> dict[str, list[tuple[str, int, int]]]:
    """Counts and outstanding principal by state, and of open cases by classification: one
    GROUP BY over the covering index (state, classification, principal)."""
    by_state: dict[str, list[int]] = {}
    by_class: dict[str, list[int]] = {}

    def add(totals: dict[str, list[int]], key: str, count: int, principal: int) -> None:
        row = totals.setdefault(key, [0, 0])
        row[0] += int(count)
        row[1] += int(principal)

    for state, category, count, principal in session.execute(
        select(Loan.state, Loan.classification, func.count(), func.coalesce(func.sum(Loan.outstanding_principal_fen), 0))
        .group_by(Loan.state, Loan.classification)
    ):
        add(by_state, state, count, principal)
        if state != "closed":
            add(by_class, category, count, principal)
    return {
        "by_state": sorted(((s, c, b) for s, (c, b) in by_state.items()), key=lambda r: STATES.index(r[0])),
        "by_classification": sorted(((s, c, b) for s, (c, b) in by_class.items()), key=lambda r: CATEGORIES.index(r[0])),
    }


SHOWN = 200  # rows of each list in the summary; the tables, history and `npl worklist` have all

Label = Callable[..., str]  # flows.i18n.t: the caller's language (services never import flows)


def shown_note(label: Label, shown: int, total: int) -> str:
    return label("summary.first_shown", shown=shown, total=total)


def summary_markdown(as_of: date, summary: dict[str, Any], run: dict[str, Any], risks: list[dict[str, Any]],
                     label: Label) -> str:
    """The run's summary. ``run`` holds counts (``counts``) and the first items of each kind;
    ``label`` (flows.i18n.t) gives every heading and column in the chosen language; amounts
    with thousands separators."""
    counts = run["counts"]
    lines = [f"# {label('summary.title', date=as_of)}", ""]
    if run.get("already_done"):
        lines += [label("summary.already_done", date=run["through"]), ""]
    else:
        lines += [label("summary.ran", dates=run["dates_run"], event_dates=run["event_dates"], cases=run["cases_judged"],
                        transitions=counts["transitions"]), ""]
    money = label("col.outstanding_principal")
    lines += [f"## {label('summary.by_state')}", "", f"| {label('case.state')} | {label('col.cases')} | {money} |", "|---|---:|---:|"]
    lines += [f"| {s} | {c} | {fmt_grouped(b)} |" for s, c, b in summary["by_state"]]
    lines += ["", f"## {label('summary.by_classification')}", "",
              f"| {label('case.classification')} | {label('col.cases')} | {money} |", "|---|---:|---:|"]
    lines += [f"| {s} | {c} | {fmt_grouped(b)} |" for s, c, b in summary["by_classification"]]

    def table(title: str, total: int, rows: list[Any], headers: list[str], row: Callable[[Any], str]) -> None:
        lines.extend(["", f"## {label(title)} ({total})", ""])
        if rows:
            shown = rows[:SHOWN]
            lines.extend(["| " + " | ".join(label(h) for h in headers) + " |", "|" + "---|" * len(headers)])
            lines.extend(row(r) for r in shown)
            if total > len(shown):
                lines.append(shown_note(label, len(shown), total))

    table("summary.transitions", counts["transitions"], run.get("transitions", []),
          ["col.loan", "col.from", "col.to", "col.on", "col.reason"],
          lambda t: f"| {t['loan_id']} | {t['from']} | {t['to']} | {t['on']} | {t['reason']} |")
    table("summary.at_risk", len(risks), risks, ["col.loan", "case.clock", "case.ends", "col.what_to_do", "col.officer"],
          lambda r: f"| {r['loan_id']} | {r['clock']} | {r['date']} | {r['detail']} | {r['officer']} |")
    if run.get("awaiting"):
        table("summary.awaiting", counts["awaiting"], run["awaiting"], ["col.loan", "col.move", "col.reason", "col.urgent"],
              lambda a: f"| {a['loan_id']} | {a['event']} | {a['reason']} | {label('yes') if a['urgent'] else ''} |")
    return "\n".join(lines) + "\n"


def fmt_grouped(fen: int) -> str:
    """Integer fen as yuan with thousands separators (``1,234,567.50``), for what people read."""
    return f"{from_fen(int(fen)):,.2f}"
