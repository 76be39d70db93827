"""The batch engine's journal equals the ledger the domain core posts: every entry (loan,
ref, kind, posted_on, amount, memo) and every leg (line, installment, account, amount)
of every closed day, on DuckDB; and the engine's own accounts are the replay of the
legs. Loans the engine does not model yet (waivers, reversals, arrangements,
write-offs, holds) are left out by ``journal.out_of_scope``, by name."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from arrears.batch.close import BatchBook, Closer
from arrears.batch.handover import from_store
from arrears.batch.journal import ENTRIES, day_journal, out_of_scope, post_journal
from arrears.batch.reference import close_book
from arrears.batch.reference_states import prepare
from arrears.batch.sample import sample_book
from arrears.batch.state import day_number
from arrears.batch.workers import cents
from arrears.domain.account import advance
from arrears.domain.errors import ConflictingPosting
from arrears.domain.operations import waive
from arrears.domain.products import (
    DEFAULT_CATALOG_PATH,
    Catalog,
    ChargeOffRule,
    Component,
    PenaltyFrom,
    load_catalog,
)
from arrears.ingest.generator import generate_portfolio
from arrears.ingest.importer import import_file
from arrears.store.db import make_engine, upgrade
from arrears.store.models import EntryRow, LegRow, utcnow
from arrears.store.repositories import EntryRepository
from arrears.workspace import Workspace
from charge_off_support import init_without_charge_off

# the default catalogue without its charge-off rules: write-offs and the recoveries after
# them are out of the journal's scope (``journal`` module text; ``out_of_scope`` names such
# loans of a store), and these tests compare the journal loan by loan over the whole book
CATALOG = load_catalog(DEFAULT_CATALOG_PATH)
CATALOG = replace(
    CATALOG,
    products={code: replace(p, charge_off=ChargeOffRule()) for code, p in CATALOG.products.items()},
)


ONE_DAY = timedelta(days=1)
# the balances of an account row and the ledger account each one sums
BALANCES = {
    "not_due": "not_due",
    "principal_due": "principal",
    "interest_due": "interest",
    "penalty": "penalty",
    "compound": "compound",
    "fee": "fee",
    "costs": "cost",
    "credit": "credit",
}


def _engine_journal(closer: Closer, first: date, last: date) -> tuple[set, set, dict]:
    """Close ``first`` .. ``last`` on ``closer`` with each day's journal: entry and leg
    tuples, and the accounts of every day (keyed by day)."""
    entries, legs, accounts = set(), set(), {}
    day = first
    while day <= last:
        e, g = day_journal(closer, day)
        closer.close(day)
        accounts[day] = closer.book.read_state(day)[0]
        entries |= {
            (r["loan_id"], r["ref"], r["kind"], r["posted_on"], r["amount"], r["memo"])
            for r in e.to_pylist()
        }
        legs |= {
            (r["loan_id"], r["ref"], r["line"], r["installment"], r["account"], r["amount"])
            for r in g.to_pylist()
        }
        day += ONE_DAY
    return entries, legs, accounts


def _kinds(entries: set) -> Counter:
    """Entries by kind and reference prefix (``accrual/accr``, ``accrual/back``...)."""
    return Counter(f"{e[2]}/{e[1].split(':')[0] if ':' in e[1] else 'ref'}" for e in entries)


def _replays(start: pa.Table, legs: set, accounts: dict[date, pa.Table], posted: dict) -> None:
    """Each day's account balances equal the start's plus the legs posted through it."""
    base = {r["loan_id"]: r for r in start.to_pylist()}
    moved: dict[str, Counter] = defaultdict(Counter)
    by_day: dict[date, list] = defaultdict(list)
    for loan_id, ref, _, _, account, amount in legs:
        by_day[posted[(loan_id, ref)]].append((loan_id, account, amount))
    for day in sorted(accounts):
        for loan_id, account, amount in by_day[day]:
            moved[loan_id][account] += amount
        for row in accounts[day].to_pylist():
            lid = row["loan_id"]
            if row["written_off"]:
                continue
            for column, account in BALANCES.items():
                before = base[lid][column] if lid in base else 0
                if column == "not_due" and lid not in base:
                    before = row["principal"]  # disbursed inside the window
                assert row[column] == before + moved[lid][account], (day, lid, column)


def _against_domain_core(tmp_path: Path, catalog: Catalog, loans: int, days: int) -> Counter:
    """The engine's journal of ``days`` days of the equivalence test's sample book equals
    the entries and legs the domain core posts for them; returns the entries by kind."""
    start = date(2026, 3, 1)
    end = start + timedelta(days=days)
    sample = sample_book(catalog, loans, start, end, seed=11)
    book = BatchBook(tmp_path / "book")
    prepare(book, sample, catalog, start)
    closer = Closer(book, catalog, "duckdb")
    got, got_legs, accounts = _engine_journal(closer, start + ONE_DAY, end)

    want, want_legs = set(), set()
    for loan in sample:
        acc = loan.account
        first = acc.terms.disbursed_on
        if first <= start:
            acc, _ = advance(acc, start, [p for p in loan.payments if p.paid_on <= start])
            first = start
        posted = len(acc.ledger.entries)
        later = [p for p in loan.payments if p.paid_on > acc.closed_through]
        acc, _ = advance(acc, end, later, catalog, record_from=first + ONE_DAY)
        for e in acc.ledger.entries[posted:]:
            want.add((acc.loan_id, e.ref, e.kind.value, e.posted_on, cents(e.amount), e.memo))
            for line, leg in enumerate(e.legs, start=1):
                want_legs.add(
                    (
                        acc.loan_id,
                        e.ref,
                        line,
                        leg.installment,
                        leg.account.value,
                        cents(leg.amount),
                    )
                )
    assert got == want, (sorted(want - got)[:5], sorted(got - want)[:5])
    assert got_legs == want_legs, (
        sorted(want_legs - got_legs)[:5],
        sorted(got_legs - want_legs)[:5],
    )
    posted_on = {(e[0], e[1]): e[3] for e in got}
    _replays(book.read_state(start)[0], got_legs, accounts, posted_on)
    return _kinds(want)


def test_the_engine_journal_equals_the_domain_core_ledger_on_the_sample_book(tmp_path: Path):
    kinds = _against_domain_core(tmp_path, CATALOG, 300, 8)
    for kind in ("installment_due/due", "fee/late", "accrual/accr", "credit_applied/credit",
                 "payment/ref"):  # fmt: skip
        assert kinds[kind] > 0, kinds  # not vacuous


def test_back_charged_penalty_is_journalled_as_the_domain_core_posts_it(tmp_path: Path):
    """Every product with penalty_from = "due_date": the 罚息 and 复利 of the grace days
    charged back (``back:<D>``) beside the late fees."""
    products = {
        code: replace(p, charges=replace(p.charges, penalty_from=PenaltyFrom.DUE_DATE))
        for code, p in CATALOG.products.items()
    }
    kinds = _against_domain_core(tmp_path, replace(CATALOG, products=products), 200, 6)
    assert kinds["accrual/back"] > 0 and kinds["fee/late"] > 0, kinds


AS_OF = date(2026, 6, 30)
WINDOW = 4  # days the engine and the reference close both close


@pytest.fixture(scope="module")
def portfolio(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated book without the loans disbursed inside the window (the handover
    starts from a day every loan is closed through)."""
    folder = tmp_path_factory.mktemp("portfolio")
    generate_portfolio(folder, 300, AS_OF, seed=7)
    loans = pq.read_table(folder / "loans.parquet")
    early = pc.less_equal(loans.column("disbursed_on"), pa.scalar(AS_OF - timedelta(days=WINDOW)))
    loans = loans.filter(early)
    pq.write_table(loans, folder / "loans.parquet")
    payments = pq.read_table(folder / "payments.parquet")
    pq.write_table(
        payments.filter(pc.is_in(payments.column("loan_id"), loans.column("loan_id"))),
        folder / "payments.parquet",
    )
    return folder


