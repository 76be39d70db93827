"""Every packaged template, rendered for sample cases on sample days as the daily
close renders them (the lender from the workspace's settings, the date and amount from
``treatments.due_and_amount``): before the due date, on the due day, overdue and late.
Each text names the lender (letters), the brand and hotline (SMS, push), the law firm
(the lawyer letter); the date it names is the instalment's own, written for the right
day; the amount is the case's figure to the cent; and no text holds a template code."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from arrears.channels.fields import LANGUAGES, format_amount, format_date
from arrears.channels.letters import render_letter_pdf
from arrears.channels.templates import default_templates, render
from arrears.services.settings import SETTINGS_FILE, load_settings, message_reference
from arrears.services.treatments import _amount_lines, due_and_amount, speaks_of
from arrears.strategy.loader import default_strategy_path, load_strategy

# A workspace lender unlike the defaults, and a product (CARD) with its own brand,
# hotline and account: the texts must name these, not the defaults.
SETTINGS = """
[lender]
legal_name = "青禾消费金融股份有限公司"
legal_name_en = "Qinghe Consumer Finance Co., Ltd."
brand = "青禾分期"
brand_en = "Qinghe Pay"
hotline = "400-111-2222"

[lender.repayment_account]
bank = "青禾银行杭州分行"
bank_en = "Qinghe Bank, Hangzhou Branch"
account_name = "青禾消费金融股份有限公司"
account_name_en = "Qinghe Consumer Finance Co., Ltd."
number = "3301 0000 1111 2222"

[lender.law_firm]
name = "明理律师事务所"
name_en = "Mingli Law Offices"
address = ["杭州市西湖区文三路1号"]
address_en = ["1 Wensan Road", "Hangzhou"]
phone = "0571-8888-0000"

[lender.products.CARD]
brand = "青禾卡"
brand_en = "Qinghe Card"
hotline = "400-111-3333"

