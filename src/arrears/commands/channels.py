"""Channel commands: templates (list, save, preview), outbox (dispatch, status), dialer
list export, letter rendering. Thin: parse, call ``arrears.channels``, print."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from arrears.commands.common import (
    WorkspaceOpt,
    business_today,
    console,
    err,
    open_workspace,
    parse_date,
)

templates_app = typer.Typer(
    help="Message templates (短信/邮件/话术/信函模板).", no_args_is_help=True
)
outbox_app = typer.Typer(
    help="The outbox: dispatch messages, show delivery status.", no_args_is_help=True
)
dialer_app = typer.Typer(help="Dialer lists (外呼名单).", no_args_is_help=True)
letters_app = typer.Typer(help="Letters as PDF (催收函、律师函).", no_args_is_help=True)

PackOpt = Annotated[str, typer.Option("--pack", help="Compliance rule pack: cn or us-regf.")]
LanguageOpt = Annotated[str, typer.Option("--language", "-l", help="zh_CN or en.")]


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(code)


def _sample_fields(overrides: list[str], language: str = "zh_CN", lender=None):  # type: ignore[no-untyped-def]
    from decimal import Decimal

    from arrears.channels.fields import MergeFields

    values: dict[str, object] = {
        "customer_name": "张三", "account": "6222020012341234",
        "amount_due": Decimal("1246.56"), "currency": "CNY", "due_date": date(2026, 11, 15),
        "pay_link": "https://pay.example.com/r/ARR123", "collector_name": "李敏",
        "collector_phone": "021-6000-1234", "institution_name": "示例消费金融",
        "reference": "ARR-2026-000123",
    }  # fmt: skip
    # the lender's fields (brand, hotline, repayment account, law firm): the workspace's
    from dataclasses import asdict

    from arrears.channels.samples import sample_merge_fields

    sample = asdict(sample_merge_fields(language, lender))
    values.update({k: v for k, v in sample.items() if k not in values})
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep or key not in values:
            raise _fail(
                f"--field {item!r}: expected NAME=VALUE with NAME one of {', '.join(values)}", 2
            )
        if key == "amount_due":
            values[key] = Decimal(value)
        elif key == "due_date":
            values[key] = parse_date(value, "--field due_date")
        else:
            values[key] = value
    return MergeFields(**values)  # type: ignore[arg-type]


@templates_app.command("list")
def templates_list(workspace: WorkspaceOpt = None) -> None:
    """Every template at its latest version (v0 = the packaged default). One that is
    disabled or that the template sandbox refuses is never rendered: "renders" says
    DISABLED or REFUSED and a line under the table names the rule and construct."""
    from rich.table import Table
    from sqlalchemy.orm import Session

    from arrears.channels.templates import list_templates, refusal

    ws = open_workspace(workspace)
    with Session(ws.engine) as session:
        rows = list_templates(session)
    table = Table("name", "language", "channel", "version", "subject", "renders")
    refused = [(t, refusal(t)) for t in rows]
    for t, reason in refused:
        status = "yes" if reason is None else ("DISABLED" if t.disabled_reason else "REFUSED")
        table.add_row(t.name, t.language, t.channel, str(t.version), (t.subject or "")[:50], status)
    console.print(table)
    for t, reason in refused:
        if reason is not None:  # the whole reason, unwrapped: it names rule and construct
            console.print(
                f"not rendered: {t.name} ({t.language}) v{t.version}: {reason}",
                markup=False, soft_wrap=True,
            )  # fmt: skip


@templates_app.command("save")
def templates_save(
    name: Annotated[str, typer.Argument(help="Template name, e.g. overdue_sms.")],
    body_file: Annotated[Path, typer.Argument(help="File with the Jinja2 body (UTF-8).")],
    channel: Annotated[
        str, typer.Option("--channel", "-c", help="sms, email, push, call, letter.")
    ],
    language: LanguageOpt = "zh_CN",
    subject: Annotated[
        str | None, typer.Option("--subject", help="Subject (email, push, letter).")
    ] = None,
    pack: PackOpt = "cn",
    by: Annotated[str | None, typer.Option("--by", help="Who saves it.")] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Save a new version of a template after the compliance linter passed it; a refused
    template prints each finding (rule, phrase) and nothing is saved."""
    from sqlalchemy.orm import Session

    from arrears.channels.templates import TemplateError, save_template

    try:
        body = body_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail(f"{body_file}: cannot read: {exc}", 2) from None
    ws = open_workspace(workspace)
    try:
        with Session(ws.engine) as session, session.begin():
            saved = save_template(
                session, name=name, channel=channel, language=language, body=body,
                subject=subject, pack=pack, created_by=by,
            )  # fmt: skip
    except TemplateError as exc:
        raise _fail(str(exc)) from None
    console.print(f"saved {saved.name} ({saved.language}) version {saved.version}")


