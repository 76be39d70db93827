"""Templates: every packaged default renders in both languages and passes the linter;
missing merge fields name the template and field; email HTML is escaped; saving runs
the real compliance linter and refuses with phrase and rule, saving nothing."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from channel_helpers import LENDER_FIELDS
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from arrears.channels.fields import (
    LANGUAGES,
    FieldError,
    MergeFields,
    format_amount,
    mask_account,
)
from arrears.channels.templates import (
    MissingMergeField,
    Template,
    TemplateError,
    TemplateRefused,
    default_templates,
    get_template,
    list_templates,
    render,
    save_template,
)
from arrears.compliance import lint_template, load_pack
from arrears.store.contact_models import MessageTemplate

FIELDS = MergeFields(
    customer_name="张三",
    account="6222020012345678",
    amount_due=Decimal("12345.6"),
    currency="CNY",
    due_date=date(2026, 11, 15),
    pay_link="https://pay.example.com/r/ARR123",
    collector_name="李敏",
    collector_phone="021-6000-1234",
    institution_name="示例消费金融",
    reference="ARR-2026-000123",
    **LENDER_FIELDS["zh_CN"],
)
EXPECTED_DEFAULTS = {
    "pre_due_sms", "overdue_sms", "overdue_email", "overdue_push",
    "call_script", "demand_letter", "lawyer_letter",
}  # fmt: skip


def test_defaults_cover_every_channel_in_both_languages() -> None:
    defaults = default_templates()
    # More defaults may ship (the default strategy's own); these ones always do.
    assert {name for name, _ in defaults} >= EXPECTED_DEFAULTS
    assert all((name, lang) in defaults for name in EXPECTED_DEFAULTS for lang in LANGUAGES)
    assert {lang for _, lang in defaults} == {"zh_CN", "en"}
    assert {t.channel for t in defaults.values()} == {"sms", "email", "push", "call", "letter"}


@pytest.mark.parametrize("key", sorted(default_templates()), ids="-".join)
def test_default_renders_with_masked_account_and_formatted_amount(key) -> None:
    message = render(default_templates()[key], FIELDS)
    assert "****5678" in message.text and "6222020012345678" not in message.text
    amount = "¥12,345.60" if key[1] == "zh_CN" else "CNY 12,345.60"
    assert amount in message.text
    assert ("2026年11月15日" if key[1] == "zh_CN" else "15 November 2026") in message.text
    assert "{{" not in message.text and "}}" not in message.text


@pytest.mark.parametrize("key", sorted(default_templates()), ids="-".join)
def test_default_passes_the_cn_linter(key) -> None:
    template = default_templates()[key]
    text = f"{template.subject or ''}\n\n{template.body}"
    assert lint_template(text, language=key[1], channel=template.channel, pack="cn") == []


@pytest.mark.parametrize("name", sorted(EXPECTED_DEFAULTS))
def test_english_default_carries_the_us_regf_disclosures(name) -> None:
    template = default_templates()[(name, "en")]
    text = f"{template.subject or ''}\n\n{template.body}"
    pack = load_pack("us-regf")
    assert lint_template(text, language="en", channel=template.channel, pack=pack) == []


def test_missing_merge_field_names_template_and_field() -> None:
    partial = MergeFields(customer_name="Jane", account="1234567890", amount_due=Decimal("5"))
    with pytest.raises(MissingMergeField) as caught:
        render(default_templates()[("overdue_sms", "en")], partial)
    assert caught.value.template == "overdue_sms"
    assert caught.value.missing == [
        "brand_name", "due_date", "lender_name", "pay_link", "service_hotline",
    ]  # fmt: skip
    assert "template 'overdue_sms' (en) uses merge field 'brand_name'" in str(caught.value)


def test_strict_undefined_on_attribute_access() -> None:
    template = Template("t", "sms", "en", None, "Hi {{ customer_name.first }}")
    with pytest.raises(TemplateError, match="template 't' \\(en\\)"):
        render(template, FIELDS)


def test_email_html_is_escaped_and_sms_is_not() -> None:
    fields = MergeFields(**{**FIELDS.__dict__, "customer_name": "<b>Tom & Jerry</b>"})
    email = render(default_templates()[("overdue_email", "en")], fields)
    assert "&lt;b&gt;Tom &amp; Jerry&lt;/b&gt;" in email.body
    assert "<b>Tom & Jerry</b>" in email.text  # the plain-text part reads as written
    sms = render(default_templates()[("overdue_sms", "en")], fields)
    assert "<b>Tom & Jerry</b>" in sms.body


def test_sms_render_reports_segments() -> None:
    message = render(default_templates()[("overdue_sms", "zh_CN")], FIELDS)
    assert message.sms is not None and message.sms.encoding == "UCS-2"
    assert message.sms.units == len(message.body)
    assert message.sms.segments == -(-message.sms.units // 67)


def test_field_formatting() -> None:
    assert mask_account("6222020012345678") == "****5678"
    assert mask_account("12") == "****"
    assert format_amount(Decimal("1234567.891"), "USD", "en") == "USD 1,234,567.89"
    assert format_amount(Decimal("0.5"), "CNY", "zh_CN") == "¥0.50"
    with pytest.raises(FieldError, match="must be a Decimal"):
        format_amount(12.5, "CNY", "en")  # type: ignore[arg-type]
    with pytest.raises(FieldError, match="language must be one of"):
        FIELDS.context("fr")


def _count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(MessageTemplate)) or 0


def test_save_refuses_threat_with_phrase_and_rule_and_saves_nothing(engine) -> None:
    body = "【示例消费金融】{{ customer_name }}，再不还款后果自负，我们会把你的欠款发到朋友圈。"
    with Session(engine) as session, session.begin():
        with pytest.raises(TemplateRefused) as caught:
            save_template(session, name="rude", channel="sms", language="zh_CN", body=body)
        assert _count(session) == 0
    rules = {(f.rule, f.phrase) for f in caught.value.findings}
    assert ("lint.threat", "后果自负") in rules
    assert any(rule == "lint.shaming" for rule, _ in rules)
    assert "后果自负" in str(caught.value) and "lint.threat" in str(caught.value)


def test_save_refuses_english_impersonation(engine) -> None:
    body = (
        "{{ institution_name }}: This is the police. "
        "Pay {{ amount_due }} today or you will be arrested."
    )
    with Session(engine) as session, session.begin():
        with pytest.raises(TemplateRefused) as caught:
            save_template(session, name="fake", channel="sms", language="en", body=body)
        assert _count(session) == 0
    assert caught.value.findings


def test_save_refuses_missing_disclosure_under_us_regf(engine) -> None:
    body = "{{ institution_name }}: {{ amount_due }} is due on {{ due_date }}."
    with (
        Session(engine) as session,
        session.begin(),
        pytest.raises(TemplateRefused, match=r"us-regf\.disclosure\.debt-collector"),
    ):
        save_template(session, name="t", channel="sms", language="en", body=body, pack="us-regf")


def test_save_refuses_unknown_merge_field_and_bad_syntax(engine) -> None:
    with Session(engine) as session, session.begin():
        with pytest.raises(TemplateError, match="unknown merge field id_number"):
            save_template(
                session, name="t", channel="sms", language="zh_CN",
                body="【示例】{{ id_number }}",
            )  # fmt: skip
        with pytest.raises(TemplateError, match="syntax error, line 1"):
            save_template(
                session, name="t", channel="sms", language="zh_CN", body="【示例】{{ oops"
            )
        assert _count(session) == 0


def test_save_makes_a_new_version_each_time_and_latest_wins(engine) -> None:
    first = (
        "【{{ institution_name }}】{{ customer_name }}您好，"
        "请于{{ due_date }}前还款{{ amount_due }}。"
    )
    second = first.replace("您好", "您好，感谢您一直以来的支持")
    with Session(engine) as session, session.begin():
        v1 = save_template(session, name="overdue_sms", channel="sms", language="zh_CN", body=first)
        v2 = save_template(
            session, name="overdue_sms", channel="sms", language="zh_CN", body=second,
            created_by="ops",
        )  # fmt: skip
    assert (v1.version, v2.version) == (1, 2)
    with Session(engine) as session:
        assert get_template(session, "overdue_sms", "zh_CN").body == second
        assert get_template(session, "overdue_sms", "zh_CN", version=1).body == first
        assert get_template(session, "overdue_sms", "en").version == 0  # packaged default
        listed = {(t.name, t.language): t.version for t in list_templates(session)}
    assert listed[("overdue_sms", "zh_CN")] == 2
    assert listed[("overdue_sms", "en")] == 0
    assert len(listed) == len(default_templates())
    with pytest.raises(TemplateError, match="no template 'nope'"):
        get_template(None, "nope", "en")