[lender.products.CARD.repayment_account]
number = "3301 0000 1111 9999"
"""


@dataclass(frozen=True)
class Case:
    loan_id: str
    product: str
    customer: dict[str, str]  # name by language
    schedule: tuple[tuple[date, Decimal, Decimal], ...]  # due date, principal, interest
    # the snapshot's overdue components once the first instalment is missed
    overdue: dict[str, Decimal]


CASES = (
    Case(
        "L000000158",
        "CONSUMER",
        {"zh_CN": "王小明", "en": "Ming Wang"},
        (
            (date(2026, 11, 29), Decimal("2500.00"), Decimal("245.83")),
            (date(2026, 12, 29), Decimal("2537.50"), Decimal("208.33")),
            (date(2027, 1, 29), Decimal("2575.56"), Decimal("170.27")),
        ),
        {
            "overdue_principal": Decimal("2500.00"),
            "overdue_interest": Decimal("245.83"),
            "penalty": Decimal("18.44"),
            "compound": Decimal("1.84"),
            "fee": Decimal("30.00"),
        },
    ),
    Case(
        "C000000777",
        "CARD",
        {"zh_CN": "李华", "en": "Hua Li"},
        (
            (date(2026, 12, 1), Decimal("1000.00"), Decimal("0.01")),
            (date(2027, 1, 1), Decimal("999.99"), Decimal("0.00")),
        ),
        {
            "overdue_principal": Decimal("1000.00"),
            "overdue_interest": Decimal("0.01"),
            "penalty": Decimal("0"),
            "compound": Decimal("0.00"),
            "fee": Decimal("50.05"),
        },
    ),
)


@dataclass(frozen=True)
class Day:
    """A sample day: the close it is decided on (``as_of``), the step's offset and
    the DPD the snapshot shows that day."""

    name: str
    offset: int
    dpd: int


DAYS = (
    Day("before_due", -3, 0),
    Day("due_day", 0, 0),
    Day("overdue", 5, 5),
    Day("late", 95, 95),
)


def _as_of(case: Case, day: Day) -> date:
    """The close the step is decided on, as the ladder fires it: the day before the
    send day for a pre-due step, else the day the loan is ``dpd`` days past due."""
    first_due = case.schedule[0][0]
    if day.offset <= 0:
        return first_due - timedelta(days=1 - day.offset)
    return first_due + timedelta(days=day.dpd)


def _action(case: Case, day: Day) -> dict:
    as_of = _as_of(case, day)
    return {"loan_id": case.loan_id, "offset": day.offset, "dpd": day.dpd,
            "send_on": as_of + timedelta(days=1), "strategy": "retail-default",
            "step": day.name}  # fmt: skip


def _instalments(case: Case, action: dict) -> dict[str, tuple[date, Decimal]]:
    """What ``treatments._installments_due`` reads from the store for the action."""
    wanted = speaks_of(action)
    found = [(due, p + i) for due, p, i in case.schedule if due == wanted]
    return {case.loan_id: found[0]} if found else {}


def _balance(case: Case) -> dict[str, Decimal]:
    return {**case.overdue, "total": sum(case.overdue.values(), Decimal("0"))}


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("lender")
    (root / SETTINGS_FILE).write_text(SETTINGS, encoding="utf-8")
    return load_settings(root)


def _template_codes() -> set[str]:
    """Every name a text must never show: the templates', the default strategy's steps,
    ladders and template names."""
    codes = {name for name, _ in default_templates()}
    strategy = load_strategy(default_strategy_path())
    for ladder in strategy.ladders.values():
        codes.add(ladder.name)
        for step in ladder.steps:
            codes |= {step.name, step.template, *([step.script] if step.script else [])}
    # a code has an underscore or a hyphen (a ladder called "relationship" is a word)
    return {c for c in codes if "_" in c or "-" in c}


CODES = _template_codes()


def _expected(case: Case, day: Day) -> tuple[date, Decimal]:
    """The date and amount a message must name, from the case's own figures."""
    if day.offset <= 0:
        due = _action(case, day)["send_on"] + timedelta(days=-day.offset)
        principal, interest = next((p, i) for d, p, i in case.schedule if d == due)
        return due, principal + interest
    return case.schedule[0][0], _balance(case)["total"]


@pytest.mark.parametrize("day", DAYS, ids=lambda d: d.name)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.product)
def test_every_packaged_template_names_lender_date_and_amount(settings, case: Case, day: Day):
    action = _action(case, day)
    as_of = action["send_on"] - timedelta(days=1)
    due, amount = due_and_amount(action, as_of, _instalments(case, action), _balance(case))
    want_due, want_amount = _expected(case, day)
    assert (due, amount) == (want_due, want_amount)
    assert isinstance(amount, Decimal) and amount == amount.quantize(Decimal("0.01"))
    if day.name == "before_due":
        assert (due - action["send_on"]).days == 3  # sent three days before its due date
    if day.name == "due_day":
        assert due == action["send_on"]  # "due today" reaches the debtor on the due date
    lender = settings.lender_for(case.product)
    other_dates = [d for d, _, _ in case.schedule if d != due]
    for (name, language), template in sorted(default_templates().items()):
        voice = lender.voice(language)
        reference = message_reference(as_of, case.loan_id)
        if template.channel == "letter":
            letter = lender.letter(
                language, template=name, reference=reference, letter_date=action["send_on"],
                addressee_name=case.customer[language], addressee_address=("x",),
                loan_id=case.loan_id, currency="CNY",
                amounts=_amount_lines(case.overdue, language),
                due_date=due, from_law_firm=name == "lawyer_letter",
            )  # fmt: skip
            merge = letter.merge_fields()
            assert letter.total == _balance(case)["total"]
            if day.offset > 0:
                assert merge.amount_due == want_amount
        else:
            merge = lender.merge_fields(
                language, customer_name=case.customer[language], loan_id=case.loan_id,
                amount_due=amount, currency="CNY", due_date=due, reference=reference,
            )  # fmt: skip
        message = render(template, merge)
        text = f"{message.subject or ''}\n{message.text}"
        where = f"{name} ({language}) {case.product} {day.name}"
        # who writes
        assert voice.brand in text or voice.legal_name in text, where
        if template.channel in ("sms", "push"):
            assert voice.brand in text and voice.hotline in text, where
        if template.channel in ("letter", "email"):
            assert voice.legal_name in text, where
        if name == "lawyer_letter":
            assert voice.law_firm in text and voice.law_firm_phone in text, where
        if template.channel == "letter":
            assert voice.account_number in text and voice.bank in text, where
        # the date and the amount
        assert format_date(merge.due_date, language) in text, where
        assert merge.due_date == due, where
        assert not any(format_date(d, language) in text for d in other_dates), where
        assert format_amount(merge.amount_due, "CNY", language) in text, where
        # no code
        found = sorted(code for code in CODES if code in text)
        assert not found, f"{where}: template code(s) {found} in the text"
        assert "{{" not in text and "}}" not in text, where


