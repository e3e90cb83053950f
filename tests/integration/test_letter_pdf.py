"""Demand letters as PDF, read back with poppler: Chinese is glyphs from an embedded font, not boxes.

These tests need Debian's poppler-utils (pdftoppm, pdftotext, pdffonts) and a CJK TrueType font
(fonts-wqy-zenhei); `make test` installs both through scripts/setup-test-env. Missing, they FAIL.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zlib
from decimal import Decimal
from pathlib import Path

import pytest
from PIL import Image

from models.letters import (
    Letter,
    LetterError,
    guarantor_legal_basis,
    render_letter,
)
from tests.letter_samples import yang_letter, zhang_letter

POPPLER = ("pdftoppm", "pdftotext", "pdffonts", "pdfinfo")


@pytest.fixture(scope="module", autouse=True)
def poppler() -> None:
    missing = [tool for tool in POPPLER if shutil.which(tool) is None]
    if missing:
        pytest.fail(
            f"{', '.join(missing)} not found: install Debian's poppler-utils (and fonts-wqy-zenhei) as "
            "`make test` does through scripts/setup-test-env, e.g. `apt-get install poppler-utils fonts-wqy-zenhei`",
            pytrace=False,
        )


def run(*args: str | Path) -> str:
    return subprocess.run([str(a) for a in args], check=True, capture_output=True, text=True).stdout


def text_of(pdf: Path, layout: bool = False) -> str:
    return run("pdftotext", *(["-layout"] if layout else []), pdf, "-")


def pages_of(pdf: Path) -> int:
    line = next(line for line in run("pdfinfo", pdf).splitlines() if line.startswith("Pages:"))
    return int(line.split()[1])


def squeezed(text: str) -> str:
    """pdftotext breaks lines where the paragraph wrapped; compare without the breaks."""
    return "".join(text.split())


def render(letter: Letter, tmp_path: Path) -> Path:
    return render_letter(letter, tmp_path / f"{letter.letter_no}.pdf")


def test_borrower_letter_extracts_as_chinese_text_with_title_names_number_and_every_amount(tmp_path: Path) -> None:
    letter = yang_letter(costs=Decimal("320.00"), total=Decimal("53529.34"))
    text = squeezed(text_of(render(letter, tmp_path)))

    assert "逾期贷款催收通知书" in text
    assert squeezed(letter.recipient_name) in text
    assert squeezed(letter.recipient_address) in text
    assert letter.branch_name in text and letter.branch_address in text
    assert letter.contract_no in text
    # the letter number on the letter, in the slip's heading and its text, and in the footer
    assert text.count(letter.letter_no) >= 3
    for amount in ("49,000.00", "1,860.65", "2,348.69", "320.00", "53,529.34"):
        assert amount in text, amount
    assert "2007年6月30日" in text and "2008年6月30日" in text  # disbursed, maturity
    assert "请贵方于2008年12月31日前" in text  # pay by
    assert "截至2008年12月1日" in text  # owed as of
    for article in ("第六百六十七条", "第六百七十四条", "第六百七十五条", "第六百七十六条", "第一百八十八条", "第一百九十五条"):
        assert article in text, article
    slip = text[text.index("沿此虚线剪下"):]
    for field in ("回执", "签收人", "签收日期", "指印", letter.letter_no, "53,529.34"):
        assert field in slip, field


def test_joint_guarantor_letter_names_the_borrower_the_period_and_demands_performance(tmp_path: Path) -> None:
    letter = zhang_letter()
    text = squeezed(text_of(render(letter, tmp_path)))

    assert "履行保证责任通知书" in text
    assert "逾期贷款催收通知书" not in text
    assert "张某某(Zhang)" in text and "借款人杨某某(Yang)" in text
    assert "连带责任保证" in text and "保证期间至2008年12月30日" in text
    assert "请贵方于2008年12月20日前在保证范围内向我行履行保证责任" in text
    for article in ("第六百八十一条", "第六百八十八条", "第六百九十三条第二款"):
        assert article in text, article
    assert "作为保证人" in text[text.index("回执"):]


@pytest.mark.parametrize(("guarantee_type", "article"), [("general", "第六百八十七条"), ("unstated", "第六百八十六条")])
def test_general_guarantor_letter_cites_prior_enforcement_and_asks_no_payment_before_it(
    tmp_path: Path, guarantee_type: str, article: str
) -> None:
    letter = zhang_letter(guarantee_type=guarantee_type, legal_basis=guarantor_legal_basis(guarantee_type))
    text = squeezed(text_of(render(letter, tmp_path)))

    assert "一般保证" in text and article in text and "第六百九十三条第一款" in text
    assert "履行保证责任，代为清偿" not in text
    assert "请贵方督促借款人于2008年12月20日前" in text
    assert "经依法强制执行仍不能履行的" in text


def test_first_page_rasterizes_to_an_a4_image_with_ink_on_it(tmp_path: Path) -> None:
    pdf = render(yang_letter(), tmp_path)
    run("pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", pdf, tmp_path / "page")
    png = next(tmp_path.glob("page*.png"))

    with Image.open(png) as image:
        grey = image.convert("L")
        width, height = grey.size
        ink = sum(grey.histogram()[:128])  # pixels darker than mid-grey
        # the title band (top sixth of the page) has ink too: the header is drawn, not empty
        title_band = grey.crop((0, 0, width, height // 6))
        title_ink = sum(title_band.histogram()[:128])
    assert abs(width - 496) <= 1 and abs(height - 702) <= 1  # A4 (210 x 297 mm) at 60 dpi
    assert 0.01 < ink / (width * height) < 0.5
    assert title_ink > 0


def test_every_font_in_the_letter_is_embedded_and_is_the_cjk_truetype_one(tmp_path: Path) -> None:
    report = run("pdffonts", render(yang_letter(), tmp_path)).splitlines()
    rows = [line.split() for line in report[2:] if line.strip()]

    assert rows, report
    for row in rows:
        # name, type..., encoding, emb, sub, uni, object id, generation
        emb, sub, uni = row[-5:-2]
        assert (emb, sub, uni) == ("yes", "yes", "yes"), row
    assert any("WenQuanYi" in row[0] or "TrueType" in row for row in rows), rows


def test_a_usual_letter_is_one_page_and_a_long_one_two_with_the_whole_slip_on_the_last(tmp_path: Path) -> None:
    assert pages_of(render(yang_letter(), tmp_path)) == 1

    long_letter = yang_letter(
        letter_no="CS-20081201-0099",
        recipient_address="萧山村" * 40,
        legal_basis=yang_letter().legal_basis * 3,
        contact="客户经理 E-02，电话 0571-8888 0002；" * 4,
    )
    pdf = render(long_letter, tmp_path)
    assert pages_of(pdf) == 2
    assert "编号CS-20081201-0099第1页/共2页" in squeezed(run("pdftotext", "-f", "1", "-l", "1", pdf, "-"))
    last = squeezed(run("pdftotext", "-f", "2", "-l", "2", pdf, "-"))
    assert "第2页/共2页" in last
    for field in ("沿此虚线剪下", "回执", "签收人", "签收日期", "指印", "CS-20081201-0099"):
        assert field in last, field


def test_no_line_starts_with_a_closing_chinese_punctuation_mark(tmp_path: Path) -> None:
    for letter in (yang_letter(), zhang_letter(), zhang_letter(guarantee_type="general",
                                                               legal_basis=guarantor_legal_basis("general"))):
        lines = text_of(render(letter, tmp_path), layout=True).splitlines()
        offenders = [line for line in lines if line.strip()[:1] in tuple("，。；：、）》")]
        assert offenders == [], offenders


def test_markup_characters_in_the_data_are_printed_literally(tmp_path: Path) -> None:
    letter = yang_letter(recipient_name="A&B <b>贸易</b> 公司", recipient_address="1 < 2 & 3 > 2 路")
    text = squeezed(text_of(render(letter, tmp_path)))

    assert "A&B<b>贸易</b>公司" in text
    assert "1<2&3>2路" in text


def test_a_character_the_font_cannot_draw_is_refused_and_no_file_is_left(tmp_path: Path) -> None:
    letter = yang_letter(recipient_name="杨\U0001F600")
    with pytest.raises(LetterError, match="U\\+1F600"):
        render(letter, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_the_same_letter_renders_the_same_bytes(tmp_path: Path) -> None:
    first = render_letter(yang_letter(), tmp_path / "a.pdf").read_bytes()
    second = render_letter(yang_letter(), tmp_path / "b.pdf").read_bytes()
    assert first == second


@pytest.mark.parametrize("letter", [
    yang_letter(),
    zhang_letter(),
    yang_letter(recipient_name="A&B <b>贸易</b>  公司\n分部", recipient_address=" 1 < 2 & 3 > 2 路 "),
], ids=["borrower", "guarantor", "markup-and-spaces"])
def test_the_layout_shortcuts_change_no_byte_of_a_letter(letter: Letter, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The letters measure each character once a process and skip the markup parser for plain
    text (models.letters.render); reportlab's own paths must give the very same file."""
    from reportlab.lib import textsplit
    from reportlab.platypus import Paragraph

    from models.letters import render as module

    fast = render_letter(letter, tmp_path / "fast.pdf").read_bytes()
    monkeypatch.setattr(textsplit, "getCharWidths",
                        lambda word, font, size: [module.pdfmetrics.stringWidth(c, font, size) for c in word])
    monkeypatch.setattr(module, "_para", Paragraph)
    plain = render_letter(letter, tmp_path / "plain.pdf").read_bytes()

    assert module._para is Paragraph and textsplit.getCharWidths is not module._char_widths
    assert fast == plain


