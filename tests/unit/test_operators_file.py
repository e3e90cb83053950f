"""The operators CSV: rows for the register, rejects naming file, line, column and reason."""

from __future__ import annotations

import pytest

from models.domain.errors import BadInput
from models.operators_file import HEADER_REQUIRED, Rejected, parse_rows


def write(tmp_path, text: str, name: str = "operators.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_required_header_is_id_name_and_role():
    assert HEADER_REQUIRED == ("operator_id", "name", "role")


def test_good_rows_are_returned_and_bad_ones_rejected_with_line_column_and_reason(tmp_path):
    path = write(tmp_path, (
        "\ufeffOperator_ID,Name,Role,Active\n"
        "E-01,Wang Li,officer,\n"
        "M-01,Zhao Min,Manager,yes\n"
        "\u0421-02,Look Alike,manager,true\n"
        "\uff25-01,Duplicate,officer,true\n"
        "A-01,,admin,true\n"
        "\n"
        "X-01,Xu,clerk,true\n"
        "\"Y-01\",\"Yu\nSecond line\",officer,maybe\n"
        "O-01,Ou,officer,no\n"
    ))
    rows, rejects = parse_rows(path)
    assert rows == [
        {"operator_id": "E-01", "name": "Wang Li", "role": "officer", "active": True},
        {"operator_id": "M-01", "name": "Zhao Min", "role": "manager", "active": True},
        {"operator_id": "O-01", "name": "Ou", "role": "officer", "active": False},
    ]
    assert [(r.file, r.line, r.column) for r in rejects] == [
        ("operators.csv", 4, "operator_id"),
        ("operators.csv", 5, "operator_id"),
        ("operators.csv", 6, "name"),
        ("operators.csv", 8, "role"),
        ("operators.csv", 9, "active"),
    ]
    assert "U+0421" in rejects[0].reason
    assert "already appears on line 2" in rejects[1].reason
    assert "'clerk'" in rejects[3].reason
    assert isinstance(rejects[0], Rejected)


def test_the_active_column_is_optional_and_defaults_to_active(tmp_path):
    rows, rejects = parse_rows(write(tmp_path, "operator_id,name,role\nM-01,Zhao,manager\n"))
    assert rows == [{"operator_id": "M-01", "name": "Zhao", "role": "manager", "active": True}] and rejects == []


def test_a_file_without_the_operator_columns_is_refused_whole(tmp_path):
    with pytest.raises(BadInput, match="missing columns: role"):
        parse_rows(write(tmp_path, "operator_id,name\nE-01,Wang\n"))


def test_an_empty_or_non_utf8_file_is_refused_whole(tmp_path):
    with pytest.raises(BadInput, match="empty file"):
        parse_rows(write(tmp_path, ""))
    bad = tmp_path / "latin1.csv"
    bad.write_bytes("operator_id,name,role\nE-01,Jos\u00e9,officer\n".encode("latin-1"))
    with pytest.raises(BadInput, match="not valid UTF-8"):
        parse_rows(bad)
