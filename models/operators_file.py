"""The operators CSV (header ``operator_id,name,role`` and optionally ``active``) → rows and rejects.

A loader the importer registers as one more kind told by header (``HEADER_REQUIRED`` and
``HEADER_OPTIONAL``). ``parse_rows`` reads the whole file (UTF-8, a BOM allowed, header names
case-insensitive, unknown columns ignored) and returns the good rows, ready for
``services.operators.upsert_operators``, and one reject per bad row naming file, physical line
(the header is line 1), column and reason. A file it cannot read at all raises BadInput.

Row rules: ``operator_id`` well-formed once normalized (models.domain.identifiers: look-alikes
refused with the character named) and not repeated in the file; ``name`` not empty, at most 200
characters; ``role`` officer | manager | admin; ``active`` (when present) true/false, yes/no, 1/0,
empty meaning true.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from models.domain.errors import BadInput
from models.domain.identifiers import IdentifierError, normalize_operator_id

HEADER_REQUIRED = ("operator_id", "name", "role")
HEADER_OPTIONAL = ("active",)
ROLES = ("officer", "manager", "admin")
TRUE = ("true", "yes", "1", "y", "")
FALSE = ("false", "no", "0", "n")


@dataclass(frozen=True)
class Rejected:
    """One row not taken (the same fields as the importer's rejects)."""

    file: str
    line: int
    column: str
    reason: str


def parse_rows(path: str | Path) -> tuple[list[dict[str, Any]], list[Rejected]]:
    """``(rows, rejects)``: rows as ``{operator_id, name, role, active}`` with the id as given."""
    path = Path(path)
    name = path.name
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            records: list[tuple[int, list[str]]] = []  # (physical line the record starts on, cells)
            end = 0
            for record in reader:
                records.append((end + 1, record))
                end = reader.line_num
    except UnicodeDecodeError:
        raise BadInput(f"{name}: not valid UTF-8") from None
    except OSError as error:
        raise BadInput(f"{name}: cannot read the file ({error.strerror or error})") from None
    except csv.Error as error:
        raise BadInput(f"{name}: not a valid CSV file ({error})") from None
    if not records:
        raise BadInput(f"{name}: empty file")
    header = [cell.replace("\ufeff", "").strip().lower() for cell in records[0][1]]
    missing = [column for column in HEADER_REQUIRED if column not in header]
    if missing:
        raise BadInput(f"{name}: not an operators file (missing columns: {', '.join(missing)})")
    index = {column: header.index(column) for column in HEADER_REQUIRED + HEADER_OPTIONAL if column in header}

    rows: list[dict[str, Any]] = []
    rejects: list[Rejected] = []
    first_line: dict[str, int] = {}
    for line, record in records[1:]:
        if not any(cell.strip() for cell in record):
            continue
        cell = {column: (record[i] if i < len(record) else "") for column, i in index.items()}
        try:
            oid = normalize_operator_id(cell["operator_id"])
        except IdentifierError as exc:
            rejects.append(Rejected(name, line, "operator_id", str(exc)))
            continue
        if oid in first_line:
            rejects.append(Rejected(name, line, "operator_id", f"operator {oid} already appears on line {first_line[oid]}"))
            continue
        display = cell["name"].strip()
        if not display:
            rejects.append(Rejected(name, line, "name", "the name is empty"))
            continue
        if len(display) > 200:
            rejects.append(Rejected(name, line, "name", "the name is longer than 200 characters"))
            continue
        role = cell["role"].strip().lower()
        if role not in ROLES:
            rejects.append(Rejected(name, line, "role", f"role must be one of {', '.join(ROLES)} (got {cell['role'].strip()!r})"))
            continue
        active_text = cell.get("active", "").strip().lower()
        if active_text not in TRUE + FALSE:
            rejects.append(Rejected(name, line, "active", f"active must be true or false (got {cell['active'].strip()!r})"))
            continue
        first_line[oid] = line
        rows.append({"operator_id": cell["operator_id"].strip(), "name": display, "role": role, "active": active_text in TRUE})
    return rows, rejects