def _stored(ws: Workspace) -> tuple[set, set]:
    e, g = EntryRow.__table__.c, LegRow.__table__.c
    with ws.engine.connect() as conn:
        entries = {
            (r.loan_id, r.ref, r.kind, r.posted_on, cents(Decimal(r.amount)), r.memo)
            for r in conn.execute(select(e.loan_id, e.ref, e.kind, e.posted_on, e.amount, e.memo))
        }
        legs = {
            (r.loan_id, r.ref, r.line, r.installment, r.account, cents(Decimal(r.amount)))
            for r in conn.execute(
                select(g.loan_id, g.ref, g.line, g.installment, g.account, g.amount)
            )
        }
    return entries, legs


def test_the_engine_journal_equals_what_the_reference_close_stores(tmp_path: Path, portfolio: Path):
    """A store closed by the reference close through C, handed over to the batch book;
    then the reference close and the engine each close C+1 .. C+WINDOW. A waiver posted
    on one loan inside the window is outside the engine's scope: named, and left out."""
    engine = make_engine(f"sqlite:///{tmp_path / 'store.sqlite'}")
    upgrade(engine)
    ws = Workspace.at(tmp_path / "ws", engine.url.render_as_string(hide_password=False))
    assert init_without_charge_off(ws).catalog == CATALOG  # no write-off in the window
    for kind in ("customers", "loans", "payments"):
        import_file(ws.engine, portfolio / f"{kind}.parquet", kind=kind, as_of=AS_OF + ONE_DAY)
    handed = AS_OF - timedelta(days=WINDOW)
    close_book(ws, handed, 1)
    book, start, _ = from_store(ws)
    assert start == handed
    entries_before, legs_before = _stored(ws)

    # a waiver inside the window, as an approved arrangement posts it
    snapshot = pa.Table.from_pylist(book.read_state(handed)[0].to_pylist())
    charged = next(r for r in snapshot.to_pylist() if r["penalty"] > 200)
    with Session(ws.engine) as session:
        entries = EntryRepository(session)
        ledger = entries.ledger(charged["loan_id"])
        result = waive(ledger, "arr:1:waive", handed + ONE_DAY, Component.PENALTY,
                       Decimal(charged["penalty"] // 2) / 100, "arrangement 1")  # fmt: skip
        entries.add_entry(charged["loan_id"], result.entry)
        session.commit()

    close_book(ws, AS_OF, WINDOW)
    entries_after, legs_after = _stored(ws)
    with ws.engine.connect() as conn:
        excluded = out_of_scope(conn)
    assert excluded == {charged["loan_id"]}

    closer = Closer(book, ws.catalog, "duckdb")
    got, got_legs, accounts = _engine_journal(closer, handed + ONE_DAY, AS_OF)

    def scoped(rows: set) -> set:
        return {r for r in rows if r[0] not in excluded}

    want = scoped(entries_after - entries_before)
    want_legs = scoped(legs_after - legs_before)
    kinds = _kinds(want)
    for kind in ("installment_due/due", "accrual/accr", "payment/ref"):
        assert kinds[kind] > 0, kinds  # not vacuous
    assert scoped(got) == want, (sorted(want - got)[:5], sorted(scoped(got) - want)[:5])
    assert scoped(got_legs) == want_legs, (
        sorted(want_legs - got_legs)[:5],
        sorted(scoped(got_legs) - want_legs)[:5],
    )
    # the excluded loan is excluded for a reason: the engine does not see its waiver
    mine = {r for r in got if r[0] == charged["loan_id"]}
    theirs = {r for r in entries_after - entries_before if r[0] == charged["loan_id"]}
    assert mine != theirs
    posted_on = {(e[0], e[1]): e[3] for e in got}
    _replays(book.read_state(handed)[0], got_legs, accounts, posted_on)
    assert day_number(AS_OF) == accounts[AS_OF].column("as_of")[0].as_py()
    engine.dispose()


def test_posting_the_engine_journal_in_bulk_is_idempotent_and_replays_to_its_balances(
    engine, tmp_path: Path, portfolio: Path
):
    """On SQLite and PostgreSQL: a store closed through C and handed over; the engine's
    journal of C+1 .. C+WINDOW posted with ``post_journal``: every entry and leg stored
    as the journal has it, each loan's seq running on from its last entry; posting it
    again inserts nothing; an entry differing from its stored ref is refused; and each
    loan's stored legs add up to the engine's balances of the last day."""
    ws = Workspace.at(tmp_path / "ws", engine.url.render_as_string(hide_password=False))
    assert init_without_charge_off(ws).catalog == CATALOG  # no write-off in the window
    for kind in ("customers", "loans", "payments"):
        import_file(ws.engine, portfolio / f"{kind}.parquet", kind=kind, as_of=AS_OF + ONE_DAY)
    handed = AS_OF - timedelta(days=WINDOW)
    close_book(ws, handed, 1)
    book, _, _ = from_store(ws)
    with ws.engine.connect() as conn:
        last_seq = dict(
            conn.execute(
                select(EntryRow.loan_id, func.max(EntryRow.seq)).group_by(EntryRow.loan_id)
            ).all()
        )
    entries_before, legs_before = _stored(ws)
    closer = Closer(book, ws.catalog, "duckdb")
    journals = []
    day = handed + ONE_DAY
    while day <= AS_OF:
        journals.append(day_journal(closer, day))
        closer.close(day)
        day += ONE_DAY
    entries = pa.concat_tables([e for e, _ in journals])
    legs = pa.concat_tables([g for _, g in journals])
    with ws.engine.begin() as conn:
        assert post_journal(conn, entries, legs, utcnow()) == entries.num_rows > 0
    entries_after, legs_after = _stored(ws)
    assert entries_after - entries_before == {
        (r["loan_id"], r["ref"], r["kind"], r["posted_on"], r["amount"], r["memo"])
        for r in entries.to_pylist()
    }
    assert legs_after - legs_before == {
        (r["loan_id"], r["ref"], r["line"], r["installment"], r["account"], r["amount"])
        for r in legs.to_pylist()
    }
    # seq runs on from each loan's last stored entry, in the journal's order
    e = EntryRow.__table__.c
    with ws.engine.connect() as conn:
        seqs = {
            (r.loan_id, r.ref): r.seq
            for r in conn.execute(select(e.loan_id, e.ref, e.seq).where(e.posted_on > handed))
        }
    expected: dict[tuple[str, str], int] = {}
    ordered = sorted(
        entries.to_pylist(), key=lambda r: (r["loan_id"], r["posted_on"], r["ordinal"])
    )
    for r in ordered:
        last_seq[r["loan_id"]] = last_seq[r["loan_id"]] + 1
        expected[(r["loan_id"], r["ref"])] = last_seq[r["loan_id"]]
    assert seqs == expected
    with ws.engine.begin() as conn:  # again: nothing new
        assert post_journal(conn, entries, legs, utcnow()) == 0
    assert _stored(ws) == (entries_after, legs_after)
    first = entries.slice(0, 1).to_pylist()[0]
    changed = pa.Table.from_pylist([{**first, "amount": first["amount"] + 1}], schema=ENTRIES)
    with pytest.raises(ConflictingPosting, match=first["ref"]), ws.engine.begin() as conn:
        post_journal(conn, changed, legs.slice(0, 0), utcnow())
    # the stored legs add up to the engine's balances of the last day
    g = LegRow.__table__.c
    with ws.engine.connect() as conn:
        sums = conn.execute(
            select(g.loan_id, g.account, func.sum(g.amount)).group_by(g.loan_id, g.account)
        ).all()
    totals: dict[tuple[str, str], int] = defaultdict(int)
    for loan_id, account, amount in sums:
        totals[(loan_id, account)] += cents(Decimal(amount))
    for row in closer.book.read_state(AS_OF)[0].to_pylist():
        for column, account in BALANCES.items():
            assert row[column] == totals[(row["loan_id"], account)], (row["loan_id"], column)
