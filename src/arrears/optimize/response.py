"""The debtors' response model of ``arrears simulate``, fitted from a workspace's own
history.

* **Paying while delinquent**: a loan in arrears on day ``d`` pays something on ``d+1``
  with probability ``sigmoid(β · x)``, ``x`` = the DPD band, the contacts it got on
  ``d+1`` (one indicator per channel) and ``log1p(amount overdue)``. Fitted by logistic
  regression (scikit-learn) on every (loan, day) pair of consecutive daily snapshots;
  its quality is measured on the last 30% of days, held out (AUC, log loss against
  the base rate, predicted against observed payment rate).
* **How much**: a payer pays in full with the historical share ``full_share``; else a
  share of the amount overdue drawn from the history's partial payments.
* **Paying on time**: a current loan with an instalment due pays it on the day with the
  historical rate ``on_time`` (loans current the day before a due date that are still
  current after it).
* **Answer, promise, dispute**: per allowed contact, the history's rates of a right-party
  answer (calls), of a promise to pay per answered call, and of a dispute hold placed
  per contact (a dispute blocks later contacts through the gate).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np

from arrears.optimize.workspace_log import as_date, money_reader
from arrears.snapshots import read_snapshot
from arrears.workspace import Workspace

CHANNELS = ("sms", "email", "call", "letter", "visit")
DPD_BANDS = ((1, 7), (8, 30), (31, 60), (61, 90), (91, None))
FEATURES = (
    *(f"dpd_{lo}_{hi or 'plus'}" for lo, hi in DPD_BANDS[1:]),
    *(f"contact_{c}" for c in CHANNELS),
    "log_overdue",
)
HOLDOUT_SHARE = 0.3


def design(dpd: np.ndarray, overdue: np.ndarray, contacted: dict[str, np.ndarray]) -> np.ndarray:
    """The model's inputs (columns ``FEATURES``); the first DPD band is the baseline."""
    cols = [((dpd >= lo) & ((dpd <= hi) if hi else True)).astype(float) for lo, hi in DPD_BANDS[1:]]
    cols += [contacted.get(c, np.zeros(len(dpd), bool)).astype(float) for c in CHANNELS]
    cols.append(np.log1p(np.maximum(overdue, 0.0)))
    return np.column_stack(cols) if len(dpd) else np.zeros((0, len(FEATURES)))


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


@dataclass
class ResponseModel:
    intercept: float
    coef: np.ndarray  # by FEATURES
    full_share: float
    partial_shares: np.ndarray
    on_time: float
    answer_rate: float
    promise_rate: float
    dispute_rate: float
    quality: dict[str, Any] = field(default_factory=dict)

    def pay_probability(self, x: np.ndarray) -> np.ndarray:
        return sigmoid(self.intercept + x @ self.coef)

    def shares(self, u_full: np.ndarray, u_partial: np.ndarray) -> np.ndarray:
        """The share of the amount overdue payers pay, from two uniforms each: in full
        when the first is under ``full_share``, else the history's partial share the
        second picks."""
        partial = (
            np.sort(self.partial_shares)[(u_partial * len(self.partial_shares)).astype(int)]
            if len(self.partial_shares)
            else np.full(len(u_partial), 0.5)
        )
        return np.where(u_full < self.full_share, 1.0, partial)

    def describe(self) -> dict[str, Any]:
        return {
            "pay_while_delinquent": {
                "intercept": round(self.intercept, 4),
                **{f: round(float(c), 4) for f, c in zip(FEATURES, self.coef, strict=True)},
            },
            "full_share": round(self.full_share, 4),
            "partial_share_mean": round(float(self.partial_shares.mean()), 4)
            if len(self.partial_shares)
            else None,
            "on_time": round(self.on_time, 4),
            "answer_rate": round(self.answer_rate, 4),
            "promise_rate": round(self.promise_rate, 4),
            "dispute_rate": round(self.dispute_rate, 6),
            "quality": self.quality,
        }


