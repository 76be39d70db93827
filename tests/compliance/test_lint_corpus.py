"""The template linter against a corpus of bad and good templates in both languages,
plus the finding's shape (rule, phrase as written, offsets)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from arrears.compliance import ComplianceError, lint_template, load_pack

CORPUS = tomllib.loads((Path(__file__).parent / "lint_corpus.toml").read_text(encoding="utf-8"))


def run(case):
    return lint_template(
        case["text"],
        language=case["language"],
        channel=case.get("channel", "call"),
        pack=case.get("pack", "cn"),
    )


@pytest.mark.parametrize("case", CORPUS["bad"], ids=lambda c: c["text"][:40])
def test_bad_template_is_refused_by_its_rule(case):
    findings = run(case)
    assert case["rule"] in {f.rule for f in findings}, findings
    if "phrase" in case:
        assert case["phrase"] in [f.phrase for f in findings if f.rule == case["rule"]]


@pytest.mark.parametrize("case", CORPUS["good"], ids=lambda c: c["text"][:40])
def test_good_template_passes_clean(case):
    assert run(case) == []


def test_corpus_covers_every_rule_in_both_languages():
    rules = {
        "lint.threat",
        "lint.insult",
        "lint.shaming",
        "lint.impersonation",
        "lint.false_legal",
        "lint.third_party_disclosure",
        "lint.litigation_claim",
    }
    for language in ("en", "zh_CN"):
        covered = {c["rule"] for c in CORPUS["bad"] if c["language"] == language}
        assert rules <= covered, (language, rules - covered)
    assert sum(1 for c in CORPUS["good"] if c["language"] == "zh_CN") >= 8
    assert sum(1 for c in CORPUS["good"] if c["language"] == "en") >= 8


def test_a_finding_names_the_phrase_as_written_and_where_it_is():
    text = "【某银行】请还款，否则立即逮捕。"
    (finding,) = lint_template(text, language="zh_CN", channel="sms", pack="cn")
    assert finding.rule == "lint.false_legal"
    assert finding.phrase == "立即逮捕"
    assert text[finding.start : finding.end] == "立即逮捕"
    assert "法律后果" in finding.message


def test_every_finding_is_reported_in_text_order():
    text = "You deadbeat, we will contact your employer and you will be arrested."
    findings = lint_template(text, language="en", channel="call", pack="us-regf")
    assert [f.rule for f in findings] == [
        "lint.insult",
        "lint.third_party_disclosure",
        "lint.false_legal",
    ]


def test_litigation_statements_pass_once_a_court_filing_exists():
    text = "我司已正式向法院起诉，请按传票时间出庭。"
    assert {f.rule for f in lint_template(text, language="zh_CN", channel="call", pack="cn")} == {
        "lint.litigation_claim"
    }
    assert (
        lint_template(text, language="zh_CN", channel="call", pack="cn", litigation_filed=True)
        == []
    )
    # Never allowed, filing or not: arrest is not a consequence of a civil debt.
    worse = "We have filed a lawsuit and you will be arrested."
    rules = {
        f.rule
        for f in lint_template(
            worse, language="en", channel="call", pack="us-regf", litigation_filed=True
        )
    }
    assert rules == {"lint.false_legal"}


def test_disclosure_is_checked_only_where_the_pack_requires_it():
    plain = "Your balance is overdue."
    regf = load_pack("us-regf")
    assert lint_template(plain, language="en", channel="call", pack=regf) == []
    missing = lint_template(plain, language="en", channel="email", pack=regf)
    assert [(f.rule, f.phrase, f.start, f.end) for f in missing] == [
        ("us-regf.disclosure.debt-collector", "", 0, 0),
        ("us-regf.disclosure.opt-out", "", 0, 0),  # 1006.6(e): electronic only
    ]
    letter = lint_template(plain, language="en", channel="letter", pack=regf)
    assert [f.rule for f in letter] == ["us-regf.disclosure.debt-collector"]


def test_bad_arguments_are_refused():
    with pytest.raises(ComplianceError, match="language 'fr'"):
        lint_template("x", language="fr", channel="sms", pack="cn")
    with pytest.raises(ComplianceError, match="channel 'fax'"):
        lint_template("x", language="en", channel="fax", pack="cn")
