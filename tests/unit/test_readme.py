"""The README's state diagram is generated from the machine, not drawn by hand."""

import re
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


ROOT = README.parent
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")


def markdown_links(path: Path) -> list[str]:
    return LINK.findall(path.read_text(encoding="utf-8"))


def test_no_markdown_link_in_readme_or_docs_leaves_the_repository():
    documents = [README, *sorted((ROOT / "docs").rglob("*.md"))]
    assert ROOT / "docs" / "contract.md" in documents
    leaving = []
    for doc in documents:
        for target in markdown_links(doc):
            if target.startswith("#"):
                continue
            if "://" in target or target.startswith(("mailto:", "//")):
                leaving.append(f"{doc.name}: {target} (outside the repository)")
                continue
            resolved = (doc.parent / target.split("#", 1)[0]).resolve()
            if not resolved.is_relative_to(ROOT) or not resolved.exists():
                leaving.append(f"{doc.name}: {target} (no such file in the repository)")
    assert leaving == []


def test_the_link_check_sees_a_link_that_leaves_the_repository():
    assert markdown_links(ROOT / "README.md")  # the README has links at all
    assert LINK.findall("see [the contract](../shared/design/CONTRACT.md).") == ["../shared/design/CONTRACT.md"]
    assert LINK.findall("![chart](docs/a.png \"title\")") == ["docs/a.png"]


def test_the_readme_links_the_contract_inside_the_repository():
    assert "docs/contract.md" in markdown_links(README)
