"""Each loan's ledger state carried from one close to the next, so that a close does
not reload and replay whole ledgers (issue 23: state carried, not replayed).

The close writes ``<workspace>/carried/ledgers.parquet`` with one row per loan it
advanced that is active or in recovery (charged off, its case worked): the day it is
closed through, how many entries the store holds for it (``seq``, the last entry's
sequence number), the cost cap's measure (``charged``, cents), the last day a posting
moved its balances (``moved_on``, what ``ended_on`` needs), and its non-zero balances as
parallel lists (installment, account, cents).

The file is staged with the day's snapshots and moved into place after the close's
commit (``arrears.batch.publish``). A row is trusted only while the store agrees with
it: the loan is active or in recovery, closed through the same day, and its last entry
is still the ``seq``-th. Anything posted since by someone else (a waiver, a reversal, a write-off)
moves the loan's last sequence number, so that loan alone is replayed from its stored
legs and carried again; a stale or missing file only costs a replay, never a wrong
balance. The balances of a carried row always equal the replay of the loan's legs
(the tests check it).

A loan that is **idle** costs nothing on a quiet day: it owes no fallen-due installment
(so nothing is past grace, no grace period ends and nothing accrues), and between the
day it is carried through and the close's day nothing falls due for it, no payment
waits, nobody posted to it and no extra day (a month end) is recorded. Its state on
each of those days is the carried one (``state``, the snapshot row of the day it is
carried through) with nothing paid; the close writes those rows, moves it forward and
never loads it (``idle_loans``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlalchemy import Connection, func, select

from arrears.domain.account import LoanAccount, check_resumable
from arrears.domain.ledger import Account, Entry, EntryKind, Key, Ledger
from arrears.domain.money import ZERO
from arrears.domain.pauses import Pause
from arrears.domain.products import Product
from arrears.domain.schedule import Installment, LoanTerms
from arrears.files import replacing
from arrears.snapshots import MONEY_COLUMNS
from arrears.store.models import EntryRow, InstallmentRow, Loan, PaymentRow
from arrears.store.workbench_models import RESTRUCTURING_KINDS, Arrangement

FOLDER, FILE = "carried", "ledgers.parquet"

SCHEMA = pa.schema(
    [
        ("loan_id", pa.string()),
        ("closed_through", pa.date32()),
        ("seq", pa.int64()),
        ("charged", pa.int64()),
        ("moved_on", pa.date32()),
        ("installments", pa.list_(pa.int32())),
        ("accounts", pa.list_(pa.string())),
        ("amounts", pa.list_(pa.int64())),
        # the snapshot row of closed_through (``workers.state_row`` after the loan id)
        ("state", pa.list_(pa.int64())),
        ("status", pa.string()),
        ("bucket", pa.string()),
        ("loan_class", pa.string()),
        ("overdue_days", pa.int64()),  # the cap's principal-days past due, in cents
    ]
)

# (loan_id, closed_through, seq, charged cents, moved_on, installments, accounts, cents,
#  state numbers, status, bucket, loan class, overdue days in cents)
CarriedRow = tuple[Any, ...]
_STATE_NUMBERS = (2, 4, 6)  # dpd, bucket_index, first_payment_default in a state row
PAID_TODAY = 7 + MONEY_COLUMNS.index("paid_today")  # its index in a state row
# the length of a carried ``state`` list today; one of another length was carried under
# an older snapshot layout (before ``costs``, say), so it is not reused: that loan is
# loaded from its balances and carried again
STATE_LENGTH = len(_STATE_NUMBERS) + len(MONEY_COLUMNS)


def carried_file(root: Path) -> Path:
    return Path(root) / FOLDER / FILE


@dataclass(frozen=True, slots=True)
class Carried:
    """One loan's carried state, as read back."""

    closed_through: date
    seq: int | None  # None: never trusted (a restructured loan, see ``carried_row``)
    charged: Decimal
    moved_on: date | None
    balances: Mapping[Key, Decimal]
    overdue_days: Decimal = ZERO


def read_carried(root: Path) -> pa.Table | None:
    """The carried table of the workspace at ``root`` (sorted by loan id), or None."""
    path = carried_file(root)
    if not path.exists():
        return None
    table = pq.ParquetFile(path).read()
    return table if table.schema.equals(SCHEMA) else None  # an older layout: replay


def carried_slice(table: pa.Table | None, first: str | None, last: str | None) -> pa.Table | None:
    """The rows of loan ids ``first``..``last`` (either end open when None)."""
    if table is None:
        return None
    mask = None
    ids = table.column("loan_id")
    if first is not None:
        mask = pc.greater_equal(ids, first)
    if last is not None:
        upper = pc.less_equal(ids, last)
        mask = upper if mask is None else pc.and_(mask, upper)
    return table if mask is None else table.filter(mask)


