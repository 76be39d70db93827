"""Each loan's ledger state carried from one close to the next, so that a close does
not reload and replay whole ledgers (issue 23: state carried, not replayed).

The close writes ``<workspace>/carried/ledgers.parquet`` with one row per active loan
it advanced: the day it is closed through, how many entries the store holds for it
(``seq``, the last entry's sequence number), the cost cap's measure (``charged``,
cents), the last day a posting moved its balances (``moved_on``, what ``ended_on``
needs), and its non-zero balances as parallel lists (installment, account, cents).

The file is staged with the day's snapshots and moved into place after the close's
commit (``arrears.batch.publish``). A row is trusted only while the store agrees with
it: the loan is active, closed through the same day, and its last entry is still the
``seq``-th. Anything posted since by someone else (a waiver, a reversal, a write-off)
moves the loan's last sequence number, so that loan alone is replayed from its stored
legs and carried again; a stale or missing file only costs a replay, never a wrong
balance. The balances of a carried row always equal the replay of the loan's legs
(``check_carried``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from arrears.domain.account import LoanAccount
from arrears.domain.ledger import Account, EntryKind, Key, Ledger
from arrears.domain.money import ZERO
from arrears.domain.products import Product
from arrears.domain.schedule import Installment, LoanTerms
from arrears.files import replacing

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
    ]
)

# (loan_id, closed_through, seq, charged cents, moved_on, installments, accounts, cents)
CarriedRow = tuple[str, date, int, int, date | None, list[int], list[str], list[int]]


def carried_file(root: Path) -> Path:
    return Path(root) / FOLDER / FILE


@dataclass(frozen=True, slots=True)
class Carried:
    """One loan's carried state, as read back."""

    closed_through: date
    seq: int
    charged: Decimal
    moved_on: date | None
    balances: Mapping[Key, Decimal]


def read_carried(root: Path) -> pa.Table | None:
    """The carried table of the workspace at ``root`` (sorted by loan id), or None."""
    path = carried_file(root)
    if not path.exists():
        return None
    table = pq.read_table(path)
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
    columns = [table.column(name).to_pylist() for name in SCHEMA.names]
    for lid, through, seq, charged, moved_on, insts, accs, cents in zip(*columns, strict=True):
        balances = {}
        for inst, acc, value in zip(insts, accs, cents, strict=True):
            amount = amounts.get(value)
            if amount is None:
                amount = amounts[value] = Decimal(value).scaleb(-2)
            balances[(inst, accounts[acc])] = amount
        out[lid] = Carried(through, seq, Decimal(charged).scaleb(-2), moved_on, balances)
    return out


def carried_account(
    loan_id: str,
    product: Product,
    terms: LoanTerms,
    schedule: tuple[Installment, ...],
    currency: str,
    state: Carried,
) -> LoanAccount:
    """An active loan resumed from its carried state: its ledger holds the balances and
    none of the old entries (the close appends the new ones after them)."""
    totals: dict[Account, Decimal] = {}
    for (_, account), value in state.balances.items():
        totals[account] = totals.get(account, ZERO) + value
    ledger = Ledger(
        loan_id,
        currency,
        (),
        MappingProxyType(dict(state.balances)),
        MappingProxyType(totals),
        False,
    )
    return LoanAccount(
        loan_id, product, terms, schedule, ledger, state.closed_through, state.charged
    )


def carried_row(acc: LoanAccount, seq: int, moved_before: date | None) -> CarriedRow:
    """The row carrying ``acc`` forward: ``seq`` its last entry's number, ``moved_before``
    the last balance-moving posting before the entries it holds."""
    moved = [e.posted_on for e in acc.ledger.entries if e.kind is not EntryKind.ACCRUAL]
    moved_on = max([d for d in (moved_before, *moved) if d is not None], default=None)
    keys = sorted(acc.ledger.balances.items(), key=lambda kv: (kv[0][0], kv[0][1].value))
    return (
        acc.loan_id,
        acc.closed_through,
        seq,
        _cents(acc.charged),
        moved_on,
        [inst for (inst, _), _ in keys],
        [account.value for (_, account), _ in keys],
        [_cents(value) for _, value in keys],
    )


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


def write_carried(table: pa.Table, path: Path) -> Path:
    with replacing(path) as partial:
        pq.write_table(table, partial, compression="zstd", row_group_size=1 << 20)
    return path
