"""The case page's call script (话术) goes through the template sandbox (issue 22,
finding 1): a stored script holding any payload of
``tests/channels/template_payloads.toml`` (stored past the save check) is not shown on
the page nor in the case API, runs no code (the payload's marker file is never
created) and the page still answers 200. A good stored script is shown, so the path
is the one that renders stored scripts."""

from __future__ import annotations

import tomllib
from pathlib import Path

from sqlalchemy.orm import Session
from web_support import NOW, TODAY, Book, login_client

from arrears.store.contact_models import MessageTemplate, StrategyAssignment
from arrears.store.models import CaseRow
from arrears.strategy.loader import load_strategy
from arrears.web.app import Settings, create_app

CORPUS = Path(__file__).parents[1] / "channels" / "template_payloads.toml"
PAYLOADS = tomllib.loads(CORPUS.read_text("utf-8"))["payload"]
GOOD_SCRIPT = "{{ customer_name }}您好，我是{{ institution_name }}的{{ collector_name }}。"
SCRIPT_DIV = 'data-testid="call-script"'


def _call_step(root: Path) -> tuple[str, str]:
    """A call step of the workspace's (default) strategy and the script it names."""
    strategy = load_strategy(workspace_root=root)
    for ladder in strategy.ladders.values():
        for step in ladder.steps:
            if step.channel == "call" and step.script:
                return step.name, step.script
    raise AssertionError("the default strategy has no call step with a script")


def _store_script(session: Session, name: str, version: int, subject: str | None, body: str):  # type: ignore[no-untyped-def]
    """The script in both languages as a new version, written past the save check (as
    an old release or a direct database edit could have)."""
    for language in ("zh_CN", "en"):
        session.add(
            MessageTemplate(
                name=name, language=language, version=version, channel="call",
                subject=subject, body=body,
            )
        )  # fmt: skip


def test_the_case_page_never_renders_a_stored_payload_script(book: Book, tmp_path: Path) -> None:
    root, markers = tmp_path / "ws", tmp_path / "markers"
    root.mkdir()
    markers.mkdir()
    step, script = _call_step(root)
    case_id = book.case_ids[0]  # collector c1's case
    with Session(book.engine) as session, session.begin():
        case = session.get(CaseRow, case_id)
        assert case is not None
        session.add(
            StrategyAssignment(
                as_of=TODAY, case_id=case.id, customer_id=case.customer_id,
                loan_id=case.loan_id, strategy="default", version=1, arm="A",
                segment="all", step=step, channel="call",
            )
        )  # fmt: skip
        _store_script(session, script, 1, None, GOOD_SCRIPT)
    app = create_app(
        engine=book.engine, workspace_root=root, settings=Settings(clock=lambda: NOW),
        migrate=False,
    )  # fmt: skip
    client = login_client(app, "c1")
    page, api = f"/cases/{case_id}", f"/api/v1/cases/{case_id}"

    shown = client.get(page)
    assert shown.status_code == 200 and SCRIPT_DIV in shown.text  # the stored script renders
    assert "客户1您好" in shown.text
    assert "客户1您好" in client.get(api).json()["strategy"]["script_text"]

    for version, payload in enumerate(PAYLOADS, start=2):
        marker = str(markers / f"ran-{payload['id']}")
        subject = payload.get("subject")
        with Session(book.engine) as session, session.begin():
            _store_script(
                session, script, version,
                subject.replace("@MARKER@", marker) if subject else None,
                payload["body"].replace("@MARKER@", marker),
            )  # fmt: skip
        response = client.get(page)
        assert response.status_code == 200, (payload["id"], response.text[:500])
        assert SCRIPT_DIV not in response.text, payload["id"]
        data = client.get(api)
        assert data.status_code == 200, payload["id"]
        assert data.json()["strategy"]["script_text"] is None, payload["id"]
    client.close()
    assert list(markers.iterdir()) == []
