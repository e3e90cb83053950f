"""What the strategy replay shows (services.replay): the report, its flat rows, the weekly
chart's numbers, the workbook with its PNG chart and the markdown artifact."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Callable

Label = Callable[..., str]  # flows.i18n.t: the caller's language (services never import flows)

KEEP = 500  # "would be due" and skipped items kept in full (all are counted)


@dataclass
class ReplayReport:
    d1: date
    d2: date
    champion: dict[str, Any]
    challenger: dict[str, Any]
    difference: dict[str, Any]
    would_be_due: dict[str, Any]
    limits: list[str]

    def as_dict(self) -> dict[str, Any]:
        return {"from": self.d1.isoformat(), "to": self.d2.isoformat(), "champion": self.champion, "challenger": self.challenger,
                "difference": self.difference, "would_be_due": self.would_be_due, "limits": self.limits}


def difference(a: Any, b: Any) -> Any:
    """challenger − champion, key by key, for the numeric metrics."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = {k: difference(a[k], b[k]) for k in a if k in b}
        return {k: v for k, v in out.items() if v is not None}
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return b - a
    return None


def would_be_due(champion: dict[tuple[str, str], date], challenger: dict[tuple[str, str], date], d1: date, d2: date) -> dict[str, Any]:
    """Moves needing a person that the challenger asks for earlier than the champion did (or at all)."""
    items = []
    for (loan_id, ev), day in sorted(challenger.items(), key=lambda kv: (kv[1], kv[0])):
        if not d1 < day <= d2:
            continue
        before = champion.get((loan_id, ev))
        if before is None or day < before:
            items.append({"loan_id": loan_id, "act": ev, "would_be_due_on": day.isoformat(),
                          "champion_asked_on": before.isoformat() if before else None})
    return {"count": len(items), "items": items[:KEEP]}


def weekly_table(report: ReplayReport) -> list[dict[str, Any]]:
    """Per ISO week: tasks and deadlines at risk, champion beside challenger (the chart's numbers)."""
    rows: dict[str, dict[str, Any]] = {}
    for side in ("champion", "challenger"):
        for w in getattr(report, side)["weekly"]:
            row = rows.setdefault(w["week"], {"week": w["week"], "champion_tasks": 0, "challenger_tasks": 0,
                                              "champion_at_risk": 0, "challenger_at_risk": 0})
            row[f"{side}_tasks"] = w["tasks"]
            row[f"{side}_at_risk"] = w["deadlines_at_risk"]
    return [rows[k] for k in sorted(rows)]


def summary_rows(report: ReplayReport) -> list[dict[str, Any]]:
    """The comparison as flat rows: metric, champion, challenger, difference."""
    out: list[dict[str, Any]] = []

    def walk(prefix: str, a: Any, b: Any) -> None:
        if isinstance(a, dict):
            for k in a:
                walk(f"{prefix}.{k}" if prefix else k, a[k], b.get(k) if isinstance(b, dict) else None)
        elif isinstance(a, (int, float)) or a is None:
            diff = b - a if isinstance(a, (int, float)) and isinstance(b, (int, float)) else None
            out.append({"metric": prefix, "champion": a, "challenger": b, "difference": diff, "path": tuple(prefix.split("."))})

    skip = ("weekly", "tasks_by_officer_week", "acts")
    walk("", {k: v for k, v in report.champion.items() if k not in skip}, {k: v for k, v in report.challenger.items() if k not in skip})
    for k in ("applied", "capped", "skipped"):
        out.append({"metric": f"recorded acts {k}", "champion": report.champion["acts"][k], "challenger": report.challenger["acts"][k],
                    "difference": report.challenger["acts"][k] - report.champion["acts"][k], "path": (f"acts_{k}",)})
    return out


