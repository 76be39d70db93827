"""Risk models over the workspace's book: the training data from the dated snapshots and
the store, book models trained and registered under ``<ws>/models``, and a day's scores
written to ``<ws>/scores/as_of=D/part-0.parquet`` (the file the strategy engine joins)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from arrears.models.book import BookInputs
    from arrears.workspace import Workspace


def scores_path(ws_root: Path, as_of: date) -> Path:
    """Where the scores of ``as_of`` live in a workspace."""
    return ws_root / "scores" / f"as_of={as_of.isoformat()}" / "part-0.parquet"


def book_inputs(ws: Workspace, as_of: date | None = None) -> BookInputs:
    """The snapshots by date, and the loans, payments and installments of the store, for
    the book dataset builder (amounts as float: they are model inputs).

    With ``as_of`` (scoring one day), only the store rows that can change that day's
    features are read (see ``payment_window_start``): payments and installments dated in
    its payment window, and for each loan one row with the date of its latest payment
    before the window and no amount. The features are the same, and a book's whole
    payment history is not read again every day it is scored."""
    import pandas as pd
    from sqlalchemy import Select, func, null, select

    from arrears.models.book import BookInputs, payment_window_start
    from arrears.models.history import SnapshotHistory
    from arrears.snapshots import read_snapshot
    from arrears.store.models import InstallmentRow, Loan, PaymentRow

    history = SnapshotHistory(ws.snapshot_dates(), partial(read_snapshot, ws.snapshots_dir))
    caps = {
        code: float(p.charges.cost_cap) if p.charges.cost_cap is not None else None
        for code, p in ws.catalog.products.items()
    }
    loan_query = select(
        Loan.loan_id,
        Loan.product_code,
        Loan.principal,
        Loan.term_months,
        Loan.annual_rate,
        Loan.disbursed_on,
    )
    paid = select(PaymentRow.loan_id, PaymentRow.paid_on, PaymentRow.amount)
    due = select(
        InstallmentRow.loan_id,
        InstallmentRow.due_date,
        InstallmentRow.principal + InstallmentRow.interest,
    )
    # in one order whatever is read, so a loan's window sums to the same float
    paid = paid.order_by(PaymentRow.loan_id, PaymentRow.paid_on, PaymentRow.payment_ref)
    due = due.order_by(InstallmentRow.loan_id, InstallmentRow.seq)
    payment_queries: list[Select] = [paid]
    if as_of is not None:
        start = payment_window_start(as_of)
        # before the window only each loan's latest payment date counts: one row per
        # loan with that date, its amount left missing (it is never summed)
        latest = (
            select(PaymentRow.loan_id, func.max(PaymentRow.paid_on), null())
            .where(PaymentRow.paid_on <= start)
            .group_by(PaymentRow.loan_id)
        )
        in_window = paid.where(PaymentRow.paid_on > start, PaymentRow.paid_on <= as_of)
        payment_queries = [latest, in_window]
        due = due.where(InstallmentRow.due_date > start, InstallmentRow.due_date <= as_of)
    with ws.engine.connect() as conn:

        def frame(query: Select, columns: list[str]) -> pd.DataFrame:
            # plain tuples: pandas probes each SQLAlchemy row for namedtuple fields
            return pd.DataFrame([tuple(r) for r in conn.execute(query)], columns=columns)

        loans = frame(
            loan_query,
            ["loan_id", "product_code", "principal", "term_months", "annual_rate", "disbursed_on"],
        )
        parts = [frame(q, ["loan_id", "paid_on", "amount"]) for q in payment_queries]
        payments = pd.concat([p for p in parts if len(p)] or parts[:1], ignore_index=True)
        installments = frame(due, ["loan_id", "due_date", "amount"])
    loans["cost_cap"] = loans["product_code"].map(caps).astype(float)
    for table, column in ((loans, "principal"), (payments, "amount"), (installments, "amount")):
        table[column] = table[column].astype(float)
    loans["annual_rate"] = loans["annual_rate"].astype(float)
    return BookInputs(history, loans.drop(columns=["product_code"]), payments, installments)


def contact_attempts(ws: Workspace) -> Any:
    """The allowed contact attempts on loans in the store: loan_id and day."""
    import pandas as pd
    from sqlalchemy import select

    from arrears.store.contact_models import ContactAttempt

    query = select(ContactAttempt.loan_id, ContactAttempt.at).where(
        ContactAttempt.allowed, ContactAttempt.loan_id.is_not(None)
    )
    with ws.engine.connect() as conn:
        rows = conn.execute(query).all()
    return pd.DataFrame({"loan_id": [r[0] for r in rows], "day": [r[1].date() for r in rows]})


def outcome_window(target: str, window_days: int | None) -> int | None:
    """The outcome window in days of propensity to pay (``window_days``, else its
    default), None for the other targets, whose windows are part of their definition
    (asking one for a window is a ``ModelDataError``)."""
    from arrears.models.errors import ModelDataError
    from arrears.models.propensity import TARGET, WINDOW_DAYS

    if target == TARGET:
        return WINDOW_DAYS if window_days is None else window_days
    if window_days is not None:
        raise ModelDataError(
            f"{target}: the outcome window is part of the target's definition; "
            f"a window of days is set for {TARGET} only"
        )
    return None


def book_dataset(ws: Workspace, target: str, window_days: int | None = None) -> Any:
    """The modelling dataset of a book target (propensity to pay reads the contacts, and
    ``window_days`` sets its outcome window; see ``outcome_window``)."""
    from arrears.models.book import build_dataset
    from arrears.models.propensity import build_contact_dataset

    days = outcome_window(target, window_days)
    if days is not None:
        return build_contact_dataset(book_inputs(ws), contact_attempts(ws), days)
    return build_dataset(book_inputs(ws), target)


@dataclass(frozen=True)
class ScoredDay:
    """What scoring a day's snapshot did: the score file, the model, how many loans,
    and the PSI of their scores against the model's training rows (None for a model
    saved without that reference)."""

    as_of: date
    path: Path
    model: str
    version: str
    loans: int
    psi: float | None

    @property
    def shifted(self) -> bool:
        """True when the scores have shifted from the training rows (PSI 0.25 or more)."""
        from arrears.models.metrics import psi_reading

        return self.psi is not None and psi_reading(self.psi) == "shifted"


def score_snapshot(ws_root: Path, as_of: date, model_dir: Path) -> ScoredDay:
    """Score the loans of the snapshot of ``as_of`` that the book model in ``model_dir``
    is for (its target's population, ``models.book.population``: an early-warning model
    scores the current loans, a cure model the delinquent ones) into
    ``<ws>/scores/as_of=D/part-0.parquet``, replacing that model's rows and keeping other
    models' (same bytes on rerun, whatever the order models are scored in). Raises
    ``RegistryError`` for a model that does not load, ``ModelDataError`` for a model not
    trained on book features, ``KeyError`` when the day has no snapshot."""
    from arrears.models.book import features_at, population
    from arrears.models.errors import ModelDataError
    from arrears.models.registry import load_model
    from arrears.models.scoring import score_drift, score_table, write_scores
    from arrears.workspace import Workspace

    saved = load_model(model_dir)
    if saved.meta.get("feature_source") != "book":
        raise ModelDataError(f"{model_dir}: model {saved.name} was not trained on book features")
    ws = Workspace.at(ws_root)
    inputs = book_inputs(ws, as_of)
    snap = inputs.history.day(as_of)
    features = features_at(inputs, as_of, population(snap, saved.meta["target"]))
    table = score_table(saved, features, snap["customer_id"])
    path = write_scores(table, scores_path(ws.root, as_of))
    points = table.column("score").to_numpy()
    drift = score_drift(saved, points) if len(points) else None
    return ScoredDay(as_of, path, saved.name, saved.version, len(points), drift)


def book_training(
    ws: Workspace, target: str, window_days: int | None = None
) -> tuple[Any, Any, Any, list[str], dict, dict]:
    """Features, target, CV groups (loan ids), categorical columns, data description and
    metadata of a book target (``window_days``: see ``book_dataset``)."""
    from arrears.models.book import CATEGORICAL
    from arrears.models.data import fingerprint

    ds = book_dataset(ws, target, window_days)
    categorical = [c for c in CATEGORICAL if c in ds.features.columns]
    info = {
        "source": str(ws.root),
        "sha256": fingerprint(ds.features, ds.target),
        "dates": [d.isoformat() for d in ds.dates],
    }
    extra: dict[str, Any] = {"feature_source": "book"}
    days = outcome_window(target, window_days)
    if days is not None:
        extra["outcome_window_days"] = days
    return ds.features, ds.target, ds.loan_ids, categorical, info, extra


def train_book_model(
    ws_root: Path,
    target: str = "early_warning_30",
    learner: str = "scorecard",
    folds: int = 5,
    repeats: int = 1,
    seed: int = 0,
    reports: bool = True,
    window_days: int | None = None,
) -> Path:
    """Train a model of a book target (``arrears.models.book.TARGETS`` or
    ``propensity_to_pay``) on the workspace's snapshots, cross-validated by loan, and save
    it to ``<ws>/models/<target>`` (returned) with its reports. Raises
    ``ModelDataError`` when the snapshots cannot support the target."""
    from arrears.models.training import train_model
    from arrears.workspace import Workspace

    ws = Workspace.at(ws_root)
    features, y, groups, categorical, info, extra = book_training(ws, target, window_days)
    out = ws.root / "models" / target
    result = train_model(
        features,
        y,
        categorical,
        out,
        name=target,
        target=target,
        data_info=info,
        learner=learner,
        folds=folds,
        repeats=repeats,
        seed=seed,
        groups=groups,
        extra_meta=extra,
    )
    if reports:
        from arrears.models.training import write_reports

        write_reports(result, features, y, categorical, seed)
    return out


def latest_book_model(ws_root: Path) -> Path | None:
    """The most recently trained book model under ``<ws_root>/models``, if any."""
    if not (ws_root / "models").is_dir():
        return None  # nothing trained: no need for the models extra to be installed
    from arrears.models.registry import list_models

    found = [m for m in list_models(ws_root / "models") if m.get("feature_source") == "book"]
    if not found:
        return None
    newest = max(found, key=lambda m: (Path(m["folder"]) / "model.json").stat().st_mtime)
    return Path(newest["folder"])


def score_days(ws_root: Path) -> list[date]:
    """The days the workspace has a score file of, newest first."""
    days = []
    for folder in (ws_root / "scores").glob("as_of=*"):
        try:
            day = date.fromisoformat(folder.name.removeprefix("as_of="))
        except ValueError:
            continue  # not a folder the scoring wrote
        if scores_path(ws_root, day).exists():
            days.append(day)
    return sorted(days, reverse=True)


def last_scored(ws_root: Path, meta: dict[str, Any]) -> tuple[date, float | None] | None:
    """The latest day the model of ``meta`` (this name and version) was scored in the
    workspace and the PSI of those scores against the model's training rows (None
    without a reference); None when it was never scored."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from arrears.models.metrics import psi_against

    for day in score_days(ws_root):
        path = scores_path(ws_root, day)
        table = pq.read_table(path, columns=["model", "version", "score"])
        mine = pc.and_(
            pc.equal(table.column("model"), meta["name"]),
            pc.equal(table.column("version"), meta["version"]),
        )
        points = table.filter(mine).column("score").to_numpy()
        if len(points):
            reference = meta.get("score_reference")
            return day, None if reference is None else psi_against(reference, points)
    return None