def fit_pay(x: np.ndarray, y: np.ndarray, day: np.ndarray) -> tuple[float, np.ndarray, dict]:
    """Logistic regression of ``y`` on ``x``, with its quality on the last days held
    out (then refitted on all rows)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import log_loss, roc_auc_score

    if len(y) == 0 or y.min() == y.max():
        raise ValueError(
            f"the history has {len(y)} delinquent loan-days and "
            f"{int(y.sum()) if len(y) else 0} payments among them: nothing to fit"
        )

    def model() -> Any:
        return LogisticRegression(C=1e4, max_iter=2000)

    days = np.unique(day)
    cut = days[int(len(days) * (1 - HOLDOUT_SHARE))] if len(days) > 3 else days[-1] + 1
    train, test = day < cut, day >= cut
    quality: dict[str, Any] = {"rows": len(y), "payers": int(y.sum()), "days": len(days)}
    if test.any() and train.any() and 0 < y[train].mean() < 1 and 0 < y[test].mean() < 1:
        m = model().fit(x[train], y[train])
        p = m.predict_proba(x[test])[:, 1]
        base = np.full(test.sum(), y[train].mean())
        order = np.argsort(p)
        deciles = np.array_split(order, 10)
        quality["held_out"] = {
            "rows": int(test.sum()),
            "auc": round(float(roc_auc_score(y[test], p)), 4),
            "log_loss": round(float(log_loss(y[test], p)), 5),
            "log_loss_base_rate": round(float(log_loss(y[test], base)), 5),
            "predicted_rate": round(float(p.mean()), 5),
            "observed_rate": round(float(y[test].mean()), 5),
            "by_decile": [
                [round(float(p[i].mean()), 4), round(float(y[test][i].mean()), 4)]
                for i in deciles
                if len(i)
            ],
        }
    m = model().fit(x, y)
    return float(m.intercept_[0]), m.coef_[0].astype(float), quality


def _rows(ws: Workspace, sql: str, **params: Any) -> list[Any]:
    from sqlalchemy import text

    with ws.engine.connect() as conn:
        return list(conn.execute(text(sql), params).all())


def fit_from_workspace(ws: Workspace) -> ResponseModel:
    """The response model of ``ws``'s history (its consecutive daily snapshots, payments,
    allowed contacts, promises and dispute holds)."""
    dates = ws.snapshot_dates()
    pairs = [d for d in dates if d + timedelta(days=1) in set(dates)]
    if not pairs:
        raise ValueError(f"{ws.root}: no two consecutive daily snapshots to fit from")
    first, last = pairs[0], pairs[-1] + timedelta(days=1)
    paid: dict[tuple[str, date], float] = {}
    money = money_reader(ws)
    for loan_id, on, amount in _rows(
        ws,
        "select loan_id, paid_on, amount from payments where paid_on > :a and paid_on <= :b",
        a=first,
        b=last,
    ):
        key = (loan_id, as_date(on))
        paid[key] = paid.get(key, 0.0) + money(amount)
    contacted: dict[tuple[str, date], set[str]] = {}
    for loan_id, channel, at in _rows(
        ws,
        "select loan_id, channel, at from contact_attempts where allowed "
        "and loan_id is not null and at > :a",
        a=first,
    ):
        contacted.setdefault((loan_id, as_date(at)), set()).add(channel)
    due_days: set[tuple[str, date]] = {
        (lid, as_date(d))
        for lid, d in _rows(
            ws,
            "select loan_id, due_date from installments where due_date > :a and due_date <= :b",
            a=first,
            b=last,
        )
    }
    xs, ys, ds, shares = [], [], [], []
    on_time = [0, 0]
    previous = None
    for i, d in enumerate(pairs):
        nxt = d + timedelta(days=1)
        today = previous if previous is not None else _snap(ws, d)
        tomorrow = _snap(ws, nxt)
        previous = tomorrow if i + 1 < len(pairs) and pairs[i + 1] == nxt else None
        late = today["dpd"] > 0
        ids = today["loan_id"][late]
        y = np.array([(lid, nxt) in paid for lid in ids])
        chan = {c: np.array([c in contacted.get((lid, nxt), ()) for lid in ids]) for c in CHANNELS}
        xs.append(design(today["dpd"][late], today["overdue"][late], chan))
        ys.append(y)
        ds.append(np.full(len(ids), i))
        for lid, owed in zip(ids[y], today["overdue"][late][y], strict=True):
            if owed > 0:
                shares.append(min(paid[(lid, nxt)] / owed, 1.0))
        after = dict(zip(tomorrow["loan_id"], tomorrow["dpd"], strict=True))
        for lid, dpd in zip(today["loan_id"], today["dpd"], strict=True):
            if dpd == 0 and (lid, nxt) in due_days and lid in after:
                on_time[0] += 1
                on_time[1] += int(after[lid] == 0)
    x, y, day = np.vstack(xs), np.concatenate(ys), np.concatenate(ds)
    intercept, coef, quality = fit_pay(x, y, day)
    share = np.array(shares)
    calls = _rows(
        ws,
        "select outcome, count(*) from contact_attempts where allowed and channel = 'call' "
        "and outcome is not null group by outcome",
    )
    dialled = sum(n for _, n in calls)
    answered = sum(n for o, n in calls if o == "connected_conversation")
    promises = _rows(ws, "select count(*) from promises")[0][0]
    contacts = _rows(ws, "select count(*) from contact_attempts where allowed")[0][0]
    disputes = _rows(ws, "select count(*) from holds where kind = 'dispute'")[0][0]
    quality["on_time_due_days"] = on_time[0]
    return ResponseModel(
        intercept=intercept,
        coef=coef,
        full_share=float((share >= 0.999).mean()) if len(share) else 0.5,
        partial_shares=share[share < 0.999],
        on_time=on_time[1] / on_time[0] if on_time[0] else 0.9,
        answer_rate=answered / dialled if dialled else 0.0,
        promise_rate=promises / answered if answered else 0.0,
        dispute_rate=disputes / contacts if contacts else 0.0,
        quality=quality,
    )


def _snap(ws: Workspace, d: date) -> dict[str, np.ndarray]:
    t = read_snapshot(ws.snapshots_dir, d, ["loan_id", "status", "dpd", "overdue_amount"])
    t = t.filter(t.column("status").to_numpy(zero_copy_only=False) == "active")
    return {
        "loan_id": np.asarray(t.column("loan_id").to_pylist(), dtype=object),
        "dpd": t.column("dpd").to_numpy(),
        "overdue": np.asarray(t.column("overdue_amount").cast("float64").to_numpy()),
    }
