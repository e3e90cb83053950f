"""An officer's worklist table is published again only when it changed (issue 20: every date
stored every officer's table, about 5 s of a date with nothing due at 200,000 loans), against
the session's real Prefect server: the record lives in the book, the artifacts on the server."""

from __future__ import annotations

import asyncio
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from prefect import flow
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactCollectionFilter, ArtifactCollectionFilterKey

from flows import publishing
from flows.i18n import t
from models.store import UnitOfWork
from services import published
from tests.builders import load

D1, D2, D3, D4 = date(2008, 10, 6), date(2008, 10, 7), date(2008, 10, 8), date(2008, 10, 9)


@pytest.fixture(autouse=True)
def english(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NPL_LANG", "en")


def book(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'npl.db'}"
    load(url, tmp_path, [{"loan_id": "L-T1"}])
    return url


@flow(name="publish-worklists")
def publish(items: list[dict[str, Any]], on: date, url: str) -> list[tuple[str, str, int, date]]:
    """As the daily run's publishing calls it, inside a run (an artifact belongs to a run)."""
    return publishing.publish_officer_worklists(items, on, url)


def item(loan_id: str, officer: str, task: str = "visit") -> dict[str, Any]:
    return {"officer": officer, "loan_id": loan_id, "task": task, "detail": f"visit {loan_id}", "due": None, "urgent": False}


def latest(key: str) -> tuple[str, list[dict[str, Any]], str] | None:
    """The key's latest artifact on the server: (id, rows, description)."""
    async def read() -> Any:
        async with get_client() as client:
            return await client.read_latest_artifacts(artifact_filter=ArtifactCollectionFilter(key=ArtifactCollectionFilterKey(any_=[key])))

    found = asyncio.run(read())
    if not found:
        return None
    data = json.loads(found[0].data) if isinstance(found[0].data, str) else found[0].data
    return str(found[0].latest_id), data, found[0].description


def test_an_officers_table_is_published_again_only_when_the_work_in_it_changes(prefect_server: Any, tmp_path: Path) -> None:
    url = book(tmp_path)
    a, b = "PUB-A", "PUB-B"
    first = publish([item("L-1", a), item("L-2", b)], D1, url)
    assert first == [(a, "worklist-pub-a", 1, D1), (b, "worklist-pub-b", 1, D1)]
    a1, b1 = latest("worklist-pub-a"), latest("worklist-pub-b")
    assert a1 is not None and b1 is not None and a1[2] == f"Work of {a} on {D1}"

    # the next date, the same work: nothing stored again, and the summary says whose table it is
    assert publish([item("L-1", a), item("L-2", b)], D2, url) == [
        (a, "worklist-pub-a", 1, D1), (b, "worklist-pub-b", 1, D1)]
    assert latest("worklist-pub-a") == a1 and latest("worklist-pub-b") == b1

    # A's work grows: only A's table is published, with the new date
    assert publish([item("L-1", a), item("L-3", a), item("L-2", b)], D3, url) == [
        (a, "worklist-pub-a", 2, D3), (b, "worklist-pub-b", 1, D1)]
    a3 = latest("worklist-pub-a")
    assert a3 is not None and a3[0] != a1[0] and [r["loan"] for r in a3[1]] == ["L-1", "L-3"] and a3[2] == f"Work of {a} on {D3}"
    assert latest("worklist-pub-b") == b1

    # B's work is all done: B's table says so (it showed L-2), and it is not published again after
    assert publish([item("L-1", a), item("L-3", a)], D4, url) == [(a, "worklist-pub-a", 2, D3)]
    b4 = latest("worklist-pub-b")
    assert b4 is not None and b4[1] == [{"loan": "-", "task": "nothing to do today", "detail": "", "due": "", "urgent": ""}]
    publish([item("L-1", a), item("L-3", a)], date(2008, 10, 10), url)
    assert latest("worklist-pub-b") == b4 and latest("worklist-pub-a") == a3


def test_every_table_is_published_again_when_the_server_no_longer_has_the_latest_or_the_language_changes(
    prefect_server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = book(tmp_path)
    work = [item("L-1", "PUB-C"), item("L-2", "PUB-D")]
    publish(work, D1, url)
    c1, d1 = latest("worklist-pub-c"), latest("worklist-pub-d")
    assert c1 is not None and d1 is not None

    async def delete(artifact_id: str) -> None:
        async with get_client() as client:
            await client.delete_artifact(artifact_id)

    asyncio.run(delete(c1[0]))  # a new or cleaned Prefect server: the book's record is no longer the truth
    assert publish(work, D2, url) == [("PUB-C", "worklist-pub-c", 1, D2), ("PUB-D", "worklist-pub-d", 1, D2)]
    c2, d2 = latest("worklist-pub-c"), latest("worklist-pub-d")
    assert c2 is not None and d2 is not None and d2[0] != d1[0] and c2[1] == c1[1]

    monkeypatch.setenv("NPL_LANG", "zh")  # the same work in the other language is another table
    publish(work, D3, url)
    c3 = latest("worklist-pub-c")
    assert c3 is not None and c3[0] != c2[0] and list(c3[1][0]) == ["贷款", "任务", "说明", "期限", "紧急"]


def test_a_failure_building_the_tables_or_storing_one_fails_the_publishing_and_the_book_records_no_table(prefect_server: Any, tmp_path: Path) -> None:
    url = book(tmp_path)

    @flow(name="publish-refused")
    def refused() -> None:
        def built() -> Any:
            yield "PUB-E", [item("L-1", "PUB-E")]
            raise RuntimeError("the worklist could not be read")  # the next officers' items fail to build

        publishing.publish_officer_worklists_as_built(built(), D1, url)

    with pytest.raises(RuntimeError, match="the worklist could not be read"):
        refused()

    @flow(name="publish-bad-key")
    def bad_key() -> None:
        with publishing.TableUploads() as uploads:
            uploads.put("not a key!", [{"a": 1}], "refused")  # Prefect keys are ^[a-z0-9-]*$

    with pytest.raises(Exception, match="lowercase letters, numbers"):
        bad_key()
    with UnitOfWork(url) as uow:
        assert published.worklists(uow.session) == {}


def test_tables_are_stored_while_the_next_are_built_and_every_one_is_waited_for(prefect_server: Any, tmp_path: Path) -> None:
    url = book(tmp_path)
    officers = [f"PUB-S{n:02d}" for n in range(20)]

    @flow(name="publish-streamed")
    def streamed(keep_tables: bool) -> tuple[list[Any], list[Any]]:
        return publishing.publish_officer_worklists_as_built(((o, [item(f"L-{o}", o)]) for o in officers), D1, url,
                                                             keep_tables=keep_tables)

    shown, tables = streamed(keep_tables=True)  # a served run: the day's workbook is made of them
    assert [row[0] for row in shown] == officers
    assert [(officer, [row[t("col.loan")] for row in rows]) for officer, rows in tables] == [(o, [f"L-{o}"]) for o in officers]
    shown_again, none_kept = streamed(keep_tables=False)  # `npl daily`: no workbook, nothing held
    assert [row[:3] for row in shown_again] == [row[:3] for row in shown] and none_kept == []
    assert all(latest(publishing.officer_key(o)) is not None for o in officers)
    with UnitOfWork(url) as uow:
        assert set(published.worklists(uow.session)) == {publishing.officer_key(o) for o in officers}
