"""A synthetic book for the heavier tests, from the benchmark's own generator."""

from __future__ import annotations

from pathlib import Path

from bench.daily_bench import generate


def write_book(folder: Path, loans: int) -> list[Path]:
    return generate(folder, loans)
