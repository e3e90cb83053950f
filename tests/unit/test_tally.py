"""A run's tally counts everything it did and keeps only the first items of each kind."""

from __future__ import annotations

from services.daily import KINDS, Tally


def test_a_tally_counts_every_item_and_keeps_the_first_ones_in_full() -> None:
    tally = Tally(keep=3)
    for i in range(10):
        tally.add("transitions", {"loan_id": f"L-{i}"})
    tally.add("refused", "L-9: no")
    assert tally.counts["transitions"] == 10 and tally.counts["refused"] == 1
    assert [t["loan_id"] for t in tally.items["transitions"]] == ["L-0", "L-1", "L-2"]
    assert tally.room() == {**dict.fromkeys(KINDS, 3), "transitions": 0, "refused": 2}


def test_merging_a_digest_adds_all_counts_but_only_the_items_there_is_room_for() -> None:
    run = Tally(keep=4)
    run.add("awaiting", "first")
    chunk = Tally(keep=None)
    for i in range(6):
        chunk.add("awaiting", f"chunk-{i}")
    digest = chunk.digest(run.room())
    assert digest["items"]["awaiting"] == ["chunk-0", "chunk-1", "chunk-2"]  # cut to the room left
    run.merge(digest)
    assert run.counts["awaiting"] == 7
    assert run.items["awaiting"] == ["first", "chunk-0", "chunk-1", "chunk-2"]
    run.merge(chunk.digest())
    assert run.counts["awaiting"] == 13 and len(run.items["awaiting"]) == 4


def test_an_unlimited_tally_keeps_everything() -> None:
    tally = Tally(keep=None)
    for i in range(1000):
        tally.add("alerts", i)
    assert tally.items["alerts"] == list(range(1000)) and tally.room()["alerts"] is None
