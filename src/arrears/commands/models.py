"""Model commands: train, evaluate, score, list, report.

Thin: parse, read the data (a CSV file, or the workspace's snapshots and store tables),
call ``arrears.models`` and ``arrears.services.book_models``, print.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from arrears.commands.common import (
    AsOfOpt,
    LangOpt,
    WorkspaceOpt,
    console,
    err,
    open_workspace,
    parse_date,
    print_whole,
    score_psi_text,
    translator,
)
from arrears.files import write_atomically
from arrears.services.book_models import (
    book_dataset,
    book_training,
    latest_book_model,
    score_snapshot,
)

if TYPE_CHECKING:
    from arrears.i18n import Translator
    from arrears.workspace import Workspace

DataOpt = Annotated[Path | None, typer.Option("--data", help="CSV file with a binary target.")]
TargetOpt = Annotated[str | None, typer.Option("--target", help="Target column of --data.")]
EventOpt = Annotated[
    str | None, typer.Option("--event", help="Target value that is the event (default: guessed).")
]
BookOpt = Annotated[
    str | None,
    typer.Option(
        "--book",
        help="Book target from the workspace snapshots: roll_forward, cure_30, "
        "early_warning_30, early_warning_60, propensity_to_pay.",
    ),
]


def _fail(message: str) -> typer.Exit:
    # soft wrap: a long path or message stays on one line for copying and grepping
    err.print(message, style="red", markup=False, soft_wrap=True)
    return typer.Exit(1)


def _print_json(value: Any) -> None:
    console.print_json(json.dumps(value, default=str))


def _load_table(
    data: Path | None, target: str | None, event: str | None, learner: Any = None
) -> Any:
    """The table of --data; with a fitted ``learner``, its features checked and typed as
    the learner reads them (its text columns kept as written)."""
    from dataclasses import replace

    from arrears.models.data import from_frame, model_inputs, read_csv

    if data is None or target is None:
        raise _fail("give --data FILE.csv and --target COLUMN (or --book TARGET -w WORKSPACE)")
    text = learner.categorical if learner is not None else ()
    frame = read_csv(data, text, find_codes=learner is None)
    table = from_frame(frame, target, str(data), event)
    if learner is None:
        return table
    inputs = model_inputs(table.features, learner.features, learner.categorical, str(data))
    return replace(table, features=inputs)


def _table_training(
    data: Path | None,
    target: str | None,
    event: str | None,
    drop: list[str] | None,
    time: str | None,
    holdout_from: str | None,
) -> tuple[Any, tuple[Any, Any, str] | None]:
    """The rows of --data to train on, screened (each column left out printed), and the
    out-of-time holdout of --time/--holdout-from if asked for."""
    if (time is None) != (holdout_from is None):
        raise _fail("--time COLUMN and --holdout-from DATE go together")
    start = parse_date(holdout_from, "--holdout-from") if holdout_from is not None else None
    table = _load_table(data, target, event)
    holdout = None
    if time is not None and start is not None:
        table, later = table.split_by_time(time, start)
        holdout = (later.features, later.target, f"{time} from {start}")
    table = table.for_training(drop or ())
    for column, example in table.codes.items():
        err.print(
            f"read as codes (text): {column}: whole numbers written with leading zeros "
            f"(like {example!r}), so categories, not quantities",
            markup=False,
            soft_wrap=True,
        )
    for column, reason in table.excluded.items():
        err.print(f"not a feature: {column}: {reason}", markup=False, soft_wrap=True)
    return table, holdout


def _inner_rows(value: str, learner: str) -> int | None:
    """--inner-rows as the scorecard's ``inner_rows``: 'all' is None (every row)."""
    if learner != "scorecard":
        raise _fail(f"--inner-rows is a setting of the scorecard, not of {learner!r}")
    if value.strip().lower() == "all":
        return None
    if not value.strip().isdigit() or int(value) < 100:
        raise _fail(
            f"--inner-rows must be 'all' or a number of rows of at least 100, not {value!r}"
        )
    return int(value)


# more bagged fits than this buy nothing measurable and cost minutes per fit
MAX_BAGS = 500


def _bags(value: int, learner: str) -> int:
    """--bags as the scorecard's ``bags``: how many bagged fits (0: one fit)."""
    if learner != "scorecard":
        raise _fail(f"--bags is a setting of the scorecard, not of {learner!r}")
    if not 0 <= value <= MAX_BAGS:
        raise _fail(f"--bags must be a number of fits from 0 to {MAX_BAGS}, not {value}")
    return value


