"""The template sandbox (issue 22, finding 1): every payload of
``template_payloads.toml`` is refused at save, naming its rule and construct, and is
harmless when it is already stored: rendering it through every path (render, the
outbox, a letter, ``templates preview``) is refused with a TemplateError naming the
rule, never runs code (the payload's marker file is never created) and never crashes.
Stored templates are re-checked by migration 0008 (SQLite and PostgreSQL): a refused
one is disabled with the rule written down, logged, listed, and never rendered. The
case page's call script is in ``tests/web/test_template_sandbox_case_page.py``."""

from __future__ import annotations

import logging
import tomllib
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from channel_helpers import LENDER_FIELDS, add_customer
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from arrears.channels.fields import MergeFields
from arrears.channels.letters import render_letter_pdf
from arrears.channels.queueing import enqueue_message
from arrears.channels.samples import sample_letter
from arrears.channels.templates import (
    Template,
    TemplateError,
    check_template,
    default_templates,
    get_template,
    render,
    save_template,
)
from arrears.cli import app
from arrears.store.contact_models import ContactAttempt, MessageTemplate, OutboxMessage
from arrears.store.db import downgrade, upgrade
from arrears.workspace import Workspace

CORPUS = Path(__file__).with_name("template_payloads.toml")
CHANNELS = ("sms", "email", "push", "call", "letter")
LANGUAGES = ("zh_CN", "en")
FIELDS = MergeFields(
    customer_name="Jane Smith",
    account="6222020012345678",
    amount_due=Decimal("1234.56"),
    due_date=date(2026, 11, 15),
    pay_link="https://pay.example.com/r/ARR123",
    collector_name="Min Li",
    collector_phone="021-6000-1234",
    institution_name="Example Finance",
    reference="ARR-2026-000123",
    **LENDER_FIELDS["en"],
)
runner = CliRunner()


@dataclass(frozen=True)
class Payload:
    """One payload of the corpus; ``@MARKER@`` in its texts stands for a file path."""

    id: str
    channel: str
    body: str
    rule: str
    construct: str
    subject: str | None = None
    runs_code: bool = False

    def template(self, marker: Path, name: str = "payload", language: str = "en") -> Template:
        """The payload as a template whose code, if it ran, would create ``marker``."""
        subject = None if self.subject is None else self.subject.replace("@MARKER@", str(marker))
        body = self.body.replace("@MARKER@", str(marker))
        return Template(name, self.channel, language, subject, body)


PAYLOADS = [Payload(**entry) for entry in tomllib.loads(CORPUS.read_text("utf-8"))["payload"]]


def _marker(folder: Path, payload: Payload) -> Path:
    return folder / f"ran-{payload.id}"


@pytest.fixture
def markers(tmp_path: Path) -> Path:
    """An empty folder for the payloads' marker files (it must stay empty)."""
    folder = tmp_path / "markers"
    folder.mkdir()
    return folder


def store_bypassing_checks(session: Session, template: Template, version: int = 1) -> None:
    """Write ``template`` into the store as an old release (or a direct database edit)
    could have: no sandbox check, no linter."""
    session.add(
        MessageTemplate(
            name=template.name, language=template.language, version=version,
            channel=template.channel, subject=template.subject, body=template.body,
        )
    )  # fmt: skip


def _template_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(MessageTemplate)) or 0


def test_the_corpus_runs_code_on_every_channel_without_the_sandbox() -> None:
    ids = [p.id for p in PAYLOADS]
    assert len(ids) == len(set(ids)) and len(ids) >= 40
    assert {p.channel for p in PAYLOADS if p.runs_code} == set(CHANNELS)
    for rule in ("underscore-attribute", "item", "global", "statement"):
        assert any(p.rule == f"sandbox.{rule}" and p.runs_code for p in PAYLOADS), rule
    for rule in ("format-string", "attribute", "filter", "test", "operator", "unknown-field"):
        assert any(p.rule == f"sandbox.{rule}" for p in PAYLOADS), rule


@pytest.mark.parametrize("payload", PAYLOADS, ids=lambda p: p.id)
def test_the_sandbox_check_refuses_the_payload_naming_rule_and_construct(
    payload: Payload, markers: Path
) -> None:
    marker = _marker(markers, payload)
    with pytest.raises(TemplateError) as caught:
        check_template(payload.template(marker))
    message = str(caught.value)
    assert payload.rule in message and payload.construct in message, message
    assert "refused by the template sandbox" in message
    assert not marker.exists()


