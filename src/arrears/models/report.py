"""HTML reports: the feature report (bins, WOE, IV per feature) and the model report
(metrics, ROC, KS, calibration, points table, drift). Self-contained files: charts are
PNG images embedded inline."""

from __future__ import annotations

import base64
import html
from typing import Any

import numpy as np
import pandas as pd

from arrears.models import charts, metrics
from arrears.models.binning import WoeBinner
from arrears.models.learners import Learner, Scorecard

STYLE = """
body{font-family:sans-serif;margin:2em;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}
td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px;text-align:right}
th{background:#f0f0f0} td.l,th.l{text-align:left}
h2{margin-top:2em;border-bottom:1px solid #ddd}
"""


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _cell(value: Any) -> str:
    if isinstance(value, float | np.floating):
        return f"<td>{value:.4f}</td>"
    if isinstance(value, int | np.integer):
        return f"<td>{value:,}</td>"
    return f'<td class="l">{html.escape(str(value))}</td>'


def _table(frame: pd.DataFrame) -> str:
    head = "".join(f'<th class="l">{html.escape(str(c))}</th>' for c in frame.columns)
    rows = "".join(
        "<tr>" + "".join(_cell(v) for v in row) + "</tr>"
        for row in frame.itertuples(index=False, name=None)
    )
    return f"<table><tr>{head}</tr>{rows}</table>"


def _page(title: str, body: str) -> str:
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>"
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>\n"
    )


# the usual reading of a feature's information value (upper bounds), in a scorecard
# analyst's words; above the last, a feature that strong is more often a leak than a find
IV_READING = ((0.02, "not predictive"), (0.1, "weak"), (0.3, "medium"), (0.5, "strong"))
SUSPICIOUS = "suspicious: check it is known before the outcome"
# a feature whose bins alone rank the rows this well is reported at training
ALONE_AUC_CHECK = 0.95


def iv_reading(iv: float) -> str:
    """The band of ``iv``: not predictive, weak, medium, strong or suspicious."""
    return next((word for bound, word in IV_READING if iv < bound), SUSPICIOUS)


def auc_alone(binner: WoeBinner, features: pd.DataFrame, y: np.ndarray) -> dict[str, float]:
    """AUC of each binned feature on its own (its WOE as the score, either direction)."""
    woe = binner.transform(features)
    out = {}
    for name in woe.columns:
        value = metrics.auc(y, woe[name].to_numpy())
        out[name] = max(value, 1 - value)
    return out


def feature_report(
    title: str,
    binner: WoeBinner,
    chi_square: dict[str, float],
    importance: dict[str, float],
    selected: list[str],
    dropped: dict[str, str],
    excluded: dict[str, str] | None = None,
    alone: dict[str, float] | None = None,
) -> str:
    """One page: the columns of the data not used as features and why (``excluded``), a
    summary row per feature (IV and its reading, AUC of the feature alone, chi-square p,
    LightGBM gain share, kept or why dropped), then per feature its bin table and
    chart."""
    iv = binner.iv()
    alone = alone or {}
    order = sorted(iv, key=lambda n: -iv[n])
    summary = pd.DataFrame(
        {
            "feature": order,
            "IV": [iv[n] for n in order],
            "reading": [iv_reading(iv[n]) for n in order],
            "AUC alone": [alone.get(n, float("nan")) for n in order],
            "chi-square p": [chi_square.get(n, float("nan")) for n in order],
            "LightGBM gain share": [importance.get(n, float("nan")) for n in order],
            "bins": [_trend_words(binner, n) for n in order],
            "in model": ["yes" if n in selected else dropped.get(n, "no") for n in order],
        }
    )
    parts = []
    if excluded:
        left_out = pd.DataFrame(
            {"column": list(excluded), "why not a feature": list(excluded.values())}
        )
        parts += ["<h2>Columns not used</h2>", _table(left_out)]
    parts += ["<h2>Summary</h2>", _table(summary)]
    for name in order:
        table = binner.table(name)
        parts.append(f"<h2>{html.escape(str(name))} — IV {iv[name]:.4f}</h2>")
        parts.append(_table(table))
        parts.append(_img(charts.feature_chart(str(name), table), f"bins of {name}"))
    return _page(title, "".join(parts))


def _trend_words(binner: WoeBinner, name: str) -> str:
    """How a feature was binned: as categories, with the direction the analyst asked
    for, monotonic in the direction the data chose, or following the data."""
    if name in binner.categorical:
        return "categories"
    if name in binner.config.trends:
        return f"{binner.config.trends[name]} (asked)"
    trend = binner.config.monotonic_trend
    if trend == "auto_asc_desc":
        return "monotonic (direction from the data)"
    return "following the data" if trend is None else str(trend)


