"""The keyed, append-only audit chain (issue 22, finding 3): recomputing the hashes after
an edit, or cutting the tail and moving the head back, no longer passes verify; the
database refuses UPDATE and DELETE on the chain; keys rotate, and live outside the
database in a file of mode 0600 (or the environment)."""

from __future__ import annotations

import hashlib
import json
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from audit_support import append, unguarded, verify
from sqlalchemy import Engine, select, text, update
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from arrears.cli import app as cli
from arrears.services import audit
from arrears.services.audit_keys import (
    ENV_AUDIT_KEY,
    KEYRING_FILE,
    LEGACY,
    AuditKeyError,
    key_id_of,
    rotate_key,
)
from arrears.store.db import make_engine, workspace_of
from arrears.store.unit_of_work import UnitOfWork
from arrears.store.workbench_models import AuditEvent, AuditHead, AuditPending

ENV_KEY = bytes.fromhex("5e" * 32)  # the key tests/conftest.py puts in the environment


def _rechain_plain(engine: Engine, edited_seq: int, payload: str, key_id: str | None) -> None:
    """The attack: edit entry ``edited_seq``, then recompute the plain sha256 chain from
    there to the end and move the head, as the old unkeyed chain allowed."""
    with unguarded(engine) as connection:
        rows = list(connection.execute(select(AuditEvent.__table__).order_by(AuditEvent.seq)))
        prev = audit.GENESIS
        for row in rows:
            if row.seq < edited_seq:
                prev = row.hash
                continue
            body = payload if row.seq == edited_seq else row.payload
            fields = (row.at, row.actor, row.action, row.entity, row.entity_id, body)
            digest = audit.entry_hash(prev, row.seq, *fields)
            values = {"payload": body, "prev_hash": prev, "hash": digest}
            if key_id is not None:
                values["key_id"] = key_id
            connection.execute(update(AuditEvent).where(AuditEvent.seq == row.seq).values(values))
            prev = digest
        connection.execute(update(AuditHead).values(seq=rows[-1].seq, hash=prev))


@pytest.mark.parametrize("relabel", [None, LEGACY], ids=["key-id-kept", "relabelled-legacy"])
def test_an_edit_with_every_later_hash_recomputed_is_named(
    engine: Engine, relabel: str | None
) -> None:
    append(engine, 5)
    _rechain_plain(engine, 3, '{"k":99}', relabel)
    verdict = verify(engine)
    assert (verdict.ok, verdict.first_bad) == (False, 3)
    assert "entry 3" in verdict.reason


def _cut_tail_and_rewind(engine: Engine, keep: int) -> None:
    with unguarded(engine) as connection:
        connection.execute(text(f"DELETE FROM audit_log WHERE seq > {keep}"))
        kept = connection.scalar(select(AuditEvent.hash).where(AuditEvent.seq == keep))
        connection.execute(update(AuditHead).values(seq=keep, hash=kept))


def test_a_cut_tail_with_the_head_moved_back_fails_against_an_anchor(engine: Engine) -> None:
    append(engine, 5)
    with UnitOfWork(engine) as uow:
        anchor = audit.take_anchor(uow.session)
    assert (anchor.seq, anchor.key_id) == (5, key_id_of(ENV_KEY))
    _cut_tail_and_rewind(engine, 3)
    assert verify(engine).ok  # consistent without an anchor: that is what anchors are for
    verdict = verify(engine, anchor)
    assert (verdict.ok, verdict.first_bad) == (False, 4)
    assert "anchor" in verdict.reason and "entry 5" in verdict.reason


def test_a_cut_tail_then_written_past_again_fails_against_an_anchor(engine: Engine) -> None:
    # the chain grows past the anchor again after the cut, with genuine signed entries:
    # the entry at the anchor's seq is not the one anchored
    append(engine, 5)
    with UnitOfWork(engine) as uow:
        anchor = audit.take_anchor(uow.session)
    _cut_tail_and_rewind(engine, 3)
    append(engine, 4, actor="later")
    assert verify(engine).ok
    verdict = verify(engine, anchor)
    assert (verdict.ok, verdict.first_bad) == (False, 5)
    assert "anchored" in verdict.reason


def test_an_intact_chain_that_grew_past_its_anchor_verifies(engine: Engine) -> None:
    append(engine, 3)
    with UnitOfWork(engine) as uow:
        anchor = audit.take_anchor(uow.session)
    append(engine, 2)
    assert verify(engine, audit.Anchor.from_json(anchor.to_json())) == audit.Verdict(True, 5)


