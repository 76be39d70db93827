"""Time-barred debts (arrears.compliance.limitation): the period per product or state,
when it has run, what a message may not say, and the California and New York texts."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arrears.compliance import ComplianceError, lint_template, load_pack
from arrears.compliance.limitation import (
    Limitation,
    add_years,
    barred_from,
    disclosure,
    is_time_barred,
    parse_limitation,
    reportable,
    state_of,
    suit_findings,
)

TABLE = load_pack("us-regf").limitation


def test_the_product_wins_over_the_state_which_wins_over_the_default() -> None:
    assert TABLE is not None
    assert TABLE.period(state="CA", product=None).years == 4
    assert TABLE.period(state="NY", product="CONSUMER").years == 3
    assert TABLE.period(state="MA", product=None).years == 6
    assert TABLE.period(state="TX", product=None).years == 3  # the default
    assert TABLE.period(state=None, product=None).years == 3
    table = parse_limitation(
        {"default_years": 5, "states": {"CA": {"years": 4, "source": "CCP 337"}},
         "products": {"CARD": {"years": 2, "source": "contract"}}}, "t",
    )  # fmt: skip
    assert table is not None
    assert table.period(state="CA", product="CARD") == Limitation(2, "contract")
    assert table.period(state="CA", product="AUTO") == Limitation(4, "CCP 337")
    assert table.period(state="WA", product="AUTO").years == 5
    assert "Civ. Proc. 337(a)" in TABLE.period(state="CA", product=None).source


def test_the_period_runs_from_the_default_to_the_same_day_years_later() -> None:
    four = Limitation(4, "")
    assert barred_from(date(2022, 3, 10), four) == date(2026, 3, 10)
    assert not is_time_barred(date(2022, 3, 10), date(2026, 3, 9), four)
    assert is_time_barred(date(2022, 3, 10), date(2026, 3, 10), four)
    assert add_years(date(2024, 2, 29), 1) == date(2025, 2, 28)
    assert not is_time_barred(date(2000, 1, 1), date(2026, 1, 1), None)  # no known period


@given(
    st.dates(date(2000, 1, 1), date(2030, 12, 31)),
    st.integers(1, 10),
    st.integers(0, 6000),
    st.integers(0, 400),
)
def test_once_barred_always_barred(defaulted_on, years, days, later) -> None:
    limitation = Limitation(years, "")
    on = defaulted_on + timedelta(days=days)
    if is_time_barred(defaulted_on, on, limitation):
        assert is_time_barred(defaulted_on, on + timedelta(days=later), limitation)
        assert on >= barred_from(defaulted_on, limitation) > defaulted_on
    else:
        assert on < barred_from(defaulted_on, limitation)


def test_california_texts_depend_on_whether_the_debt_may_still_be_reported() -> None:
    defaulted = date(2020, 1, 1)
    assert reportable(defaulted, date(2027, 6, 28))  # 7 years from 180 days after
    assert not reportable(defaulted, date(2027, 6, 29))
    recent = disclosure("CA", collector="Acme Collections", defaulted_on=defaulted,
                        on=date(2025, 1, 1))  # fmt: skip
    assert recent == (
        "The law limits how long you can be sued on a debt. Because of the age of your debt, "
        "we will not sue you for it. If you do not pay the debt, Acme Collections may "
        "continue to report it to the credit reporting agencies as unpaid for as long as "
        "the law permits this reporting."
    )
    old = disclosure("CA", collector="Acme", defaulted_on=defaulted, on=date(2028, 1, 1))
    assert old == (
        "The law limits how long you can be sued on a debt. Because of the age of your debt, "
        "we will not sue you for it, and we will not report it to any credit reporting agency."
    )


def test_new_york_text_and_other_states() -> None:
    ny = disclosure("NY", collector="Acme", defaulted_on=date(2020, 1, 1), on=date(2025, 1, 1))
    assert ny is not None
    assert ny.startswith("We are required by regulation of the New York State Department")
    for part in (
        "statute of limitations) for suing you to collect this debt may have expired",
        "It is a violation of the Fair Debt Collection Practices Act",
        "you must tell the court that the statute of limitations has expired",
        "will NOT sue you to collect this debt",
    ):
        assert part in ny
    assert disclosure("TX", collector="Acme", defaulted_on=date(2020, 1, 1),
                      on=date(2025, 1, 1)) is None  # fmt: skip


@pytest.mark.parametrize(
    ("text", "language", "phrases"),
    [
        ("Pay today or we will sue you.", "en", ["sue"]),
        (
            "We may take legal action or refer this to our attorneys.",
            "en",
            ["legal action", "attorneys"],
        ),
        ("A lawsuit may follow and a court judgment.", "en", ["lawsuit", "court", "judgment"]),
        ("We will not sue you for this debt.", "en", []),
        ("We can't take you to court over it.", "en", []),
        ("Please pay your balance of $20.", "en", []),
        ("逾期不还，我们将向法院提起诉讼。", "zh_CN", ["法院", "起诉"]),
        ("我们不会起诉您。", "zh_CN", []),
    ],
)
def test_suit_is_not_mentioned_unless_denied(text, language, phrases) -> None:
    assert [f.phrase for f in suit_findings(text, language)] == phrases


def test_the_linter_checks_suit_only_for_a_time_barred_debt() -> None:
    text = "This is an attempt to collect a debt. We may file a lawsuit. Reply STOP to opt out."
    kwargs = {"language": "en", "channel": "sms", "pack": "us-regf"}
    assert lint_template(text, **kwargs) == []
    (finding,) = lint_template(text, **kwargs, time_barred=True)
    assert (finding.rule, finding.phrase) == ("time_barred.suit", "lawsuit")
    assert "1006.26(b)" in finding.message


def test_state_from_the_address_and_bad_tables() -> None:
    assert state_of("12 Elm Street\nSpringfield, MA 01103") == "MA"
    assert state_of("1 Main St, Albany, NY 12207-1234") == "NY"
    assert state_of("北京市朝阳区建国路1号") is None
    assert state_of(None) is None
    with pytest.raises(ComplianceError, match=r"\[limitation.states.CA\]: years 0"):
        parse_limitation({"states": {"CA": {"years": 0}}}, "p.toml")
    with pytest.raises(ComplianceError, match=r"p.toml: \[retention\] years 'two'"):
        from arrears.compliance.packs import parse_pack

        parse_pack(
            {"name": "p", "candidate_zones": ["UTC"], "retention": {"years": "two"}}, "p.toml"
        )