def _monotonic(values: list[str], learner: str) -> dict[str, str]:
    """--monotonic COLUMN=DIRECTION pairs as the learners' ``monotonic`` setting."""
    from arrears.models.binning import TRENDS

    if learner not in ("scorecard", "lgbm"):
        raise _fail(f"--monotonic is a setting of the scorecard and lgbm, not of {learner!r}")
    out: dict[str, str] = {}
    for item in values:
        column, sep, direction = item.partition("=")
        if not sep or not column or direction not in TRENDS:
            raise _fail(
                f"--monotonic {item!r}: expected COLUMN=DIRECTION, DIRECTION one of "
                f"{', '.join(TRENDS)}"
            )
        if out.get(column, direction) != direction:
            raise _fail(f"--monotonic {column}: given both {out[column]} and {direction}")
        out[column] = direction
    return out


def _check_monotonic(
    trends: dict[str, str], features: Any, categorical: list[str], source: str
) -> None:
    """Each --monotonic column a numeric feature of the rows to train on."""
    from arrears.models.binning import check_trend_features

    try:
        check_trend_features(trends, list(features.columns), categorical)
    except ValueError as exc:
        raise _fail(f"{source}: --{exc}") from None


def _print_drift(psi: Any, reference: Path, data: Path) -> None:
    """The PSI table of ``drift_table`` on the terminal."""
    from rich.table import Table

    table = Table(title=f"PSI of {data} against {reference}")
    for column in ("quantity", "PSI", "reading"):
        table.add_column(column, justify="right" if column == "PSI" else "left")
    for name, value, reading in psi.itertuples(index=False, name=None):
        table.add_row(str(name), f"{value:.4f}", reading)
    console.print(table)


def _by_date(saved: Any, y: Any, pd_: Any, points: Any, row_dates: Any) -> list[dict[str, Any]]:
    """The monitoring table of a book model, a row per observation date, each marked
    as trained on or not: the dates after training are its out-of-time months."""
    from arrears.models.metrics import monitoring_table

    trained = set(saved.meta["data"].get("dates") or ())
    labels = row_dates.astype("datetime64[D]").astype(str)
    rows = monitoring_table(y, pd_, points, labels, saved.meta.get("score_reference"), "date")
    return [{**row, "trained_on": row["date"] in trained} for row in rows]


MAX_GROUPS = 50


def _groups_of(data: Path, column: str) -> Any:
    """The values of ``column`` of the CSV file ``data`` as written, a row each (an
    empty cell is '(empty)'), for ``evaluate --by``."""
    import pandas as pd

    from arrears.models.errors import ModelDataError

    header = pd.read_csv(data, nrows=0).columns
    if column not in header:
        raise ModelDataError(f"{data}: --by {column!r}: no such column")
    values = pd.read_csv(data, dtype=str, keep_default_na=False, usecols=[column])[column]
    values = values.str.strip().replace("", "(empty)").to_numpy()
    distinct = len(set(values))
    if distinct > MAX_GROUPS:
        raise ModelDataError(
            f"{data}: --by {column!r}: {distinct} distinct values; group by a column of at "
            f"most {MAX_GROUPS} (a month, a channel, a branch)"
        )
    return values


def _print_score_psi(psi: float | None, t: Translator, shifted: str, **what: Any) -> None:
    """The PSI of the scores just written against the model's training rows, and the
    message ``shifted`` (with ``what``: the day or file they are the scores of) when they
    have shifted."""
    from arrears.models.metrics import psi_reading

    if psi is None:
        err.print(t("no_score_psi"), markup=False, soft_wrap=True)
        return
    console.print(score_psi_text(t, psi), markup=False, soft_wrap=True)
    if psi_reading(psi) == "shifted":
        err.print(t(shifted, psi=f"{psi:.3f}", **what), markup=False, soft_wrap=True)


def _latest_book_model(ws: Workspace) -> Path:
    found = latest_book_model(ws.root)
    if found is None:
        raise _fail(f"{ws.root / 'models'}: no book model; train one with --book or give --model")
    return found


