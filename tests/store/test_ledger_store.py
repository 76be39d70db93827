"""Entries and legs round-trip; the stored ledger replays to the domain's balances."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import Engine, func, select

from arrears.domain.errors import ConflictingPosting
from arrears.domain.ledger import Entry, EntryKind, Ledger, PostStatus, post
from arrears.domain.operations import disburse, fall_due, pay
from arrears.domain.products import Catalog
from arrears.domain.schedule import LoanTerms, build_schedule
from arrears.store.models import EntryRow, LegRow
from arrears.store.unit_of_work import UnitOfWork


def _domain_ledger(uow: UnitOfWork, catalog: Catalog, terms: LoanTerms) -> list[Entry]:
    """Disburse, two installments fall due, a payment that leaves credit behind."""
    waterfall = catalog.product("CONSUMER").waterfall
    ledger = Ledger("L1", "CNY")
    ledger = disburse(ledger, "disb:L1", terms.disbursed_on, terms.principal).ledger
    for installment in uow.loans.schedule("L1")[:2]:
        ledger = fall_due(ledger, installment).ledger
    ledger = pay(ledger, "pay:1", date(2024, 3, 20), Decimal("2500.00"), waterfall).ledger
    return list(ledger.entries)


def test_entries_round_trip_and_replay_to_domain_balances(
    booked: Engine, catalog: Catalog, terms: LoanTerms
) -> None:
    with UnitOfWork(booked) as uow:
        entries = _domain_ledger(uow, catalog, terms)
        for seq, entry in enumerate(entries, start=1):
            assert uow.entries.add_entry("L1", entry, seq) is PostStatus.POSTED
        uow.commit()
    with UnitOfWork(booked) as uow:
        assert uow.entries.entries("L1") == tuple(entries)
        stored = uow.entries.ledger("L1", "CNY")
    expected = Ledger("L1", "CNY")
    for entry in entries:
        expected = post(expected, entry).ledger
    assert dict(stored.balances) == dict(expected.balances)
    assert stored.total_outstanding == expected.total_outstanding
    assert any(leg.amount < 0 for e in entries for leg in e.legs)  # negatives stored too


def test_duplicate_entry_is_a_no_op_and_conflict_raises(booked: Engine, terms: LoanTerms) -> None:
    entry = disburse(Ledger("L1"), "disb:L1", terms.disbursed_on, terms.principal).entry
    with UnitOfWork(booked) as uow:
        assert uow.entries.add_entry("L1", entry) is PostStatus.POSTED
        uow.commit()
    with UnitOfWork(booked) as uow:
        assert uow.entries.add_entry("L1", entry) is PostStatus.DUPLICATE
        different = Entry(
            "disb:L1", EntryKind.DISBURSEMENT, terms.disbursed_on, Decimal("1.00"), entry.legs
        )
        with pytest.raises(ConflictingPosting, match="already used for a disbursement"):
            uow.entries.add_entry("L1", different)
        uow.commit()
    with UnitOfWork(booked) as uow:
        assert uow.session.scalar(select(func.count()).select_from(EntryRow)) == 1
        assert uow.session.scalar(select(func.count()).select_from(LegRow)) == 1
        assert uow.entries.next_seq("L1") == 2


def test_terms_and_schedule_come_back_as_domain_values(
    booked: Engine, catalog: Catalog, terms: LoanTerms
) -> None:
    with UnitOfWork(booked) as uow:
        assert uow.loans.terms("L1") == terms
        assert uow.loans.schedule("L1") == build_schedule(catalog.product("CONSUMER"), terms)
