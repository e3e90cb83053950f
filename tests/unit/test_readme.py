"""The README's state diagram is generated from the machine, not drawn by hand."""

from pathlib import Path

from machines.loan_case import LoanCase

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_state_diagram_is_the_machines_current_mermaid():
    text = README.read_text(encoding="utf-8")
    block = text.split("<!-- diagram:start -->", 1)[1].split("<!-- diagram:end -->", 1)[0]
    assert block.strip() == f"```mermaid\n{format(LoanCase, 'mermaid').rstrip()}\n```"


def test_readme_states_the_two_commands_first():
    first_block = README.read_text(encoding="utf-8").split("```", 2)[1]
    assert "make demo" in first_block and "make test" in first_block