def _save_arguments(template: Template) -> dict[str, object]:
    return {
        "name": template.name, "channel": template.channel, "language": template.language,
        "subject": template.subject, "body": template.body,
    }  # fmt: skip


def test_save_refuses_every_payload_and_writes_nothing(engine: Engine, markers: Path) -> None:
    with Session(engine) as session, session.begin():
        for payload in PAYLOADS:
            template = payload.template(_marker(markers, payload), name=payload.id)
            with pytest.raises(TemplateError, match=payload.rule):
                save_template(session, **_save_arguments(template))  # type: ignore[arg-type]
        assert _template_count(session) == 0
    assert list(markers.iterdir()) == []


def test_the_documented_constructs_still_save_and_render(engine: Engine) -> None:
    body = (
        "{{ institution_name }}: {{ customer_name|upper }}, {{ amount_due }} is due on "
        "{{ due_date }}. Pay: {{ pay_link|trim }} or call {{ collector_name|title }} on "
        "{{ collector_phone }} ({{ reference ~ ' / ' ~ masked_account }})"
    )
    with Session(engine) as session, session.begin():
        saved = save_template(session, name="plain", channel="sms", language="en", body=body)
    assert saved.version == 1
    text = render(saved, FIELDS).body
    assert text.startswith("Example Finance: JANE SMITH, CNY 1,234.56 is due on 15 November")
    assert "Pay: https://pay.example.com/r/ARR123 or call Min Li on" in text
    assert "(ARR-2026-000123 / ****5678)" in text


def test_every_packaged_default_passes_the_sandbox() -> None:
    for template in default_templates().values():
        render(template, FIELDS)  # raises on a refusal


def _attempt(session: Session, channel: str, n: int) -> ContactAttempt:
    attempt = ContactAttempt(
        attempt_id=f"C1-{channel}-{n}", customer_id="C1", channel=channel, party="debtor",
        at=datetime.now(UTC), source="strategy", allowed=True,
    )  # fmt: skip
    session.add(attempt)
    session.flush()
    return attempt


def test_stored_payloads_render_nowhere_and_run_nothing(engine: Engine, markers: Path) -> None:
    """Stored past the save check, each payload is refused by ``render``, by the outbox
    (SMS, email, push) and by the letter PDF, naming its rule; none runs code."""
    with Session(engine) as session, session.begin():
        add_customer(session)
        for payload in PAYLOADS:
            store_bypassing_checks(
                session, payload.template(_marker(markers, payload), name=payload.id)
            )
    with Session(engine) as session, session.begin():
        for n, payload in enumerate(PAYLOADS):
            stored = get_template(session, payload.id, "en")
            assert stored.version == 1
            with pytest.raises(TemplateError, match=payload.rule):
                render(stored, FIELDS)
            if payload.channel in ("sms", "email", "push"):
                attempt = _attempt(session, payload.channel, n)
                with pytest.raises(TemplateError, match=payload.rule):
                    enqueue_message(session, attempt, stored, FIELDS, "jane@example.com")
            if payload.channel == "letter":
                with pytest.raises(TemplateError, match=payload.rule):
                    render_letter_pdf(sample_letter("en", payload.id), stored)
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    assert list(markers.iterdir()) == []


def _workspace(tmp_path: Path) -> Workspace:
    root = tmp_path / "ws"
    assert runner.invoke(app, ["init", "-w", str(root)]).exit_code == 0
    return Workspace.at(root)


def test_cli_save_refuses_each_payload_naming_the_construct(tmp_path: Path, markers: Path) -> None:
    ws = _workspace(tmp_path)
    for payload in PAYLOADS:
        template = payload.template(_marker(markers, payload))
        body = tmp_path / f"{payload.id}.txt"
        body.write_text(template.body, encoding="utf-8")
        command = ["templates", "save", payload.id, str(body), "-c", payload.channel, "-l", "en"]
        if template.subject is not None:
            command += ["--subject", template.subject]
        result = runner.invoke(app, [*command, "-w", str(ws.root)])
        assert result.exit_code == 1, (payload.id, result.output)
        assert payload.rule in result.output, (payload.id, result.output)
        assert payload.construct in result.output, (payload.id, result.output)
    with Session(ws.engine) as session:
        assert _template_count(session) == 0
    assert list(markers.iterdir()) == []


