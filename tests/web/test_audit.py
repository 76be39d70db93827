"""The audit chain: every change is an entry; verify names the first edited, deleted or
moved one, from the service and from `arrears audit verify`; concurrent writers queue."""

from __future__ import annotations

import threading
from pathlib import Path

from audit_support import unguarded
from sqlalchemy import Engine, func, select, text, update
from typer.testing import CliRunner

from arrears.cli import app as cli
from arrears.services import audit
from arrears.store.unit_of_work import UnitOfWork
from arrears.store.workbench_models import AuditEvent


def _append(engine: Engine, n: int, actor: str = "tester") -> None:
    with UnitOfWork(engine) as uow:
        for k in range(n):
            audit.append(uow.session, actor, "test.event", "thing", k, {"k": k, "note": "记录"})
        uow.commit()


def _verify(engine: Engine) -> audit.Verdict:
    with UnitOfWork(engine) as uow:
        return audit.verify(uow.session)


def test_an_intact_chain_verifies(engine: Engine) -> None:
    _append(engine, 5)
    assert _verify(engine) == audit.Verdict(True, 5)


def test_an_edited_payload_is_named(engine: Engine) -> None:
    _append(engine, 5)
    with unguarded(engine) as connection:
        connection.execute(update(AuditEvent).where(AuditEvent.seq == 3).values(payload='{"k":99}'))
    verdict = _verify(engine)
    assert (verdict.ok, verdict.first_bad) == (False, 3)
    assert "edited" in verdict.reason


def test_a_deleted_entry_is_named(engine: Engine) -> None:
    _append(engine, 5)
    with unguarded(engine) as connection:
        connection.execute(text("DELETE FROM audit_log WHERE seq = 2"))
    verdict = _verify(engine)
    assert (verdict.ok, verdict.first_bad) == (False, 2)
    assert "missing" in verdict.reason


def test_deleting_the_last_entries_is_caught_by_the_head(engine: Engine) -> None:
    _append(engine, 5)
    with unguarded(engine) as connection:
        connection.execute(text("DELETE FROM audit_log WHERE seq >= 4"))
    verdict = _verify(engine)
    assert (verdict.ok, verdict.first_bad) == (False, 4)


def test_reordered_entries_are_named(engine: Engine) -> None:
    _append(engine, 5)
    columns = ("at", "actor", "action", "entity", "entity_id", "payload", "prev_hash", "hash")
    with unguarded(engine) as connection:
        pair = select(AuditEvent.__table__).where(AuditEvent.seq.in_([2, 3]))
        rows = {r.seq: r for r in connection.execute(pair)}
        for seq, other in ((2, 3), (3, 2)):
            connection.execute(
                update(AuditEvent)
                .where(AuditEvent.seq == seq)
                .values({c: getattr(rows[other], c) for c in columns})
            )
    verdict = _verify(engine)
    assert (verdict.ok, verdict.first_bad) == (False, 2)


def test_concurrent_writers_do_not_fork_the_chain(engine: Engine) -> None:
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def write(name: str) -> None:
        try:
            barrier.wait()
            for _ in range(5):
                with UnitOfWork(engine) as uow:
                    audit.begin_write(uow.session)
                    audit.append(uow.session, name, "test.event", "thing", name, {})
                    uow.commit()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(f"w{n}",)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert _verify(engine) == audit.Verdict(True, 20)


