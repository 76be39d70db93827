"""The workbench names the rule that blocked a contact in the reader's language, for
the rules of issue 26 too (no English on a Chinese page)."""

from __future__ import annotations

import re

import pytest

from arrears.web.ui.i18n import translator
from arrears.web.ui.refusals import block_reasons

CASES = {
    "hold.consent_withdrawn.sms": ("撤回同意暂停：停止联系", "Consent withdrawn hold"),
    "hold.validation_pending": ("债务验证通知尚未寄出暂停：停止联系", "Validation notice"),
    "time_barred.suit": ("该债务已过诉讼时效", "time-barred"),
    "cn-2026.dials.daily": ("该渠道在此期间的联系次数已达上限", "contact limit"),
    "us-ma.phone.work": ("该渠道在此期间的联系次数已达上限", "contact limit"),
    "us-regf.tcpa.consent": ("未记录债务人事先同意", "no prior consent"),
    "data.no_recipient": ("该渠道没有可用的电话、邮箱或地址", "no phone, email or address"),
    "no_recipient": ("没有可寄送通知的地址", "no mailing address"),
}


@pytest.mark.parametrize("rule", sorted(CASES))
def test_each_rule_reads_in_chinese_and_english(rule: str) -> None:
    zh_text, en_text = CASES[rule]
    zh = block_reasons([rule], "the gate's sentence", translator("zh_CN"), "zh_CN")
    assert zh_text in zh
    assert not re.search(r"[A-Za-z]{3,}", zh), zh  # no English words on a Chinese page
    assert block_reasons([rule], "the gate's sentence", translator("en"), "en") == (
        "the gate's sentence"
    )
    from arrears.web.ui.refusals import rule_reason

    assert en_text.lower() in rule_reason(rule, translator("en")).lower()


def test_every_rule_a_pack_or_the_treat_step_can_block_by_reads_in_chinese() -> None:
    """No rule falls back to 'blocked by rule <id>' on a Chinese page: every pack's
    rules, the blacklist, the treat step's missing recipient and the notice's."""
    from arrears.compliance import available_packs
    from arrears.compliance.packs import load_pack
    from arrears.services.treatments import NO_RECIPIENT

    rules = {r for name in available_packs() for r in load_pack(name).rule_ids}
    rules |= {"blacklist", NO_RECIPIENT, "no_recipient"}
    zh = translator("zh_CN")
    for rule in sorted(rules):
        text = block_reasons([rule], "", zh, "zh_CN")
        assert not re.search(r"[A-Za-z]{3,}", text), (rule, text)