CHANGES = {
    "update": "UPDATE audit_log SET actor = 'mallory' WHERE seq = 1",
    "delete": "DELETE FROM audit_log WHERE seq = 2",
    "delete-all": "DELETE FROM audit_log",
    "rewind-head": "UPDATE audit_head SET seq = 1",
    "delete-head": "DELETE FROM audit_head",
}


@pytest.mark.parametrize("statement", CHANGES.values(), ids=CHANGES.keys())
def test_the_database_refuses_to_change_the_chain(engine: Engine, statement: str) -> None:
    append(engine, 3)
    refused = pytest.raises(DBAPIError, match=r"append-only|only moves forward")
    with refused, engine.begin() as connection:
        connection.execute(text(statement))
    assert verify(engine) == audit.Verdict(True, 3)


@pytest.mark.postgres
def test_postgresql_refuses_to_truncate_the_chain(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("TRUNCATE is PostgreSQL's")
    append(engine, 2)
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
        connection.execute(text("TRUNCATE audit_log"))
    assert verify(engine) == audit.Verdict(True, 2)


def test_postgresql_refuses_an_entry_staged_without_the_key(engine: Engine) -> None:
    # someone with INSERT on audit_pending but without the key cannot extend the chain
    if engine.dialect.name != "postgresql":
        pytest.skip("the database chains entries on PostgreSQL only")
    append(engine, 1)
    moment = datetime(2026, 12, 1, tzinfo=UTC)
    entry = {"at": moment, "actor": "m", "action": "a", "entity": "e", "entity_id": "1"}
    head = audit.row_head(**entry, payload="{}")
    with pytest.raises(DBAPIError, match="without an audit key"), engine.begin() as connection:
        connection.execute(
            AuditPending.__table__.insert().values(**entry, payload="{}", canonical_head=head)
        )
    assert verify(engine) == audit.Verdict(True, 1)


@pytest.fixture
def workspace_store(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Engine]:
    """``engine``'s store opened through a workspace folder, with no key in the
    environment: its keys are the workspace's keyring file."""
    monkeypatch.delenv(ENV_AUDIT_KEY, raising=False)
    folder = tmp_path / "ws"
    folder.mkdir()
    store = make_engine(engine.url.render_as_string(hide_password=False), folder)
    yield store
    store.dispose()


def _folder(store: Engine) -> Path:
    folder = workspace_of(store)
    assert folder is not None
    return folder


def test_the_keyring_file_is_made_on_first_use_with_mode_0600(workspace_store: Engine) -> None:
    keyring = _folder(workspace_store) / KEYRING_FILE
    assert not keyring.exists()
    append(workspace_store, 2)
    assert stat.S_IMODE(keyring.stat().st_mode) == 0o600
    data = json.loads(keyring.read_text())
    secret = bytes.fromhex(data["keys"][0]["secret"])
    assert data["current"] == key_id_of(secret) == hashlib.sha256(secret).hexdigest()[:8]
    with UnitOfWork(workspace_store) as uow:
        ids = set(uow.session.scalars(select(AuditEvent.key_id)))
    assert ids == {data["current"]}
    assert verify(workspace_store) == audit.Verdict(True, 2)


def test_a_keyring_file_others_may_read_is_refused(workspace_store: Engine) -> None:
    append(workspace_store, 1)
    keyring = _folder(workspace_store) / KEYRING_FILE
    keyring.chmod(0o644)
    with pytest.raises(AuditKeyError, match="chmod 600"):
        append(workspace_store, 1)


def test_after_rotation_old_and_new_entries_verify(workspace_store: Engine) -> None:
    append(workspace_store, 2)
    folder = _folder(workspace_store)
    first = json.loads((folder / KEYRING_FILE).read_text())["current"]
    new = rotate_key(folder)
    append(workspace_store, 2)
    with UnitOfWork(workspace_store) as uow:
        ids = list(uow.session.scalars(select(AuditEvent.key_id).order_by(AuditEvent.seq)))
    assert ids == [first, first, new.key_id, new.key_id] and first != new.key_id
    assert verify(workspace_store) == audit.Verdict(True, 4)
    assert stat.S_IMODE((folder / KEYRING_FILE).stat().st_mode) == 0o600


def test_an_entry_signed_with_a_key_the_keyring_lacks_is_refused_by_name(
    workspace_store: Engine,
) -> None:
    append(workspace_store, 2)
    folder = _folder(workspace_store)
    lost = json.loads((folder / KEYRING_FILE).read_text())["current"]
    rotate_key(folder)
    append(workspace_store, 1)
    keyring = folder / KEYRING_FILE
    data = json.loads(keyring.read_text())
    data["keys"] = [key for key in data["keys"] if key["id"] != lost]
    keyring.write_text(json.dumps(data))
    verdict = verify(workspace_store)
    assert (verdict.ok, verdict.first_bad) == (False, 1)
    assert f"key {lost}, which is not in the keyring" in verdict.reason


def test_entries_from_before_keys_verify_and_the_first_keyed_entry_chains_on_them(
    engine: Engine,
) -> None:
    # what migration 0009 leaves: plain sha256 entries with key id "legacy"
    append(engine, 3)
    _rechain_plain(engine, 1, '{"k":0,"note":"记录"}', LEGACY)
    append(engine, 2)
    with UnitOfWork(engine) as uow:
        ids = list(uow.session.scalars(select(AuditEvent.key_id).order_by(AuditEvent.seq)))
    assert ids == [LEGACY] * 3 + [key_id_of(ENV_KEY)] * 2
    assert verify(engine) == audit.Verdict(True, 5)
    # the legacy entries can no longer be recomputed: the keyed entry 4 covers entry 3
    _rechain_plain(engine, 2, '{"k":99}', None)
    verdict = verify(engine)
    assert (verdict.ok, verdict.first_bad) == (False, 4)


def test_several_environment_keys_sign_with_the_first_and_verify_with_all(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    append(engine, 1)
    newer = "7a" * 32
    monkeypatch.setenv(ENV_AUDIT_KEY, f"{newer},{ENV_KEY.hex()}")
    append(engine, 1)
    with UnitOfWork(engine) as uow:
        ids = list(uow.session.scalars(select(AuditEvent.key_id).order_by(AuditEvent.seq)))
    assert ids == [key_id_of(ENV_KEY), key_id_of(bytes.fromhex(newer))]
    assert verify(engine) == audit.Verdict(True, 2)
    monkeypatch.setenv(ENV_AUDIT_KEY, "not hex")
    with pytest.raises(AuditKeyError, match="hex"):
        append(engine, 1)


def test_cli_anchor_rotate_and_verify(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_AUDIT_KEY, raising=False)
    workspace = tmp_path / "ws"
    workspace.mkdir()
    runner = CliRunner()
    w = ["-w", str(workspace)]
    added = runner.invoke(cli, ["users", "add", "li", "--role", "collector", *w])
    assert added.exit_code == 0, added.output
    assert stat.S_IMODE((workspace / KEYRING_FILE).stat().st_mode) == 0o600
    anchor_file = tmp_path / "anchor.json"
    anchored = runner.invoke(cli, ["audit", "anchor", "--out", str(anchor_file), *w])
    assert anchored.exit_code == 0, anchored.output
    assert stat.S_IMODE(anchor_file.stat().st_mode) == 0o600
    assert json.loads(anchor_file.read_text())["seq"] == 1
    printed = runner.invoke(cli, ["audit", "anchor", *w])
    assert json.loads(printed.output)["hash"] == json.loads(anchor_file.read_text())["hash"]
    rotated = runner.invoke(cli, ["audit", "rotate-key", *w])
    assert rotated.exit_code == 0 and "new audit key" in rotated.output
    assert runner.invoke(cli, ["users", "add", "wang", *w]).exit_code == 0
    ok = runner.invoke(cli, ["audit", "verify", "--anchor", str(anchor_file), *w])
    assert ok.exit_code == 0 and "intact: 2 entries" in ok.output, ok.output
    store = make_engine(None, workspace)
    with unguarded(store) as connection:
        connection.execute(text("DELETE FROM audit_log"))
        connection.execute(update(AuditHead).values(seq=0, hash=audit.GENESIS))
    store.dispose()
    assert runner.invoke(cli, ["audit", "verify", *w]).exit_code == 0
    broken = runner.invoke(cli, ["audit", "verify", "--anchor", str(anchor_file), *w])
    assert broken.exit_code == 1
    assert "broken at entry 1" in broken.output and "anchor" in broken.output
    monkeypatch.setenv(ENV_AUDIT_KEY, "ab" * 32)
    refused = runner.invoke(cli, ["audit", "rotate-key", *w])
    assert refused.exit_code == 2 and ENV_AUDIT_KEY in refused.output