def register(app: typer.Typer) -> None:
    """Add the ``models`` command group to the main app."""
    group = typer.Typer(help="Risk models: train, evaluate, score, list, report.")
    app.add_typer(group, name="models")

    @group.command("train")
    def train(
        out: Annotated[Path | None, typer.Option("--out", help="Model folder to write.")] = None,
        data: DataOpt = None,
        target: TargetOpt = None,
        event: EventOpt = None,
        book: BookOpt = None,
        learner: Annotated[
            str,
            typer.Option(
                help="scorecard, lgbm, lgbm_cv (settings by inner CV), forest, baseline, "
                "blend, ensemble or stack (weights by inner CV)."
            ),
        ] = "scorecard",
        cv: Annotated[int, typer.Option("--cv", help="Folds (0: no cross-validation).")] = 5,
        repeats: Annotated[int, typer.Option(help="Repeats of the k-fold split.")] = 1,
        seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
        name: Annotated[str | None, typer.Option(help="Model name (default: target).")] = None,
        reports: Annotated[
            bool, typer.Option(help="Write the feature and model reports (HTML) beside it.")
        ] = True,
        window_days: Annotated[
            int | None,
            typer.Option(
                "--window-days",
                help="propensity_to_pay: days after a contact in which a payment counts "
                "(default 7).",
            ),
        ] = None,
        inner_rows: Annotated[
            str | None,
            typer.Option(
                "--inner-rows",
                help="scorecard: rows its inner CV chooses the settings on (default 5000: a "
                "stratified sample of a larger table); 'all' chooses on every row (slower, "
                "chooses for the table's own size).",
            ),
        ] = None,
        bags: Annotated[
            int | None,
            typer.Option(
                "--bags",
                help="scorecard: fits of its chosen settings on bootstrap samples, averaged "
                "(default 50 on up to 5000 rows, else 0); 0 fits once on all rows, for the "
                "shortest points table.",
            ),
        ] = None,
        time: Annotated[
            str | None,
            typer.Option(
                "--time",
                help="--data: date column (YYYY-MM-DD) for an out-of-time holdout; "
                "with --holdout-from.",
            ),
        ] = None,
        holdout_from: Annotated[
            str | None,
            typer.Option(
                "--holdout-from",
                help="--data: rows dated from this day on (by --time) are held out of "
                "training and cross-validation, and measured on the final model.",
            ),
        ] = None,
        drop: Annotated[
            list[str] | None,
            typer.Option(
                "--drop",
                help="--data: a column not to use as a feature (repeatable). Identifiers, "
                "row numbers, dates, empty and one-valued columns are left out anyway.",
            ),
        ] = None,
        monotonic: Annotated[
            list[str] | None,
            typer.Option(
                "--monotonic",
                help="scorecard, lgbm: COLUMN=ascending|descending, the direction the event "
                "rate must take as the numeric COLUMN rises (repeatable).",
            ),
        ] = None,
        workspace: WorkspaceOpt = None,
    ) -> None:
        """Cross-validate a learner, fit it on all rows and save it with its metadata,
        a feature report and a model report (printed: the CV metrics as JSON)."""
        from arrears.models.errors import ModelDataError
        from arrears.models.learners import LEARNERS
        from arrears.models.training import train_model

        if learner not in LEARNERS:
            raise _fail(f"--learner must be one of {', '.join(LEARNERS)}, not {learner!r}")
        settings: dict[str, Any] = {}
        if inner_rows is not None:
            settings["inner_rows"] = _inner_rows(inner_rows, learner)
        if bags is not None:
            settings["bags"] = _bags(bags, learner)
        if monotonic:
            settings["monotonic"] = _monotonic(monotonic, learner)
        try:
            holdout = None
            if book is not None:
                if drop or time or holdout_from:
                    raise _fail("--drop, --time and --holdout-from are for --data")
                ws = open_workspace(workspace)
                features, y, groups, categorical, info, extra = book_training(ws, book, window_days)
                model_name, target_name = name or book, book
                out = out or ws.root / "models" / model_name
            else:
                if window_days is not None:
                    raise _fail("--window-days is for --book propensity_to_pay, not --data")
                table, holdout = _table_training(data, target, event, drop, time, holdout_from)
                features, y, groups = table.features, table.target, None
                categorical = table.categorical
                info = {"source": table.source, "sha256": table.fingerprint}
                extra = {
                    "feature_source": "table",
                    "event": table.event,
                    "excluded_columns": table.excluded,
                    "code_columns": table.codes,
                }
                model_name, target_name = name or table.target_name, table.target_name
                if out is None:
                    raise _fail("give --out DIR for the model folder")
            if monotonic:
                _check_monotonic(settings["monotonic"], features, categorical, info["source"])
            result = train_model(
                features,
                y,
                categorical,
                out,
                name=model_name,
                target=target_name,
                data_info=info,
                learner=learner,
                folds=cv,
                repeats=repeats,
                seed=seed,
                groups=groups,
                settings=settings,
                extra_meta=extra,
                holdout=holdout,
            )
        except ModelDataError as exc:
            raise _fail(str(exc)) from None
        if reports:
            from arrears.models.training import write_reports

            for column, value in write_reports(result, features, y, categorical, seed).items():
                err.print(
                    f"check: {column} alone ranks the rows with AUC {value:.3f}: is it known "
                    "before the outcome? (a leak would make every figure here too good)",
                    markup=False,
                    soft_wrap=True,
                )
        _print_json({"model": str(out), "version": result.saved.version, **result.summary})

    @group.command("evaluate")
    def evaluate(
        model: Annotated[Path, typer.Option("--model", help="Model folder.")],
        data: DataOpt = None,
        target: TargetOpt = None,
        event: EventOpt = None,
        cutoff: Annotated[
            float | None, typer.Option(help="PD cut-off (default: the event rate).")
        ] = None,
        reference: Annotated[
            Path | None, typer.Option(help="Earlier sample (CSV) for PSI of score and features.")
        ] = None,
        report: Annotated[Path | None, typer.Option(help="Also write a model report.")] = None,
        by: Annotated[
            str | None,
            typer.Option(
                "--by",
                help="--data: also give the measures for each value of this column "
                "(a month, a channel, a branch; at most 50 values).",
            ),
        ] = None,
        workspace: WorkspaceOpt = None,
    ) -> None:
        """Metrics of a saved model on a data set, as JSON: AUC, Gini, KS (with bootstrap
        95% intervals), confusion matrix, precision, recall, calibration, PSI."""
        from arrears.models import metrics
        from arrears.models.errors import ModelDataError, RegistryError
        from arrears.models.registry import load_model
        from arrears.models.report import drift_table, model_report
        from arrears.models.scoring import score_drift

        try:
            saved = load_model(model)
            book_ds = None
            if saved.meta.get("feature_source") == "book":
                if by is not None:
                    raise _fail("--by is for --data; a book model is followed by date anyway")
                book_ds = book_dataset(
                    open_workspace(workspace),
                    saved.meta["target"],
                    saved.meta.get("outcome_window_days"),
                )
                features, y = book_ds.features, book_ds.target
            else:
                # the event is the one the model was trained on unless told otherwise
                event = event or saved.meta.get("event")
                table = _load_table(data, target or saved.meta["target"], event, saved.learner)
                features, y = table.features, table.target
            missing = [c for c in saved.learner.features if c not in features.columns]
            if missing:  # a book's features are built by the code the model was trained with
                raise ModelDataError(
                    f"{model}: book features the model needs are missing: {missing}"
                )
            inputs = features[saved.learner.features]
            pd_, points = saved.learner.score(inputs)
            result = metrics.summary(y, pd_, cutoff)
            drift = score_drift(saved, points)
            if drift is not None:
                result["psi_score_vs_training"] = drift
            later = None
            if book_ds is not None and book_ds.row_dates is not None and len(book_ds.dates) > 1:
                # drift from the first observed month to the latest one
                first, last = book_ds.dates[0], book_ds.dates[-1]
                later = (
                    features.iloc[book_ds.rows_of(first)],
                    features.iloc[book_ds.rows_of(last)],
                )
                psi = drift_table(saved.learner, *later)
                result["psi"] = dict(zip(psi["quantity"], psi["PSI"], strict=True))
                result["psi_between"] = [first.isoformat(), last.isoformat()]
            if book_ds is not None:
                # say so: these rows include the training rows; the CV figures do not
                result["sample"] = "book rows of every observation date (training rows included)"
                result["cv"] = (saved.meta.get("metrics") or {}).get("cv")
                if book_ds.row_dates is not None:
                    result["by_date"] = _by_date(saved, y, pd_, points, book_ds.row_dates)
            if by is not None and data is not None:
                groups = _groups_of(data, by)
                reference_scores = saved.meta.get("score_reference")
                rows = metrics.monitoring_table(y, pd_, points, groups, reference_scores, "value")
                result["by"] = {"column": by, "groups": rows}
            if reference is not None:
                ref = _load_table(reference, target or saved.meta["target"], event, saved.learner)
                later = (ref.features, features)
                psi = drift_table(saved.learner, *later)
                result["psi"] = dict(zip(psi["quantity"], psi["PSI"], strict=True))
        except (ModelDataError, RegistryError) as exc:
            raise _fail(str(exc)) from None
        if report is not None:
            page = model_report(
                f"Model {saved.name} {saved.version}",
                saved.learner,
                saved.meta,
                y,
                pd_,
                result,
                later,
            )
            write_atomically(report, page)
        _print_json({"model": saved.name, "version": saved.version, **result})

    @group.command("score")
    def score(
        as_of: AsOfOpt = None,
        model: Annotated[
            Path | None, typer.Option("--model", help="Model folder (default: newest book model).")
        ] = None,
        data: Annotated[
            Path | None,
            typer.Option("--data", help="CSV file to score with a --data model (needs --out)."),
        ] = None,
        out: Annotated[
            Path | None,
            typer.Option("--out", help="--data: CSV to write (the rows, then score and pd)."),
        ] = None,
        reference: Annotated[
            Path | None,
            typer.Option(
                help="--data: earlier rows (e.g. the training file; no target needed) to "
                "print the PSI of the score and of each feature against."
            ),
        ] = None,
        workspace: WorkspaceOpt = None,
        lang: LangOpt = None,
    ) -> None:
        """Write the scores of the snapshot of --as-of (book models: the loans of the
        model's population, e.g. the current ones for early warning), or of every row of
        a CSV file (--data FILE --model DIR --out FILE)."""
        from arrears.models.errors import ModelDataError, RegistryError

        t = translator(lang)

        if data is not None:
            from arrears.models.registry import load_model
            from arrears.models.report import drift_table
            from arrears.models.scoring import score_csv, score_drift, table_inputs

            if model is None or out is None:
                raise _fail("--data needs --model DIR (a model trained on --data) and --out FILE")
            if as_of is not None:
                raise _fail("--as-of scores a snapshot with a book model; not with --data")
            try:
                saved = load_model(model)
                earlier = table_inputs(saved, reference) if reference is not None else None
                inputs, points = score_csv(saved, data, out)
            except (ModelDataError, RegistryError) as exc:
                raise _fail(str(exc)) from None
            console.print(
                t("rows_scored", rows=f"{len(inputs):,}", path=out), markup=False, soft_wrap=True
            )
            _print_score_psi(score_drift(saved, points), t, "rows_shifted", path=data)
            if earlier is not None:
                _print_drift(drift_table(saved.learner, earlier, inputs), reference, data)
            return
        ws = open_workspace(workspace)
        day = parse_date(as_of)
        if day not in ws.snapshot_dates():
            raise _fail(f"{ws.snapshot_path(day)}: no snapshot of {day}; close that day first")
        folder = model or _latest_book_model(ws)
        try:
            scored = score_snapshot(ws.root, day, folder)
        except (ModelDataError, RegistryError) as exc:
            raise _fail(str(exc)) from None
        written = t("scores_written", loans=f"{scored.loans:,}", path=scored.path)
        console.print(written, markup=False, soft_wrap=True)
        _print_score_psi(scored.psi, t, "score_shifted", as_of=day)

    @group.command("list")
    def list_(
        registry: Annotated[
            Path | None, typer.Option(help="Folder of model folders (default: <ws>/models).")
        ] = None,
        workspace: WorkspaceOpt = None,
    ) -> None:
        """The saved models: name, version, learner, target, CV AUC, out-of-time AUC,
        the last day a book model was scored in the workspace and the PSI of those scores
        against its training rows, folder."""
        from rich.table import Table

        from arrears.models.metrics import psi_reading
        from arrears.models.registry import list_models
        from arrears.services.book_models import last_scored

        if registry is None:
            ws_root: Path | None = open_workspace(workspace).root
            root = ws_root / "models"
        else:
            ws_root, root = None, registry
        columns = ["name", "version", "learner", "target", "CV AUC", "OOT AUC"]
        table = Table(*columns, "last scored", "score PSI", "folder")
        for m in list_models(root):
            figures = m.get("metrics") or {}
            cv, oot = figures.get("cv") or {}, figures.get("out_of_time") or {}
            auc = f"{cv['auc_mean']:.4f}" if cv else "—"
            later = f"{oot['auc']:.4f}" if oot else "—"
            day, psi = "—", "—"
            found = (
                last_scored(ws_root, m) if ws_root and m.get("feature_source") == "book" else None
            )
            if found is not None:
                day = str(found[0])
                psi = "—" if found[1] is None else f"{found[1]:.3f} {psi_reading(found[1])}"
            cells = [m["name"], m["version"], m["learner"], m["target"], auc, later]
            table.add_row(*cells, day, psi, m["folder"])
        print_whole(table)  # names, versions and folders whole, to copy

    @group.command("report")
    def report_(
        model: Annotated[Path, typer.Option("--model", help="Model folder.")],
    ) -> None:
        """Where a model's feature and model reports are (written at training)."""
        for name in ("feature_report.html", "model_report.html"):
            path = model / name
            if not path.exists():
                raise _fail(f"{path}: missing; retrain the model to write it")
            console.print(str(path), markup=False)