@templates_app.command("preview")
def templates_preview(
    name: Annotated[str, typer.Argument(help="Template name.")],
    language: LanguageOpt = "zh_CN",
    version: Annotated[int | None, typer.Option("--version", help="Default: latest.")] = None,
    field: Annotated[
        list[str] | None, typer.Option("--field", "-f", help="NAME=VALUE merge field (repeatable).")
    ] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Render a template with sample merge fields (override with --field); SMS shows
    encoding, length and segment count."""
    from sqlalchemy.orm import Session

    from arrears.channels.templates import TemplateError, get_template, render
    from arrears.services.settings import SettingsError, load_settings

    ws = open_workspace(workspace)
    try:
        with Session(ws.engine) as session:
            template = get_template(session, name, language, version)
        lender = load_settings(ws.root).institution
        message = render(template, _sample_fields(field or [], language, lender))
    except (TemplateError, SettingsError) as exc:
        raise _fail(str(exc)) from None
    console.print(
        f"[bold]{template.name}[/] {template.language} {template.channel} v{template.version}"
    )
    if message.subject:
        console.print(f"subject: {message.subject}", markup=False)
    console.print(message.text, markup=False, soft_wrap=True)
    if message.sms is not None:
        sms = message.sms
        console.print(
            f"SMS: {sms.encoding}, {sms.units} units, {sms.segments} segment(s) "
            f"of up to {sms.per_segment}"
        )


@outbox_app.command("dispatch")
def outbox_dispatch(
    smtp_host: Annotated[
        str | None, typer.Option("--smtp-host", help="Send email by SMTP.")
    ] = None,
    smtp_port: Annotated[int, typer.Option("--smtp-port")] = 25,
    smtp_starttls: Annotated[bool, typer.Option("--smtp-starttls")] = False,
    gateway: Annotated[
        str | None, typer.Option("--gateway", help="SMS/push gateway base URL.")
    ] = None,
    pack: PackOpt = "cn",
    no_recheck: Annotated[
        bool, typer.Option("--no-recheck", help="Skip the send-time compliance re-check.")
    ] = False,
    limit: Annotated[int, typer.Option("--limit", help="Messages claimed per round.")] = 50,
    workspace: WorkspaceOpt = None,
) -> None:
    """Send the due messages: email by SMTP and SMS/push by the gateway when given,
    else to the workspace's file spool (outbox/<channel>/); letters to the print spool
    outbox/letter/<date>/, set as one PDF print run per date. Each is re-checked by
    the compliance gate first."""
    from arrears.channels.adapters.http_gateway import HttpGatewayAdapter
    from arrears.channels.adapters.smtp import SmtpAdapter
    from arrears.channels.dispatcher import Dispatcher
    from arrears.channels.service import dispatch_workspace, print_letters, workspace_adapters

    ws = open_workspace(workspace)
    smtp = SmtpAdapter(smtp_host, smtp_port, starttls=smtp_starttls) if smtp_host else None
    http = HttpGatewayAdapter(gateway) if gateway else None
    if no_recheck:
        adapters = workspace_adapters(ws.root, smtp=smtp, gateway=http)
        report = Dispatcher(ws.engine, adapters).run_until_idle(limit)
    else:
        report = dispatch_workspace(
            ws.engine, ws.root, pack=pack, smtp=smtp, gateway=http, limit=limit
        )
    outcomes = ", ".join(f"{k} {v}" for k, v in sorted(report.outcomes.items())) or "nothing due"
    console.print(f"dispatched {report.claimed} claim(s): {outcomes}")
    for run in print_letters(ws.root):
        console.print(f"print run {run}")


@outbox_app.command("status")
def outbox_status(
    message: Annotated[
        str | None, typer.Option("--message", "-m", help="Idempotency key or provider id.")
    ] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Messages by channel and status, blocked ones by rule; with --message, the
    delivery events of one message."""
    from rich.table import Table

    from arrears.channels.service import blocked_by_rule, message_history, outbox_counts

    ws = open_workspace(workspace)
    if message:
        events = message_history(ws.engine, message)
        if not events:
            raise _fail(f"no outbox message {message!r}")
        table = Table("at", "status", "detail")
        for row in events:
            table.add_row(*row)
        console.print(table)
        return
    table = Table("channel", "status", "messages")
    for (channel, status), n in outbox_counts(ws.engine).items():
        table.add_row(channel, status, str(n))
    console.print(table)
    blocked = blocked_by_rule(ws.engine)
    if blocked:
        console.print("blocked by rule: " + ", ".join(f"{r} {n}" for r, n in blocked.items()))


@dialer_app.command("export")
def dialer_export(
    day: Annotated[
        str | None,
        typer.Option(
            "--date", help="Dialing day YYYY-MM-DD (default: today in the workspace's time zone)."
        ),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="CSV path (default: dialer/DAY.csv).")
    ] = None,
    pack: PackOpt = "cn",
    workspace: WorkspaceOpt = None,
) -> None:
    """Export the calls due now to the day's dialer list CSV (priority, phone, masked
    account, amount, script, local call window), re-checked by compliance."""
    from arrears.channels.dialer_export import export_dialer_list
    from arrears.channels.recheck import store_recheck

    ws = open_workspace(workspace)
    dialing_day = parse_date(day, "--date") if day else business_today(ws.root)
    path = out or ws.root / "dialer" / f"{dialing_day.isoformat()}.csv"
    report = export_dialer_list(
        ws.engine, path, dialing_day, pack=pack, recheck=store_recheck(ws.engine, pack)
    )
    listed = report.outcomes.get("sent", 0)
    console.print(f"{listed} call(s) listed in {path}; blocked {report.outcomes.get('blocked', 0)}")


