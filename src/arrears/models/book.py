"""Modelling datasets from the book: targets and behavioural features per loan and date.

Targets (1 = the event):

- ``roll_forward``: active at D, bucket at D + 1 month higher than at D;
- ``cure_30``: delinquent (dpd > 0) at D, dpd 0 on some snapshot within 30 days;
- ``early_warning_30`` / ``early_warning_60`` (预警): current (dpd 0, active) at D,
  dpd > 0 on some snapshot within 30 / 60 days.

Outcomes and history are read on the history's grid (its month ends when it has any,
see ``SnapshotHistory.grid``). Features come from snapshots on or before D only, never
the outcome window: product, dpd, bucket, max dpd over the last 3 and 6 months, the dpd
trend against the grid date about a month earlier, the share of delinquent grid dates in
6 months, outstanding and overdue ratios, use of the cost cap, months on book, amount
tier, and — where payments and installments are handed in — the payment ratio of the
last 90 days and the days since the last payment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from arrears.models.errors import ModelDataError
from arrears.models.history import SnapshotHistory, add_months, horizon_end, is_month_end

TARGETS = ("roll_forward", "cure_30", "early_warning_30", "early_warning_60")
CATEGORICAL = ["product_code", "amount_tier"]
AMOUNT_TIERS = ((10_000.0, "<10k"), (50_000.0, "10k-50k"), (200_000.0, "50k-200k"))
PAYMENT_WINDOW_DAYS = 90  # the payment ratio's window, ending on the observation date


@dataclass
class BookInputs:
    """What the builder reads: snapshots, and optional store tables (one row per loan:
    loan_id, principal, term_months, annual_rate, disbursed_on, cost_cap; payments:
    loan_id, paid_on, amount; installments: loan_id, due_date, amount)."""

    history: SnapshotHistory
    loans: pd.DataFrame | None = None
    payments: pd.DataFrame | None = None
    installments: pd.DataFrame | None = None


@dataclass
class BookDataset:
    """Rows (loan, date) with features, 0/1 target and the loan id as CV group."""

    features: pd.DataFrame
    target: np.ndarray
    loan_ids: np.ndarray
    dates: list[date]
    target_name: str
    row_dates: np.ndarray | None = None  # observation date of each row

    def rows_of(self, day: date) -> np.ndarray:
        """Positions of the rows observed on ``day``."""
        if self.row_dates is None:
            raise ValueError("this dataset does not record row dates")
        return np.flatnonzero(self.row_dates == np.datetime64(day, "D"))


def outcome_date(target: str, as_of: date) -> date:
    """The last snapshot date the target of ``as_of`` looks at."""
    if target == "roll_forward":
        return add_months(as_of, 1)
    days = {"cure_30": 30, "early_warning_30": 30, "early_warning_60": 60}[target]
    return horizon_end(as_of, days)


def observation_dates(history: SnapshotHistory, target: str, step_days: int = 30) -> list[date]:
    """Grid dates whose outcome window the history covers: every such month end, or
    (on a grid of daily snapshots without month ends) one every ``step_days`` counted
    back from the latest."""
    grid = history.grid
    last = grid[-1] if grid else None
    eligible = [d for d in grid if last is not None and outcome_date(target, d) <= last]
    if target == "roll_forward":
        closed = set(history.dates)
        eligible = [d for d in eligible if outcome_date(target, d) in closed]
    if any(is_month_end(d) for d in grid):
        return eligible
    chosen: list[date] = []
    for d in reversed(eligible):
        if not chosen or (chosen[-1] - d).days >= step_days:
            chosen.append(d)
    return sorted(chosen)


def features_at(inputs: BookInputs, as_of: date, loans: pd.Index | None = None) -> pd.DataFrame:
    """Behavioural features of every loan in the snapshot of ``as_of`` (index: loan id),
    or of ``loans`` of it only, from that snapshot and earlier ones only. Each loan's
    features are its own: computing fewer loans gives the others the same values."""
    history = inputs.history
    snap = history.day(as_of)
    if loans is not None:
        snap = snap.loc[loans]
    out = pd.DataFrame(index=snap.index)
    out["product_code"] = snap["product_code"].astype(object)
    out["dpd"] = snap["dpd"].astype(float)
    out["bucket_index"] = snap["bucket_index"].astype(float)
    out["overdue_ratio"] = _ratio(snap["overdue_amount"], snap["principal_outstanding"])
    out["due_ratio"] = _ratio(snap["total_due"], snap["principal_outstanding"])
    for months in (3, 6):
        days = sorted({*history.between(add_months(as_of, -months), as_of), as_of})
        dpd = pd.concat([history.day(d)["dpd"].rename(d) for d in days], axis=1)
        dpd = dpd.reindex(snap.index)
        out[f"max_dpd_{months}m"] = dpd.max(axis=1).astype(float)
        if months == 6:
            out["delinquent_share_6m"] = (dpd > 0).sum(axis=1) / dpd.notna().sum(axis=1)
    earlier = [d for d in history.grid if d <= as_of - timedelta(days=28)]
    if earlier and earlier[-1] > add_months(as_of, -3):
        before = history.day(earlier[-1])["dpd"].reindex(snap.index).astype(float)
        out["dpd_trend_1m"] = out["dpd"] - before
    else:
        out["dpd_trend_1m"] = np.nan
    if inputs.loans is not None:
        _loan_features(out, snap, inputs.loans.set_index("loan_id"), as_of)
    if inputs.payments is not None and inputs.installments is not None:
        _payment_features(out, inputs.payments, inputs.installments, as_of)
    return out


def build_dataset(inputs: BookInputs, target: str, step_days: int = 30) -> BookDataset:
    """The dataset of ``target`` over every observation date the history allows."""
    if target not in TARGETS:
        raise ModelDataError(f"unknown book target {target!r} (choose from {', '.join(TARGETS)})")
    history = inputs.history
    if not history.dates:
        raise ModelDataError("the workspace has no snapshots: run the daily close first")
    dates = observation_dates(history, target, step_days)
    if not dates:
        raise ModelDataError(
            f"target {target!r}: the snapshots ({history.dates[0]} … {history.dates[-1]}) do "
            f"not cover an outcome window ({outcome_date(target, history.dates[0])} "
            f"would be needed after the first)"
        )
    frames, ys, ids, days = [], [], [], []
    for d in dates:
        y = _target_at(history, target, d)
        feats = features_at(inputs, d, y.index)
        frames.append(feats)
        ys.append(y.to_numpy())
        ids.append(y.index.to_numpy())
        days.append(np.full(len(y), np.datetime64(d, "D")))
    features = pd.concat(frames, ignore_index=True)
    target_values = np.concatenate(ys).astype(np.int64)
    if target_values.sum() < 2 or (len(target_values) - target_values.sum()) < 2:
        raise ModelDataError(
            f"target {target!r}: {int(target_values.sum())} events in {len(target_values)} "
            f"rows on {len(dates)} dates — too few to model"
        )
    return BookDataset(
        features, target_values, np.concatenate(ids), dates, target, np.concatenate(days)
    )


def population(snap: pd.DataFrame, target: str) -> pd.Index:
    """The loans of the snapshot ``snap`` that a model of ``target`` is for: the active
    ones; of those, the current (dpd 0) for early warning and the delinquent (dpd > 0)
    for cure. A model is trained on these rows and scores only these loans (propensity
    to pay every active loan: the strategy contacts current loans before their due date
    too)."""
    active = snap["status"] == "active"
    if target == "cure_30":
        return snap.index[active & (snap["dpd"] > 0)]
    if target.startswith("early_warning"):
        return snap.index[active & (snap["dpd"] == 0)]
    return snap.index[active]


def _target_at(history: SnapshotHistory, target: str, as_of: date) -> pd.Series:
    """0/1 outcome per loan of the target's population at ``as_of``."""
    snap = history.day(as_of)
    pop = population(snap, target)
    end = outcome_date(target, as_of)
    if target == "roll_forward":
        later = history.day(end)["bucket_index"]
        pop = pop[pop.isin(later.index)]  # and still on the book a month later
        return (later.loc[pop] > snap.loc[pop, "bucket_index"]).astype(int)
    window = history.between(as_of, end)
    dpd = pd.concat([history.day(d)["dpd"].rename(d) for d in window], axis=1)
    seen = dpd.reindex(pop)
    if target == "cure_30":
        return (seen == 0).any(axis=1).astype(int)
    return (seen > 0).any(axis=1).astype(int)


