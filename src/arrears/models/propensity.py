"""Propensity to pay after a contact: did a payment follow within a few days?

One row per allowed contact attempt on a loan: the loan's behavioural features from the
latest snapshot on or before the contact day (see ``book.features_at``), and 1 when the
loan received a payment in the ``days`` days after the contact. Only contacts whose
window the book has closed through are used.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd

from arrears.models.book import BookDataset, BookInputs, features_at
from arrears.models.errors import ModelDataError

TARGET = "propensity_to_pay"
# the outcome window's default length: a payment within a week of the contact
WINDOW_DAYS = 7


def build_contact_dataset(
    inputs: BookInputs, contacts: pd.DataFrame | None, days: int = WINDOW_DAYS
) -> BookDataset:
    """The dataset of ``propensity_to_pay`` from ``contacts`` (loan_id, day) and the
    payments of ``inputs``; a clear error when the store has no usable contacts."""
    if days < 1:
        raise ModelDataError(f"{TARGET}: the outcome window must be at least 1 day, not {days}")
    if contacts is None or contacts.empty:
        raise ModelDataError(
            f"{TARGET}: the store has no allowed contact attempts on loans yet; this target "
            "needs the contact history the strategy engine and collectors record"
        )
    history = inputs.history
    if not history.dates or inputs.payments is None:
        raise ModelDataError(f"{TARGET}: needs snapshots and the store's payments")
    last = history.dates[-1]
    contacts = contacts.dropna(subset=["loan_id"])
    usable = contacts[
        (contacts["day"] >= history.dates[0]) & (contacts["day"] + timedelta(days=days) <= last)
    ]
    if usable.empty:
        first_day = contacts["day"].min() if len(contacts) else None
        longest = (last - first_day).days if first_day is not None else 0
        hint = (
            f"; the earliest contact ({first_day}) allows a window of at most {longest} days"
            " (--window-days), or close later days first"
            if longest >= 1
            else ""
        )
        raise ModelDataError(
            f"{TARGET}: {len(contacts)} contact attempts, none with a {days}-day outcome "
            f"window inside the snapshots ({history.dates[0]} … {last}){hint}"
        )
    payments = inputs.payments.assign(paid_on=pd.to_datetime(inputs.payments["paid_on"]))
    frames, ys, ids, dates, row_days = [], [], [], [], []
    for day, group in usable.groupby("day", sort=True):
        snap_day = max(d for d in history.dates if d <= day)
        feats = features_at(inputs, snap_day)
        group = group[group["loan_id"].isin(feats.index)]
        if group.empty:
            continue
        start, end = pd.Timestamp(day), pd.Timestamp(day + timedelta(days=days))
        window = payments[(payments["paid_on"] > start) & (payments["paid_on"] <= end)]
        paid = set(window.loc[window["amount"] > 0, "loan_id"])
        frames.append(feats.loc[group["loan_id"]].reset_index(drop=True))
        ys.append(group["loan_id"].isin(paid).to_numpy().astype(np.int64))
        ids.append(group["loan_id"].to_numpy())
        dates.append(day)
        row_days.append(np.full(len(group), np.datetime64(day, "D")))
    if not frames:
        raise ModelDataError(f"{TARGET}: no contact attempt is on a loan in the snapshots")
    y = np.concatenate(ys)
    if y.sum() < 2 or len(y) - y.sum() < 2:
        raise ModelDataError(f"{TARGET}: {int(y.sum())} payments after {len(y)} contacts: too few")
    features = pd.concat(frames, ignore_index=True)
    return BookDataset(features, y, np.concatenate(ids), dates, TARGET, np.concatenate(row_days))
