"""Back-dated corrections kept in both views (issue 25, contract 5): a payment imported
after three days were closed, dated on the first of them, re-closes its loan from that
day on the reference close over the store. The snapshot of each of those days gets a
new version equal to the domain core's state of the loan had the payment been known on
time, while the version reported then (``as_known`` before the correction) keeps the
old figures; a rerun changes nothing. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from sqlalchemy import Engine, create_engine, func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from arrears.batch.reference import close_book
from arrears.cli import app
from arrears.domain.account import DayState, Payment, advance, open_account
from arrears.domain.ledger import legs_sum
from arrears.domain.products import load_catalog
from arrears.domain.schedule import LoanTerms
from arrears.ingest.generator import generate_portfolio
from arrears.ingest.importer import import_file
from arrears.services.payment_reversal import reverse_payment
from arrears.snapshots import MONEY_COLUMNS, read_snapshot, snapshot_versions
from arrears.store.models import EntryRow, PaymentRow
from arrears.store.repositories import EntryRepository, LoanRepository
from arrears.workspace import Workspace

CATALOG = load_catalog()
AS_OF = date(2026, 6, 30)
ONE = timedelta(days=1)
CLOSED = [AS_OF - timedelta(days=n) for n in (3, 2, 1)]  # three days closed one by one
VALUE_DATE = CLOSED[0]  # the back-dated payment's day
LATE_REF = "late-pay-1"


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("book")
    generate_portfolio(folder, 200, AS_OF, seed=7)
    return folder


def _workspace(engine: Engine, root: Path, book: Path) -> Workspace:
    ws = Workspace.at(root, engine.url.render_as_string(hide_password=False))
    ws.init()
    for kind in ("customers", "loans", "payments"):
        import_file(ws.engine, book / f"{kind}.parquet", kind=kind, as_of=AS_OF + ONE)
    return ws


def _pick(ws: Workspace, book: Path) -> tuple[str, Decimal]:
    """The most overdue active loan paying nothing after the first closed day, and a
    payment of half what it owed then (its total due at the end of the day before)."""
    paid_later = {
        p["loan_id"]
        for p in pq.read_table(book / "payments.parquet").to_pylist()
        if p["paid_on"] >= VALUE_DATE
    }
    rows = read_snapshot(ws.snapshots_dir, VALUE_DATE - ONE).to_pylist()
    quiet = [
        r
        for r in rows
        if r["status"] == "active" and r["penalty"] > 0 and r["loan_id"] not in paid_later
    ]
    assert quiet, "the generated book has an overdue loan paying nothing after VALUE_DATE"
    row = max(quiet, key=lambda r: (r["dpd"], r["loan_id"]))
    return row["loan_id"], (row["total_due"] / 2).quantize(Decimal("0.01"))


def _domain_states(book: Path, loan_id: str, late: list[Payment]) -> dict[date, DayState]:
    """The loan straight through the domain core, with the stored payments and ``late``
    each on its own day, from disbursement to AS_OF."""
    spec = pq.read_table(book / "loans.parquet", filters=[("loan_id", "==", loan_id)])
    loan = spec.to_pylist()[0]
    terms = LoanTerms(
        loan["principal"],
        loan["annual_rate"],
        loan["term_months"],
        loan["disbursed_on"],
        loan["first_due_date"],
    )
    pays = pq.read_table(book / "payments.parquet", filters=[("loan_id", "==", loan_id)])
    payments = [Payment(p["payment_ref"], p["paid_on"], p["amount"]) for p in pays.to_pylist()]
    acc = open_account(loan_id, CATALOG.product(loan["product_code"]), terms)
    _, states = advance(acc, AS_OF, [*payments, *late], CATALOG, record_from=VALUE_DATE - ONE)
    return {s.as_of: s for s in states}


def _row(ws: Workspace, day: date, loan_id: str, as_known: date | None = None) -> dict:
    (row,) = read_snapshot(ws.snapshots_dir, day, loans=[loan_id], as_known=as_known).to_pylist()
    return row


def _matches(row: dict, state: DayState) -> None:
    for name in MONEY_COLUMNS:
        expected = getattr(state, name)
        assert row[name] == expected, f"{state.as_of} {name}: {row[name]} != {expected}"
    assert (row["status"], row["dpd"], row["bucket"], row["loan_class"]) == (
        state.status,
        state.dpd,
        state.bucket,
        state.loan_class,
    )


def test_a_back_dated_payment_corrects_the_closed_days_and_keeps_what_was_reported(
    engine: Engine, tmp_path: Path, book: Path
):
    ws = _workspace(engine, tmp_path / "ws", book)
    close_book(ws, VALUE_DATE - ONE, 1)
    for day in CLOSED:
        close_book(ws, day, 1)
    loan_id, owed = _pick(ws, book)
    reported = {day: _row(ws, day, loan_id) for day in CLOSED}
    on_time = _domain_states(book, loan_id, [Payment(LATE_REF, VALUE_DATE, owed)])
    never = _domain_states(book, loan_id, [])
    for day in CLOSED:
        _matches(reported[day], never[day])  # the close so far is the domain core's
    assert reported[CLOSED[-1]]["penalty"] > reported[CLOSED[0]]["penalty"] > 0

    with Session(ws.engine) as session:  # imported the day after the last closed day
        session.add(
            PaymentRow(
                payment_ref=LATE_REF,
                loan_id=loan_id,
                paid_on=VALUE_DATE,
                amount=owed,
                currency="CNY",
            )
        )
        session.commit()
    report = close_book(ws, AS_OF, 1)
    assert report.loans_reclosed == 1 and report.not_reclosed == {}
    assert sorted(report.corrected) == CLOSED

    for day in CLOSED:
        corrected = _row(ws, day, loan_id)
        _matches(corrected, on_time[day])  # as corrected: had it been known on time
        _matches(_row(ws, day, loan_id, as_known=CLOSED[-1]), never[day])  # as reported
        assert [v.known_on for v in snapshot_versions(ws.snapshots_dir, day)] == [day, AS_OF]
    _matches(_row(ws, AS_OF, loan_id), on_time[AS_OF])
    # the payment paid half of what was owed on its day (charges first): less 罚息 is
    # owed on the last closed day than the days as reported charged
    assert _row(ws, CLOSED[-1], loan_id)["penalty"] < reported[CLOSED[-1]]["penalty"]
    assert _row(ws, VALUE_DATE, loan_id)["paid_today"] == owed
    assert _row(ws, AS_OF, loan_id)["paid_today"] == 0  # counted on its own day only
    # the other loans' rows of a corrected day are the ones reported
    others = read_snapshot(ws.snapshots_dir, CLOSED[1]).filter(pc.field("loan_id") != loan_id)
    before = read_snapshot(ws.snapshots_dir, CLOSED[1], as_known=CLOSED[1]).filter(
        pc.field("loan_id") != loan_id
    )
    assert others.equals(before)

    # the ledger: the payment on its value date, corrections appended, balances the
    # domain core's; nothing rewritten
    with Session(ws.engine) as session:
        ledger = EntryRepository(session).ledger(loan_id)
    payment = ledger.entry(LATE_REF)
    assert payment is not None and payment.posted_on == VALUE_DATE
    redo = [e for e in ledger.entries if e.ref.startswith(f"redo:{LATE_REF}:")]
    assert redo and {e.posted_on for e in redo} == {CLOSED[-1] + ONE}
    assert sum(e.amount for e in redo if e.kind.value == "accrual") < 0
    state = on_time[AS_OF]
    balances = legs_sum(ledger.entries)
    assert sum(v for (_, a), v in balances.items() if a.value == "penalty") == state.penalty

    # the command shows both views: as reported on the last closed day, as corrected
    def shown(*known: str) -> dict:
        args = ["snapshot", "--as-of", str(CLOSED[-1]), "--loan", loan_id, "--format", "json"]
        result = CliRunner().invoke(app, [*args, *known, "--workspace", str(ws.root)])
        assert result.exit_code == 0, result.output
        (row,) = json.loads(result.output)
        return row

    assert Decimal(shown("--as-known", str(CLOSED[-1]))["penalty"]) == never[CLOSED[-1]].penalty
    assert Decimal(shown("--as-known", str(AS_OF))["penalty"]) == on_time[CLOSED[-1]].penalty
    assert Decimal(shown()["penalty"]) == on_time[CLOSED[-1]].penalty
    before_it = ["--as-known", str(CLOSED[0]), "--workspace", str(ws.root)]
    early = CliRunner().invoke(app, ["snapshot", "--as-of", str(CLOSED[-1]), *before_it])
    assert early.exit_code == 1 and "not yet reported" in early.output
    listed = CliRunner().invoke(
        app, ["snapshot", "--as-of", str(CLOSED[-1]), "--versions", "--workspace", str(ws.root)]
    )
    assert listed.exit_code == 0, listed.output
    rows = [line.split("│")[1:3] for line in listed.output.splitlines() if line.startswith("│")]
    versions = [(n.strip(), known.strip()) for n, known in rows]
    assert versions == [("1", str(CLOSED[-1])), ("2", str(AS_OF))]

    # a rerun changes nothing: no entry, no version, the same bytes
    with ws.engine.connect() as conn:
        entries = conn.scalar(select(func.count()).select_from(EntryRow))
    files = {p: p.read_bytes() for p in sorted(ws.snapshots_dir.rglob("*.parquet"))}
    again = close_book(ws, AS_OF, 1)
    assert again.already_closed and again.loans_reclosed == 0
    with ws.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(EntryRow)) == entries
    assert {p: p.read_bytes() for p in sorted(ws.snapshots_dir.rglob("*.parquet"))} == files


def test_a_payment_reversed_after_its_days_were_closed_gives_them_a_new_version(
    engine: Engine, tmp_path: Path, book: Path
):
    """A payment of the first closed day, refunded after the third was closed: the
    reversal (with its recharge) is booked on the first open day, and the closed days
    get versions as if the payment had never come, the reported ones kept."""
    ws = _workspace(engine, tmp_path / "ws", book)
    close_book(ws, VALUE_DATE - ONE, 1)
    loan_id, amount = _pick(ws, book)
    paid = Payment(LATE_REF, VALUE_DATE, amount)
    with Session(ws.engine) as session:  # known on time, this time
        session.add(
            PaymentRow(
                payment_ref=paid.ref,
                loan_id=loan_id,
                paid_on=paid.paid_on,
                amount=paid.amount,
                currency="CNY",
            )
        )
        session.commit()
    for day in CLOSED:
        close_book(ws, day, 1)
    stood, never = _domain_states(book, loan_id, [paid]), _domain_states(book, loan_id, [])
    assert stood[CLOSED[-1]].penalty < never[CLOSED[-1]].penalty  # the views differ
    for day in CLOSED:
        _matches(_row(ws, day, loan_id), stood[day])
    with Session(ws.engine) as session:
        loans, entries = LoanRepository(session), EntryRepository(session)
        loan = loans.require(loan_id)
        booked = reverse_payment(
            loan_id,
            loan.currency,
            CATALOG.product(loan.product_code),
            loans.terms(loan_id),
            loans.schedule(loan_id),
            entries.entries(loan_id),
            CLOSED[-1],
            paid.ref,
            memo="refund",
        )
        for entry in booked:
            entries.add_entry(loan_id, entry)
        session.commit()

    report = close_book(ws, AS_OF, 1)

    assert report.loans_reclosed == 1 and report.not_reclosed == {}
    assert sorted(report.corrected) == CLOSED
    for day in CLOSED:
        _matches(_row(ws, day, loan_id), never[day])  # as corrected: never paid
        _matches(_row(ws, day, loan_id, as_known=CLOSED[-1]), stood[day])  # as reported
    # the recharge charged on the open day what the payment had avoided
    assert _row(ws, AS_OF, loan_id)["penalty"] == never[AS_OF].penalty
    assert close_book(ws, AS_OF, 1).already_closed
    assert [v.version for v in snapshot_versions(ws.snapshots_dir, CLOSED[0])] == [1, 2]


def test_the_corrected_book_is_the_book_closed_with_the_payments_on_time(
    engine: Engine, tmp_path: Path, book: Path
):
    """Every loan owing on the day before VALUE_DATE gets a back-dated payment of a third
    of what it owed (some pay charges only, some reach principal, some leave credit): the
    corrected snapshots of the closed days and the next two days' are, row for row, those
    of a second store where the payments were known on time."""
    corrected = _workspace(engine, tmp_path / "late", book)  # the store under test
    timely = _workspace(
        create_engine(f"sqlite:///{tmp_path / 'timely.db'}"), tmp_path / "timely", book
    )
    for ws in (corrected, timely):
        close_book(ws, VALUE_DATE - ONE, 1)
    rows = read_snapshot(timely.snapshots_dir, VALUE_DATE - ONE).to_pylist()
    owing = [r for r in rows if r["status"] == "active" and r["total_due"] > 0]
    assert len(owing) > 10
    payments = [
        (f"bd-{r['loan_id']}", r["loan_id"], (r["total_due"] / 3).quantize(Decimal("0.01")))
        for r in owing
    ]
    _add(timely, payments)  # known on time
    for day in CLOSED:
        for ws in (corrected, timely):
            close_book(ws, day, 1)
    _add(corrected, payments)  # known after the three days were closed
    report = close_book(corrected, AS_OF, 1)
    close_book(timely, AS_OF, 1)

    assert report.loans_reclosed == len(owing) and report.not_reclosed == {}
    # and the next close resumes the corrected loans from the state carried forward
    for ws in (corrected, timely):
        close_book(ws, AS_OF + ONE, 1)
    for day in [*CLOSED, AS_OF, AS_OF + ONE]:
        expected = read_snapshot(timely.snapshots_dir, day)
        assert read_snapshot(corrected.snapshots_dir, day).equals(expected), day


def _add(ws: Workspace, payments: list[tuple[str, str, Decimal]]) -> None:
    """Payments (ref, loan, amount) dated VALUE_DATE, waiting for the next close."""
    with Session(ws.engine) as session:
        for ref, loan_id, amount in payments:
            session.add(
                PaymentRow(
                    payment_ref=ref,
                    loan_id=loan_id,
                    paid_on=VALUE_DATE,
                    amount=amount,
                    currency="CNY",
                )
            )
        session.commit()
