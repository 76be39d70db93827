"""Workbench commands: `arrears serve`, `arrears users add|list` (reset-password and
unlock are in ``arrears.commands.users``), `arrears allocate`;
`arrears audit ...` is in ``arrears.commands.audit``."""

from __future__ import annotations

import ipaddress
import os
from decimal import Decimal, InvalidOperation
from typing import Annotated

import typer

from arrears.commands import audit as audit_commands
from arrears.commands import users as user_commands
from arrears.commands.common import (
    AsOfOpt,
    WorkspaceOpt,
    console,
    err,
    migrated_store,
    parse_date,
)

HostOpt = Annotated[str, typer.Option("--host", help="Address to listen on.")]
PortOpt = Annotated[int, typer.Option("--port", help="Port to listen on.")]


def _missing_web(exc: ModuleNotFoundError) -> typer.Exit:
    err.print(
        f"the workbench needs the web extra ({exc.name} missing): pip install 'arrears[web]'",
        markup=False,  # Rich would take "[web]" for a style tag and print nothing of it
    )
    return typer.Exit(2)


WorkersOpt = Annotated[
    int,
    typer.Option(
        "--workers",
        min=1,
        max=64,
        help="Worker processes (on PostgreSQL, about one per core; SQLite: keep 1).",
    ),
]


SecureCookiesOpt = Annotated[
    bool | None,
    typer.Option(
        "--secure-cookies/--no-secure-cookies",
        help="Send cookies over HTTPS only (default: on unless --host is a loopback "
        "address; serve behind a TLS proxy then).",
    ),
]
SessionIdleOpt = Annotated[
    float,
    typer.Option("--session-idle-minutes", min=1, help="End a session unused this long."),
]
SessionHoursOpt = Annotated[
    float,
    typer.Option("--session-hours", min=0.1, help="End every session this long after sign-in."),
]


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or a name) is this machine only."""
    if host.lower() in {"localhost", "localhost.localdomain"}:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def serve(
    workspace: WorkspaceOpt = None,
    host: HostOpt = "127.0.0.1",
    port: PortOpt = 8000,
    workers: WorkersOpt = 1,
    secure_cookies: SecureCookiesOpt = None,
    session_idle_minutes: SessionIdleOpt = 30,
    session_hours: SessionHoursOpt = 12,
) -> None:
    """Start the workbench (pages at /, JSON API at /api/v1) on the workspace's store.
    When the store has no users, an admin is created and its password printed once.
    Sessions end after --session-idle-minutes unused or --session-hours after sign-in."""
    try:
        import uvicorn

        from arrears.services.workbench.seed import seed_workbench
        from arrears.store.db import ENV_URL
        from arrears.web.app import (
            SECURE_COOKIES_ENV,
            SESSION_HOURS_ENV,
            SESSION_IDLE_ENV,
            create_app,
            serving,
            settings_from_environment,
        )
        from arrears.workspace import ENV_WORKSPACE
    except ModuleNotFoundError as exc:
        raise _missing_web(exc) from None
    secure = not is_loopback(host) if secure_cookies is None else secure_cookies
    # the workers read the settings from the environment, as the single process does
    os.environ[SECURE_COOKIES_ENV] = "1" if secure else "0"
    os.environ[SESSION_IDLE_ENV] = str(session_idle_minutes)
    os.environ[SESSION_HOURS_ENV] = str(session_hours)
    ws = migrated_store(workspace)
    password = seed_workbench(ws.engine)
    console.print(f"store: {ws.display_url}")
    if password is not None:
        console.print(
            f"created user [bold]admin[/bold] with password [bold]{password}[/bold] "
            "(shown once; change it or add users with `arrears users add`)"
        )
    console.print(f"workbench: http://{host}:{port}/   API: http://{host}:{port}/api/v1/docs")
    if secure:
        console.print(
            "cookies are sent over HTTPS only (--secure-cookies): "
            "open the workbench through the TLS proxy in front of it"
        )
    if workers == 1:
        ws.engine.dispose()  # the app keeps a pool of its own, sized for serving
        settings = settings_from_environment()
        app = serving(create_app(ws.root, ws.url, settings=settings, migrate=False))
        uvicorn.run(app, host=host, port=port, log_level="warning")
        return
    # each worker process builds its own app (and engine) from the environment
    ws.engine.dispose()
    os.environ[ENV_WORKSPACE] = str(ws.root)
    os.environ[ENV_URL] = ws.database_url
    uvicorn.run(
        "arrears.web.app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
    )


def users_add(
    username: Annotated[str, typer.Argument(help="Login name.")],
    role: Annotated[
        str,
        typer.Option("--role", help="collector, team_lead, manager, compliance, agency or admin."),
    ] = "collector",
    team: Annotated[
        str | None, typer.Option("--team", help="Team name (created when new).")
    ] = None,
    agency: Annotated[
        str | None, typer.Option("--agency", help="Agency code (agency users).")
    ] = None,
    limit: Annotated[
        str, typer.Option("--limit", help="Approval limit for arrangements, e.g. 500.00.")
    ] = "0",
    language: Annotated[str, typer.Option("--language", help="zh_CN or en.")] = "zh_CN",
    password: Annotated[
        str | None, typer.Option("--password", help="Password (default: generated, printed).")
    ] = None,
    name: Annotated[str | None, typer.Option("--name", help="Display name.")] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Add a workbench user; prints the password when it was generated."""
    try:
        from arrears.services.audit import append  # noqa: F401  (web extra check)
        from arrears.services.workbench.errors import WorkbenchError
        from arrears.services.workbench.users import (
            create_team,
            create_user,
            new_password,
            team_by_name,
        )
    except ModuleNotFoundError as exc:
        raise _missing_web(exc) from None
    from sqlalchemy import select

    from arrears.store.unit_of_work import UnitOfWork
    from arrears.store.workbench_models import Agency

    try:
        approval_limit = Decimal(limit)
    except InvalidOperation:
        raise typer.BadParameter(f"--limit {limit!r} is not an amount") from None
    ws = migrated_store(workspace)
    secret = password or new_password(username)
    with UnitOfWork(ws.engine) as uow:
        try:
            team_id = None
            if team:
                found = team_by_name(uow.session, team)
                team_id = (found or create_team(uow.session, team, "cli")).id
            agency_id = None
            if agency:
                row = uow.session.scalar(select(Agency).where(Agency.code == agency))
                if row is None:
                    err.print(f"--agency: no agency with code {agency!r}")
                    raise typer.Exit(2)
                agency_id = row.id
            create_user(
                uow.session,
                username,
                secret,
                role,
                display_name=name or username,
                team_id=team_id,
                agency_id=agency_id,
                language=language,
                approval_limit=approval_limit,
                actor="cli",
            )
        except WorkbenchError as exc:
            err.print(str(exc))
            raise typer.Exit(2) from None
        uow.commit()
    console.print(f"added {role} {username}" + ("" if password else f", password: {secret}"))