@letters_app.command("render")
def letters_render(
    out: Annotated[Path, typer.Argument(help="PDF file to write.")],
    letter_file: Annotated[
        Path | None, typer.Option("--letter", help="Letter as JSON (Letter.to_json).")
    ] = None,
    sample: Annotated[
        str | None, typer.Option("--sample", help="Render a sample letter in zh_CN or en.")
    ] = None,
    template: Annotated[
        str, typer.Option("--template", help="demand_letter or lawyer_letter.")
    ] = "demand_letter",
) -> None:
    """Render a letter (from --letter JSON, or --sample LANGUAGE) to a PDF with the
    embedded CJK font."""
    from arrears.channels.letters import Letter, LetterError, write_letter_pdf
    from arrears.channels.samples import sample_letter
    from arrears.channels.templates import TemplateError

    try:
        if letter_file is not None:
            letter = Letter.from_json(letter_file.read_text(encoding="utf-8"))
        elif sample is not None:
            letter = sample_letter(sample, template)
        else:
            raise _fail("give --letter FILE.json or --sample zh_CN|en", 2)
        write_letter_pdf(letter, out)
    except (LetterError, TemplateError, OSError) as exc:
        err.print(str(exc), markup=False)
        raise typer.Exit(1) from None
    console.print(f"wrote {out}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main app."""
    app.add_typer(templates_app, name="templates")
    app.add_typer(outbox_app, name="outbox")
    app.add_typer(dialer_app, name="dialer")
    app.add_typer(letters_app, name="letters")