def test_cli_audit_verify_exits_1_naming_the_first_bad_entry(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    runner = CliRunner()
    added = runner.invoke(cli, ["users", "add", "li", "--role", "collector", "-w", str(workspace)])
    assert added.exit_code == 0, added.output
    ok = runner.invoke(cli, ["audit", "verify", "-w", str(workspace)])
    assert ok.exit_code == 0 and "intact: 1 entries" in ok.output
    from arrears.store.db import make_engine

    store = make_engine(None, workspace)
    with unguarded(store) as connection:
        connection.execute(text("UPDATE audit_log SET actor = 'mallory' WHERE seq = 1"))
    store.dispose()
    broken = runner.invoke(cli, ["audit", "verify", "-w", str(workspace)])
    assert broken.exit_code == 1
    assert "broken at entry 1" in broken.output and "edited" in broken.output


def test_api_changes_land_in_the_chain(login, book) -> None:
    c1 = login("c1")
    case = book.case_ids[0]
    c1.post(f"/api/v1/cases/{case}/notes", json={"body": "called"})
    c1.post(f"/api/v1/cases/{case}/contacts", json={"disposition": "RPC"})
    with UnitOfWork(book.engine) as uow:
        actions = list(
            uow.session.scalars(
                select(AuditEvent.action).where(AuditEvent.actor == "c1").order_by(AuditEvent.seq)
            )
        )
        assert actions == ["login", "note.add", "contact.log"]
        assert audit.verify(uow.session).ok


def test_a_rolled_back_transaction_leaves_no_entry(engine: Engine) -> None:
    with UnitOfWork(engine) as uow:
        audit.append(uow.session, "tester", "test.event", "thing", "dropped", {})
        uow.rollback()
        audit.append(uow.session, "tester", "test.event", "thing", "kept", {})
        uow.commit()
    with UnitOfWork(engine) as uow:
        kept = list(uow.session.scalars(select(AuditEvent.entity_id).order_by(AuditEvent.seq)))
    assert kept == ["kept"]
    assert _verify(engine) == audit.Verdict(True, 1)


def test_entries_are_chained_at_commit_so_writers_do_not_wait_on_each_others_work(
    engine: Engine,
) -> None:
    # a writer that has staged entries but not committed holds no lock on the head:
    # another writer commits meanwhile, and the first one's entries follow it
    with UnitOfWork(engine) as slow:
        if engine.dialect.name == "postgresql":  # SQLite has one writer at a time anyway
            audit.append(slow.session, "slow", "test.event", "thing", "a", {})
            audit.append(slow.session, "slow", "test.event", "thing", "b", {})
            slow.session.execute(select(AuditEvent.seq).limit(1)).all()  # transaction open
            with UnitOfWork(engine) as fast:  # would wait forever if "slow" held the head
                fast.session.execute(text("SET LOCAL lock_timeout = '5s'"))
                audit.append(fast.session, "fast", "test.event", "thing", 0, {})
                fast.commit()
        else:
            _append(engine, 1, actor="fast")
            audit.append(slow.session, "slow", "test.event", "thing", "a", {})
            audit.append(slow.session, "slow", "test.event", "thing", "b", {})
        slow.commit()
    with UnitOfWork(engine) as uow:
        order = list(
            uow.session.execute(
                select(AuditEvent.actor, AuditEvent.entity_id).order_by(AuditEvent.seq)
            )
        )
    assert [tuple(r) for r in order] == [("fast", "0"), ("slow", "a"), ("slow", "b")]
    assert _verify(engine) == audit.Verdict(True, 3)


def test_the_chain_holds_for_awkward_text_and_leaves_nothing_staged(engine: Engine) -> None:
    # on PostgreSQL the database computes the hashes at COMMIT; verify recomputes them in
    # Python, so both must canonicalise quotes, backslashes, newlines and non-BMP text alike
    from datetime import UTC, datetime

    from arrears.store.workbench_models import AuditPending

    awkward = ['say "hi"', "back\\slash", "line\nbreak", "催收 😀", "tab\tend", "\u2028"]
    with UnitOfWork(engine) as uow:
        for k, value in enumerate(awkward):
            audit.append(uow.session, f"名{k}", "test.event", "thing", value, {"v": value})
        uow.commit()
    assert _verify(engine) == audit.Verdict(True, len(awkward))
    with UnitOfWork(engine) as uow:
        assert uow.session.scalar(select(func.count()).select_from(AuditPending)) == 0
    moment = datetime(2026, 12, 2, 8, 0, 0, 123456, tzinfo=UTC)
    full = audit.canonical(
        {
            "seq": 17,
            "at": audit.utc_text(moment),
            "actor": "a",
            "action": "b",
            "entity": "c",
            "entity_id": "d",
            "payload": '{"v":"\\u00e9"}',
        }
    )
    assert audit.row_head(moment, "a", "b", "c", "d", '{"v":"\\u00e9"}') + "17}" == full