def users_list(workspace: WorkspaceOpt = None) -> None:
    """List the workbench users."""
    from rich.table import Table

    from arrears.store.unit_of_work import UnitOfWork
    from arrears.store.workbench_models import Team, User

    ws = migrated_store(workspace)
    table = Table("username", "name", "role", "team", "agency", "limit", "language", "active")
    with UnitOfWork(ws.engine) as uow:
        teams = {t.id: t.name for t in uow.session.query(Team)}
        for user in uow.session.query(User).order_by(User.username):
            table.add_row(
                user.username,
                user.display_name,
                user.role,
                teams.get(user.team_id, "") if user.team_id else "",
                str(user.agency_id or ""),
                str(user.approval_limit),
                user.language,
                "yes" if user.active else "no",
            )
    console.print(table)


def allocate(
    as_of: AsOfOpt = None,
    workspace: WorkspaceOpt = None,
    optimize: Annotated[
        bool,
        typer.Option(
            "--optimize",
            help="Cases to collectors by expected collections under capacity (HiGHS), "
            "not balanced by amount.",
        ),
    ] = False,
    agency_intake: Annotated[
        list[str] | None,
        typer.Option(
            "--agency-intake",
            help="With --optimize: CODE=N, the most new cases agency CODE takes (repeat).",
        ),
    ] = None,
) -> None:
    """Allocate the cases open on the day (分案) to teams by bucket and to each team's
    collectors, balanced by amount overdue (--optimize: by expected collections from
    each collector's recovery rate, under an even capacity), from the day's snapshot and
    the rules in arrears.toml ([allocation.teams]: team = [buckets]); a case stays with
    its collector while its bucket stays with their team."""
    from rich.table import Table

    from arrears.services.settings import SettingsError
    from arrears.services.workbench.allocation import allocate_workspace_day
    from arrears.services.workbench.errors import WorkbenchError

    intake: dict[str, int] = {}
    for item in agency_intake or []:
        code, _, n = item.partition("=")
        if not code or not n.strip().isdigit():
            raise typer.BadParameter(
                f"{item!r}: expected CODE=N (N a whole number)", param_hint="'--agency-intake'"
            )
        intake[code.strip()] = int(n)
    if intake and not optimize:
        raise typer.BadParameter("needs --optimize", param_hint="'--agency-intake'")
    day = parse_date(as_of)
    ws = migrated_store(workspace)
    try:
        result = allocate_workspace_day(ws, day, optimize=optimize, agency_intake=intake)
    except (WorkbenchError, SettingsError) as exc:
        err.print(str(exc), markup=False, soft_wrap=True)
        raise typer.Exit(2) from None
    table = Table("collector", "cases", "amount overdue", title=f"Allocation as of {day}")
    for user, (count, owed) in result.books.items():
        table.add_row(user, f"{count:,}", f"{owed:,.2f}")
    console.print(table)
    console.print(
        f"{result.cases:,} open cases: {result.kept:,} kept by their collector, "
        f"{result.moved:,} allocated, {result.pooled:,} to the pool"
        + (f", {result.placed:,} placed with agencies" if intake else "")
    )


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main app."""
    app.command("serve")(serve)
    app.command("allocate")(allocate)
    audit_commands.register(app)
    users_app = typer.Typer(help="Workbench users.", no_args_is_help=True)
    users_app.command("add")(users_add)
    users_app.command("list")(users_list)
    user_commands.register(users_app)
    app.add_typer(users_app, name="users")