def test_the_product_override_names_its_own_brand_hotline_and_account(settings):
    card, consumer = settings.lender_for("CARD"), settings.lender_for("CONSUMER")
    assert settings.lender_for("NOSUCH") == consumer == settings.institution
    assert card.legal_name == consumer.legal_name == "青禾消费金融股份有限公司"
    assert (card.brand, card.hotline) == ("青禾卡", "400-111-3333")
    assert card.repayment_account.number == "3301 0000 1111 9999"
    assert card.repayment_account.bank == consumer.repayment_account.bank  # inherited
    sms = render(
        default_templates()[("sms_pre_due_reminder", "zh_CN")],
        card.merge_fields("zh_CN", customer_name="李华", loan_id="C000000777",
                          amount_due=Decimal("1000.01"), currency="CNY",
                          due_date=date(2026, 12, 1), reference="R"),
    )  # fmt: skip
    assert sms.body.startswith("【青禾卡】李华您好")
    assert "400-111-3333" in sms.body and "¥1,000.01" in sms.body and "2026年12月1日" in sms.body


def _pdf_text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "letter.pdf"
    path.write_bytes(pdf)
    if shutil.which("pdftotext"):
        out = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True)
        return out.stdout.decode("utf-8")
    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(path).pages)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("name", ["letter_final_demand", "lawyer_letter"])
def test_letter_pdf_is_signed_by_the_lender_or_by_the_firm_for_it(
    settings, name: str, language: str, tmp_path: Path
):
    case, day = CASES[0], DAYS[3]
    action = _action(case, day)
    as_of = action["send_on"] - timedelta(days=1)
    due, _ = due_and_amount(action, as_of, {}, _balance(case))
    lender = settings.lender_for(case.product)
    voice = lender.voice(language)
    letter = lender.letter(
        language, template=name, reference=message_reference(as_of, case.loan_id),
        letter_date=action["send_on"], addressee_name=case.customer[language],
        addressee_address=("杭州市上城区某路1号",), loan_id=case.loan_id, currency="CNY",
        amounts=_amount_lines(case.overdue, language), due_date=due,
        from_law_firm=name == "lawyer_letter",
    )  # fmt: skip
    text = _pdf_text(render_letter_pdf(letter), tmp_path)
    flat = text.replace("\n", "").replace(" ", "")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if name == "lawyer_letter":
        assert lines[0] == voice.law_firm  # the firm's letterhead
        behalf = (
            "（受青禾消费金融股份有限公司委托）"
            if language == "zh_CN"
            else ("on behalf of Qinghe Consumer Finance Co., Ltd.")
        )
        assert behalf.replace(" ", "") in flat
    else:
        assert lines[0] == voice.legal_name  # the lender's letterhead
        assert voice.signatory.replace(" ", "") in flat
    assert voice.legal_name.replace(" ", "") in flat
    assert format_amount(_balance(case)["total"], "CNY", language).replace(" ", "") in flat
    assert not [code for code in CODES if code in text]
