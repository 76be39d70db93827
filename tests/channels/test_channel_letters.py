"""Letters as PDF: the CJK font is embedded (and subset), the Chinese text extracts
back, and the page shows letterhead, reference, addressee, masked account, amounts
table and signature, in both languages."""

from __future__ import annotations

import shutil
import subprocess
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from pypdf import PdfReader

from arrears.channels.letters import (
    AmountLine,
    Letter,
    LetterError,
    cjk_font_path,
    render_letter_pdf,
    write_letter_pdf,
)


def sample_letter(language: str = "zh_CN", template: str = "demand_letter") -> Letter:
    zh = language == "zh_CN"
    return Letter(
        template=template,
        language=language,
        reference="ARR-2026-000123",
        letter_date=date(2026, 12, 1),
        institution_name="示例消费金融有限公司" if zh else "Example Consumer Finance Ltd.",
        institution_address=("上海市浦东新区世纪大道100号",) if zh else ("100 Century Ave",),
        institution_phone="400-800-1234",
        addressee_name="张三" if zh else "Jane Smith",
        addressee_address=("北京市朝阳区建国路88号", "100022") if zh else ("12 Elm Street",),
        account="6222020012341234",
        currency="CNY",
        amounts=(
            AmountLine("逾期本金" if zh else "Overdue principal", Decimal("1200.00")),
            AmountLine("罚息" if zh else "Penalty interest", Decimal("12.06")),
        ),
        due_date=date(2026, 11, 15),
        pay_link="https://pay.example.com/r/ARR123",
        collector_name="李敏" if zh else "Min Li",
        collector_phone="021-6000-1234",
        signatory="催收部 李敏" if zh else "Min Li, Collections",
        brand_name="示例贷" if zh else "ExampleLoan",
        repayment_bank="示例银行上海示例路支行" if zh else "Example Bank, Shanghai",
        repayment_account_name="示例消费金融有限公司" if zh else "Example Consumer Finance Ltd.",
        repayment_account_number="0000 1234 5678 9012 345",
        law_firm_name="示例律师事务所" if zh else "Example & Partners Law Firm",
        law_firm_address=("上海市示例区示例路200号",) if zh else ("200 Example Road",),
        law_firm_phone="021-0000-0200",
        from_law_firm=template == "lawyer_letter",
    )


def _text(path: Path) -> str:
    if shutil.which("pdftotext"):
        result = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True)
        return result.stdout.decode("utf-8")
    return "\n".join(page.extract_text() for page in PdfReader(path).pages)


def _fonts(path: Path) -> list[tuple[str, bool]]:
    """(base font, embedded) of every font the PDF uses, read with pypdf."""
    found = []
    for page in PdfReader(path).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descendants = font.get("/DescendantFonts")
            target = descendants[0].get_object() if descendants else font
            descriptor = target["/FontDescriptor"].get_object()
            embedded = any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3"))
            found.append((str(font["/BaseFont"]), embedded))
    return found


def test_font_is_a_real_cjk_font_with_the_glyphs() -> None:
    from fontTools.ttLib import TTFont

    cmap = TTFont(cjk_font_path()).getBestCmap()
    assert all(ord(ch) in cmap for ch in "律师函尊敬的客户逾期金额合计应还此致敬礼¥")


@pytest.mark.parametrize("template", ["demand_letter", "lawyer_letter"])
def test_chinese_letter_embeds_the_font_and_extracts_back(tmp_path, template) -> None:
    path = write_letter_pdf(sample_letter("zh_CN", template), tmp_path / "letter.pdf")
    fonts = _fonts(path)
    assert fonts and all(embedded for _, embedded in fonts)
    assert any("NotoSansSC" in name and "+" in name for name, _ in fonts)  # subset tag
    text = _text(path)
    for expected in (
        "示例消费金融有限公司", "ARR-2026-000123", "2026年12月1日", "张三",
        "北京市朝阳区建国路88号", "****1234", "¥1,200.00", "¥12.06", "¥1,212.06", "敬礼",
    ):  # fmt: skip
        assert expected in text, expected
    assert "6222020012341234" not in text  # the full account never reaches paper
    # Subsetting keeps the file small although the font file is megabytes.
    assert path.stat().st_size < 200_000 < cjk_font_path().stat().st_size


def test_pdffonts_reports_the_font_embedded(tmp_path) -> None:
    if not shutil.which("pdffonts"):
        pytest.skip("poppler-utils (pdffonts) not installed; pypdf check above covers it")
    path = write_letter_pdf(sample_letter(), tmp_path / "letter.pdf")
    lines = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True).stdout
    row = next(line for line in lines.splitlines() if "NotoSansSC" in line)
    assert row.split()[-5] == "yes"  # the "emb" column


def test_english_letter(tmp_path) -> None:
    path = write_letter_pdf(sample_letter("en", "lawyer_letter"), tmp_path / "letter.pdf")
    text = " ".join(_text(path).split())
    for expected in ("Example Consumer Finance Ltd.", "Reference: ARR-2026-000123",
                     "1 December 2026", "Dear Jane Smith", "CNY 1,212.06", "Yours sincerely",
                     "attempt to collect a debt"):  # fmt: skip
        assert expected in text, expected


def test_letter_round_trips_through_json() -> None:
    letter = sample_letter()
    assert Letter.from_json(letter.to_json()) == letter
    with pytest.raises(LetterError, match="not a letter"):
        Letter.from_json('{"template": "demand_letter"}')


def test_empty_amounts_table_is_refused() -> None:
    letter = sample_letter()
    empty = Letter(**{**letter.__dict__, "amounts": ()})
    with pytest.raises(LetterError, match="ARR-2026-000123: the amounts table is empty"):
        render_letter_pdf(empty)


@pytest.mark.parametrize("template", ["letter_formal_notice", "lawyer_letter"])
def test_the_portal_code_shares_the_last_page_with_the_signature(tmp_path, template) -> None:
    """A letter carrying the debtor's portal link prints its QR code and short code
    beside the signature when they do not fit under it: a one-page letter stays one
    page (the code alone on a second page doubled the print shop's pages)."""
    from arrears.services.portal.links import PortalLinks

    links = PortalLinks("https://portal.example.cn/", None)
    owed = ("逾期本金", "逾期利息", "罚息", "复利")  # four lines: the signature ends low
    letter = Letter(
        **{
            **sample_letter("zh_CN", template).__dict__,
            "amounts": tuple(AmountLine(item, Decimal("10.00")) for item in owed),
        }
    )
    code_text = "访问码"
    plain = write_letter_pdf(letter, tmp_path / "plain.pdf")
    with_code = Letter(**{**letter.__dict__, "pay_link": links.link("L9", date(2026, 12, 1))})
    path = write_letter_pdf(with_code, tmp_path / "code.pdf")
    pages = PdfReader(path).pages
    assert len(pages) == len(PdfReader(plain).pages) == 1
    last = "".join(_text(path).split())  # one page: its whole text
    assert code_text in last and links.short_code("L9", date(2026, 12, 1)) in last
    assert "敬礼" in last