def font_programs(pdf: Path) -> list[bytes]:
    """The embedded font subsets (FontFile2 streams) of a reportlab PDF, in the file's order."""
    data = pdf.read_bytes()
    found = re.finditer(rb"/Filter \[ /FlateDecode \] /Length (\d+) /Length1 \d+\s*>>\s*stream\r?\n", data)
    return [zlib.decompress(data[m.end():m.end() + int(m.group(1))]) for m in found]


def test_letters_to_different_people_share_their_first_font_subset_and_differ_after_it(tmp_path: Path) -> None:
    """Every letter draws the words all letters print first, so its first subset of the face is the
    same in every letter (cut and compressed once a process); the names come after it."""
    yang = font_programs(render(yang_letter(), tmp_path))
    zhang = font_programs(render(zhang_letter(recipient_name="欧阳某某", recipient_address="鄞州区翠柏路7号"), tmp_path))

    assert len(yang) >= 2 and len(zhang) >= 2
    assert yang[0] == zhang[0]
    assert yang[1:] != zhang[1:]


def test_a_letter_is_the_same_bytes_in_a_fresh_process_as_after_other_letters(tmp_path: Path) -> None:
    for other in (zhang_letter(), yang_letter(letter_no="CS-9", recipient_name="欧阳某某")):
        render_letter(other, tmp_path / f"{other.letter_no}.pdf")
    here = render_letter(yang_letter(), tmp_path / "here.pdf").read_bytes()
    fresh = tmp_path / "fresh.pdf"
    subprocess.run(
        [sys.executable, "-c", "import sys; from models.letters import render_letter; "
         "from tests.letter_samples import yang_letter; render_letter(yang_letter(), sys.argv[1])", str(fresh)],
        check=True, cwd=Path(__file__).resolve().parents[2],
    )
    assert fresh.read_bytes() == here



def test_a_letter_before_maturity_does_not_say_the_loan_fell_due(tmp_path: Path) -> None:
    before = squeezed(text_of(render(yang_letter(issued_on=yang_letter().maturity_on), tmp_path)))
    after = squeezed(text_of(render(yang_letter(letter_no="CS-2"), tmp_path)))
    assert "借款到期后" not in before and "贵方未按合同约定履行还款义务" in before
    assert "借款到期后，贵方未按合同约定履行还款义务" in after