def model_report(
    title: str,
    learner: Learner,
    meta: dict[str, Any],
    y: np.ndarray,
    pd_: np.ndarray,
    evaluation: dict[str, Any],
    later: tuple[pd.DataFrame, pd.DataFrame] | None = None,
) -> str:
    """One page: the model's metadata and CV figures, the evaluation of ``pd_`` against
    ``y`` (ROC, KS, calibration, confusion matrix), the points table of a scorecard, and
    PSI between a training and a later feature sample when ``later`` is given."""
    cv = (meta.get("metrics") or {}).get("cv")
    facts = pd.DataFrame(
        [
            ("name", meta.get("name")),
            ("version", meta.get("version")),
            ("learner", meta.get("learner")),
            ("target", meta.get("target")),
            ("training rows / events", f"{meta['data']['rows']} / {meta['data']['events']}"),
            ("training data sha256", meta["data"]["sha256"]),
            ("features", ", ".join(meta.get("features", []))),
            ("columns not used", ", ".join(meta.get("excluded_columns") or {}) or "none"),
            ("read as codes (leading zeros)", ", ".join(meta.get("code_columns") or {}) or "none"),
            ("seed", meta.get("seed")),
        ],
        columns=["item", "value"],
    )
    parts = ["<h2>Model</h2>", _table(facts.astype(str))]
    if cv:
        parts.append("<h2>Cross-validation (test folds only)</h2>")
        parts.append(
            _table(
                pd.DataFrame(
                    [
                        (
                            f"{cv['repeats']} × {cv['folds']}-fold",
                            "AUC",
                            cv["auc_mean"],
                            cv["auc_ci95"][0],
                            cv["auc_ci95"][1],
                        ),
                        ("", "Gini", cv["gini_mean"], cv["gini_ci95"][0], cv["gini_ci95"][1]),
                        ("", "KS", cv["ks_mean"], cv["ks_ci95"][0], cv["ks_ci95"][1]),
                    ],
                    columns=["scheme", "measure", "mean", "95% CI low", "95% CI high"],
                )
            )
        )
    oot = (meta.get("metrics") or {}).get("out_of_time")
    if oot:
        parts.append(
            f"<h2>Out of time: {oot['rows']:,} later rows ({html.escape(oot['rows_of'])}), "
            "never trained on</h2>"
        )
        rows = [
            ("AUC", oot["auc"], *oot["auc_ci95"]),
            ("KS", oot["ks"], *oot["ks_ci95"]),
            (f"PSI of the score from training ({oot['psi_reading']})", oot["psi_score"], "", ""),
        ]
        parts.append(
            _table(pd.DataFrame(rows, columns=["measure", "value", "95% CI low", "95% CI high"]))
        )
    parts.append(f"<h2>Evaluation on {evaluation['rows']:,} rows</h2>")
    headline = pd.DataFrame(
        [
            ("AUC", evaluation["auc"], *evaluation["auc_ci95"]),
            (
                "Gini",
                evaluation["gini"],
                2 * evaluation["auc_ci95"][0] - 1,
                2 * evaluation["auc_ci95"][1] - 1,
            ),
            ("KS", evaluation["ks"], *evaluation["ks_ci95"]),
        ],
        columns=["measure", "value", "95% CI low", "95% CI high"],
    )
    parts.append(_table(headline))
    c = evaluation["confusion"]
    parts.append(f"<h3>Confusion matrix at PD cut-off {c['cutoff']:.4f}</h3>")
    parts.append(
        _table(
            pd.DataFrame(
                [("actual event", c["tp"], c["fn"]), ("actual non-event", c["fp"], c["tn"])],
                columns=["", "predicted event", "predicted non-event"],
            )
        )
    )
    parts.append(
        f"<p>precision {c['precision']:.4f} · recall {c['recall']:.4f} · "
        f"specificity {c['specificity']:.4f} · accuracy {c['accuracy']:.4f}</p>"
    )
    parts.append(_img(charts.roc_chart(y, pd_), "ROC curve"))
    parts.append(_img(charts.ks_chart(y, pd_), "KS chart"))
    parts.append("<h3>Calibration (deciles of predicted PD)</h3>")
    parts.append(_table(pd.DataFrame(evaluation["calibration"])))
    parts.append(_img(charts.calibration_chart(evaluation["calibration"]), "calibration"))
    parts.append("<h3>Score bands (gains table), riskiest first</h3>")
    parts.append(
        "<p>With the cut-off below a band's row: the share of all rows taken down to "
        "there, of the events they hold (captured) and of the non-events, and the gap "
        "between the last two (the KS at that cut-off). Scores are the band's PDs in "
        "points.</p>"
    )
    parts.append(_table(gains_frame(evaluation["gains"], learner)))
    if evaluation.get("by_date"):
        parts.append(_by_date_section(evaluation["by_date"]))
    if evaluation.get("by"):
        parts.append(_by_group_section(evaluation["by"]))
    if isinstance(learner, Scorecard):
        parts.append("<h2>Points table</h2>")
        parts.append(f"<p>Scaling: {html.escape(str(learner.scaling.as_dict()))}</p>")
        bags = learner.choice().get("bags")
        if bags:
            parts.append(
                f"<p>The mean of {bags} fits of the chosen settings on bootstrap samples of "
                "the training rows (bagging): each bin's points are the fits' mean "
                "contribution there, <em>fits</em> is how many of them use the feature, and "
                "the bins are where any fit cuts (neighbours of equal points merged). A "
                "category not seen in training scores as <em>(unseen)</em>. Train with "
                "<code>--bags 0</code> for one fit's shorter table.</p>"
            )
        parts.append(_table(learner.points_table()))
    if later is not None:
        parts.append(_drift_section(learner, *later))
    return _page(title, "".join(parts))


