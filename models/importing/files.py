"""Whole-file checks, and telling a file's kind by its header.

Every file is read whole before anything is written: valid UTF-8 (a BOM allowed), parseable
CSV, a header with the required columns of exactly one kind (names trimmed, case ignored,
unknown columns ignored), at least one data row. One unreadable file refuses the whole call
with BadInput.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from models.domain.errors import BadInput

if TYPE_CHECKING:
    from models.importing.loaders import Kind


@dataclass
class Source:
    name: str  # the path as given (what the report names)
    path: Path
    order: int
    kind: str
    header: list[str]
    index: dict[str, int]  # known column → position
    bom: bool
    records: int = 0  # non-blank records after the header (what the store plans a bulk load by)

    @property
    def rejects_path(self) -> Path:
        return self.path.with_name(self.path.stem + ".rejects.csv")


def check_utf8(path: Path, name: str) -> bool:
    """Raise BadInput unless the file is valid UTF-8; return whether it starts with a BOM."""
    base = 0  # file offset of data[0]
    lines = 0  # newlines before data[0]
    carry = b""
    bom = False
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            if base == 0 and not carry:
                bom = chunk.startswith(b"\xef\xbb\xbf")
            data = carry + chunk
            carry = b""
            try:
                data.decode("utf-8")
            except UnicodeDecodeError as error:
                if error.reason == "unexpected end of data" and error.end == len(data):
                    carry = data[error.start :]  # a character split across chunks
                    data = data[: error.start]
                else:
                    not_utf8(name, base + error.start, lines + data.count(b"\n", 0, error.start) + 1)
            base += len(data)
            lines += data.count(b"\n")
    if carry:
        not_utf8(name, base, lines + 1)
    return bom


def not_utf8(name: str, offset: int, line: int) -> None:
    raise BadInput(
        f"{name}: not valid UTF-8 at byte offset {offset} (line {line}); "
        "save the export as UTF-8 (GBK/GB18030 files must be converted)"
    )


def scan(path: Path, name: str) -> tuple[list[str] | None, int]:
    """(header, how many non-blank records follow it), reading the whole file through the CSV
    reader so that a file it cannot parse is refused before anything is written."""
    header: list[str] | None = None
    records = 0
    last = 0
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        try:
            for row in reader:
                if row and "".join(row).strip():
                    if header is None:
                        header = row
                    else:
                        records += 1
                last = reader.line_num
        except csv.Error as error:
            raise BadInput(
                f"{name}: the record starting on line {last + 1} is not readable as CSV ({error}; an unclosed quote?)"
            ) from None
    return header, records


def inspect_file(given: str | Path, order: int, kinds: Sequence[Kind]) -> Source:
    """The file's kind, told by its header among ``kinds``, and where its known columns are."""
    name = str(given)
    path = Path(given)
    try:
        if not path.exists():
            raise BadInput(f"{name}: no such file")
        if not path.is_file():
            raise BadInput(f"{name}: not a regular file")
        bom = check_utf8(path, name)
        header, records = scan(path, name)
    except OSError as error:
        raise BadInput(f"{name}: cannot read the file ({error.strerror or error})") from None
    if header is None:
        raise BadInput(f"{name}: empty file")
    names = [cell.replace("\ufeff", "").strip().lower() for cell in header]
    known = {c for kind in kinds for c in kind.columns}
    index: dict[str, int] = {}
    for position, column in enumerate(names):
        if column in index and column in known:
            raise BadInput(f"{name}: column {column!r} appears twice in the header")
        index.setdefault(column, position)
    missing = {kind.name: [c for c in kind.required if c not in index] for kind in kinds}
    matches = [kind for kind in kinds if not missing[kind.name]]
    if not matches:
        detail = "; ".join(f"{kind}: {', '.join(columns)}" for kind, columns in missing.items())
        raise BadInput(f"{name}: header matches no import file kind (missing columns for {detail})")
    if len(matches) > 1:
        raise BadInput(f"{name}: header has the required columns of {' and '.join(k.name for k in matches)}; split the file")
    kind = matches[0]
    if not records:
        raise BadInput(f"{name}: no data rows (only a header)")
    wanted = set(kind.columns)
    return Source(
        name=name,
        path=path,
        order=order,
        kind=kind.name,
        header=header,
        index={c: i for c, i in index.items() if c in wanted},
        bom=bom,
        records=records,
    )


def inspect_all(paths: Sequence[str | Path], kinds: Sequence[Kind]) -> list[Source]:
    """Every file checked whole (a file named twice counts once); BadInput at the first problem."""
    sources: list[Source] = []
    seen: set[Path] = set()
    for given in paths:
        resolved = Path(given).resolve()
        if resolved in seen:
            continue  # the same file named twice is imported once
        seen.add(resolved)
        sources.append(inspect_file(given, len(sources), kinds))
    for source in sources:
        if source.rejects_path.resolve() in seen:
            raise BadInput(f"{source.name}: its rejects file {source.rejects_path} is also an input")
    return sources
