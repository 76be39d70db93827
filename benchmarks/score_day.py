"""Scoring one day of a book inside the daily close: what it reads and how long it takes.

Run: ``python benchmarks/score_day.py [--loans 50000]`` (the demo book is built once
into ``benchmarks/.data/book-N``, shared with ``book_scorecard.py``, and an
early-warning LightGBM model is trained into it on first use; ≈ 1 min afterwards for
50,000 loans).

The reference measured in the same run is reading the whole store (every payment and
installment the book ever had), which is what training reads and what scoring a day
read before it kept to the rows that can change that day's features (the payment
window, and each loan's latest payment date before it). Printed: rows and seconds of
both reads, the ratio, a check that both give the same features to the bit, and the
seconds and loans per second of ``score_snapshot`` (read, features, score, write).
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date

from book_scorecard import AS_OF, demo_book

from arrears.models.book import features_at
from arrears.services.book_models import book_inputs, score_snapshot, train_book_model

TARGET = "early_warning_30"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loans", type=int, default=50_000)
    args = parser.parse_args(argv)
    ws = demo_book(args.loans)
    model = ws.root / "models" / TARGET
    if not (model / "model.json").exists():
        train_book_model(ws.root, TARGET, learner="lgbm", folds=0, reports=False)
    day = date.fromisoformat(AS_OF)

    start = time.perf_counter()
    whole = book_inputs(ws)
    whole_s = time.perf_counter() - start
    start = time.perf_counter()
    one_day = book_inputs(ws, day)
    day_s = time.perf_counter() - start
    same = features_at(whole, day).equals(features_at(one_day, day))
    for name, inputs, seconds in (("whole store", whole, whole_s), ("one day", one_day, day_s)):
        assert inputs.payments is not None and inputs.installments is not None
        print(
            f"{name:<12} {len(inputs.payments):>10,} payments {len(inputs.installments):>10,} "
            f"installments {seconds:7.2f} s"
        )
    print(f"same features from both: {same}")
    print(f"store read, whole store / one day: {whole_s / day_s:.1f}")

    start = time.perf_counter()
    scored = score_snapshot(ws.root, day, model)
    seconds = time.perf_counter() - start
    print(
        f"score_snapshot {day}: {scored.loans:,} loans in {seconds:.2f} s "
        f"({scored.loans / seconds:,.0f} loans/s), score PSI {scored.psi:.3f}"
    )
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