def test_cli_preview_and_list_refuse_stored_payloads_without_running_them(
    tmp_path: Path, markers: Path
) -> None:
    ws = _workspace(tmp_path)
    with Session(ws.engine) as session, session.begin():
        for payload in PAYLOADS:
            store_bypassing_checks(
                session, payload.template(_marker(markers, payload), name=payload.id)
            )
    for payload in PAYLOADS:
        result = runner.invoke(
            app, ["templates", "preview", payload.id, "-l", "en", "-w", str(ws.root)]
        )
        assert result.exit_code == 1, (payload.id, result.output)
        assert isinstance(result.exception, SystemExit)  # a refusal, not a traceback
        assert payload.rule in result.output, (payload.id, result.output)
    listed = runner.invoke(app, ["templates", "list", "-w", str(ws.root)])
    assert listed.exit_code == 0, listed.output
    for payload in PAYLOADS:
        assert f"not rendered: {payload.id} (en) v1: template '{payload.id}'" in listed.output
    assert list(markers.iterdir()) == []


# --- migration 0008: the re-check of stored templates --------------------------------

_OLD_TEMPLATES = sa.table(  # message_templates as revision 0007 left it
    "message_templates",
    sa.column("name", sa.String), sa.column("language", sa.String),
    sa.column("version", sa.Integer), sa.column("channel", sa.String),
    sa.column("subject", sa.String), sa.column("body", sa.Text),
    sa.column("created_at", sa.DateTime(timezone=True)),
)  # fmt: skip
GOOD_BODY = "【{{ institution_name }}】{{ customer_name }}您好，请于{{ due_date }}前还款。"


def _rows_at_0007(engine: Engine, marker_dir: Path) -> None:
    rows = [
        {"name": "good", "language": "zh_CN", "version": 1, "channel": "sms",
         "subject": None, "body": GOOD_BODY},
        {"name": "broken", "language": "en", "version": 1, "channel": "sms",
         "subject": None, "body": "{{ customer_name"},
    ]  # fmt: skip
    for payload in PAYLOADS:
        template = payload.template(_marker(marker_dir, payload), name=payload.id)
        for version in (1, 2):  # every stored version is re-checked, not only the latest
            rows.append(
                {"name": template.name, "language": "en", "version": version,
                 "channel": template.channel, "subject": template.subject,
                 "body": template.body}
            )  # fmt: skip
    now = datetime.now(UTC)
    with engine.begin() as connection:
        connection.execute(_OLD_TEMPLATES.insert(), [{**row, "created_at": now} for row in rows])


def test_migration_0008_disables_refused_templates_and_reports_them(
    blank_engine: Engine, markers: Path, caplog: pytest.LogCaptureFixture
) -> None:
    upgrade(blank_engine, "0007")
    _rows_at_0007(blank_engine, markers)
    with caplog.at_level(logging.WARNING, logger="arrears.store.migrations"):
        upgrade(blank_engine, "0008")
    with Session(blank_engine) as session:
        reasons = {
            (row.name, row.version): row.disabled_reason
            for row in session.scalars(select(MessageTemplate))
        }
        assert reasons[("good", 1)] is None
        assert "sandbox.syntax" in (reasons[("broken", 1)] or "")
        for payload in PAYLOADS:
            for version in (1, 2):
                reason = reasons[(payload.id, version)] or ""
                assert payload.rule in reason and payload.construct in reason, (payload.id, reason)
            stored = get_template(session, payload.id, "en")
            assert stored.disabled_reason
            with pytest.raises(TemplateError, match=f"version 2 is disabled.*{payload.rule}"):
                render(stored, FIELDS)
        render(get_template(session, "good", "zh_CN"), FIELDS)
    logged = caplog.text
    assert all(f"template '{p.id}' (en) version 2 disabled" in logged for p in PAYLOADS)
    assert "'good'" not in logged
    assert list(markers.iterdir()) == []
    upgrade(blank_engine)  # and on to head from here
    downgrade(blank_engine, "0007")
    assert "disabled_reason" not in {
        c["name"] for c in sa.inspect(blank_engine).get_columns("message_templates")
    }


def test_templates_list_shows_what_the_migration_disabled(tmp_path: Path, markers: Path) -> None:
    ws = _workspace(tmp_path)
    downgrade(ws.engine, "0007")
    _rows_at_0007(ws.engine, markers)
    upgrade(ws.engine)
    listed = runner.invoke(app, ["templates", "list", "-w", str(ws.root)])
    assert listed.exit_code == 0, listed.output
    assert "DISABLED" in listed.output
    payload = PAYLOADS[0]
    assert f"not rendered: {payload.id} (en) v2: disabled: refused by the template sandbox" in (
        listed.output
    )
    assert "not rendered: good" not in listed.output
    assert list(markers.iterdir()) == []
