"""What the scorecard's sampled inner choice saves on a book, and what it costs.

Run: ``python benchmarks/book_scorecard.py [--loans 5000] [--target early_warning_30]``
(≈ 3 min; the demo book is built once into ``benchmarks/.data/book-N`` and reused).

On a book target's rows (loan × month end), three scorecards are fitted on the same
training loans (80 %, split by loan) and scored on the other 20 %:
- fixed: the first grid candidate, no inner CV (the reference for time);
- sampled: the default, the inner CV chooses on a stratified sample of 5,000 rows
  (``INNER_ROWS``) and the choice is fitted on all rows;
- full: the inner CV on every training row (``inner_rows=None``).
Printed: fit seconds, the ratio to the fixed fit, the settings chosen and the holdout
AUC, so the time saved can be weighed against any accuracy lost.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.model_selection import GroupShuffleSplit

from arrears.models.metrics import auc
from arrears.models.scorecard import BINNING_GRID, Scorecard
from arrears.services.book_models import book_dataset
from arrears.workspace import Workspace

DATA = Path(__file__).parent / ".data"
AS_OF = "2026-11-30"


def demo_book(loans: int) -> Workspace:
    """The demo workspace of ``loans`` loans, built on first use."""
    root = DATA / f"book-{loans}"
    if not (root / "snapshots").is_dir():
        command = ["arrears", "demo", "--loans", str(loans), "--as-of", AS_OF, "-w", str(root)]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return Workspace.at(root)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loans", type=int, default=5000)
    parser.add_argument("--target", default="early_warning_30")
    args = parser.parse_args(argv)
    data = book_dataset(demo_book(args.loans), args.target)
    x, y = data.features, data.target
    categorical = [c for c in x.columns if not np.issubdtype(x[c].dtype, np.number)]
    split = GroupShuffleSplit(n_splits=1, test_size=0.2, random_state=0)
    train, test = next(split.split(x, y, groups=data.loan_ids))
    print(
        f"{args.target}: {len(y):,} rows ({int(y.sum()):,} events), "
        f"{len(train):,} training rows, {x.shape[1]} features"
    )
    learners = {
        "fixed": Scorecard(seed=0, binning=BINNING_GRID[0], min_iv=0.0, chi_alpha=None, c=1.0),
        "sampled": Scorecard(seed=0),
        "full": Scorecard(seed=0, inner_rows=None),
    }
    seconds: dict[str, float] = {}
    print(f"{'scorecard':<9} {'fit s':>7} {'/ fixed':>8} {'holdout AUC':>12}  choice")
    for name, learner in learners.items():
        start = time.perf_counter()
        learner.fit(x.iloc[train], y[train], categorical)
        seconds[name] = time.perf_counter() - start
        score = auc(y[test], learner.predict_pd(x.iloc[test]))
        choice = {k: v for k, v in learner.choice().items() if k != "features"}
        print(
            f"{name:<9} {seconds[name]:7.1f} {seconds[name] / seconds['fixed']:8.1f} "
            f"{score:12.4f}  {choice}"
        )
    ratio = seconds["sampled"] / seconds["full"]
    print(f"sampled inner choice / full inner choice, fit time: {ratio:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
