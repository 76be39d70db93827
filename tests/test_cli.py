"""The `arrears` command as a user runs it: demo, import, close, ageing, status."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from arrears.analytics.history import month_end
from arrears.cli import app
from arrears.store.contact_models import ContactAttempt, OutboxMessage, StrategyAssignment
from arrears.store.unit_of_work import UnitOfWork
from arrears.workspace import Workspace

runner = CliRunner()
AS_OF = "2026-06-30"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    root = tmp_path_factory.mktemp("cli") / "demo"
    result = runner.invoke(
        app,
        [
            "demo",
            "--loans",
            "600",
            "--days",
            "3",
            "--as-of",
            AS_OF,
            "-w",
            str(root),
            "--lang",
            "en",
        ],
    )
    assert result.exit_code == 0, result.output
    return root, result.output


def test_demo_prints_the_ageing_table(demo: tuple[Path, str]):
    root, output = demo
    for text in ("Ageing of the book on 2026-06-30", "M0", "M7+", "Overdue rate (M1+)"):
        assert text in output
    assert "Five-tier classification" in output and "Substandard" in output
    snapshots = sorted(p.parent.name for p in (root / "snapshots").glob("*/part-0.parquet"))
    # the last --days days, and every month end of the book's history before them
    assert snapshots[-3:] == ["as_of=2026-06-28", "as_of=2026-06-29", "as_of=2026-06-30"]
    ends = snapshots[:-3]
    assert len(ends) >= 23 and ends[-1] == "as_of=2026-05-31"
    assert all(date.fromisoformat(e[6:]) == month_end(date.fromisoformat(e[6:])) for e in ends)


def test_demo_runs_the_strategy_through_compliance_and_sends(demo: tuple[Path, str]):
    root, output = demo
    flat = " ".join(output.split())  # the console wraps long lines
    assert "Strategy retail-default" in flat and "contacts allowed and queued" in flat
    assert "Outbox after the demo's sends, by channel" in flat
    ws = Workspace.at(root)
    with UnitOfWork(ws.engine) as uow:
        s = uow.session
        attempts = s.scalar(select(func.count()).select_from(ContactAttempt))
        by_status = dict(
            s.execute(
                select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
            ).all()
        )
        days = set(s.scalars(select(StrategyAssignment.as_of).distinct()))
    assert attempts > 0 and by_status.get("sent", 0) > 0
    # everything decided for the demo's days went out (or was stopped) on its day
    assert set(by_status) <= {"sent", "blocked", "dead"}
    assert days == {date(2026, 6, 28), date(2026, 6, 29), date(2026, 6, 30)}
    assert any((root / "outbox" / "sms").iterdir())
    assert list((root / "outbox" / "dialer").glob("*.csv"))


def test_demo_ends_with_the_portfolio_report(demo: tuple[Path, str]):
    root, output = demo
    (report,) = (root / "reports").glob("portfolio-*.html")
    assert f"Portfolio report: {report}" in output.replace("\n", "")
    html = report.read_text(encoding="utf-8")
    assert "<table" in html and "plotly" in html.lower()


def test_demo_staffs_a_collections_floor_and_allocates_its_cases(demo: tuple[Path, str]):
    from arrears.services.demo_floor import TEAMS
    from arrears.services.settings import load_settings
    from arrears.store.workbench_models import CaseAssignment, Promise

    root, output = demo
    flat = " ".join(output.split())
    assert "Collectors (9 in 3 teams):" in flat
    assert set(load_settings(root).allocation_rules()) == {team for team, _, _ in TEAMS}
    ws = Workspace.at(root)
    with UnitOfWork(ws.engine) as uow:
        s = uow.session
        reasons = set(s.scalars(select(CaseAssignment.reason).distinct()))
        calls = s.execute(
            select(ContactAttempt.actor, ContactAttempt.allowed).where(
                ContactAttempt.source == "collector"
            )
        ).all()
        promised = set(s.scalars(select(Promise.created_by)))
    # month ends of the report's year, then each of the 3 days
    assert "allocation 2025-06-30" in reasons and "allocation 2026-06-30" in reasons
    collectors = {name for _, _, members in TEAMS for name, _ in members}
    assert calls and {actor for actor, _ in calls} <= collectors
    assert promised <= collectors
    (report,) = (root / "reports").glob("portfolio-*.html")
    html = report.read_text(encoding="utf-8")
    assert any(name in html for name in collectors)  # the collector KPI tables
    # the demo allocated as of its last day already: a rerun moves nothing
    again = runner.invoke(app, ["allocate", "--as-of", AS_OF, "-w", str(root)])
    assert again.exit_code == 0, again.output
    assert " 0 allocated, " in " ".join(again.output.split())


def test_allocate_without_rules_says_where_they_go(tmp_path: Path):
    root = tmp_path / "ws"
    assert runner.invoke(app, ["init", "-w", str(root)]).exit_code == 0
    result = runner.invoke(app, ["allocate", "--as-of", AS_OF, "-w", str(root)])
    assert result.exit_code == 2
    assert "arrears.toml: no [allocation.teams] rules" in " ".join(result.output.split())


def test_ageing_table_adds_up_to_the_snapshot(demo: tuple[Path, str]):
    root, output = demo
    rows = pq.read_table(root / "snapshots" / f"as_of={AS_OF}" / "part-0.parquet").to_pylist()
    active = [r for r in rows if r["status"] == "active"]
    overdue = [r for r in active if r["dpd"] > 0]
    rate = len(overdue) / len(active) * 100
    assert f"{rate:.2f}% by count ({len(overdue):,} / {len(active):,})" in output


def test_ageing_in_chinese(demo: tuple[Path, str]):
    root, _ = demo
    result = runner.invoke(app, ["ageing", "-w", str(root), "--lang", "zh"])
    assert result.exit_code == 0, result.output
    for text in ("账龄分布", "逾期率", "五级分类", "关注", "损失"):
        assert text in result.output


def test_closing_again_changes_nothing(demo: tuple[Path, str]):
    root, _ = demo
    result = runner.invoke(app, ["close", "--as-of", AS_OF, "-w", str(root), "--lang", "en"])
    assert result.exit_code == 0, result.output
    assert "Already closed through 2026-06-30" in result.output


def test_status_shows_the_book(demo: tuple[Path, str]):
    root, _ = demo
    result = runner.invoke(app, ["status", "-w", str(root)])
    assert result.exit_code == 0, result.output
    assert "600" in result.output and "2026-06-30" in result.output


def test_bad_import_names_row_and_field_and_writes_nothing(tmp_path: Path):
    bad = tmp_path / "customers.csv"
    bad.write_text("customer_id,name,language\nC1,Ann,en\nC2,,en\nC3,Bo,xx\n", encoding="utf-8")
    result = runner.invoke(app, ["import", str(bad), "-w", str(tmp_path / "ws"), "--lang", "en"])
    assert result.exit_code == 1
    assert "row 3" in result.output and "name" in result.output
    assert "row 4" in result.output and "language" in result.output
    status = runner.invoke(app, ["status", "-w", str(tmp_path / "ws")])
    assert "customers" in status.output and "│ 0" in status.output


def test_demo_refuses_to_overwrite_a_folder_it_did_not_make(tmp_path: Path):
    (tmp_path / "precious.txt").write_text("keep me")
    result = runner.invoke(app, ["demo", "--loans", "10", "-w", str(tmp_path)])
    assert result.exit_code == 2
    assert (tmp_path / "precious.txt").read_text() == "keep me"


BAD_DAY = "2026-13-01"


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["close", "--as-of", BAD_DAY], "--as-of"),
        (["treat", "--as-of", BAD_DAY], "--as-of"),
        (["ageing", "--as-of", BAD_DAY], "--as-of"),
        (["report", "--to", BAD_DAY], "--to"),
        (["report", "--from", BAD_DAY, "--to", AS_OF], "--from"),
        (["kpi", "--to", BAD_DAY], "--to"),
        (["strategy", "readout", "--from", BAD_DAY, "--to", AS_OF], "--from"),
        (["strategy", "readout", "--from", AS_OF, "--to", BAD_DAY], "--to"),
        (["dialer", "export", "--date", BAD_DAY], "--date"),
        (["allocate", "--as-of", BAD_DAY], "--as-of"),
        (["models", "score", "--model", "m", "--as-of", BAD_DAY], "--as-of"),
    ],
)
def test_a_bad_date_is_refused_naming_its_option_before_anything_is_made(
    tmp_path: Path, args: list[str], option: str
):
    ws = tmp_path / "ws"
    result = runner.invoke(app, [*args, "-w", str(ws)])
    said = " ".join(result.output.replace("│", " ").split())
    assert result.exit_code == 2
    assert f"Invalid value for '{option}': '{BAD_DAY}' is not a date" in said
    assert not ws.exists()


def test_a_bad_holdout_date_is_refused_naming_its_option_and_nothing_is_written(tmp_path: Path):
    rows = "".join(f"{i},{i % 2},2020-01-{i % 28 + 1:02d}\n" for i in range(40))
    data = tmp_path / "rows.csv"
    data.write_text("income,bad,opened\n" + rows, encoding="utf-8")
    out = tmp_path / "model"
    args = ["models", "train", "--data", str(data), "--target", "bad", "--out", str(out)]
    result = runner.invoke(app, [*args, "--time", "opened", "--holdout-from", BAD_DAY])
    said = " ".join(result.output.replace("│", " ").split())
    assert result.exit_code == 2
    assert f"Invalid value for '--holdout-from': '{BAD_DAY}'" in said
    assert not out.exists()


@pytest.mark.parametrize(
    "args",
    [
        ["close", "--as-of", "2026-11-30"],
        ["treat", "--as-of", "2026-11-30"],
        ["models", "score", "--as-of", "2026-11-30"],
        ["demo", "--loans", "10"],
        ["report", "--from", "2026-11-01", "--to", "2026-11-30"],
        ["kpi", "--from", "2026-11-01", "--to", "2026-11-30"],
    ],
)
def test_an_unknown_language_is_refused_naming_its_option_before_anything_is_made(
    tmp_path: Path, args: list[str]
):
    ws = tmp_path / "ws"
    result = runner.invoke(app, [*args, "--lang", "fr", "-w", str(ws)])
    said = " ".join(result.output.replace("│", " ").split())
    assert result.exit_code == 2, result.output
    assert "Invalid value for '--lang': unknown language 'fr': use en or zh" in said
    assert not ws.exists()


@pytest.mark.parametrize(
    ("given", "lang"),
    [("zh_CN", "zh"), ("zh-CN.UTF-8", "zh"), ("en_US", "en"), ("EN", "en"), ("zh", "zh")],
)
def test_a_locale_name_is_taken_as_its_language(given: str, lang: str):
    from arrears.commands.common import translator

    t = translator(given)
    assert t.lang == lang
    assert t("clause_break") == ("; " if lang == "en" else "；")  # and speaks it


def test_the_close_warns_of_each_day_whose_scores_shifted(capsys: pytest.CaptureFixture[str]):
    from arrears.cli import _print_scored
    from arrears.i18n import Translator
    from arrears.services.book_models import ScoredDay

    days = [
        ScoredDay(date(2026, 11, 29), Path("s1"), "early_warning_30", "abc123", 500, 0.31),
        ScoredDay(date(2026, 11, 30), Path("s2"), "early_warning_30", "abc123", 512, 0.04),
    ]
    _print_scored(days, Translator("en"))
    out, err = capsys.readouterr()
    assert out.strip() == (
        "Scored 2 day(s) through 2026-11-30 with model early_warning_30 abc123: 512 loans; "
        "score PSI against the model's training rows: 0.040 (stable)"
    )
    assert "Scores of 2026-11-29 have shifted from the model's training rows (PSI 0.310" in err
    assert "2026-11-30" not in err
    _print_scored(days[1:], Translator("zh"))
    assert "评分 PSI（相对模型训练样本）：0.040（稳定）" in capsys.readouterr().out
