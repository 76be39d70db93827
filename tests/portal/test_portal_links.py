"""Personal links: what a token holds, what messages and letters carry, the ``[portal]``
settings, and the letter's short code opening the portal."""

from __future__ import annotations

import io
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from portal_support import csrf_of
from web_support import TODAY

from arrears.channels.letters import AmountLine, render_letter_pdf
from arrears.services.portal.links import (
    LinkClaim,
    PortalLinks,
    decode_link_token,
    decode_short_code,
    letter_code,
    load_keys,
    rotate_key,
    seal,
    unseal,
)
from arrears.services.settings import SettingsError, load_settings

KEY = bytes.fromhex("7a" * 32)


@given(
    loan=st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=40),
    days=st.integers(0, 20000),
)
def test_a_token_opens_to_its_claim_and_a_changed_byte_opens_to_nothing(loan, days) -> None:
    claim = LinkClaim(loan, date(2000, 1, 1) + timedelta(days=days))
    raw = seal(KEY, claim)
    assert unseal([KEY], raw) == claim
    assert loan.encode() not in raw or len(loan.encode()) < 3  # the loan id is not readable
    for at in (0, len(raw) - 1):
        changed = raw[:at] + bytes([raw[at] ^ 1]) + raw[at + 1 :]
        assert unseal([KEY], changed) is None
    assert unseal([bytes.fromhex("11" * 32)], raw) is None


def test_link_and_short_code_are_the_same_bytes() -> None:
    links = PortalLinks("https://portal.example.cn/", None)
    link = links.link("L9", TODAY)
    assert link.startswith("https://portal.example.cn/portal/l/")
    raw = decode_link_token(link.rsplit("/", 1)[1])
    assert raw is not None
    code = links.short_code("L9", TODAY)
    assert decode_short_code(code.lower().replace("-", " ")) == raw
    assert decode_link_token("not a token!") is None and decode_short_code("0189") is None
    found = letter_code(link)
    assert found is not None and found[:2] == ("https://portal.example.cn/portal", code)
    assert letter_code("https://pay.lender.example/r/ARR-1") is None


def test_messages_carry_the_portal_link_unless_the_lender_has_its_own(tmp_path: Path) -> None:
    settings = load_settings(tmp_path)
    fields = settings.institution.merge_fields(
        "zh_CN", customer_name="张三", loan_id="L1", amount_due=Decimal("10.00"),
        currency="CNY", due_date=TODAY, reference="ARR-20261201-ABCDEF12",
    )  # fmt: skip
    assert fields.pay_link.startswith("http://127.0.0.1:8000/portal/l/")
    raw = decode_link_token(fields.pay_link.rsplit("/", 1)[1])
    assert unseal(load_keys(None), raw or b"") == LinkClaim("L1", date(2026, 12, 1))
    (tmp_path / "arrears.toml").write_text(
        '[lender]\npay_link = "https://pay.lender.example/{reference}"\n'
        '[portal]\nbase_url = "https://portal.lender.example"\n',
        encoding="utf-8",
    )
    own = load_settings(tmp_path).institution.pay_link_for("ARR-20261201-X", "L1")
    assert own == "https://pay.lender.example/ARR-20261201-X"


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ('[portal]\nbase_url = "portal"\n', "portal.base_url must be a web address"),
        ("[portal]\nlink_days = 0\n", "portal.link_days must be a whole number"),
        ("[portal]\ncolour = 1\n", "portal.colour is not a setting"),
        ("[portal.policy]\nplan_counts = [0]\n", "portal.policy.plan_counts"),
        ("[portal.policy]\nmax_relief = 1.5\n", "portal.policy.max_relief must be an amount"),
        (
            '[portal.segments.early]\nsettlement_waives = ["x"]\n',
            "segments.early.settlement_waives",
        ),
    ],
)
def test_bad_portal_settings_name_the_key(tmp_path: Path, text: str, error: str) -> None:
    (tmp_path / "arrears.toml").write_text(text, encoding="utf-8")
    with pytest.raises(SettingsError, match=error):
        load_settings(tmp_path)


def test_segment_policies_override_the_default(tmp_path: Path) -> None:
    (tmp_path / "arrears.toml").write_text(
        "[portal.policy]\npromise_days = 10\n[portal.segments.early]\nplan_counts = [3]\n",
        encoding="utf-8",
    )
    portal = load_settings(tmp_path).portal
    assert portal.policy_for("early").plan_counts == (3,)
    assert portal.policy_for("early").promise_days == 10
    assert portal.policy_for("late").plan_counts == (3, 6, 12)


def test_the_key_file_is_private_and_rotates(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("ARREARS_PORTAL_KEY")
    links = PortalLinks("http://x", tmp_path)
    old = links.raw_token("L1", TODAY)
    assert (tmp_path / "portal-keys").stat().st_mode & 0o077 == 0
    rotate_key(tmp_path)
    keys = load_keys(tmp_path)
    assert len(keys) == 2 and unseal(keys, old) == LinkClaim("L1", TODAY)
    # settings loaded after the rotation sign with the new key
    assert PortalLinks("http://x", tmp_path).raw_token("L1", TODAY) != old


def test_a_letter_prints_the_qr_and_short_code_that_open_the_portal(client) -> None:
    from pypdf import PdfReader

    from arrears.services.settings import Institution

    lender = Institution(portal=PortalLinks("http://testserver", None))
    letter = lender.letter(
        "zh_CN", template="demand_letter", reference="ARR-20261201-ABCDEF12",
        letter_date=TODAY, addressee_name="客户1", addressee_address=("北京市",),
        loan_id="L1", currency="CNY", amounts=(AmountLine("逾期本金", Decimal("100.00")),),
        due_date=TODAY,
    )  # fmt: skip
    pages = PdfReader(io.BytesIO(render_letter_pdf(letter))).pages
    text = pages[-1].extract_text().replace("\x00", "")  # the CJK font's text has NULs
    code = PortalLinks("http://testserver", None).short_code("L1", TODAY)
    assert code in text and "http://testserver/portal" in text
    csrf = csrf_of(client.get("/portal").text)
    opened = client.post("/portal/code", data={"code": code.lower(), "csrf_token": csrf})
    assert opened.status_code == 303 and opened.headers["location"] == "/portal/verify"
