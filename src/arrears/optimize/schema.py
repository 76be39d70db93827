"""The file contract of ``arrears optimize`` (issue 28): LOG.parquet, ACCOUNTS.parquet,
COSTS.toml. Reading checks each column and names the file, the column and the reason
of the first thing wrong; extra columns are ignored."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

ACTIONS = ("none", "sms", "email", "call", "letter", "visit")
CONTACTS = ACTIONS[1:]
# which availability flag an action needs
NEEDS = {
    "sms": "has_phone",
    "call": "has_phone",
    "email": "has_email",
    "letter": "has_address",
    "visit": "has_address",
}
NUMERIC = (
    "dpd",
    "balance",
    "amount_overdue",
    "months_on_book",
    "score",
    "contacts_30d",
    "promises_broken_90d",
    "paid_90d",
)
FLAGS = ("has_phone", "has_email", "has_address")
# the model's inputs: the numeric columns, the flags, and the segment (categorical)
FEATURES = (*NUMERIC, *FLAGS, "segment")
ACCOUNT_COLUMNS = ("account_id", "day", *FEATURES)  # day is written, not needed
LOG_COLUMNS = (*ACCOUNT_COLUMNS, "action", "propensity", "cost", "paid_14d")
NULLABLE = frozenset({"score"})


class OptimizeInputError(ValueError):
    """A file of the contract that cannot be used: the message names the file, the
    column (or key) and the reason."""


@dataclass(frozen=True)
class Accounts:
    """Accounts as the models and the solver take them."""

    account_id: np.ndarray  # object (str)
    numeric: dict[str, np.ndarray]  # float64, NaN for a null score
    flags: dict[str, np.ndarray]  # bool
    segment: np.ndarray  # object (str)

    def __len__(self) -> int:
        return len(self.account_id)

    def available(self) -> np.ndarray:
        """(n, len(ACTIONS)) bool: which actions each account can receive."""
        out = np.ones((len(self), len(ACTIONS)), dtype=bool)
        for j, action in enumerate(ACTIONS):
            if action in NEEDS:
                out[:, j] = self.flags[NEEDS[action]]
        return out

    def take(self, index: np.ndarray) -> Accounts:
        return Accounts(
            self.account_id[index],
            {k: v[index] for k, v in self.numeric.items()},
            {k: v[index] for k, v in self.flags.items()},
            self.segment[index],
        )


@dataclass(frozen=True)
class Log:
    """A log of logged actions and their outcomes."""

    accounts: Accounts
    action: np.ndarray  # int index into ACTIONS
    propensity: np.ndarray  # float64 in (0, 1]
    cost: np.ndarray  # float64 >= 0
    paid: np.ndarray  # float64, paid_14d

    def __len__(self) -> int:
        return len(self.action)

    def take(self, index: np.ndarray) -> Log:
        return Log(
            self.accounts.take(index),
            self.action[index],
            self.propensity[index],
            self.cost[index],
            self.paid[index],
        )


def _read(path: Path) -> pa.Table:
    try:
        return pq.read_table(path)
    except FileNotFoundError:
        raise OptimizeInputError(f"{path}: no such file") from None
    except (pa.ArrowException, OSError) as exc:
        raise OptimizeInputError(f"{path}: not a Parquet file ({exc})") from None


def _column(table: pa.Table, path: Path, name: str) -> pa.ChunkedArray:
    if name not in table.column_names:
        raise OptimizeInputError(f"{path}: column {name!r} is missing")
    col = table.column(name)
    if name not in NULLABLE and col.null_count:
        row = int(np.flatnonzero(col.is_null().to_numpy(zero_copy_only=False))[0])
        raise OptimizeInputError(f"{path}: column {name!r} is empty in row {row + 1}")
    return col


def _numeric(table: pa.Table, path: Path, name: str) -> np.ndarray:
    col = _column(table, path, name)
    kind = col.type
    if not (pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind)):
        if pa.types.is_null(kind) and name in NULLABLE:
            return np.full(len(col), np.nan)
        raise OptimizeInputError(f"{path}: column {name!r} is {kind}, not a number")
    values = col.cast(pa.float64()).to_numpy(zero_copy_only=False)
    values = np.where(col.is_null().to_numpy(zero_copy_only=False), np.nan, values)
    bad = ~np.isfinite(values) & ~np.isnan(values)
    if name not in NULLABLE:
        bad |= np.isnan(values)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise OptimizeInputError(
            f"{path}: column {name!r} has {values[row]} in row {row + 1}, not a finite number"
        )
    return values.astype(np.float64)


def _flag(table: pa.Table, path: Path, name: str) -> np.ndarray:
    col = _column(table, path, name)
    if not pa.types.is_boolean(col.type):
        raise OptimizeInputError(f"{path}: column {name!r} is {col.type}, not a bool")
    return col.to_numpy(zero_copy_only=False).astype(bool)


def _strings(table: pa.Table, path: Path, name: str) -> np.ndarray:
    col = _column(table, path, name)
    if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
        if pa.types.is_dictionary(col.type):
            col = col.cast(pa.string())
        else:
            raise OptimizeInputError(f"{path}: column {name!r} is {col.type}, not a string")
    return np.asarray(col.to_pylist(), dtype=object)


def accounts_from_table(table: pa.Table, path: Path) -> Accounts:
    """The accounts of ``table`` (read from ``path``, named in errors)."""
    account_id = _strings(table, path, "account_id")
    numeric = {name: _numeric(table, path, name) for name in NUMERIC}
    score = numeric["score"]
    outside = ~np.isnan(score) & ((score < 0) | (score > 1))
    if outside.any():
        row = int(np.flatnonzero(outside)[0])
        raise OptimizeInputError(
            f"{path}: column 'score' has {score[row]} in row {row + 1}, outside [0, 1]"
        )
    flags = {name: _flag(table, path, name) for name in FLAGS}
    segment = _strings(table, path, "segment")
    return Accounts(account_id, numeric, flags, segment)


def read_accounts(path: Path) -> Accounts:
    """ACCOUNTS.parquet: the feature columns of the log, one row per account."""
    table = _read(path)
    if table.num_rows == 0:
        raise OptimizeInputError(f"{path}: no rows")
    accounts = accounts_from_table(table, path)
    ids, counts = np.unique(accounts.account_id.astype(str), return_counts=True)
    if (counts > 1).any():
        raise OptimizeInputError(
            f"{path}: column 'account_id' repeats {str(ids[counts > 1][0])!r}: one row per account"
        )
    return accounts


def log_from_table(table: pa.Table, path: Path) -> Log:
    """The log of ``table`` (read from ``path``, named in errors)."""
    if table.num_rows == 0:
        raise OptimizeInputError(f"{path}: no rows")
    accounts = accounts_from_table(table, path)
    names = _strings(table, path, "action")
    index = {a: j for j, a in enumerate(ACTIONS)}
    unknown = [n for n in pc.unique(pa.array(names, pa.string())).to_pylist() if n not in index]
    if unknown:
        row = int(np.flatnonzero(names == unknown[0])[0])
        raise OptimizeInputError(
            f"{path}: column 'action' has unknown action {unknown[0]!r} in row {row + 1} "
            f"(known: {', '.join(ACTIONS)})"
        )
    action = np.fromiter((index[n] for n in names), dtype=np.int64, count=len(names))
    propensity = _numeric(table, path, "propensity")
    bad = (propensity <= 0) | (propensity > 1)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise OptimizeInputError(
            f"{path}: column 'propensity' has {propensity[row]} in row {row + 1}, not in (0, 1]"
        )
    cost = _numeric(table, path, "cost")
    if (cost < 0).any():
        row = int(np.flatnonzero(cost < 0)[0])
        raise OptimizeInputError(f"{path}: column 'cost' has {cost[row]} in row {row + 1}, below 0")
    paid = _numeric(table, path, "paid_14d")
    return Log(accounts, action, propensity, cost, paid)


def read_log(path: Path) -> Log:
    """LOG.parquet: one row per logged decision, with its propensity and outcome."""
    return log_from_table(_read(path), path)


@dataclass(frozen=True)
class Costs:
    """COSTS.toml: a cost per action (Decimal) and a capacity per action (None:
    unlimited)."""

    cost: dict[str, Decimal]
    capacity: dict[str, int | None]

    def cost_vector(self) -> np.ndarray:
        return np.array([float(self.cost[a]) for a in ACTIONS])


def _decimal(value: object, path: Path, key: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise OptimizeInputError(f"{path}: {key} is {value!r}, not a number")
    amount = Decimal(value)
    if not amount.is_finite():
        raise OptimizeInputError(f"{path}: {key} is {value!r}, not a finite number")
    return amount


def parse_costs(text: str, path: Path) -> Costs:
    """COSTS.toml: ``[cost]`` with a number per action (``none`` may be left out: 0;
    every other action is required), ``[capacity]`` with a maximum count per action
    (left out: unlimited)."""
    try:
        data = tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        raise OptimizeInputError(f"{path}: not TOML ({exc})") from None
    unknown_tables = sorted(set(data) - {"cost", "capacity"})
    if unknown_tables:
        raise OptimizeInputError(
            f"{path}: unknown table [{unknown_tables[0]}] (known: [cost], [capacity])"
        )
    if not isinstance(data.get("cost"), dict):
        raise OptimizeInputError(f"{path}: table [cost] is missing")
    cost: dict[str, Decimal] = {}
    for table in ("cost", "capacity"):
        section = data.get(table, {})
        if not isinstance(section, dict):
            raise OptimizeInputError(f"{path}: {table} must be a table [{table}]")
        for name in section:
            if name not in ACTIONS:
                raise OptimizeInputError(
                    f"{path}: [{table}] has unknown action {name!r} (known: {', '.join(ACTIONS)})"
                )
    for action in ACTIONS:
        if action not in data["cost"]:
            if action == "none":
                cost[action] = Decimal(0)
                continue
            raise OptimizeInputError(f"{path}: [cost] has no cost for {action!r}")
        amount = _decimal(data["cost"][action], path, f"[cost] {action}")
        if amount < 0:
            raise OptimizeInputError(f"{path}: [cost] {action} is {amount}, below 0")
        cost[action] = amount
    if cost["none"] != 0:
        raise OptimizeInputError(f"{path}: [cost] none is {cost['none']}: doing nothing costs 0")
    capacity: dict[str, int | None] = {a: None for a in ACTIONS}
    for action, value in data.get("capacity", {}).items():
        if isinstance(value, bool) or not isinstance(value, int):
            raise OptimizeInputError(
                f"{path}: [capacity] {action} is {value!r}, not a whole number"
            )
        if value < 0:
            raise OptimizeInputError(f"{path}: [capacity] {action} is {value}, below 0")
        capacity[action] = value
    return Costs(cost, capacity)


def read_costs(path: Path) -> Costs:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise OptimizeInputError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise OptimizeInputError(f"{path}: cannot be read ({exc})") from None
    return parse_costs(text, path)


def parse_budget(text: str) -> Decimal:
    """``--budget``: a non-negative amount."""
    try:
        amount = Decimal(text.strip().replace(",", "").replace("_", ""))
    except InvalidOperation:
        raise OptimizeInputError(f"--budget {text!r} is not an amount") from None
    if not amount.is_finite():
        raise OptimizeInputError(f"--budget {text!r} is not a finite amount")
    if amount < 0:
        raise OptimizeInputError(f"--budget {text} is below 0")
    return amount
