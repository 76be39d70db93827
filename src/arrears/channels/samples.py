"""A sample letter in each language, for previews and the eye check of the PDF."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from arrears.channels.fields import LANGUAGES
from arrears.channels.letters import AmountLine, Letter, LetterError


def sample_letter(language: str, template: str = "demand_letter") -> Letter:
    """A realistic, made-up letter in ``language`` (zh_CN or en) for ``template``."""
    if language not in LANGUAGES:
        raise LetterError(f"sample letter: language must be one of {', '.join(LANGUAGES)}")
    zh = language == "zh_CN"
    return Letter(
        template=template,
        language=language,
        reference="ARR-2026-000123",
        letter_date=date(2026, 12, 1),
        institution_name="示例消费金融有限公司" if zh else "Example Consumer Finance Ltd.",
        institution_address=("上海市浦东新区世纪大道100号",)
        if zh
        else ("100 Century Avenue", "Shanghai"),
        institution_phone="400-800-1234",
        addressee_name="张三" if zh else "Jane Smith",
        addressee_address=("北京市朝阳区建国路88号", "3单元1201室", "100022")
        if zh
        else ("12 Elm Street", "Springfield, IL 62704"),
        account="6222020012341234",
        currency="CNY",
        amounts=(
            AmountLine("逾期本金" if zh else "Overdue principal", Decimal("1200.00")),
            AmountLine("利息" if zh else "Interest", Decimal("34.50")),
            AmountLine("罚息" if zh else "Penalty interest", Decimal("12.06")),
        ),
        due_date=date(2026, 11, 15),
        pay_link="https://pay.example.com/r/ARR123",
        collector_name="李敏" if zh else "Min Li",
        collector_phone="021-6000-1234",
        signatory="催收部 李敏" if zh else "Min Li, Collections",
    )
