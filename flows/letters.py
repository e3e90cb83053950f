"""Demand letter flows (issue 14 part 5): ``demand-letters`` generates the letters due on a
business date (``services.letters.generate``) and publishes their list as a markdown artifact;
``record-service`` records that one letter was served (``services.letters.served``, under the
run's idempotency key like every operation: a Retry records nothing twice). ``letters_due`` is
the daily flow's step after publishing: the letters due on the run's last date. Thin: the
rules are the services'."""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.context import FlowRunContext, TaskRunContext

from flows.i18n import t
from flows.prefect_env import flow_database_url
from flows.present import jsonable
from flows.run_page import publish
from models.store import UnitOfWork
from services import letters


def batch_markdown(batch: letters.Batch) -> str:
    title = f"# {t('letters.title', date=batch.as_of)}"
    if not batch.letters:
        return f"{title}\n\n{t('letters.none')}"
    lines = [title, "", t("letters.register", count=len(batch.letters), xlsx=f"`{batch.register_xlsx}`", csv=f"`{batch.register_csv}`"),
             "", f"| {t('letters.letter')} | PDF |", "|---|---|"]
    lines += [f"| {number} | `{path}` |" for number, path in zip(batch.letters, batch.pdfs)]
    return "\n".join(lines)


def _generate(as_of: date) -> dict[str, Any]:
    with UnitOfWork(flow_database_url()) as uow:
        batch = letters.generate(uow, as_of, None)  # into $NPL_LETTERS_DIR/<date>/: no path from a form
    if FlowRunContext.get() is not None or TaskRunContext.get() is not None:  # a run page to list them on
        create_markdown_artifact(key="demand-letters", markdown=batch_markdown(batch),
                                 description=t("letters.title", date=as_of))
    return {"as_of": as_of.isoformat(), "letters": list(batch.letters), "pdfs": [str(p) for p in batch.pdfs],
            "register_xlsx": str(batch.register_xlsx) if batch.register_xlsx else None,
            "register_csv": str(batch.register_csv) if batch.register_csv else None}


@task(cache_policy=NO_CACHE)
def letters_due(day: date) -> dict[str, Any]:
    """The daily flow's step: the letters due on ``day`` (into ``$NPL_LETTERS_DIR/<date>/``)."""
    return _generate(day)


@flow(name="demand-letters", flow_run_name="demand letters {as_of}")
def demand_letters(as_of: date) -> dict[str, Any]:
    """Generate the demand letters due on a business date: a PDF each and the batch register,
    into the served process's letters folder ($NPL_LETTERS_DIR/<date>/, else ./var/letters/<date>/).

    Args:
        as_of: the business date (already run) whose send_demand tasks get letters
    """
    return _generate(as_of)


@flow(name="record-service", flow_run_name="{letter_no}: served {on}")
def record_service(
    letter_no: str,
    on: date,
    method: str,
    by: str,
    tracking: str | None = None,
    key: str | None = None,
) -> dict[str, Any]:
    """Record that a demand letter was served: a demand act with the letter's number as evidence.

    Args:
        letter_no: the letter's number, e.g. NPL-20081130-0001
        on: the day it reached the party (signed for, arrived, published)
        method: in_person, mail, electronic or announcement
        by: your operator id
        tracking: the mail tracking or receipt number
        key: idempotency key (default: this run's id, so a Retry records nothing twice)
    """
    from flows.operations import _already_recorded, _operation_key

    url = flow_database_url()
    key = _operation_key(key)
    again = _already_recorded(url, key)
    with UnitOfWork(url) as uow:
        result = jsonable(letters.served(uow, letter_no, on=on, method=method, tracking=tracking, by=by, key=key))
    publish(url, f"letter {letter_no} served", result["loan_id"], result, again)
    return result
