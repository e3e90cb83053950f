"""``npl import`` takes the operator register's CSV, told by its header (issue 16 part 3): good
rows registered (ids normalized), bad ones in the rejects file with line, column and reason."""

from __future__ import annotations

from typer.testing import CliRunner

from flows.cli import app
from models.store import UnitOfWork
from services.operators import list_operators


def test_an_operators_file_registers_its_good_rows_and_rejects_the_bad_ones(tmp_path):
    url = f"sqlite:///{tmp_path / 'npl.db'}"
    path = tmp_path / "operators.csv"
    path.write_text("operator_id,name,role,active\nE-01,Erin,officer,true\nＭ‐01,Mona,manager,\n"
                    "E-0\u0441,Cyrillic,officer,\nE-02,Boss,boss,\ne-01,Again,officer,\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["import", str(path), "--db", url])
    assert result.exit_code == 2, result.output
    assert "imported: 2 operators" in result.stdout
    assert "operators.csv:4: column operator_id" in result.stderr  # the look-alike letter
    assert "operators.csv:5: column role" in result.stderr
    assert "operators.csv:6: column operator_id" in result.stderr  # the same operator as line 2
    rejects = (tmp_path / "operators.rejects.csv").read_text(encoding="utf-8").splitlines()
    assert len(rejects) == 4
    with UnitOfWork(url) as uow:
        assert [(o["operator_id"], o["role"], o["active"]) for o in list_operators(uow)] == [
            ("e-01", "officer", True), ("m-01", "manager", True)]
