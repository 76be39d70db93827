"""Static PNG charts (matplotlib, Agg backend) for the model and feature reports."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pandas as pd

from arrears.models import metrics


def _figure(width: float = 5.0, height: float = 3.6) -> tuple[Any, Any]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(width, height), dpi=100)


def _png(fig: Any) -> bytes:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    # fixed margins, not tight_layout: that measures every label and is the slow part
    fig.subplots_adjust(left=0.14, right=0.86, bottom=0.2, top=0.9)
    # no timestamps or software tags in the file, so the same chart gives the same bytes
    fig.savefig(buffer, format="png", metadata={"Software": None})
    plt.close(fig)
    return buffer.getvalue()


def roc_chart(y: np.ndarray, pd_: np.ndarray) -> bytes:
    """ROC curve with the diagonal of a random ranking, AUC in the legend."""
    curve = metrics.roc_curve(y, pd_)
    fig, ax = _figure()
    ax.plot(curve["fpr"], curve["tpr"], label=f"model (AUC {metrics.auc(y, pd_):.3f})")
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="random")
    ax.set_xlabel("False positive rate (share of goods flagged)")
    ax.set_ylabel("True positive rate (share of bads caught)")
    ax.set_title("ROC curve")
    ax.legend(loc="lower right")
    return _png(fig)


def ks_chart(y: np.ndarray, pd_: np.ndarray) -> bytes:
    """Cumulative shares of events and non-events by predicted PD, with the KS gap."""
    curve = metrics.ks_curve(y, pd_)
    gap = curve["events"] - curve["non_events"]
    at = int(np.argmax(np.abs(gap)))
    fig, ax = _figure()
    ax.plot(curve["threshold"], curve["events"], label="events (bad)")
    ax.plot(curve["threshold"], curve["non_events"], label="non-events (good)")
    threshold = curve["threshold"][at]
    ax.vlines(threshold, curve["non_events"][at], curve["events"][at], color="red")
    ax.annotate(f"KS {abs(gap[at]):.3f}", (threshold, curve["events"][at]), color="red")
    ax.invert_xaxis()
    ax.set_xlabel("Predicted PD cut-off (riskiest on the left)")
    ax.set_ylabel("Cumulative share at or above cut-off")
    ax.set_title("KS chart")
    ax.legend(loc="lower right")
    return _png(fig)


def monitoring_chart(by_date: list[dict[str, Any]]) -> bytes:
    """Per observation date the observed event rate against the mean predicted PD (how
    calibration holds), and the AUC on a second axis; dates after training shaded."""
    days = pd.to_datetime([r["date"] for r in by_date])
    fig, ax = _figure(width=9.0, height=3.8)
    ax.plot(days, [r["event_rate"] for r in by_date], marker="o", label="observed event rate")
    ax.plot(days, [r["mean_pd"] for r in by_date], marker="x", label="mean predicted PD")
    later = [d for d, r in zip(days, by_date, strict=True) if not r["trained_on"]]
    if later:
        ax.axvspan(min(later), max(later), color="#fde9c8", label="after training")
    top = max(max(r["event_rate"], r["mean_pd"]) for r in by_date)
    ax.set_ylim(0, max(top, 0.01) * 1.45)  # headroom for the legend
    ax.set_xlabel("Observation date")
    ax.set_ylabel("Rate")
    ax.set_title("By observation date")
    right = ax.twinx()
    aucs = [np.nan if r["auc"] is None else r["auc"] for r in by_date]
    right.plot(days, aucs, color="green", linestyle="--", marker=".", label="AUC")
    right.set_ylim(0.5, 1.1)
    right.set_ylabel("AUC")
    lines = ax.get_legend_handles_labels()
    more = right.get_legend_handles_labels()
    ax.legend(lines[0] + more[0], lines[1] + more[1], loc="upper left", fontsize=8, ncol=4)
    fig.autofmt_xdate()
    return _png(fig)


def calibration_chart(table: list[dict[str, Any]]) -> bytes:
    """Mean predicted PD against the observed event rate per group, with the diagonal."""
    predicted = [r["predicted"] for r in table]
    observed = [r["observed"] for r in table]
    top = max([*predicted, *observed, 0.01]) * 1.05
    fig, ax = _figure()
    ax.plot([0, top], [0, top], linestyle="--", color="grey", label="perfect calibration")
    ax.plot(predicted, observed, marker="o", label="deciles")
    ax.set_xlabel("Mean predicted PD")
    ax.set_ylabel("Observed event rate")
    ax.set_title("Calibration by decile")
    ax.legend(loc="upper left")
    return _png(fig)


def feature_chart(name: str, table: pd.DataFrame) -> bytes:
    """Bars of each bin's share of rows, with its event rate and WOE as lines."""
    fig, ax = _figure(6.0, 3.8)
    x = np.arange(len(table))
    ax.bar(x, table["count"] / table["count"].sum(), color="#9ecae1", label="share of rows")
    ax.set_xticks(x)
    ax.set_xticklabels([_short(b) for b in table["bin"]], rotation=30, ha="right", fontsize=7)
    ax.set_ylabel("Share of rows")
    right = ax.twinx()
    right.plot(x, table["event_rate"], color="#d62728", marker="o", label="event rate")
    right.set_ylabel("Event rate", color="#d62728")
    ax.set_title(f"{name}: bins, event rate")
    lines = ax.get_legend_handles_labels()[0] + right.get_legend_handles_labels()[0]
    ax.legend(lines, ["share of rows", "event rate"], loc="upper left", fontsize=7)
    return _png(fig)


def distribution_chart(expected: np.ndarray, actual: np.ndarray, label: str) -> bytes:
    """Histogram of the training and later samples of one quantity (for PSI)."""
    fig, ax = _figure()
    lo = float(min(np.nanmin(expected), np.nanmin(actual)))
    hi = float(max(np.nanmax(expected), np.nanmax(actual)))
    bins = np.linspace(lo, hi if hi > lo else lo + 1, 21)
    ax.hist(expected, bins=bins, alpha=0.5, density=True, label="training")
    ax.hist(actual, bins=bins, alpha=0.5, density=True, label="later sample")
    ax.set_xlabel(label)
    ax.set_ylabel("Density")
    ax.set_title(f"Distribution of {label}")
    ax.legend()
    return _png(fig)


def _short(text: str, width: int = 24) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
