"""The daily flow on PostgreSQL with its workers on Prefect task runners — a pool of two
processes, and a Dask LocalCluster of two worker processes (prefect-dask) — ends with the same
digest as the flow with one worker; each date makes one task run per worker, not one per chunk."""

from __future__ import annotations

import asyncio
from datetime import timedelta


from services import daily
from tests.builders import load
from tests.conftest import _empty
from tests.integration.test_same_answer import LOANS, run_digest
from tests.integration.test_setwise_moves import RUN_DATE, random_book

THROUGH = RUN_DATE + timedelta(days=1)  # two dates: each makes one task run per worker


async def _task_runs(flow_run_id: str) -> list[str]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    async with get_client() as client:
        runs = await client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
    return [r.name for r in runs]


def _flow(pg_url, tmp_path, monkeypatch, task_runner, workers: int) -> tuple[str, list[str]]:
    from flows.daily import daily_collection

    monkeypatch.setattr(daily, "CHUNK", 20)
    monkeypatch.setattr(daily, "PART_CASES", 20)  # the flow's process plans the parts: several per date at this size
    monkeypatch.setenv("NPL_WORKERS", str(workers))
    monkeypatch.setenv("NPL_DATABASE_URL", pg_url)  # no flow takes a database URL; worker processes inherit it
    _empty(pg_url)
    load(pg_url, tmp_path, *random_book(7, LOANS))
    state = daily_collection.with_options(task_runner=task_runner)(as_of=RUN_DATE, through=THROUGH,
                                                                  publish=False, return_state=True)
    run = state.result()
    assert run["cases_judged"] > 100
    return run_digest(pg_url), asyncio.run(_task_runs(str(state.state_details.flow_run_id)))


def test_two_processes_and_a_dask_cluster_end_as_one_worker_does(prefect_server, pg_url, tmp_path, monkeypatch):
    from prefect.task_runners import ProcessPoolTaskRunner, ThreadPoolTaskRunner
    from prefect_dask import DaskTaskRunner

    one, one_runs = _flow(pg_url, tmp_path, monkeypatch, ThreadPoolTaskRunner(), 1)
    pool, pool_runs = _flow(pg_url, tmp_path, monkeypatch, ProcessPoolTaskRunner(max_workers=2), 2)
    dask = DaskTaskRunner(cluster_class="distributed.LocalCluster",
                          cluster_kwargs={"n_workers": 2, "processes": True, "threads_per_worker": 1, "dashboard_address": None})
    on_dask, dask_runs = _flow(pg_url, tmp_path, monkeypatch, dask, 2)
    assert pool == one and on_dask == one
    split = _dates_in_parts(pg_url)
    assert split >= 1  # the first date after the import is split into parts
    assert len([r for r in one_runs if r.startswith("work_parts")]) == split
    assert len([r for r in pool_runs if r.startswith("work_parts")]) == 2 * split  # per date and worker, not per chunk
    assert len([r for r in dask_runs if r.startswith("work_parts")]) == 2 * split


def _dates_in_parts(url: str) -> int:
    """Dates split into more than one part (a date of one part is worked in the flow's process)."""
    from sqlalchemy import func, select

    from models.store import UnitOfWork
    from models.tables import DayPart

    with UnitOfWork(url) as uow:
        per_date = select(DayPart.business_date).group_by(DayPart.business_date).having(func.count() > 1).subquery()
        return uow.session.execute(select(func.count()).select_from(per_date)).scalar_one()