def _ratio(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    den = denominator.astype(float).where(denominator != 0)
    return numerator.astype(float) / den


def _loan_features(out: pd.DataFrame, snap: pd.DataFrame, loans: pd.DataFrame, as_of: date) -> None:
    loans = loans.reindex(snap.index)
    principal = loans["principal"].astype(float)
    disbursed = pd.to_datetime(loans["disbursed_on"])
    days_on_book = (pd.Timestamp(as_of) - disbursed).dt.days.astype(float)
    out["months_on_book"] = np.floor(days_on_book / 30.4375)
    out["term_months"] = loans["term_months"].astype(float)
    out["annual_rate"] = loans["annual_rate"].astype(float)
    out["principal"] = principal
    out["amount_tier"] = _amount_tier(principal)
    out["outstanding_ratio"] = _ratio(snap["principal_outstanding"], principal)
    if "cost_cap" in loans:
        cap = loans["cost_cap"].astype(float) * principal * days_on_book.clip(lower=1) / 365
        out["cap_utilization"] = _ratio(snap["charged_to_date"], cap)


def _amount_tier(principal: pd.Series) -> pd.Series:
    labels = pd.Series("200k+", index=principal.index, dtype=object)
    for limit, label in reversed(AMOUNT_TIERS):
        labels[principal < limit] = label
    labels[principal.isna()] = np.nan
    return labels


def payment_window_start(as_of: date) -> date:
    """The day before the payment window of ``as_of`` opens: the payment ratio reads
    payments and installments dated after it, up to ``as_of``. Of the rows dated on or
    before it, only each loan's latest payment counts (for the days since payment), so
    a reader may leave the others out and get the same features."""
    return as_of - timedelta(days=PAYMENT_WINDOW_DAYS)


def _payment_features(
    out: pd.DataFrame, payments: pd.DataFrame, installments: pd.DataFrame, as_of: date
) -> None:
    start = pd.Timestamp(payment_window_start(as_of))
    end = pd.Timestamp(as_of)
    paid_on = pd.to_datetime(payments["paid_on"])
    due_on = pd.to_datetime(installments["due_date"])
    window_paid = payments[(paid_on > start) & (paid_on <= end)]
    window_due = installments[(due_on > start) & (due_on <= end)]
    paid = window_paid.groupby("loan_id")["amount"].sum().astype(float)
    due = window_due.groupby("loan_id")["amount"].sum().astype(float)
    paid, due = paid.reindex(out.index).fillna(0.0), due.reindex(out.index)
    out["payment_ratio_90d"] = (paid / due.where(due > 0)).clip(upper=2.0)
    until = paid_on <= end
    last = paid_on[until].groupby(payments["loan_id"][until]).max()  # on datetimes: fast
    out["days_since_payment"] = (end - last.reindex(out.index)).dt.days.astype(float)