def carried_states(table: pa.Table | None) -> dict[str, Carried]:
    """Loan id -> carried state of the rows of ``table``."""
    if table is None or table.num_rows == 0:
        return {}
    amounts: dict[int, Decimal] = {}
    accounts = {a.value: a for a in Account}
    out = {}
    names = [*SCHEMA.names[:8], "overdue_days"]
    columns = [table.column(name).to_pylist() for name in names]
    for lid, through, seq, charged, moved_on, insts, accs, cents, overdue in zip(
        *columns, strict=True
    ):
        balances = {}
        for inst, acc, value in zip(insts, accs, cents, strict=True):
            amount = amounts.get(value)
            if amount is None:
                amount = amounts[value] = Decimal(value).scaleb(-2)
            balances[(inst, accounts[acc])] = amount
        out[lid] = Carried(
            through,
            seq,
            Decimal(charged).scaleb(-2),
            moved_on,
            balances,
            Decimal(overdue).scaleb(-2),
        )
    return out


def carried_account(
    loan_id: str,
    product: Product,
    terms: LoanTerms,
    schedule: tuple[Installment, ...],
    currency: str,
    state: Carried,
    pauses: tuple[Pause, ...] = (),
    written_off: tuple[Entry, ...] = (),
) -> LoanAccount:
    """An active loan resumed from its carried state: its ledger holds the balances and
    none of the old entries (the close appends the new ones after them). ``pauses`` are
    its DPD pauses as the store keeps them (``book.stored_pauses``): DPD, bucket, class
    and the charge-off rule are a function of them and the balances, so a paused loan
    resumes from its carried state like any other. A loan in recovery resumes with its
    stored write-off entries (``written_off``) as its ledger's only old entries: what it
    still owes off the book and the installment its DPD counts from are judged on them
    (``domain.account.shadow_balances``, ``dpd_anchor``)."""
    check_resumable(loan_id, product, terms, state.closed_through)
    totals: dict[Account, Decimal] = {}
    for (_, account), value in state.balances.items():
        totals[account] = totals.get(account, ZERO) + value
    ledger = Ledger(
        loan_id,
        currency,
        written_off,
        MappingProxyType(dict(state.balances)),
        MappingProxyType(totals),
        bool(written_off),
    )
    return LoanAccount(
        loan_id,
        product,
        terms,
        schedule,
        ledger,
        state.closed_through,
        state.charged,
        overdue_days=state.overdue_days,
        pauses=pauses,
    )


def carried_row(
    acc: LoanAccount, seq: int, moved_before: date | None, state: Sequence[Any] | None
) -> CarriedRow:
    """The row carrying ``acc`` forward: ``seq`` its last entry's number, ``moved_before``
    the last balance-moving posting before the entries it holds, ``state`` its snapshot
    row on the day it is closed through (a ``workers.state_row``), if recorded.

    A restructured loan's row is never trusted (its ``seq`` is null): its mark is judged
    on its ledger's history (the ``restructure`` entry, the days each installment was
    settled: ``domain.observation``), which a carried ledger does not hold, so it is
    replayed from its stored entries on every close."""
    moved = [e.posted_on for e in acc.ledger.entries if e.kind is not EntryKind.ACCRUAL]
    moved_on = max([d for d in (moved_before, *moved) if d is not None], default=None)
    keys = sorted(acc.ledger.balances.items(), key=lambda kv: (kv[0][0], kv[0][1].value))
    return (
        acc.loan_id,
        acc.closed_through,
        None if acc.restructured_on else seq,
        _cents(acc.charged),
        moved_on,
        [inst for (inst, _), _ in keys],
        [account.value for (_, account), _ in keys],
        [_cents(value) for _, value in keys],
        *_state_columns(state),
        _cents(acc.overdue_days),
    )


def _state_columns(state: Sequence[Any] | None) -> tuple[Any, ...]:
    if state is None:
        return None, None, None, None
    numbers = [int(state[i]) for i in _STATE_NUMBERS] + list(state[7:])
    return numbers, state[1], state[3], state[5]


def state_row_of(loan_id: str, row: Mapping[str, Any]) -> tuple[Any, ...]:
    """The carried snapshot row back as a ``workers.state_row``, with nothing paid."""
    dpd, index, fpd, *money = row["state"]
    money[PAID_TODAY - 7] = 0
    return (loan_id, row["status"], dpd, row["bucket"], index, row["loan_class"], bool(fpd), *money)


def _cents(amount: Decimal) -> int:
    return int(amount.scaleb(2)) if amount else 0


def carried_table(rows: Sequence[CarriedRow]) -> pa.Table:
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(SCHEMA)
    return pa.Table.from_arrays(
        [pa.array(col, f.type) for col, f in zip(columns, SCHEMA, strict=True)], schema=SCHEMA
    )


def merged(old: pa.Table | None, new: pa.Table, dropped: Iterable[str]) -> pa.Table:
    """The carried table after a close: ``new`` rows, the old rows of every other loan
    except ``dropped`` ones (loans the close ended), sorted by loan id."""
    if old is not None and old.num_rows:
        gone = pa.array([*new.column("loan_id").to_pylist(), *dropped], pa.string())
        kept = old.filter(pc.invert(pc.is_in(old.column("loan_id"), gone)))
        new = pa.concat_tables([kept, new])
    return new.sort_by("loan_id").combine_chunks()


