"""Workbench user commands beside ``users add|list`` (in ``arrears.commands.web``):
``arrears users reset-password`` and ``arrears users unlock``."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from arrears.commands.common import WorkspaceOpt, console, err, migrated_store

UsernameArg = Annotated[str, typer.Argument(help="Login name.")]


def _read_password(from_stdin: bool) -> str:
    """The new password: the first line of standard input, or typed twice (hidden)."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return typer.prompt("New password", hide_input=True, confirmation_prompt=True)


def reset_password(
    username: UsernameArg,
    password_stdin: Annotated[
        bool,
        typer.Option(
            "--password-stdin",
            help="Read the new password from the first line of standard input.",
        ),
    ] = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """Set a new password (at least 12 characters, not a common one, not containing the
    username), end the user's sessions and lift their sign-in locks. Prints nothing
    secret."""
    from arrears.services.workbench.errors import WorkbenchError
    from arrears.services.workbench.passwords import password_problem
    from arrears.services.workbench.users import reset_password as reset
    from arrears.store.unit_of_work import UnitOfWork

    password = _read_password(password_stdin)
    problem = password_problem(password, username)
    if problem is not None:
        err.print(f"password: {problem}")
        raise typer.Exit(2)
    ws = migrated_store(workspace)
    with UnitOfWork(ws.engine) as uow:
        try:
            reset(uow.session, username, password, "cli")
        except WorkbenchError as exc:
            err.print(str(exc))
            raise typer.Exit(2) from None
        uow.commit()
    console.print(f"password of {username} reset; their sessions are ended")


def unlock(
    username: UsernameArg,
    ip: Annotated[str | None, typer.Option("--ip", help="Only the lock from this address.")] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Lift the sign-in locks and delays of a user (all addresses, or ``--ip``)."""
    from arrears.services.workbench.errors import WorkbenchError
    from arrears.services.workbench.users import unlock_user
    from arrears.store.unit_of_work import UnitOfWork

    ws = migrated_store(workspace)
    with UnitOfWork(ws.engine) as uow:
        try:
            forgotten = unlock_user(uow.session, username, "cli", ip)
        except WorkbenchError as exc:
            err.print(str(exc))
            raise typer.Exit(2) from None
        uow.commit()
    console.print(f"{username} unlocked ({forgotten} failed sign-ins forgotten)")


def register(users_app: typer.Typer) -> None:
    """Add these commands to ``arrears users``."""
    users_app.command("reset-password")(reset_password)
    users_app.command("unlock")(unlock)
