"""How noisy the scorecard's inner choice is on German credit: the reason for design 4.

Run: ``python benchmarks/scorecard_inner_noise.py [--shuffles 5]`` (≈ 1 min).
On the training rows of the first outer training fold of the benchmark's seed-0 split
(its test fold is never read), every candidate of the scorecard's grid is scored by
one inner stratified 5-fold CV per shuffle. Printed: each shuffle's winner, the median
sd of a candidate's inner AUC across shuffles, how far apart the ten best candidates'
all-shuffle means lie, and the rank each shuffle's winner has by that mean.
"""

from __future__ import annotations

import argparse

import numpy as np
from sklearn.model_selection import StratifiedKFold

from arrears.models.base import one_blas_thread
from arrears.models.choice import Grid, rank_candidates
from arrears.models.data import german_credit
from arrears.models.derived import GERMAN_CREDIT_RATIOS, usable, with_ratios
from arrears.models.scorecard import BINNING_GRID, C_GRID, CHI_ALPHA_GRID, MIN_IV_GRID


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shuffles", type=int, default=5)
    args = parser.parse_args()
    data = german_credit()
    outer = StratifiedKFold(5, shuffle=True, random_state=0)
    train, _ = next(iter(outer.split(data.features, data.target)))
    x, y = data.features.iloc[train], data.target[train]
    ratios = usable(GERMAN_CREDIT_RATIOS, x)
    frame, derived = with_ratios(x, ratios), [r.name for r in ratios]
    grid = Grid(
        list(BINNING_GRID), list(MIN_IV_GRID), list(CHI_ALPHA_GRID), list(C_GRID), (False, True)
    )
    runs: list[dict[tuple, float]] = []
    with one_blas_thread():
        for shuffle in range(args.shuffles):
            ranking, _ = rank_candidates(frame, y, data.categorical, derived, grid, 0.7, shuffle)
            runs.append(dict(ranking))
            print(f"shuffle {shuffle}: winner {ranking[0][0]} inner AUC {ranking[0][1]:.4f}")
    keys = list(runs[0])
    aucs = np.array([[run[k] for k in keys] for run in runs])
    mean = aucs.mean(axis=0)
    order = list(np.argsort(-mean))
    print(f"{len(train)} training rows, {len(keys)} candidates, {args.shuffles} shuffles")
    sd = float(np.median(aucs.std(axis=0, ddof=1)))
    print(f"median sd of a candidate's inner AUC across shuffles: {sd:.4f}")
    print(f"spread of the ten best all-shuffle means: {mean[order[0]] - mean[order[9]]:.4f}")
    ranks = [order.index(keys.index(max(run, key=run.__getitem__))) + 1 for run in runs]
    print(f"rank of each shuffle's winner by the all-shuffle mean: {ranks}")


if __name__ == "__main__":
    main()