def chart(report: ReplayReport, path: str | Path) -> Path:
    """PNG: tasks per week and deadlines at risk per week, champion vs challenger."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    rows = weekly_table(report)
    figure = Figure(figsize=(10, 6), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    top, bottom = figure.subplots(2, 1, sharex=True)
    weeks = [r["week"] for r in rows]
    x = list(range(len(weeks)))
    for side, colour in (("champion", "#4292c6"), ("challenger", "#d94801")):
        top.plot(x, [r[f"{side}_tasks"] for r in rows], label=side, color=colour)
        bottom.plot(x, [r[f"{side}_at_risk"] for r in rows], label=side, color=colour)
    top.set_title(f"Tasks per week (demands to send, visits, approvals), {report.d1} → {report.d2}")
    bottom.set_title("Deadlines at risk at each week's end")
    for axes in (top, bottom):
        axes.legend(loc="upper right")
        axes.grid(alpha=0.3)
    step = max(1, len(weeks) // 12)
    bottom.set_xticks(x[::step], weeks[::step], rotation=45, ha="right")
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(target, format="png")
    return target


def write_files(report: ReplayReport, xlsx: str | Path) -> list[str]:
    """The workbook (comparison, weeks, officer-weeks of each side, limits, skipped acts, acts
    due earlier) and the chart PNG beside it."""
    import pandas as pd

    from models.spreadsheets import write_report_xlsx

    path = Path(xlsx)
    png = path.with_name(path.stem + "-workload.png")
    chart(report, png)
    skipped = [item | {"side": side} for side in ("champion", "challenger") for item in getattr(report, side)["acts"]["skipped_items"]]
    tables = {
        "comparison": pd.DataFrame(summary_rows(report), columns=["metric", "champion", "challenger", "difference"]),
        "weeks": pd.DataFrame(weekly_table(report), columns=["week", "champion_tasks", "challenger_tasks", "champion_at_risk", "challenger_at_risk"]),
        "champion officer weeks": pd.DataFrame(report.champion["tasks_by_officer_week"], columns=["officer", "week", "letters", "visits", "approvals"]),
        "challenger officer weeks": pd.DataFrame(report.challenger["tasks_by_officer_week"], columns=["officer", "week", "letters", "visits", "approvals"]),
        "would be due": pd.DataFrame(report.would_be_due["items"], columns=["loan_id", "act", "would_be_due_on", "champion_asked_on"]),
        "skipped acts": pd.DataFrame(skipped, columns=["side", "loan_id", "act", "on", "why"]),
        "limits": pd.DataFrame({"limit": report.limits}),
    }
    write_report_xlsx(path, tables, charts={"workload chart": png})
    return [str(path), str(png)]


# the comparison's row labels: each segment of a metric's path that names a measure (states and
# categories stay codes, as elsewhere in the artifacts)
METRIC_LABELS = {
    "entered": "metric.entered", "entered_total": "metric.entered_total", "days_from_due": "metric.days_from_due",
    "cases": "col.cases", "median": "metric.median", "p90": "metric.p90", "tasks": "metric.tasks", "letters": "metric.letters",
    "visits": "metric.visits", "approvals": "metric.approvals", "tasks_per_officer_week": "metric.tasks_per_officer_week",
    "officer_weeks": "metric.officer_weeks", "mean": "metric.mean", "max": "metric.max", "approvals_needed": "metric.approvals_needed",
    "deadlines": "metric.deadlines", "at_risk_at_end": "metric.at_risk_at_end", "at_risk_weekly_max": "metric.at_risk_weekly_max",
    "lapsed": "risk.lapsed", "guarantee_period": "metric.guarantee_period", "limitation": "metric.limitation",
    "classification_at_end": "metric.classification_at_end", "acts_applied": "metric.acts_applied",
    "acts_capped": "metric.acts_capped", "acts_skipped": "metric.acts_skipped",
}
# ReplayReport.limits (services.replay.LIMITS, English in the JSON) as labels, in the same order
LIMIT_LABELS = ("replay.limit_behaviour", "replay.limit_skipped", "replay.limit_would_be_due", "replay.limit_rebuilt",
                "replay.limit_later_imports", "replay.limit_time_of_day", "replay.limit_workload", "replay.limit_from")


def metric_label(path: tuple[str, ...], label: Label) -> str:
    return " / ".join(label(METRIC_LABELS[part]) if part in METRIC_LABELS else part for part in path)


def markdown(report: ReplayReport, label: Label) -> str:
    """The comparison and the chart's numbers as markdown (the Prefect artifact), its headings,
    row labels and limits in the caller's language (``label``: flows.i18n.t)."""
    columns = [label("replay.metric"), label("replay.champion"), label("replay.challenger"), label("replay.difference")]
    lines = [f"# {label('replay.title', date_from=report.d1, date_to=report.d2)}", "", "| " + " | ".join(columns) + " |", "|---|---|---|---|"]
    for r in summary_rows(report):
        lines.append(f"| {metric_label(r['path'], label)} | {_cell(r['champion'])} | {_cell(r['challenger'])} | {_cell(r['difference'])} |")
    weekly = [label("replay.week"), label("replay.tasks_champion"), label("replay.tasks_challenger"), label("replay.at_risk_champion"),
              label("replay.at_risk_challenger")]
    lines += ["", label("replay.would_be_due", count=report.would_be_due["count"]), "",
              f"## {label('replay.per_week')}", "", "| " + " | ".join(weekly) + " |", "|---|---|---|---|---|"]
    for r in weekly_table(report):
        lines.append(f"| {r['week']} | {r['champion_tasks']} | {r['challenger_tasks']} | {r['champion_at_risk']} | {r['challenger_at_risk']} |")
    limits = [label(key) for key in LIMIT_LABELS] if len(report.limits) == len(LIMIT_LABELS) else report.limits
    lines += ["", f"## {label('replay.limits')}", ""] + [f"- {limit}" for limit in limits]
    return "\n".join(lines) + "\n"


def _cell(value: Any) -> str:
    return "" if value is None else str(value)
