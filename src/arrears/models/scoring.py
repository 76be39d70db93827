"""Score files: one row per loan of a snapshot, the contract the strategy engine reads.

Columns: loan_id, customer_id, model, version (strings), score (int32 points, higher =
lower risk), pd (float64). One file per day holds every model scored that day (a row
per loan and model), sorted by loan id then model and written with fixed Parquet
options, so scoring the same snapshot with the same models gives the same bytes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from arrears.files import replacing
from arrears.models import metrics
from arrears.models.registry import SavedModel

SCORE_SCHEMA = pa.schema(
    [
        ("loan_id", pa.string()),
        ("customer_id", pa.string()),
        ("model", pa.string()),
        ("version", pa.string()),
        ("score", pa.int32()),
        ("pd", pa.float64()),
    ]
)


def score_drift(saved: SavedModel, points: np.ndarray) -> float | None:
    """The PSI of ``points`` against the scores of the model's training rows, or None for
    a model saved before those were kept (``score_reference`` in its metadata)."""
    reference = saved.meta.get("score_reference")
    return None if reference is None else metrics.psi_against(reference, points)


def score_table(saved: SavedModel, features: pd.DataFrame, customers: pd.Series) -> pa.Table:
    """Scores of every row of ``features`` (index: loan id) under ``saved``;
    ``customers`` maps loan id to customer id."""
    ordered = features.sort_index()
    missing = [c for c in saved.learner.features if c not in ordered.columns]
    if missing:
        raise ValueError(f"model {saved.name} needs features the data lacks: {missing}")
    inputs = ordered[saved.learner.features]
    pd_, points = saved.learner.score(inputs)
    n = len(ordered)
    return pa.Table.from_arrays(
        [
            pa.array(ordered.index.astype(str).tolist(), pa.string()),
            pa.array(customers.reindex(ordered.index).astype(str).tolist(), pa.string()),
            pa.array([saved.name] * n, pa.string()),
            pa.array([saved.version] * n, pa.string()),
            pa.array(points, pa.int32()),
            pa.array(pd_, pa.float64()),
        ],
        schema=SCORE_SCHEMA,
    )


def merge_scores(existing: pa.Table | None, fresh: pa.Table) -> pa.Table:
    """The day's scores of every model: ``fresh`` replaces the rows of its model(s) in
    ``existing``, other models' rows stay; sorted by loan id, then model, so the result
    does not depend on the order the models were scored in."""
    tables = [fresh]
    if existing is not None:
        models = pa.array(sorted(set(fresh.column("model").to_pylist())), pa.string())
        keep = pc.invert(pc.is_in(existing.column("model"), value_set=models))
        tables.insert(0, existing.cast(SCORE_SCHEMA).filter(keep))
    merged = pa.concat_tables(tables)
    return merged.sort_by([("loan_id", "ascending"), ("model", "ascending")])


# Rows are sorted by loan id, so each row group's min/max statistics cover a narrow
# range of loans: the case page's lookup of one loan decodes one group of 65,536 rows
# instead of up to a million (benchmarks/case_scores.py: p50 10 ms where it was 70 ms,
# 10 million loans); smaller groups cost more in the footer than they save.
ROW_GROUP_ROWS = 65_536


def write_scores(table: pa.Table, path: Path) -> Path:
    """Merge ``table`` into the score file at ``path`` (see ``merge_scores``) and write
    it atomically (temporary file, then rename) with fixed options."""
    existing = pq.read_table(path) if path.exists() else None
    table = merge_scores(existing, table)
    with replacing(path) as partial:
        pq.write_table(
            table,
            partial,
            compression="zstd",
            write_statistics=True,
            row_group_size=ROW_GROUP_ROWS,
            # ids are unique: a dictionary per group of them only adds bytes
            use_dictionary=["model", "version"],
        )
    return path


def table_inputs(saved: SavedModel, data: Path) -> pd.DataFrame:
    """The columns of the CSV file ``data`` that a model trained on a table (``models
    train --data``) reads, checked (``ModelDataError`` naming file, column and row)."""
    from arrears.models.data import model_inputs, read_csv
    from arrears.models.errors import ModelDataError

    if saved.meta.get("feature_source") == "book":
        raise ModelDataError(
            f"{saved.folder}: model {saved.name} reads book features; score a snapshot "
            "with --as-of instead"
        )
    learner = saved.learner
    frame = read_csv(data, learner.categorical)
    return model_inputs(frame, learner.features, learner.categorical, str(data))


def score_csv(saved: SavedModel, data: Path, out: Path) -> tuple[pd.DataFrame, np.ndarray]:
    """Score every row of the CSV file ``data`` with a model trained on a table and
    write ``out``: the file's rows and columns as written, then ``score`` (points) and
    ``pd``. Written whole or not at all (temporary file, then rename); returns the
    model's inputs as read and the points. Raises ``ModelDataError`` naming the file,
    column and row of bad input."""
    from arrears.models.errors import ModelDataError

    learner, source = saved.learner, str(data)
    inputs = table_inputs(saved, data)
    # the file as written, every cell kept as its text
    rows = pd.read_csv(data, dtype=str, keep_default_na=False)
    taken = [c for c in ("score", "pd") if c in rows.columns]
    if taken:
        raise ModelDataError(f"{source}: already has column(s) {taken}; rename them to score it")
    pd_, points = learner.score(inputs)
    rows["score"] = points
    rows["pd"] = [f"{p:.6f}" for p in pd_]
    with replacing(out) as partial:
        rows.to_csv(partial, index=False)
    return inputs, points
