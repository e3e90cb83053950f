"""Run names: every flow run is named by its loan or its date, in the chosen language
(``flow_run_name`` callables, read from the run's parameters as Prefect resolved them)."""

from __future__ import annotations

from datetime import date
from typing import Any, Callable

from flows.i18n import LABELS, PLACEHOLDER, t


def _parameters() -> dict[str, Any]:
    from prefect.runtime import flow_run

    return dict(flow_run.parameters or {})


def _day(value: Any) -> str | None:
    if value in (None, ""):
        return None
    return value.isoformat() if isinstance(value, date) else str(value)


def daily_name(parameters: dict[str, Any] | None = None) -> str:
    """``daily 2008-11-30`` (``每日催收 2008-11-30``): the last date the run covers."""
    p = _parameters() if parameters is None else parameters
    day = _day(p.get("through")) or _day(p.get("as_of"))
    if day is None:
        from flows.daily import today_in_branch_zone

        day = today_in_branch_zone().isoformat()
    return t("run.daily", date=day)


def report_name(parameters: dict[str, Any] | None = None) -> str:
    p = _parameters() if parameters is None else parameters
    return t("run.report", date=_day(p.get("as_of")) or "—")


def case_name(parameters: dict[str, Any] | None = None) -> str:
    p = _parameters() if parameters is None else parameters
    return t("run.case", loan_id=p.get("loan_id") or "?")


DAILY_REQUESTER = "daily-run"  # requested_by of the approval requests the daily run makes (flows/approvals.py)


def _text(value: Any) -> str:
    if value is None or value == "":
        return "?"
    return value.isoformat() if isinstance(value, date) else str(value)


def escalation_name(parameters: dict[str, Any] | None = None) -> str:
    """``L-0002 → litigation by E-01``; a request the daily run made says so."""
    p = _parameters() if parameters is None else parameters
    if p.get("requested_by") == DAILY_REQUESTER:
        return t("run.requested_by_daily", loan_id=_text(p.get("loan_id")), to=_text(p.get("to")))
    return t("run.escalation", **{k: _text(p.get(k)) for k in ("loan_id", "to", "requested_by")})


def operation(key: str) -> Callable[..., str]:
    """The ``flow_run_name`` of an operations flow: the label ``run.<key>`` filled from the run's
    parameters (a missing or unset one shows as ``?``)."""
    fields = PLACEHOLDER.findall(LABELS[f"run.{key}"]["en"])

    def name(parameters: dict[str, Any] | None = None) -> str:
        p = _parameters() if parameters is None else parameters
        return t(f"run.{key}", **{f: _text(p.get(f)) for f in fields})

    name.__name__ = f"{key}_name"
    return name


def name_failed_run(flow: Any, flow_run: Any, state: Any) -> None:
    """``on_failure`` hook: a run that failed before Prefect named it (its parameters did not
    validate: Prefect then skips ``flow_run_name``) is named from its raw parameters, so that a
    failed payment is ``L-0001: payment abc`` in the runs list, not a random name."""
    namer = getattr(flow, "flow_run_name", None)
    if not callable(namer):
        return
    try:
        wanted = namer(dict(flow_run.parameters or {}))
    except TypeError:  # a namer that reads the run context only
        return
    if wanted and wanted != flow_run.name:
        from prefect.client.orchestration import get_client

        with get_client(sync_client=True) as client:
            client.set_flow_run_name(flow_run.id, wanted)