@dataclass
class Idle:
    """The loans a close moves forward without loading them (see the module's doc)."""

    rows: dict[str, dict[str, Any]]  # loan id -> its carried row
    customers: dict[str, str]
    products: dict[str, str]
    # the sequence number of each loan's last stored entry, as read to find them (the
    # close's workers check their carried rows against it instead of reading it again);
    # None when it was not read
    last_seq: dict[str, int] | None = None

    def states(self, day: date) -> list[tuple[Any, ...]]:
        """Their snapshot rows on ``day`` (a day after each one's carried day)."""
        return [state_row_of(lid, r) for lid, r in self.rows.items() if r["closed_through"] < day]

    def carried(self, through: date) -> pa.Table:
        """Their carried rows, moved forward to ``through`` with nothing paid."""
        rows = []
        for lid, r in self.rows.items():
            state = list(r["state"])
            state[PAID_TODAY - 7 + 3] = 0
            rows.append({**r, "loan_id": lid, "closed_through": through, "state": state})
        return pa.Table.from_pylist(rows, schema=SCHEMA)


def idle_loans(
    conn: Connection, table: pa.Table | None, as_of: date, extra_days: Sequence[date]
) -> Idle:
    """The carried loans a close through ``as_of`` can move forward unloaded: active in
    the store and closed through their carried day, owing no fallen-due installment,
    with a recorded state of today's layout, and with nothing falling due, no payment
    waiting, no entry posted and no extra day from that day to ``as_of``."""
    empty = Idle({}, {}, {})
    if table is None or table.num_rows == 0:
        return empty
    owing = pc.unique(
        pc.filter(
            pc.list_parent_indices(table["installments"]),
            pc.greater(pc.list_flatten(table["installments"]), 0),
        )
    )  # rows owing a fallen-due installment: grace ends and accruals to compute
    positions = pa.array(range(table.num_rows), pa.int64())
    current = pc.equal(pc.list_value_length(table["state"]), STATE_LENGTH)
    ready = pc.and_(
        pc.and_(pc.is_valid(table["status"]), pc.equal(table["status"], "active")),
        pc.and_(
            pc.less(table["closed_through"], pa.scalar(as_of, pa.date32())),
            pc.invert(pc.is_in(positions, owing.cast(pa.int64()))),
        ),
    )
    ready = pc.and_(ready, pc.fill_null(current, False))
    rows = {}
    for r in table.filter(ready).to_pylist():
        if any(r["closed_through"] < d <= as_of for d in extra_days):
            continue
        rows[r.pop("loan_id")] = r
    if not rows:
        return empty
    first = min(r["closed_through"] for r in rows.values())
    loans, entries = Loan.__table__.c, EntryRow.__table__.c
    pays, inst = PaymentRow.__table__.c, InstallmentRow.__table__.c
    plans = Arrangement.__table__.c
    stored = {
        lid: (through, customer, product)
        for lid, through, customer, product in conn.execute(
            select(
                loans.loan_id, loans.closed_through, loans.customer_id, loans.product_code
            ).where(loans.status == "active", loans.closed_through >= first)
        ).all()
    }
    last_seq = dict(
        conn.execute(select(entries.loan_id, func.max(entries.seq)).group_by(entries.loan_id)).all()
    )
    waiting = set(
        conn.execute(
            select(pays.loan_id)
            .where(pays.posted_entry_ref.is_(None), pays.paid_on <= as_of)
            .distinct()
        ).scalars()
    )
    # an extension (展期) or plan approved since restructures the loan (its class floor)
    # and posts no entry: such a loan is loaded (``book.stored_restructurings``)
    arranged = set(
        conn.execute(
            select(plans.loan_id).where(
                plans.status == "approved",
                plans.kind.in_(RESTRUCTURING_KINDS),
                plans.applied_on >= first,
            )
        ).scalars()
    )
    falling: dict[str, list[date]] = {}
    for lid, due in conn.execute(
        select(inst.loan_id, inst.due_date).where(inst.due_date > first, inst.due_date <= as_of)
    ).all():
        falling.setdefault(lid, []).append(due)
    idle = Idle({}, {}, {}, last_seq)
    for lid, r in rows.items():
        found = stored.get(lid)
        if found is None or found[0] != r["closed_through"] or last_seq.get(lid) != r["seq"]:
            continue
        if lid in waiting or any(d > r["closed_through"] for d in falling.get(lid, ())):
            continue
        if lid in arranged:
            continue
        idle.rows[lid] = r
        idle.customers[lid], idle.products[lid] = found[1], found[2]
    return idle


def write_carried(table: pa.Table, path: Path) -> Path:
    with replacing(path) as partial:
        pq.write_table(table, partial, compression="zstd", row_group_size=1 << 20)
    return path
