"""Audit chain commands: `arrears audit verify [--anchor FILE]`, `arrears audit anchor
[--out FILE]`, `arrears audit rotate-key`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from arrears.commands.common import WorkspaceOpt, console, err, migrated_store, open_workspace
from arrears.files import write_atomically
from arrears.services.audit import Anchor, AnchorError, take_anchor, verify
from arrears.services.audit_keys import ENV_AUDIT_KEY, KEYRING_FILE, AuditKeyError, rotate_key
from arrears.store.unit_of_work import UnitOfWork


def audit_verify(
    workspace: WorkspaceOpt = None,
    anchor: Annotated[
        Path | None,
        typer.Option(
            "--anchor",
            help="An anchor written by `arrears audit anchor`: also fail when the chain "
            "is shorter than it, or its entry at the anchor no longer has that hash.",
        ),
    ] = None,
) -> None:
    """Check the audit chain; exit 1 naming the first edited, deleted or moved entry
    (or one signed with a key the keyring does not hold)."""
    anchored = None
    if anchor is not None:
        try:
            anchored = Anchor.from_json(anchor.read_text(encoding="utf-8"))
        except (OSError, AnchorError) as exc:
            err.print(f"anchor {anchor} cannot be used: {exc}", markup=False)
            raise typer.Exit(2) from None
    ws = migrated_store(workspace)
    try:
        with UnitOfWork(ws.engine) as uow:
            verdict = verify(uow.session, anchor=anchored)
    except AuditKeyError as exc:
        err.print(str(exc), markup=False, soft_wrap=True)
        raise typer.Exit(2) from None
    if verdict.ok:
        against = f", and it reaches the anchor at entry {anchored.seq}" if anchored else ""
        console.print(f"audit chain intact: {verdict.checked} entries{against}")
        return
    err.print(f"audit chain broken at entry {verdict.first_bad}: {verdict.reason}", markup=False)
    err.print(f"({verdict.checked} entries before it are intact)")
    raise typer.Exit(1)


def audit_anchor(
    workspace: WorkspaceOpt = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Write the anchor to this file (mode 0600), not stdout."),
    ] = None,
) -> None:
    """Write down the chain's head (seq, hash, key id, time) as JSON, to keep where the
    database's writers cannot reach; `arrears audit verify --anchor FILE` checks it."""
    ws = migrated_store(workspace)
    with UnitOfWork(ws.engine) as uow:
        anchor = take_anchor(uow.session)
    if out is None:
        print(anchor.to_json())
        return
    write_atomically(out, anchor.to_json() + "\n")
    console.print(f"anchored the audit chain at entry {anchor.seq} in {out}")


def audit_rotate_key(workspace: WorkspaceOpt = None) -> None:
    """Make a new audit key the signing one; the old keys stay in the workspace's keyring
    file (audit-keys.json), so the entries they signed still verify."""
    if os.environ.get(ENV_AUDIT_KEY, "").strip():
        err.print(
            f"the signing key comes from ${ENV_AUDIT_KEY}: rotate it there (put the new key "
            "first and keep the old ones after it, comma-separated)"
        )
        raise typer.Exit(2)
    ws = open_workspace(workspace)
    if not ws.root.is_dir():
        err.print(f"no workspace at {ws.root}")
        raise typer.Exit(2)
    try:
        key = rotate_key(ws.root)
    except AuditKeyError as exc:
        err.print(str(exc), markup=False, soft_wrap=True)
        raise typer.Exit(2) from None
    console.print(
        f"new audit key {key.key_id} signs from now on; older keys kept in "
        f"{ws.root / KEYRING_FILE} (back that file up now)"
    )


def register(app: typer.Typer) -> None:
    """Add `arrears audit ...` to the main app."""
    audit_app = typer.Typer(help="The tamper-evident audit chain.", no_args_is_help=True)
    audit_app.command("verify")(audit_verify)
    audit_app.command("anchor")(audit_anchor)
    audit_app.command("rotate-key")(audit_rotate_key)
    app.add_typer(audit_app, name="audit")
