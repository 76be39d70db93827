"""The channel commands as a user runs them: templates preview/save/list, outbox
dispatch to the workspace spool and status, dialer export, letters render."""

from __future__ import annotations

from pathlib import Path

from channel_helpers import queue_messages
from typer.testing import CliRunner

from arrears.cli import app
from arrears.workspace import Workspace

runner = CliRunner()


def _workspace(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    assert runner.invoke(app, ["init", "-w", str(root)]).exit_code == 0
    return root


def test_preview_shows_rendered_sms_and_segments(tmp_path) -> None:
    root = _workspace(tmp_path)
    result = runner.invoke(
        app, ["templates", "preview", "overdue_sms", "-l", "en", "-w", str(root),
              "--field", "customer_name=Jane", "--field", "amount_due=99.5",
              "--field", "institution_name=Example Finance", "--field", "collector_name=Min"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Jane" in result.output and "CNY 99.50" in result.output
    assert "SMS: GSM-7" in result.output and "2 segment(s) of up to 153" in result.output


def test_save_refused_then_accepted_then_listed(tmp_path) -> None:
    root = _workspace(tmp_path)
    bad = tmp_path / "bad.txt"
    bad.write_text("【示例】{{ customer_name }}，再不还钱后果自负！", encoding="utf-8")
    result = runner.invoke(
        app, ["templates", "save", "mine", str(bad), "-c", "sms", "-w", str(root)]
    )
    assert result.exit_code == 1
    assert "lint.threat" in result.output and "后果自负" in result.output
    assert "nothing saved" in result.output
    good = tmp_path / "good.txt"
    good.write_text("【示例】{{ customer_name }}您好，请于{{ due_date }}前还款。", encoding="utf-8")
    result = runner.invoke(
        app, ["templates", "save", "mine", str(good), "-c", "sms", "-w", str(root)]
    )
    assert result.exit_code == 0, result.output
    assert "version 1" in result.output
    listed = runner.invoke(app, ["templates", "list", "-w", str(root)]).output
    assert "mine" in listed


def test_dispatch_to_spool_and_status(tmp_path) -> None:
    root = _workspace(tmp_path)
    queue_messages(Workspace.at(root).engine, 2, channel="email")
    result = runner.invoke(app, ["outbox", "dispatch", "--no-recheck", "-w", str(root)])
    assert result.exit_code == 0, result.output
    assert "sent 2" in result.output
    assert len(list((root / "outbox" / "email").glob("*.eml"))) == 2
    status = runner.invoke(app, ["outbox", "status", "-w", str(root)]).output
    assert "email" in status and "sent" in status
    events = runner.invoke(app, ["outbox", "status", "-m", "C1-email-0", "-w", str(root)])
    assert "queued" in events.output and "sending" in events.output


def test_dialer_export_writes_the_day_list(tmp_path) -> None:
    root = _workspace(tmp_path)
    result = runner.invoke(app, ["dialer", "export", "--date", "2026-12-01", "-w", str(root)])
    assert result.exit_code == 0, result.output
    assert "0 call(s) listed" in result.output


def test_letters_render_sample(tmp_path) -> None:
    out = tmp_path / "letter.pdf"
    result = runner.invoke(app, ["letters", "render", str(out), "--sample", "zh_CN"])
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"%PDF")
    bad = runner.invoke(app, ["letters", "render", str(out), "--sample", "fr"])
    assert bad.exit_code == 1 and "language must be one of" in bad.output


def test_dispatch_rechecks_holds_by_default(tmp_path) -> None:
    from datetime import date

    from sqlalchemy.orm import Session

    from arrears.store.contact_models import Hold

    root = _workspace(tmp_path)
    engine = Workspace.at(root).engine
    queue_messages(engine, 1, channel="letter", recipient="张三")
    with Session(engine) as session, session.begin():
        session.add(Hold(customer_id="C1", kind="deceased", placed_on=date(2000, 1, 1)))
    result = runner.invoke(app, ["outbox", "dispatch", "-w", str(root)])
    assert result.exit_code == 0, result.output
    assert "blocked 1" in result.output
    status = runner.invoke(app, ["outbox", "status", "-w", str(root)]).output
    assert "blocked by rule: hold.deceased 1" in status
