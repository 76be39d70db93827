"""The scorecard on a user's table whose truth is known: time, features found, AUC.

Run: ``python benchmarks/table_scorecard.py [--rows 50000]`` (≈ 1 min at 50,000 rows).

A CSV is generated with a known event model: the log-odds are a weighted sum of six
numeric columns and one 8-level category; ten numeric and three categorical columns are
noise; a loan number column is an identifier. The file goes through what
``models train --data`` does (read, screen the columns, fit) with 80 % of the rows, and
is scored on the other 20 %. Printed: fit seconds of the scorecard (default settings,
inner choice included) against LightGBM (the reference, fitted in the same run), the
columns screened out, the features the scorecard kept against the true ones, and the
holdout AUC of each learner against that of the true log-odds (the best any model can do
on these rows). The scorecard is fitted twice: as by default (its inner CV chooses on a
stratified sample of 5,000 rows) and with ``--inner-rows all`` (on every row).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from arrears.models.data import load_csv
from arrears.models.learners import make_learner
from arrears.models.metrics import auc

DATA = Path(__file__).parent / ".data"
SIGNAL = [f"x{i}" for i in range(6)] + ["c0"]


def known_table(rows: int, seed: int = 3) -> tuple[pd.DataFrame, np.ndarray]:
    """The generated rows (with target ``bad``) and their true log-odds."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({f"x{i}": rng.normal(size=rows) for i in range(16)})
    for i in range(4):
        frame[f"c{i}"] = rng.choice([f"L{j}" for j in range(8)], rows)
    log_odds = 0.3 * frame[SIGNAL[:-1]].sum(axis=1) + 0.1 * frame["c0"].str[1:].astype(int) - 2
    frame["loan_no"] = [f"N{i:08d}" for i in range(rows)]
    frame["bad"] = (rng.random(rows) < 1 / (1 + np.exp(-log_odds))).astype(int)
    return frame, log_odds.to_numpy()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    args = parser.parse_args(argv)
    frame, log_odds = known_table(args.rows)
    DATA.mkdir(exist_ok=True)
    path = DATA / f"known-{args.rows}.csv"
    frame.to_csv(path, index=False)
    table = load_csv(path, "bad").for_training()
    x, y = table.features, table.target
    train, test = train_test_split(np.arange(len(y)), test_size=0.2, stratify=y, random_state=0)
    print(f"{path.name}: {len(y):,} rows, {int(y.sum()):,} events, {x.shape[1]} features")
    for column, reason in table.excluded.items():
        print(f"  screened out: {column}: {reason}")
    best = auc(y[test], log_odds[test])
    seconds, aucs = {}, {}
    # the default scorecard chooses on a sample of INNER_ROWS rows; --inner-rows all on all
    variants = {
        "lgbm": ("lgbm", {}),
        "scorecard": ("scorecard", {}),
        "card, all": ("scorecard", {"inner_rows": None}),
    }
    for name, (kind, settings) in variants.items():
        start = time.perf_counter()
        learner = make_learner(kind, seed=0, **settings)
        learner.fit(x.iloc[train], y[train], table.categorical)
        seconds[name] = time.perf_counter() - start
        aucs[name] = auc(y[test], learner.predict_pd(x.iloc[test]))
        if kind == "scorecard":
            kept, chosen = learner.selection.kept, learner.choice()
            noise = sorted(set(kept) - set(SIGNAL)) or "none"
            print(
                f"  {name}: true features all kept: {set(SIGNAL) <= set(kept)}, noise kept: {noise}"
            )
            print(f"  {name}: chose {chosen}")
    print(f"{'learner':<10} {'fit s':>8} {'ratio':>6} {'holdout AUC':>12} {'/ truth':>8}")
    for name in seconds:
        ratio = seconds[name] / seconds["lgbm"]
        print(
            f"{name:<10} {seconds[name]:>8.1f} {ratio:>6.2f} {aucs[name]:>12.4f} "
            f"{aucs[name] / best:>8.4f}"
        )
    print(f"{'truth':<10} {'':>8} {'':>6} {best:>12.4f} {1:>8.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
