"""The packaged default strategy only names messages arrears ships: every contact step's
template (a call step's script) is a default template in both languages, on the channel
the step sends on, renders with a full set of merge fields, passes the compliance linter
(cn in both languages, us-regf in English), fits a Chinese SMS in two segments, and a
letter template lays out as a PDF."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from channel_helpers import LENDER_FIELDS

from arrears.channels.fields import LANGUAGES, MergeFields
from arrears.channels.letters import render_letter_pdf
from arrears.channels.samples import sample_letter
from arrears.channels.templates import default_templates, render
from arrears.compliance import lint_template, load_pack
from arrears.strategy.loader import default_strategy_path, load_strategy

# Step channels that send no message: referrals (agency, litigation) hand the account
# on, and a field visit is a task for a collector, not a rendered text.
NO_MESSAGE = {"agency", "litigation", "visit"}
# The template channel a step needs: both letter kinds are rendered as letters.
TEMPLATE_CHANNEL = {"sms": "sms", "email": "email", "push": "push", "call": "call",
                    "letter": "letter", "lawyer_letter": "letter"}  # fmt: skip
SMS_MAX_SEGMENTS_ZH = 2

# Realistic values, as long as the book's usual ones (a six-character institution name,
# a full pay link, a five-figure amount), so the SMS segment counts mean something.
FIELDS = {
    "zh_CN": MergeFields(
        customer_name="张三丰",
        account="6222020012345678",
        amount_due=Decimal("12345.60"),
        currency="CNY",
        due_date=date(2026, 11, 15),
        pay_link="https://pay.example.com/r/ARR123",
        collector_name="李敏",
        collector_phone="021-6000-1234",
        institution_name="示例消费金融",
        reference="ARR-2026-000123",
        **LENDER_FIELDS["zh_CN"],
    ),
    "en": MergeFields(
        customer_name="Jane Smith",
        account="6222020012345678",
        amount_due=Decimal("12345.60"),
        currency="CNY",
        due_date=date(2026, 11, 15),
        pay_link="https://pay.example.com/r/ARR123",
        collector_name="Min Li",
        collector_phone="021-6000-1234",
        institution_name="Example Consumer Finance",
        reference="ARR-2026-000123",
        **LENDER_FIELDS["en"],
    ),
}
RENDERED_VALUES = {
    "zh_CN": ("****5678", "¥12,345.60", "2026年11月15日"),
    "en": ("****5678", "CNY 12,345.60", "15 November 2026"),
}


def _messages_of_default_strategy() -> dict[str, tuple[str, list[str]]]:
    """Template name -> (channel it must have, the ladder steps naming it), as the
    daily close picks it: a call step's script, else its template."""
    strategy = load_strategy(default_strategy_path())
    found: dict[str, tuple[str, list[str]]] = {}
    for ladder in strategy.ladders.values():
        for step in ladder.steps:
            if step.channel in NO_MESSAGE:
                continue
            name = (step.script or step.template) if step.channel == "call" else step.template
            channel = TEMPLATE_CHANNEL[step.channel]
            where = f"{ladder.name}.{step.name}"
            if name in found and found[name][0] != channel:
                raise AssertionError(f"{name!r} is used as {found[name][0]} and {channel}")
            found.setdefault(name, (channel, []))[1].append(where)
    return found


MESSAGES = _messages_of_default_strategy()
KEYS = [(name, language) for name in sorted(MESSAGES) for language in LANGUAGES]


def _text(name: str, language: str) -> tuple[str, str]:
    template = default_templates()[(name, language)]
    return template.channel, f"{template.subject or ''}\n\n{template.body}"


def test_default_strategy_names_messages_on_every_message_channel() -> None:
    channels = {channel for channel, _ in MESSAGES.values()}
    assert channels == {"sms", "email", "push", "call", "letter"}
    # 4 SMS, 2 push, 2 email, 5 letters (lawyer_letter included), 6 call scripts.
    assert len(MESSAGES) == 19


@pytest.mark.parametrize("key", KEYS, ids="-".join)
def test_step_template_is_a_default_on_the_step_channel(key) -> None:
    name, language = key
    channel, steps = MESSAGES[name]
    template = default_templates().get((name, language))
    assert template is not None, f"{name!r} ({language}) used by {steps} is not a default"
    assert template.channel == channel, f"{name!r} is {template.channel}, {steps} need {channel}"


@pytest.mark.parametrize("key", KEYS, ids="-".join)
def test_step_template_renders_with_every_merge_field(key) -> None:
    name, language = key
    message = render(default_templates()[key], FIELDS[language])
    for value in RENDERED_VALUES[language]:
        assert value in message.text, f"{name} ({language}) does not show {value!r}"
    assert "6222020012345678" not in message.text  # only the masked account
    assert "{{" not in message.text and "}}" not in message.text
    if message.channel in ("email", "push", "letter"):
        assert message.subject and "{{" not in message.subject


@pytest.mark.parametrize("key", KEYS, ids="-".join)
def test_step_template_passes_the_cn_linter(key) -> None:
    channel, text = _text(*key)
    findings = lint_template(text, language=key[1], channel=channel, pack=load_pack("cn"))
    assert findings == [], [(f.rule, f.phrase) for f in findings]


@pytest.mark.parametrize("name", sorted(MESSAGES))
def test_english_step_template_passes_the_us_regf_linter(name) -> None:
    channel, text = _text(name, "en")
    findings = lint_template(text, language="en", channel=channel, pack=load_pack("us-regf"))
    assert findings == [], [(f.rule, f.phrase) for f in findings]


@pytest.mark.parametrize("name", sorted(n for n, (c, _) in MESSAGES.items() if c == "sms"))
def test_chinese_sms_fits_in_two_segments(name) -> None:
    message = render(default_templates()[(name, "zh_CN")], FIELDS["zh_CN"])
    assert message.sms is not None and message.sms.encoding == "UCS-2"
    print(f"{name} zh_CN: {message.sms.units} UCS-2 units, {message.sms.segments} segment(s)")
    assert message.sms.segments <= SMS_MAX_SEGMENTS_ZH, (
        f"{name}: {message.sms.units} units need {message.sms.segments} segments"
    )


@pytest.mark.parametrize(
    "key",
    [(n, lang) for n, (c, _) in sorted(MESSAGES.items()) if c == "letter" for lang in LANGUAGES],
    ids="-".join,
)
def test_letter_template_renders_a_pdf(key) -> None:
    name, language = key
    pdf = render_letter_pdf(sample_letter(language, template=name))
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    assert len(pdf) > 5000  # an embedded font subset and the page, not an empty shell
