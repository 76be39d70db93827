"""The case page's ledger reads in the page's language: a system entry names the
installment it is about (第3期), and the close's English memo on a late fee, which only
repeats the entry's kind, is not shown."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from arrears.domain.account import LATE_FEE_MEMO
from arrears.domain.operations import charge_fee
from arrears.store.unit_of_work import UnitOfWork


def _charge_late_fee(engine, loan_id: str) -> None:  # type: ignore[no-untyped-def]
    with UnitOfWork(engine) as uow:
        ledger = uow.entries.ledger(loan_id)
        fee = charge_fee(ledger, "late:2", date(2026, 11, 20), Decimal("30.00"), LATE_FEE_MEMO)
        uow.entries.add_entry(loan_id, fee.ledger.entries[-1], len(ledger.entries) + 1)
        uow.commit()


def test_ledger_entries_name_their_installment_and_drop_the_english_memo(login, book) -> None:
    _charge_late_fee(book.engine, "L1")
    c1 = login("c1")  # prefers zh_CN
    entries = c1.get(f"/api/v1/cases/{book.case_ids[0]}").json()["loans"][0]["entries"]
    fee = next(e for e in entries if e["ref"] == "late:2")
    assert (fee["kind"], fee["amount"], fee["memo"], fee["installment"]) == ("fee", "30.00", "", 2)
    assert [e["installment"] for e in entries if e["kind"] == "installment_due"] == [1, 2, 3]
    assert next(e for e in entries if e["kind"] == "disbursement")["installment"] is None

    page = c1.get(f"/cases/{book.case_ids[0]}").text
    ledger = page[page.index("<h3>分户账</h3>") :]
    assert '滞纳金 <span class="muted small">第2期</span>' in ledger
    assert '分期到期 <span class="muted small">第3期</span>' in ledger
    assert LATE_FEE_MEMO not in page
