"""Letters (催收函, 律师函) as PDF: letterhead, reference number, date, addressee block,
masked account, amounts table and signature block, in zh_CN or en, set in Noto Sans SC
(SIL OFL, shipped by the ``pylopdf-fonts-zh-cn`` package), embedded and subset so the
Chinese renders on any reader.

The letter's body text is a ``letter`` channel template (``demand_letter``,
``lawyer_letter``) rendered with the letter's merge fields.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

from fpdf import FPDF, FontFace
from fpdf.enums import Align, XPos, YPos

from arrears.channels.fields import MergeFields, format_amount, format_date, mask_account
from arrears.channels.linebreak import wrap
from arrears.channels.templates import Template, TemplateError, get_template, render
from arrears.files import write_atomically

FONT_FAMILY = "NotoSansSC"

WORDS = {
    # key: (zh_CN, en)
    "reference": ("编号", "Reference"),
    "date": ("日期", "Date"),
    "account": ("账户", "Account"),
    "item": ("项目", "Item"),
    "amount": ("金额", "Amount"),
    "total": ("合计应还", "Total due"),
    "tel": ("电话", "Tel."),
    "closing": ("此致\n敬礼！", "Yours sincerely,"),
    "seal": ("（盖章）", ""),
    "on_behalf": ("（受{lender}委托）", "on behalf of {lender}"),
    "page": ("第 {n} 页 / 共 {total} 页", "Page {n} of {total}"),
    "page_in_run": ("第 {n} 页", "Page {n}"),
}


class LetterError(ValueError):
    """A letter that cannot be rendered; the message says which field and why."""


def cjk_font_path() -> Path:
    """The CJK font letters are set in (Noto Sans SC Regular, OpenType/CFF)."""
    from pylopdf_fonts_zh_cn import sans_path

    path = Path(sans_path())
    if not path.is_file():
        raise LetterError(f"CJK font not found at {path}: reinstall pylopdf-fonts-zh-cn")
    return path


@dataclass(frozen=True)
class AmountLine:
    """One row of the amounts table (principal overdue, interest, penalty, fees)."""

    label: str
    amount: Decimal


@dataclass(frozen=True)
class Letter:
    """Everything a letter says, besides the template's wording."""

    template: str
    language: str
    reference: str
    letter_date: date
    institution_name: str
    institution_address: tuple[str, ...]
    institution_phone: str
    addressee_name: str
    addressee_address: tuple[str, ...]
    account: str
    currency: str
    amounts: tuple[AmountLine, ...]
    due_date: date
    pay_link: str
    collector_name: str
    collector_phone: str
    signatory: str
    extra: dict[str, str] = field(default_factory=dict)
    # The lender's brand, its account for bank transfers and the law firm that writes
    # its lawyer letters (the workspace's [lender] settings). None: not known (a letter
    # queued before they existed); a template using one then fails naming it.
    brand_name: str | None = None
    repayment_bank: str | None = None
    repayment_account_name: str | None = None
    repayment_account_number: str | None = None
    law_firm_name: str | None = None
    law_firm_address: tuple[str, ...] = ()
    law_firm_phone: str | None = None
    # A lawyer letter: the law firm's letterhead, signed by the firm for the lender.
    from_law_firm: bool = False

    @property
    def total(self) -> Decimal:
        """The sum of the amounts table."""
        return sum((line.amount for line in self.amounts), Decimal("0"))

    def merge_fields(self) -> MergeFields:
        """The merge fields of the letter's body template."""
        return MergeFields(
            customer_name=self.addressee_name,
            account=self.account,
            amount_due=self.total,
            currency=self.currency,
            due_date=self.due_date,
            pay_link=self.pay_link,
            collector_name=self.collector_name,
            collector_phone=self.collector_phone,
            institution_name=self.institution_name,
            reference=self.reference,
            lender_name=self.institution_name,
            brand_name=self.brand_name,
            service_hotline=self.institution_phone,
            repayment_bank=self.repayment_bank,
            repayment_account_name=self.repayment_account_name,
            repayment_account_number=self.repayment_account_number,
            law_firm_name=self.law_firm_name,
            law_firm_address=("" if self.language == "zh_CN" else ", ").join(self.law_firm_address)
            or None,
            law_firm_phone=self.law_firm_phone,
        )

    def sender(self) -> tuple[str, tuple[str, ...], str]:
        """Name, address and phone of the letterhead: the lender's, or for a lawyer
        letter the law firm's (a lawyer letter without a firm is a ``LetterError``)."""
        if not self.from_law_firm:
            return self.institution_name, self.institution_address, self.institution_phone
        if not self.law_firm_name:
            raise LetterError(f"letter {self.reference}: a lawyer letter needs law_firm_name")
        return self.law_firm_name, self.law_firm_address, self.law_firm_phone or ""

    def to_json(self) -> str:
        """The letter as JSON (the outbox body of a letter message); amounts as strings."""
        data = asdict(self)
        data["letter_date"] = self.letter_date.isoformat()
        data["due_date"] = self.due_date.isoformat()
        data["amounts"] = [{"label": a.label, "amount": str(a.amount)} for a in self.amounts]
        return json.dumps(data, ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Letter:
        """The letter ``to_json`` wrote; a missing or bad field is a ``LetterError``."""
        try:
            data = json.loads(text)
            data["letter_date"] = date.fromisoformat(data["letter_date"])
            data["due_date"] = date.fromisoformat(data["due_date"])
            data["amounts"] = tuple(
                AmountLine(a["label"], Decimal(a["amount"])) for a in data["amounts"]
            )
            data["institution_address"] = tuple(data["institution_address"])
            data["addressee_address"] = tuple(data["addressee_address"])
            data["law_firm_address"] = tuple(data.get("law_firm_address", ()))
            return cls(**data)
        except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
            raise LetterError(f"letter JSON is not a letter: {exc!r}") from exc


def _word(key: str, language: str) -> str:
    zh, en = WORDS[key]
    return zh if language == "zh_CN" else en


class _LetterPdf(FPDF):
    """One document of one or more letters; each letter starts on a new page and its
    pages are numbered on their own."""

    def __init__(self, first: Letter, *, print_run: bool = False) -> None:
        super().__init__(format="A4", unit="mm")
        self.letter = first
        self.print_run = print_run
        self._next: Letter | None = None
        self._first_page = 1
        self.set_margins(20, 18, 20)
        self.set_auto_page_break(True, margin=22)
        self.add_font(FONT_FAMILY, "", str(cjk_font_path()))
        for face in self.fonts.values():
            # The subset's bounding boxes would be recomputed glyph by glyph from the
            # CFF outlines (seconds per document); the full font's boxes contain them.
            face.ttfont.recalcBBoxes = False
        self.set_title(first.reference)
        self.set_author(first.sender()[0])
        self.set_creator("arrears")
        self._widths: dict[tuple[str, str, float, str], float] = {}

    def measure(self, text: str) -> float:
        """``get_string_width`` in the current font and size, remembered: line breaking
        measures every character of every paragraph, and a print run's letters share
        the same few hundred characters and words (it was a tenth of a run's time)."""
        key = (self.font_family, self.font_style, self.font_size_pt, text)
        width = self._widths.get(key)
        if width is None:
            width = self._widths[key] = self.get_string_width(text)
        return width

    def begin(self, letter: Letter) -> None:
        """Start ``letter`` on a new page (the previous page keeps its own footer)."""
        self._next = letter
        self.add_page()

    def header(self) -> None:
        if self._next is not None:
            self.letter, self._next = self._next, None
            self._first_page = self.page_no()

    def footer(self) -> None:
        self.set_y(-14)
        self.set_font(FONT_FAMILY, size=8)
        self.set_text_color(110)
        n = self.page_no() - self._first_page + 1
        # In a print run the page count of one letter is not known while it is set.
        if self.print_run:
            page = _word("page_in_run", self.letter.language).format(n=n)
        else:
            page = _word("page", self.letter.language).format(n=n, total="{nb}")
        self.cell(0, 5, f"{self.letter.reference}    {page}", align=Align.C)


def render_letter_pdf(letter: Letter, template: Template | None = None) -> bytes:
    """The letter as PDF bytes. ``template`` defaults to the packaged template named
    ``letter.template`` in the letter's language; a template missing merge fields or an
    empty amounts table is an error naming the letter's reference."""
    pdf = _LetterPdf(letter)
    _set_letter(pdf, letter, template)
    return bytes(pdf.output())


def render_print_run(letters: Sequence[Letter]) -> bytes:
    """Many letters as one PDF for the print shop, each starting on a new page (the
    font is embedded once for the run, which is what makes a large run affordable).
    Each letter uses its packaged template; errors name the letter's reference."""
    if not letters:
        raise LetterError("a print run needs at least one letter")
    pdf = _LetterPdf(letters[0], print_run=True)
    for letter in letters:
        _set_letter(pdf, letter, None)
    return bytes(pdf.output())


def _set_letter(pdf: _LetterPdf, letter: Letter, template: Template | None) -> None:
    if letter.template == "validation_notice":  # Reg F Model Form B-1, its own layout
        from arrears.channels.validation import set_validation_notice

        return set_validation_notice(pdf, letter)
    if not letter.amounts:
        raise LetterError(f"letter {letter.reference}: the amounts table is empty")
    template = template or get_template(None, letter.template, letter.language)
    if template.channel != "letter":
        raise TemplateError(f"template {template.name!r} is for {template.channel}, not letters")
    message = render(template, letter.merge_fields())
    lang = letter.language
    pdf.begin(letter)
    width = pdf.epw

    # Letterhead: the sender's name (the lender, or the law firm of a lawyer letter),
    # address and phone, a rule underneath.
    sender, sender_address, sender_phone = letter.sender()
    pdf.set_font(FONT_FAMILY, size=17)
    pdf.set_text_color(20, 50, 100)
    pdf.cell(width, 9, sender, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT_FAMILY, size=8.5)
    pdf.set_text_color(90)
    phone = f"{_word('tel', lang)} {sender_phone}"
    contact = "  ·  ".join([*sender_address, phone])
    pdf.multi_cell(width, 4.5, contact, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_draw_color(20, 50, 100)
    pdf.set_line_width(0.6)
    pdf.line(pdf.l_margin, pdf.get_y() + 2, pdf.l_margin + width, pdf.get_y() + 2)
    pdf.ln(7)

    # Reference and date on the right, addressee block on the left.
    pdf.set_text_color(0)
    pdf.set_font(FONT_FAMILY, size=9.5)
    top = pdf.get_y()
    for key, value in (
        ("reference", letter.reference),
        ("date", format_date(letter.letter_date, lang)),
        ("account", mask_account(letter.account)),
    ):
        pdf.set_x(pdf.l_margin + width * 0.55)
        pdf.cell(width * 0.45, 5.5, f"{_word(key, lang)}: {value}", align=Align.R,
                 new_x=XPos.LMARGIN, new_y=YPos.NEXT)  # fmt: skip
    pdf.set_y(top)
    pdf.set_font(FONT_FAMILY, size=10.5)
    for line in (letter.addressee_name, *letter.addressee_address):
        pdf.cell(width * 0.55, 5.5, line, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_y(max(pdf.get_y(), top + 17) + 7)

    # Subject line, then the template's body paragraphs.
    pdf.set_font(FONT_FAMILY, size=13)
    _paragraph(pdf, message.subject or "", 7, Align.C)
    pdf.ln(3)
    pdf.set_font(FONT_FAMILY, size=10.5)
    paragraphs = [p.strip() for p in message.body.split("\n\n") if p.strip()]
    for index, paragraph in enumerate(paragraphs):
        # Left-aligned: justifying CJK text next to a long URL spreads the line apart.
        _paragraph(pdf, paragraph.replace("\n", " "), 6, Align.L)
        pdf.ln(2.5)
        if index == min(2, len(paragraphs) - 1):
            _amounts_table(pdf, letter)
    if letter.extra.get("disclosure"):  # a state's time-barred debt notice
        _paragraph(pdf, letter.extra["disclosure"], 6, Align.L)

    # Signature block.
    pdf.ln(4)
    for line in _word("closing", lang).split("\n"):
        pdf.cell(width, 6, line, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(8)
    signature_top = pdf.get_y()
    signed = [line for line in (*_signature(letter), _word("seal", lang),
                                format_date(letter.letter_date, lang)) if line]  # fmt: skip
    for line in signed:
        pdf.cell(width, 6, line, align=Align.R, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    signature_width = max(pdf.get_string_width(line) for line in signed)
    _portal_code(pdf, letter, (signature_top, signature_width))


def _portal_code(
    pdf: _LetterPdf, letter: Letter, signature: tuple[float, float], size: float = 26.0
) -> None:
    """The debtor's personal portal link as a QR code, and its short code to type:
    under the signature when it fits there, else beside it on the left (the signature
    is on the right), rather than alone on a page of its own that the print shop
    charges for. ``signature`` is the signature block's top and its widest line."""
    from arrears.services.portal.links import letter_code

    found = letter_code(letter.pay_link)
    if found is None:
        return
    address, code, modules = found
    text_width = pdf.epw - size - 5
    if pdf.get_y() + 5 + size + 3 <= pdf.page_break_trigger:
        pdf.ln(5)
    elif signature[0] + size + 3 <= pdf.page_break_trigger:
        pdf.set_y(signature[0])
        text_width -= signature[1] + 6
    else:
        pdf.add_page()
        pdf.ln(5)
    top, left, cell = pdf.get_y(), pdf.l_margin, size / len(modules)
    pdf.set_fill_color(0)
    for r, row in enumerate(modules):
        for first, length in _dark_runs(row):  # a rectangle a run, not a module
            pdf.rect(left + first * cell, top + r * cell, length * cell, cell, style="F")
    zh = letter.language == "zh_CN"
    pdf.set_xy(left + size + 5, top + 2)
    pdf.set_font(FONT_FAMILY, size=9.5)
    words = "扫描二维码，或访问 {} 并输入访问码：" if zh else "Scan the code, or visit {} and type:"
    pdf.multi_cell(
        text_width, 5, words.format(address), align=Align.L, new_x=XPos.LEFT, new_y=YPos.NEXT
    )
    points = 12.0
    pdf.set_font(FONT_FAMILY, size=points)
    while points > 8 and pdf.get_string_width(code) > text_width:  # the code on one line
        points -= 0.5
        pdf.set_font(FONT_FAMILY, size=points)
    pdf.cell(text_width, 7, code, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_y(max(pdf.get_y(), top + size) + 2)


def _dark_runs(row: Sequence[bool]) -> Iterator[tuple[int, int]]:
    """(first column, length) of each run of dark modules in a QR code's row."""
    first = None
    for column, dark in enumerate([*row, False]):
        if dark and first is None:
            first = column
        elif not dark and first is not None:
            yield first, column - first
            first = None


def _signature(letter: Letter) -> tuple[str, ...]:
    """Who signs: the lender's department and the lender, or for a lawyer letter the
    law firm, on the lender's behalf."""
    if letter.from_law_firm:
        behalf = _word("on_behalf", letter.language).format(lender=letter.institution_name)
        return (letter.sender()[0], behalf)
    return (letter.signatory, letter.institution_name)


def _paragraph(pdf: _LetterPdf, text: str, line_height: float, align: Align) -> None:
    """``text`` over the full text width, its lines broken by the rules of Chinese
    typesetting (``arrears.channels.linebreak``), one cell per line."""
    for line in wrap(text, pdf.epw, pdf.measure) or [""]:
        pdf.cell(pdf.epw, line_height, line, align=align, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _amounts_table(pdf: _LetterPdf, letter: Letter) -> None:
    lang = letter.language
    pdf.ln(1)
    pdf.set_font(FONT_FAMILY, size=10)
    with pdf.table(
        col_widths=(65, 35),
        text_align=(Align.L, Align.R),
        line_height=6.5,
        width=pdf.epw * 0.75,
        align=Align.C,
        headings_style=FontFace(fill_color=(225, 232, 242), color=(20, 50, 100)),
        first_row_as_headings=True,
    ) as table:
        table.row([_word("item", lang), f"{_word('amount', lang)} ({letter.currency})"])
        for line in letter.amounts:
            table.row([line.label, format_amount(line.amount, letter.currency, lang)])
        table.row([_word("total", lang), format_amount(letter.total, letter.currency, lang)])
    pdf.ln(4)


def write_letter_pdf(letter: Letter, path: Path, template: Template | None = None) -> Path:
    """Render the letter and write it to ``path`` atomically (a reader never sees half
    a PDF). Returns ``path``."""
    return write_atomically(path, render_letter_pdf(letter, template))
