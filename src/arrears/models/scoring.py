"""Score files: one row per loan of a snapshot, the contract the strategy engine reads.

Columns: loan_id, customer_id, model, version (strings), score (int32 points, higher =
lower risk), pd (float64). Rows sorted by loan id and written with fixed Parquet options,
so scoring the same snapshot with the same model twice gives the same bytes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

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


def score_table(saved: SavedModel, features: pd.DataFrame, customers: pd.Series) -> pa.Table:
    """Scores of every row of ``features`` (index: loan id) under ``saved``;
    ``customers`` maps loan id to customer id."""
    ordered = features.sort_index()
    missing = [c for c in saved.learner.features if c not in ordered.columns]
    if missing:
        raise ValueError(f"model {saved.name} needs features the data lacks: {missing}")
    inputs = ordered[saved.learner.features]
    pd_ = np.asarray(saved.learner.predict_pd(inputs), dtype=np.float64)
    points = np.asarray(saved.learner.points(inputs), dtype=np.int32)
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


def write_scores(table: pa.Table, path: Path) -> Path:
    """Write a score table atomically (temporary file, then rename) with fixed options."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".parquet.partial")
    pq.write_table(table, partial, compression="zstd", write_statistics=True)
    partial.replace(path)
    return path
