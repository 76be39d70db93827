"""TCPA prior consent (us-regf.tcpa.consent, 47 U.S.C. 227(b)(1)(A), FCC 24-24): under
us-regf and the packs extending it, an autodialled or AI-voice call or text needs the
debtor's prior consent for that number on record; a manual call does not; an attempt
that does not say how it is dialled is checked as before the rule (the `compliance
check` contract); cn packs are unaffected. On the store: the consent ledger feeds the
gate (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from arrears.channels.gating import store_gate
from arrears.cli import app
from arrears.compliance import Attempt, ComplianceError, Gate, load_pack
from arrears.compliance.consent import (
    consents_on_record,
    record_consent,
    record_opt_out,
    record_origination_consents,
)
from arrears.compliance.model import DIALINGS, Consent
from arrears.store.consent_models import ConsentEntry
from arrears.store.models import Customer, Loan, ProductRow

AT = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)  # 11:00 in New York
NY = "America/New_York"
MOBILE, OTHER = "+1 (212) 555-0100", "+12125550199"
RULE = "us-regf.tcpa.consent"


def attempt(n: int = 1, *, channel: str = "call", dialing: str | None = "autodialer",
            recipient: str | None = MOBILE, at: datetime = AT) -> Attempt:  # fmt: skip
    return Attempt(f"a{n}", "D1", "L1", channel, at, NY, recipient=recipient, dialing=dialing)


def check(pack: str, a: Attempt, consents=()) -> tuple[str, ...]:
    return Gate(pack, consents={"D1": consents}).check(a).rules


# ---- the gate -----------------------------------------------------------------------


@pytest.mark.parametrize("pack", ["us-regf", "us-ma"])
@pytest.mark.parametrize("channel", ["call", "sms"])
@pytest.mark.parametrize("dialing", ["autodialer", "ai_voice"])
def test_an_autodialled_call_or_text_without_consent_is_blocked(pack, channel, dialing):
    verdict = Gate(pack).check(attempt(channel=channel, dialing=dialing))
    assert verdict.rules == (RULE,)
    how = dialing.replace("_", "-")
    assert verdict.reasons[0] == (
        f"{how} {channel} to ***0100: no prior consent for that number to {channel}s is on record"
    )


def test_consent_for_that_number_allows_it_written_any_way():
    assert check("us-regf", attempt(), [Consent("+12125550100")]) == ()
    assert check("us-regf", attempt(channel="sms"), [Consent("+1 212.555.0100")]) == ()
    # consent for calls only does not cover texts; consent to another number covers nothing
    assert check("us-regf", attempt(channel="sms"), [Consent(MOBILE, "call")]) == (RULE,)
    assert check("us-regf", attempt(), [Consent(MOBILE, "call")]) == ()
    assert check("us-regf", attempt(), [Consent(OTHER)]) == (RULE,)


def test_a_contact_naming_no_number_needs_consent_to_every_number():
    a = attempt(recipient=None)
    assert check("us-regf", a, [Consent(MOBILE)]) == (RULE,)
    assert "naming none" in Gate("us-regf", consents={"D1": [Consent(MOBILE)]}).check(a).reasons[0]
    assert check("us-regf", a, [Consent(None)]) == ()


def test_a_manual_call_and_an_unstated_one_are_not_the_autodialer_rule():
    # TCPA's autodialer rule covers calls made with an ATDS or an artificial voice; a
    # collector dialling by hand (the workbench) is outside it.
    assert check("us-regf", attempt(dialing="manual")) == ()
    assert check("us-regf", attempt(channel="sms", dialing="manual")) == ()
    # not stated: checked as before the rule existed (old check files)
    assert check("us-regf", attempt(dialing=None)) == ()


@pytest.mark.parametrize("pack", ["cn", "cn-2026"])
def test_cn_packs_do_not_ask_for_tcpa_consent(pack):
    a = Attempt("a1", "D1", "L1", "call", datetime(2026, 3, 10, 3, tzinfo=UTC), "Asia/Shanghai",
                recipient="+8613800138000", dialing="autodialer")  # fmt: skip
    assert RULE not in Gate(pack).check(a).rules
    assert not any(r.id.endswith("tcpa.consent") for r in load_pack(pack).rules)


def test_the_rule_names_its_sources_and_emails_are_not_its_business():
    rule = next(r for r in load_pack("us-regf").rules if r.id == RULE)
    assert "47 U.S.C. 227(b)(1)(A)" in rule.source and "FCC 24-24" in rule.source
    assert rule.channels == frozenset({"call", "sms"})
    assert check("us-regf", attempt(channel="email", recipient="d@example.com")) == ()


def test_a_bad_dialing_is_refused():
    with pytest.raises(ComplianceError, match="dialing 'robot' is not one of manual"):
        attempt(dialing="robot")


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["call", "sms", "email"]),
            st.sampled_from([None, *DIALINGS]),
            st.sampled_from([MOBILE, OTHER, None]),
        ),
        max_size=12,
    ),
    st.lists(
        st.tuples(st.sampled_from([MOBILE, OTHER, None]), st.sampled_from([None, "call", "sms"])),
        max_size=3,
    ),
)
def test_property_the_rule_blocks_exactly_autodialled_contacts_no_consent_covers(rows, given):
    consents = [Consent(r, c) for r, c in given]
    gate = Gate("us-regf", consents={"D1": consents})
    for n, (channel, dialing, recipient) in enumerate(rows):
        # a day apart at 11:00 New York: no cap or hour rule interferes with calls' counts
        a = attempt(n, channel=channel, dialing=dialing, recipient=recipient,
                    at=AT + timedelta(days=8 * n))  # fmt: skip
        same = {MOBILE: "m", OTHER: "o", None: None}
        covered = any(
            (c is None or c == channel)
            and (r is None or (recipient is not None and same[r] == same[recipient]))
            for r, c in given
        )
        wanted = channel in ("call", "sms") and dialing in ("autodialer", "ai_voice")
        assert (RULE in gate.check(a).rules) == (wanted and not covered)


# ---- `arrears compliance check`: optional column dialing, --consents ------------------

runner = CliRunner()
HEADER = "attempt_id,debtor_id,debt_id,channel,at,debtor_tz,party"


def run(tmp_path: Path, text: str, *args: str):
    path = tmp_path / "attempts.csv"
    path.write_text(text, encoding="utf-8")
    return runner.invoke(app, ["compliance", "check", str(path), "--pack", "us-regf", *args])


def rules_of(output: str) -> list[list[str]]:
    return [json.loads(line)["rules"] for line in output.splitlines() if line.strip()]


def test_check_an_old_file_without_dialing_is_checked_as_before(tmp_path):
    text = f"{HEADER},recipient\na1,D1,L1,call,2026-03-10T11:00-04:00,{NY},debtor,{MOBILE}\n"
    result = run(tmp_path, text)
    assert result.exit_code == 0, result.output
    assert rules_of(result.stdout) == [[]]


def test_check_dialing_and_consents(tmp_path):
    text = (
        f"{HEADER},recipient,dialing\n"
        f"a1,D1,L1,call,2026-03-10T11:00-04:00,{NY},debtor,{MOBILE},autodialer\n"
        f"a2,D1,L1,sms,2026-03-10T11:05-04:00,{NY},debtor,{OTHER},ai_voice\n"
        f"a3,D1,L1,call,2026-03-10T11:10-04:00,{NY},debtor,{OTHER},manual\n"
        f"a4,D1,L1,call,2026-03-10T11:15-04:00,{NY},debtor,{OTHER},\n"
    )
    result = run(tmp_path, text)
    assert result.exit_code == 0, result.output
    assert rules_of(result.stdout) == [[RULE], [RULE], [], []]
    consents = tmp_path / "consents.csv"
    consents.write_text(f"debtor_id,recipient,channel\nD1,{MOBILE},\nD1,{OTHER},call\n")
    result = run(tmp_path, text, "--consents", str(consents))
    assert result.exit_code == 0, result.output
    assert rules_of(result.stdout) == [[], [RULE], [], []]


def test_check_bad_dialing_or_consents_name_the_row_and_field(tmp_path):
    text = f"{HEADER},dialing\na1,D1,L1,call,2026-03-10T11:00-04:00,{NY},debtor,robocall\n"
    result = run(tmp_path, text)
    assert result.exit_code == 2 and result.stdout == ""
    assert "row 1 (line 2), field 'dialing': 'robocall' is not one of manual" in result.stderr
    good = f"{HEADER}\na1,D1,L1,call,2026-03-10T11:00-04:00,{NY},debtor\n"
    consents = tmp_path / "consents.csv"
    consents.write_text("debtor_id,recipient,channel\n,+12125550100,\nD1,x,fax\n")
    result = run(tmp_path, good, "--consents", str(consents))
    assert result.exit_code == 2
    assert "row 1 (line 2), field 'debtor_id': empty" in result.stderr
    assert "row 2 (line 3), field 'channel': 'fax' is not one of" in result.stderr


# ---- the store: the ledger feeds the gate ---------------------------------------------


@pytest.fixture
def store(engine):
    with Session(engine) as session, session.begin():
        session.add(Customer(customer_id="D1", name="Ann Lee", mobile=MOBILE, time_zone=NY))
        session.add(Customer(customer_id="D2", name="Bo Chen", mobile="", time_zone=NY))
    return engine


def store_rules(engine, a: Attempt) -> tuple[str, ...]:
    with Session(engine) as session:
        gate = store_gate(session, load_pack("us-regf"), ["D1"], a.at)
    return gate.check(a).rules


def test_store_the_ledger_gives_and_withdraws_consent(store):
    assert store_rules(store, attempt()) == (RULE,)
    with Session(store) as session, session.begin():
        record_consent(session, customer_id="D1", channel=None, recipient=MOBILE,
                       source="portal", text="You may call or text me",
                       at=AT - timedelta(days=1))  # fmt: skip
    assert store_rules(store, attempt()) == ()
    assert store_rules(store, attempt(channel="sms")) == ()
    assert store_rules(store, attempt(recipient=OTHER)) == (RULE,)
    # a consent recorded after the call does not make it prior
    assert store_rules(store, attempt(at=AT - timedelta(days=2))) == (RULE,)
    with Session(store) as session, session.begin():
        record_opt_out(session, customer_id="D1", channel="sms", recipient=None,
                       source="reply_stop", text="STOP", at=AT + timedelta(hours=1))  # fmt: skip
    later = AT + timedelta(days=1)
    assert store_rules(store, attempt(at=later)) == ()  # calls: still consented
    with Session(store) as session:
        left = consents_on_record(session, ["D1"], later)["D1"]
    texts, calls = attempt(channel="sms", at=later), attempt(at=later)
    assert not any(c.covers(texts) for c in left) and any(c.covers(calls) for c in left)
    texts = store_rules(store, attempt(channel="sms", at=later))
    assert RULE in texts and "hold.consent_withdrawn.sms" in texts


def test_store_origination_consents_are_recorded_once_per_borrower_with_a_mobile(store):
    with Session(store) as session, session.begin():
        session.add(ProductRow(code="P1", name="Personal loan", definition="{}"))
        session.flush()
        for loan_id, customer_id, on in (("L1", "D1", date(2025, 5, 2)),
                                         ("L0", "D1", date(2024, 1, 9)),
                                         ("L2", "D2", date(2025, 6, 1))):  # fmt: skip
            session.add(Loan(loan_id=loan_id, customer_id=customer_id, product_code="P1",
                             currency="USD", principal=Decimal("1000"),
                             annual_rate=Decimal("0.1"), term_months=12,
                             disbursed_on=on))  # fmt: skip
    with Session(store) as session, session.begin():
        assert record_origination_consents(session, "clause 12: calls and texts", "demo") == 1
    with Session(store) as session, session.begin():
        assert record_origination_consents(session, "clause 12: calls and texts", "demo") == 0
    with Session(store) as session:
        (entry,) = session.scalars(select(ConsentEntry)).all()
        assert (entry.customer_id, entry.source, entry.recipient) == (
            "D1",
            "origination",
            "+12125550100",
        )
        at = entry.at if entry.at.tzinfo else entry.at.replace(tzinfo=UTC)
        assert at == datetime(2024, 1, 9, tzinfo=UTC)  # the first loan's disbursement
    assert store_rules(store, attempt()) == ()
