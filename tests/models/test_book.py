"""Book datasets from the snapshots, book models through the CLI, and the score file."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from arrears.cli import app
from arrears.models import metrics
from arrears.models.book import build_dataset, features_at, outcome_date, population
from arrears.models.errors import ModelDataError
from arrears.models.history import SnapshotHistory, add_months
from arrears.models.propensity import build_contact_dataset
from arrears.models.registry import load_model
from arrears.models.scoring import SCORE_SCHEMA
from arrears.services.book_models import book_inputs, score_snapshot, scores_path
from arrears.workspace import Workspace

runner = CliRunner()
SCORE_DAY = date(2026, 11, 30)


@pytest.fixture(scope="module")
def inputs(book: Path):
    return book_inputs(Workspace.at(book))


def test_month_end_history_gives_month_end_observations(inputs):
    ds = build_dataset(inputs, "roll_forward")
    assert all(add_months(d, 1).day == add_months(add_months(d, 1), 0).day for d in ds.dates)
    assert ds.dates == [
        d for d in inputs.history.grid if outcome_date("roll_forward", d) <= inputs.history.grid[-1]
    ]
    assert ds.dates[-1] == date(2026, 10, 31)
    assert 0 < ds.target.sum() < len(ds.target)


@pytest.mark.parametrize("target", ["roll_forward", "cure_30", "early_warning_30"])
def test_targets_match_the_snapshots_row_by_row(inputs, target):
    ds = build_dataset(inputs, target)
    history = inputs.history
    # the rows of one date are that date's population in loan order, so recompute them
    day = ds.dates[-3]
    start = sum(
        len(build_dataset_rows(history, target, d)) for d in ds.dates[: ds.dates.index(day)]
    )
    expected = build_dataset_rows(history, target, day)
    got = ds.target[start : start + len(expected)]
    assert list(ds.loan_ids[start : start + len(expected)]) == list(expected)
    assert list(got) == list(expected.values())


def build_dataset_rows(history: SnapshotHistory, target: str, day: date) -> dict[str, int]:
    """The target written out the slow way from the snapshot files."""
    now = history.day(day)
    end = outcome_date(target, day)
    later = [history.day(d) for d in history.grid if day < d <= end]
    out = {}
    for loan_id, row in now.iterrows():
        if row["status"] != "active":
            continue
        seen = [f.loc[loan_id] for f in later if loan_id in f.index]
        if target == "roll_forward":
            if loan_id in history.day(end).index:
                out[loan_id] = int(
                    history.day(end).loc[loan_id, "bucket_index"] > row["bucket_index"]
                )
        elif target == "cure_30" and row["dpd"] > 0:
            out[loan_id] = int(any(s["dpd"] == 0 for s in seen))
        elif target == "early_warning_30" and row["dpd"] == 0:
            out[loan_id] = int(any(s["dpd"] > 0 for s in seen))
    return out


def test_features_use_no_snapshot_after_their_date(inputs):
    day = date(2026, 6, 30)
    full = features_at(inputs, day)
    cut = SnapshotHistory([d for d in inputs.history.dates if d <= day], inputs.history.read)
    payments = inputs.payments[inputs.payments["paid_on"] <= day]
    past_only = features_at(type(inputs)(cut, inputs.loans, payments, inputs.installments), day)
    assert full.equals(past_only)
    for column in ("max_dpd_3m", "max_dpd_6m", "payment_ratio_90d", "months_on_book"):
        assert full[column].notna().any(), column
    assert (full["max_dpd_6m"] >= full["max_dpd_3m"]).all()
    assert (full["max_dpd_3m"] >= full["dpd"]).all()


@pytest.mark.parametrize("target", ["cure_30", "early_warning_30"])
def test_the_features_of_some_loans_are_theirs_among_all(inputs, target):
    for day in (date(2025, 6, 30), SCORE_DAY):
        loans = population(inputs.history.day(day), target)
        full = features_at(inputs, day)
        assert 0 < len(loans) < len(full)
        assert features_at(inputs, day, loans).equals(full.loc[loans])


@pytest.mark.parametrize("day", [date(2025, 6, 30), date(2026, 6, 30), SCORE_DAY])
def test_one_days_store_rows_give_the_features_of_the_whole_store(book: Path, inputs, day):
    one_day = book_inputs(Workspace.at(book), day)
    # fewer rows read: only the payment window, and a date per loan before it
    assert len(one_day.payments) < len(inputs.payments)
    assert len(one_day.installments) < len(inputs.installments)
    before = one_day.payments[one_day.payments["paid_on"] <= day - timedelta(days=90)]
    assert before["loan_id"].is_unique and before["amount"].isna().all()
    full, read = features_at(inputs, day), features_at(one_day, day)
    assert full.equals(read)
    # the days since payment of loans whose last payment is before the window count
    old_payers = full["days_since_payment"] > 90
    assert old_payers.any() and full["payment_ratio_90d"].notna().any()


def test_too_short_a_history_is_a_clear_error(inputs):
    days = inputs.history.dates[-3:]  # three days, one month end
    short = type(inputs)(SnapshotHistory(days, inputs.history.read), inputs.loans)
    with pytest.raises(ModelDataError, match="do not cover an outcome window"):
        build_dataset(short, "roll_forward")


def test_propensity_needs_contacts_and_uses_them_when_there(book: Path, inputs):
    with pytest.raises(ModelDataError, match="no allowed contact attempts"):
        build_contact_dataset(inputs, None)
    _record_contacts(book, inputs)
    result = runner.invoke(
        app,
        [
            "models",
            "train",
            "--book",
            "propensity_to_pay",
            "-w",
            str(book),
            "--cv",
            "2",
            "--learner",
            "baseline",
            "--no-reports",
        ],
    )
    assert result.exit_code == 0, result.output
    meta = json.loads((book / "models" / "propensity_to_pay" / "model.json").read_text())
    assert meta["outcome_window_days"] == 7


def _contacts_on(inputs, days: list[date]):
    import pandas as pd

    rows = []
    for day in days:
        snap = inputs.history.day(max(d for d in inputs.history.dates if d <= day))
        rows += [(loan_id, day) for loan_id in snap.index[snap["dpd"] > 0][:40]]
    return pd.DataFrame(rows, columns=["loan_id", "day"])


def test_propensity_window_sets_which_contacts_count_and_what_counts_as_paid(inputs):
    last = inputs.history.dates[-1]
    days = [date(2026, 9, 30), date(2026, 10, 31), date(2026, 11, 20)]
    contacts = _contacts_on(inputs, days)
    week = build_contact_dataset(inputs, contacts, 7)
    month = build_contact_dataset(inputs, contacts, 30)
    # a 30-day window is closed (by 11-30) for the first two days only, a week's for all
    assert week.dates == days and month.dates == days[:2]
    assert last == date(2026, 11, 30)
    first_two = np.isin(week.row_dates, np.array(days[:2], dtype="datetime64[D]"))
    np.testing.assert_array_equal(week.loan_ids[first_two], month.loan_ids)
    # paid within a week implies paid within a month, and the month finds more
    assert np.all(month.target >= week.target[first_two])
    assert month.target.sum() > week.target[first_two].sum()


def test_propensity_says_how_long_a_window_the_contacts_allow(inputs):
    contacts = _contacts_on(inputs, [date(2026, 11, 28)])
    with pytest.raises(ModelDataError, match="allows a window of at most 2 days"):
        build_contact_dataset(inputs, contacts, 7)
    assert build_contact_dataset(inputs, contacts, 2).dates == [date(2026, 11, 28)]
    with pytest.raises(ModelDataError, match="at least 1 day"):
        build_contact_dataset(inputs, contacts, 0)


def test_window_days_is_refused_for_targets_whose_window_is_fixed(book: Path):
    result = runner.invoke(
        app, ["models", "train", "--book", "roll_forward", "--window-days", "3", "-w", str(book)]
    )
    assert result.exit_code == 1
    assert "roll_forward: the outcome window is part of the target's definition" in result.output


def _record_contacts(root: Path, inputs) -> None:
    """Real contact attempts in the store: calls to the loans delinquent on each of the
    last month ends."""
    from arrears.store.contact_models import ContactAttempt
    from arrears.store.unit_of_work import UnitOfWork

    ws = Workspace.at(root)
    with UnitOfWork(ws.engine) as uow:
        n = 0
        for day in inputs.history.grid[-6:-1]:
            snap = inputs.history.day(day)
            for loan_id, row in snap[snap["dpd"] > 0].iterrows():
                n += 1
                uow.session.add(
                    ContactAttempt(
                        attempt_id=f"test-{n}",
                        customer_id=row["customer_id"],
                        loan_id=loan_id,
                        channel="call",
                        party="debtor",
                        source="collector",
                        allowed=True,
                        at=datetime.combine(day, time(10), UTC),
                    )
                )
        uow.commit()


@pytest.fixture(scope="module")
def book_model(book: Path) -> Path:
    out = book / "models" / "early_warning_30"
    result = runner.invoke(
        app,
        [
            "models",
            "train",
            "--book",
            "early_warning_30",
            "-w",
            str(book),
            "--learner",
            "lgbm",
            "--cv",
            "2",
            "--no-reports",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    return out


def test_score_file_contract(book: Path, book_model: Path):
    scores_path(book, SCORE_DAY).unlink(missing_ok=True)
    scored = score_snapshot(book, SCORE_DAY, book_model)
    path = scored.path
    assert path == scores_path(book, SCORE_DAY)
    assert path == book / "scores" / "as_of=2026-11-30" / "part-0.parquet"
    table = pq.read_table(path)
    assert table.schema.equals(SCORE_SCHEMA)
    snap = pq.read_table(Workspace.at(book).snapshot_path(SCORE_DAY)).to_pandas()
    scores = table.to_pandas()
    # an early-warning model scores the current loans only: the rows it was trained on
    current = snap[(snap["status"] == "active") & (snap["dpd"] == 0)]
    assert 0 < len(current) < len(snap)
    assert list(scores["loan_id"]) == sorted(current["loan_id"])
    assert dict(zip(scores["loan_id"], scores["customer_id"], strict=True)) == dict(
        zip(current["loan_id"], current["customer_id"], strict=True)
    )
    assert set(scores["model"]) == {"early_warning_30"} and scores["version"].nunique() == 1
    assert scores["pd"].between(0, 1).all()
    # higher score = lower risk
    order = np.argsort(scores["pd"].to_numpy())
    assert (np.diff(scores["score"].to_numpy()[order]) <= 0).all()
    assert (scored.as_of, scored.model, scored.loans) == (
        SCORE_DAY,
        "early_warning_30",
        len(current),
    )
    # the day's score PSI is measured against the training rows' scores kept in the model
    reference = load_model(book_model).meta["score_reference"]
    assert scored.psi == metrics.psi_against(reference, scores["score"].to_numpy())
    assert scored.psi is not None and scored.psi >= 0


@pytest.mark.parametrize("target", ["cure_30", "early_warning_30", "roll_forward"])
def test_a_model_is_trained_on_the_loans_it_scores(book: Path, target: str):
    inputs = book_inputs(Workspace.at(book))
    ds = build_dataset(inputs, target)
    for day in ds.dates:
        snap = inputs.history.day(day)
        trained = set(ds.loan_ids[ds.rows_of(day)])
        scored = set(population(snap, target))
        if target == "roll_forward":  # less the loans gone from the book a month later
            assert trained <= scored and len(trained) >= 0.9 * len(scored)
        else:
            assert trained == scored
        active = snap.loc[list(scored)]
        assert (active["status"] == "active").all()
        if target == "cure_30":
            assert (active["dpd"] > 0).all()
        elif target == "early_warning_30":
            assert (active["dpd"] == 0).all()


def test_scores_are_the_same_bytes_on_rerun(book: Path, book_model: Path):
    path = score_snapshot(book, SCORE_DAY, book_model).path
    first = hashlib.sha256(path.read_bytes()).hexdigest()
    result = runner.invoke(
        app,
        [
            "models",
            "score",
            "--as-of",
            SCORE_DAY.isoformat(),
            "-w",
            str(book),
            "--model",
            str(book_model),
        ],
    )
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert "score PSI against the model's training rows: " in said
    again = hashlib.sha256(scores_path(book, SCORE_DAY).read_bytes()).hexdigest()
    assert first == again


def test_evaluate_a_book_model_and_refuse_a_table_model_for_scoring(book, book_model, tmp_path):
    result = runner.invoke(app, ["models", "evaluate", "--model", str(book_model), "-w", str(book)])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output[result.output.index("{") :])
    assert 0.5 < out["auc"] <= 1 and "confusion" in out and len(out["calibration"]) == 10
    assert out["psi_between"] == ["2024-12-31", "2026-10-31"]
    assert out["psi"]["score"] >= 0 and "max_dpd_6m" in out["psi"]
    missing = runner.invoke(app, ["models", "score", "--as-of", "2020-01-01", "-w", str(book)])
    assert missing.exit_code == 1 and "no snapshot" in missing.output
    # the other way round: a book model does not score a table
    table, out = tmp_path / "rows.csv", tmp_path / "scored.csv"
    table.write_text("max_dpd_6m\n3\n")
    args = ["models", "score", "--model", str(book_model), "--data", str(table), "--out", str(out)]
    refused = runner.invoke(app, args)
    assert refused.exit_code == 1 and "reads book features" in refused.output
    assert not out.exists()


def test_train_book_model_writes_model_and_reports(book: Path):
    from arrears.services.book_models import train_book_model

    folder = train_book_model(book, "roll_forward", learner="baseline", folds=2)
    assert folder == book / "models" / "roll_forward"
    saved = load_model(folder)
    assert saved.meta["feature_source"] == "book" and saved.meta["target"] == "roll_forward"
    assert saved.meta["data"]["dates"][0] == "2024-12-31"
    assert "payment_ratio_90d" in saved.meta["features"]
    for report in ("feature_report.html", "model_report.html"):
        assert "data:image/png;base64," in (folder / report).read_text()


def test_one_score_file_holds_every_model_in_any_order(book: Path, book_model: Path):
    from arrears.models.registry import save_model

    # a second book model: the same learner under another name
    saved = load_model(book_model)
    other = save_model(
        book / "models" / "other", saved.learner, {**saved.meta, "name": "other", "version": None}
    )
    path = scores_path(book, SCORE_DAY)
    digests = []
    for order in ((book_model, other), (other, book_model), (book_model, other, book_model)):
        path.unlink(missing_ok=True)
        for folder in order:
            score_snapshot(book, SCORE_DAY, folder)
        digests.append(hashlib.sha256(path.read_bytes()).hexdigest())
    assert len(set(digests)) == 1
    table = pq.read_table(path).to_pandas()
    assert sorted(set(table["model"])) == ["early_warning_30", "other"]
    assert not table.duplicated(["loan_id", "model"]).any()
    assert list(table["loan_id"]) == sorted(table["loan_id"])


def test_the_daily_close_scores_the_day_and_says_how_far_it_drifted(book, book_model, tmp_path):
    import shutil

    copy = tmp_path / "ws"
    shutil.copytree(book, copy)  # the close adds a day: leave the shared book as it is
    for folder in (copy / "models").iterdir():  # other tests may have saved more models
        if folder.name != "early_warning_30":
            shutil.rmtree(folder)
    args = ["close", "--as-of", "2026-12-01", "--no-treat", "-w", str(copy), "--lang", "en"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    version = load_model(copy / "models" / "early_warning_30").version
    day = date(2026, 12, 1)
    snap = pq.read_table(Workspace.at(copy).snapshot_path(day), columns=["status", "dpd"])
    loans = len(population(snap.to_pandas(), "early_warning_30"))
    assert f"Scored 1 day(s) through 2026-12-01 with model early_warning_30 {version}" in said
    assert f"{loans:,} loans; score PSI against the model's training rows: " in said
    scored = pq.read_table(scores_path(copy, day)).to_pandas()
    reference = load_model(copy / "models" / "early_warning_30").meta["score_reference"]
    psi = metrics.psi_against(reference, scored["score"].to_numpy())
    assert f"training rows: {psi:.3f} ({metrics.psi_reading(psi)})" in said


def test_evaluate_follows_a_book_model_month_by_month_after_its_training(book, tmp_path):
    import shutil

    early = tmp_path / "early"
    shutil.copytree(book, early, ignore=shutil.ignore_patterns("models", "scores"))
    for folder in (early / "snapshots").iterdir():  # the book as it was at the end of June
        if folder.name > "as_of=2026-06-30":
            shutil.rmtree(folder)
    model = tmp_path / "model"
    args = ["models", "train", "--book", "early_warning_30", "-w", str(early), "--learner"]
    result = runner.invoke(app, [*args, "lgbm", "--cv", "0", "--no-reports", "--out", str(model)])
    assert result.exit_code == 0, result.output
    report = tmp_path / "report.html"
    args = ["models", "evaluate", "--model", str(model), "-w", str(book), "--report", str(report)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    by_date = json.loads(result.output[result.output.index("{") :])["by_date"]
    saved = load_model(model)
    trained = saved.meta["data"]["dates"]
    assert trained[-1] < "2026-06-30" < by_date[-1]["date"]
    assert [r["date"] for r in by_date if r["trained_on"]] == trained
    later = [r for r in by_date if not r["trained_on"]]
    assert later and all(r["date"] > trained[-1] for r in later)
    # each month's figures are those of that month's rows under the saved model
    ds = build_dataset(book_inputs(Workspace.at(book)), "early_warning_30")
    last = later[-1]
    rows = ds.rows_of(date.fromisoformat(last["date"]))
    inputs = ds.features.iloc[rows][saved.learner.features]
    assert last["rows"] == len(rows) and last["events"] == int(ds.target[rows].sum())
    pd_ = saved.learner.predict_pd(inputs)
    assert last["auc"] == pytest.approx(metrics.auc(ds.target[rows], pd_))
    psi = metrics.psi_against(saved.meta["score_reference"], saved.learner.points(inputs))
    assert last["psi"] == pytest.approx(psi)
    page = report.read_text(encoding="utf-8")
    assert "<h2>By observation date</h2>" in page and 'alt="by observation date"' in page


SHIFTED_DAY = date(2025, 3, 31)  # the young book's 44 loans: far from the training rows


def _workspace_with_model(book: Path, book_model: Path, tmp_path: Path, settings: str) -> Path:
    """A copy of the book with only ``book_model`` in its registry and ``settings``."""
    import shutil

    copy = tmp_path / "ws"
    shutil.copytree(book, copy)
    for folder in (copy / "models").iterdir():
        if folder.name != book_model.name:
            shutil.rmtree(folder)
    (copy / "arrears.toml").write_text(settings, encoding="utf-8")
    return copy


def _attempts_on(root: Path, day: date) -> int:
    """Contact attempts the strategy decided for ``day`` (allowed or blocked)."""
    from sqlalchemy import func, select

    from arrears.store.contact_models import ContactAttempt

    query = select(func.count()).where(ContactAttempt.attempt_id.startswith(f"{day}:"))
    with Workspace.at(root).engine.connect() as conn:
        return conn.scalar(query.select_from(ContactAttempt))


def test_a_day_whose_scores_shifted_is_held_when_the_settings_say_so(book, book_model, tmp_path):
    from arrears.services.daily import after_close
    from arrears.strategy.loader import default_strategy_path

    root = _workspace_with_model(book, book_model, tmp_path, '[models]\nshifted_scores = "hold"\n')
    text = default_strategy_path().read_text(encoding="utf-8")
    assert 'column = "score_behaviour"' in text
    reads_model = text.replace('column = "score_behaviour"', 'column = "score_early_warning_30"')
    (root / "strategies.toml").write_text(reads_model, encoding="utf-8")
    result = after_close(Workspace.at(root), [SHIFTED_DAY])
    [scored] = result.scored
    assert scored.shifted and scored.psi >= 0.25
    assert result.held == [scored] and result.treatments is None
    assert _attempts_on(root, SHIFTED_DAY) == 0
    # `arrears treat` holds it too, and says how to go on once the model is checked
    args = ["treat", "--as-of", SHIFTED_DAY.isoformat(), "-w", str(root), "--lang", "en"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert "Treatments of 2025-03-31 held: the strategy segments on the score of " in said
    assert f"early_warning_30, whose scores have shifted (PSI {scored.psi:.3f})" in said
    assert "then run `arrears treat --as-of 2025-03-31 --accept-shifted-scores`" in said
    assert _attempts_on(root, SHIFTED_DAY) == 0
    result = runner.invoke(app, [*args, "--accept-shifted-scores"])
    assert result.exit_code == 0, result.output
    assert "held" not in result.output
    assert _attempts_on(root, SHIFTED_DAY) > 0
    # the audit chain says when the day was held and who accepted its scores
    import getpass

    from arrears.services import audit
    from arrears.store.unit_of_work import UnitOfWork
    from arrears.store.workbench_models import AuditEvent

    with UnitOfWork(Workspace.at(root).engine) as uow:
        events = uow.session.scalars(
            select(AuditEvent).where(AuditEvent.entity == "day").order_by(AuditEvent.seq)
        ).all()
        assert [(e.actor, e.action, e.entity_id) for e in events] == [
            ("close", "treatments.held", "2025-03-31"),
            ("close", "treatments.held", "2025-03-31"),
            (f"cli:{getpass.getuser()}", "treatments.shifted_scores_accepted", "2025-03-31"),
        ]
        assert json.loads(events[-1].payload) == {
            "model": "early_warning_30",
            "version": scored.version,
            "psi": f"{scored.psi:.6f}",
        }
        assert audit.verify(uow.session).ok


def test_shifted_scores_do_not_hold_a_strategy_that_does_not_read_them(book, book_model, tmp_path):
    from arrears.services.daily import after_close

    # the packaged strategy bands on score_behaviour, not on this model's score
    root = _workspace_with_model(book, book_model, tmp_path, '[models]\nshifted_scores = "hold"\n')
    result = after_close(Workspace.at(root), [SHIFTED_DAY])
    assert result.scored[0].shifted and result.held == []
    assert result.treatments is not None and _attempts_on(root, SHIFTED_DAY) > 0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[models]\nshifted_scores = "stop"\n', "models.shifted_scores must be one of warn, hold"),
        ("[models]\nshifted = 1\n", "models.shifted is not a setting"),
        ("models = 1\n", r"models must be a table \(\[models\]\)"),
    ],
)
def test_a_bad_shifted_scores_setting_is_named(tmp_path, text, message):
    from arrears.services.settings import SettingsError, load_settings

    (tmp_path / "arrears.toml").write_text(text, encoding="utf-8")
    with pytest.raises(SettingsError, match=message):
        load_settings(tmp_path)
    (tmp_path / "arrears.toml").write_text("", encoding="utf-8")
    assert load_settings(tmp_path).shifted_scores == "warn"


def test_models_list_says_when_a_book_model_was_last_scored_and_how_far_it_drifted(
    book, book_model
):
    from arrears.services.book_models import last_scored

    scored = score_snapshot(book, SCORE_DAY, book_model)  # the book's last snapshot
    saved = load_model(book_model)
    meta = {**saved.meta, "name": saved.name, "version": saved.version}
    day, psi = last_scored(book, meta)
    points = pq.read_table(scores_path(book, SCORE_DAY)).to_pandas()
    points = points[points["model"] == saved.name]["score"].to_numpy()
    assert day == SCORE_DAY and psi == metrics.psi_against(saved.meta["score_reference"], points)
    assert psi == scored.psi
    assert last_scored(book, {**meta, "version": "another"}) is None
    result = runner.invoke(app, ["models", "list", "-w", str(book)])
    assert result.exit_code == 0, result.output
    # other tests may have saved more models in this registry: find this one's row
    rows = [[cell.strip() for cell in line.split("│")] for line in result.output.splitlines()]
    [cells] = [cells for cells in rows if str(book_model) in cells]
    assert cells[1:3] == [saved.name, saved.version]
    assert f"{SCORE_DAY}" in cells and f"{psi:.3f} {metrics.psi_reading(psi)}" in cells


def test_a_cases_page_gets_the_loans_scores_from_the_latest_score_file(book, book_model):
    from arrears.services.workbench.case_view import loan_scores

    score_snapshot(book, SCORE_DAY, book_model)  # the book's last snapshot
    table = pq.read_table(scores_path(book, SCORE_DAY)).to_pandas()
    row = table[table["model"] == "early_warning_30"].iloc[7]
    [got] = [s for s in loan_scores(book, row["loan_id"]) if s["model"] == "early_warning_30"]
    assert got == {
        "as_of": SCORE_DAY,
        "model": "early_warning_30",
        "version": row["version"],
        "score": row["score"],
        "pd": row["pd"],
    }
    assert loan_scores(book, "no such loan") == [] and loan_scores(None, row["loan_id"]) == []