def gains_frame(gains: list[dict[str, Any]], learner: Learner) -> pd.DataFrame:
    """The gains table (``metrics.gains_table``) as a reader sees it: score ranges in
    points, shares in per cent."""

    def points(pd_: float) -> int:
        return int(np.rint(learner.scaling.points_from_pd(np.array([pd_]))[0]))

    def share(value: float) -> str:
        return f"{100 * value:.1f} %"

    rows = [
        (
            g["band"],
            f"{points(g['pd_max'])} – {points(g['pd_min'])}",
            g["rows"],
            g["events"],
            share(g["event_rate"]),
            "–" if g["odds"] is None else f"{g['odds']:.2f}",
            f"{g['lift']:.2f}",
            share(g["cum_rows"]),
            share(g["cum_events"]),
            share(g["cum_non_events"]),
            share(g["ks"]),
        )
        for g in gains
    ]
    columns = ["band", "score", "rows", "events", "event rate", "odds (non-events : 1)"]
    columns += ["lift", "rows taken", "events captured", "non-events taken", "KS"]
    return pd.DataFrame(rows, columns=columns)


def _groups_frame(rows: list[dict[str, Any]], key: str, trained: bool) -> pd.DataFrame:
    """A monitoring table (``metrics.monitoring_table`` rows, labelled by ``key``) as a
    reader sees it; ``trained``: with the trained-on column of a book model's dates."""

    def number(value: float | None) -> str:
        return "–" if value is None else f"{value:.4f}"

    columns = [key, *(["trained on"] if trained else []), "rows", "events", "event rate"]
    columns += ["mean PD", "AUC", "KS", "score PSI vs training", "reading"]
    body = [
        (
            r[key],
            *(["yes" if r["trained_on"] else "no"] if trained else []),
            r["rows"],
            r["events"],
            number(r["event_rate"]),
            number(r["mean_pd"]),
            number(r["auc"]),
            number(r["ks"]),
            number(r.get("psi")),
            r.get("psi_reading", "–"),
        )
        for r in rows
    ]
    return pd.DataFrame(body, columns=columns)


def _by_date_section(by_date: list[dict[str, Any]]) -> str:
    """The monitoring table and chart: each observation date's rows, events, observed
    rate against mean PD, AUC, KS and score PSI against the training rows."""
    return (
        "<h2>By observation date</h2><p>Dates not trained on are the model's months out "
        "of time; a falling AUC, an event rate drifting from the mean PD or a shifted "
        "score PSI there is the signal to review it.</p>"
        + _table(_groups_frame(by_date, "date", trained=True))
        + _img(charts.monitoring_chart(by_date), "by observation date")
    )


def _by_group_section(by: dict[str, Any]) -> str:
    """The same measures for each value of a column of the file (``evaluate --by``)."""
    column = str(by["column"])
    return (
        f"<h2>By {html.escape(column)}</h2><p>The model on each group of rows: a group "
        "whose AUC or calibration lags the rest, or whose scores sit far from the "
        "training rows', is where the model serves least.</p>"
        + _table(
            _groups_frame(by["groups"], "value", trained=False).rename(columns={"value": column})
        )
    )


def _drift_section(learner: Learner, train: pd.DataFrame, later: pd.DataFrame) -> str:
    table = drift_table(learner, train, later)
    score_train = learner.points(train[learner.features])
    score_later = learner.points(later[learner.features])
    return (
        "<h2>Stability (PSI, training vs later sample)</h2>"
        + _table(table)
        + _img(charts.distribution_chart(score_train, score_later, "score"), "score drift")
    )


def drift_table(learner: Learner, train: pd.DataFrame, later: pd.DataFrame) -> pd.DataFrame:
    """PSI of the score and of each feature the model uses, training vs later sample,
    each with its reading (``metrics.psi_reading``)."""
    rows = [("score", metrics.psi(learner.points(train), learner.points(later)))]
    for name in learner.features:
        a, b = train[name].to_numpy(), later[name].to_numpy()
        if a.dtype.kind == "f":
            a, b = a[~np.isnan(a)], b[~np.isnan(b)]
        if len(a) and len(b):
            rows.append((name, metrics.psi(a, b)))
    frame = pd.DataFrame(rows, columns=["quantity", "PSI"])
    frame["reading"] = [metrics.psi_reading(v) for v in frame["PSI"]]
    return frame
