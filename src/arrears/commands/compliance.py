"""Compliance commands: `arrears compliance check` (a stable contract), packs, template lint."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from arrears.compliance.files import AttemptRow

compliance_app = typer.Typer(
    help="Compliance gate (合规): check contact attempts, list rule packs, lint templates.",
    no_args_is_help=True,
)

PackOpt = Annotated[
    str,
    typer.Option(
        "--pack", help="Rule pack: cn, cn-2026, us-regf, us-ma, or a path to a pack .toml."
    ),
]


def _fail(message: str, code: int = 2) -> typer.Exit:
    # Plain echo: problem lines must not be wrapped or styled (tools read them).
    typer.echo(message, err=True)
    return typer.Exit(code)


@compliance_app.command("check")
def check(
    attempts: Annotated[
        Path, typer.Argument(help="ATTEMPTS.csv (or .parquet), rows in time order.")
    ],
    pack: PackOpt = "cn",
    holds: Annotated[
        Path | None,
        typer.Option("--holds", help="HOLDS.csv: debtor_id, kind[, channel, debt_id, reason]."),
    ] = None,
    blacklist: Annotated[
        Path | None,
        typer.Option("--blacklist", help="File of phone numbers/emails never to use, one a line."),
    ] = None,
    reasons: Annotated[
        bool, typer.Option("--reasons", help="Add a 'reasons' list to every output line.")
    ] = False,
    consents: Annotated[
        Path | None,
        typer.Option(
            "--consents",
            help="CONSENTS.csv: debtor_id, recipient[, channel]: prior consents to"
            " autodialled calls and texts (rows with dialing autodialer or ai_voice).",
        ),
    ] = None,
) -> None:
    """Evaluate ATTEMPTS.csv (or a Parquet file with the same columns) as a sequence and
    print one JSON object per line: {"attempt_id", "allowed", "rules"}. A malformed file
    prints every problem (file, row, field, reason) to stderr, nothing to stdout, and
    exits with code 2."""
    from arrears.compliance import ComplianceError, Gate, load_pack
    from arrears.compliance.files import (
        read_attempts,
        read_blacklist,
        read_consents,
        read_holds,
    )

    try:
        rule_pack = load_pack(pack)
        is_parquet = attempts.suffix.lower() == ".parquet"
        rows = _parquet_attempts(attempts) if is_parquet else read_attempts(attempts)
        hold_map = read_holds(holds) if holds else {}
        values = read_blacklist(blacklist) if blacklist else []
        consent_map = read_consents(consents) if consents else {}
    except ComplianceError as exc:
        raise _fail(str(exc)) from None
    gate = Gate(rule_pack, holds=hold_map, blacklist=values, consents=consent_map)
    lines = []
    for row in rows:
        verdict = gate.check(row.attempt, row.recipient)
        out: dict[str, object] = {
            "attempt_id": verdict.attempt_id,
            "allowed": verdict.allowed,
            "rules": list(verdict.rules),
        }
        if reasons:
            out["reasons"] = list(verdict.reasons)
        lines.append(json.dumps(out, ensure_ascii=False))
    if lines:
        typer.echo("\n".join(lines))


def _parquet_attempts(path: Path) -> list[AttemptRow]:
    """The attempts of a Parquet file: each value as the text a CSV would hold
    (timestamps in ISO 8601, with their offset when the column has a time zone)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from arrears.compliance.files import table_attempts

    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        raise _fail(f"{path}: cannot be read as Parquet: {exc}") from None

    def text(value: object) -> str | None:
        if value is None:
            return None
        if hasattr(value, "isoformat"):
            return str(value.isoformat())
        return str(value)

    rows = ({k: text(v) for k, v in row.items()} for row in table.to_pylist())
    return table_attempts(str(path), table.column_names, rows)


@compliance_app.command("packs")
def packs(
    pack: Annotated[
        str | None, typer.Option("--pack", help="Show only this pack (name or path).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
) -> None:
    """List the rule packs and their rules with parameters and sources."""
    from dataclasses import asdict as vars_of

    from arrears.compliance import ComplianceError, available_packs, load_pack
    from arrears.compliance.obligations import obligations

    try:
        chosen = [load_pack(n) for n in ([pack] if pack else available_packs())]
    except ComplianceError as exc:
        raise _fail(str(exc)) from None
    listing = [
        {
            "name": p.name,
            "title": p.title,
            "candidate_zones": list(p.candidate_zones),
            "rules": [
                {"id": r.id, "title": r.title, "source": r.source, **r.parameters()}
                for r in p.rules
            ],
            "disclosures": [
                {
                    "id": d.id,
                    "language": d.language,
                    "channels": sorted(d.channels),
                    "source": d.source,
                }
                for d in p.disclosures
            ],
            "obligations": [vars_of(o) for o in obligations(p)],
        }
        for p in chosen
    ]
    if as_json:
        typer.echo(json.dumps(listing, ensure_ascii=False, indent=2))
        return
    for p in listing:
        typer.echo(f"{p['name']}: {p['title']}")
        typer.echo(f"  candidate zones: {', '.join(p['candidate_zones'])}")
        for r in p["rules"]:
            params = ", ".join(
                f"{k}={','.join(v) if isinstance(v, list) else v}"
                for k, v in r.items()
                if k not in ("id", "title", "source")
            )
            typer.echo(f"  {r['id']}: {r['title']}\n      {params}\n      source: {r['source']}")
        for d in p["disclosures"]:
            typer.echo(f"  {d['id']} [{d['language']}]: templates on {', '.join(d['channels'])}")
            typer.echo(f"      source: {d['source']}")
        for o in p["obligations"]:
            typer.echo(f"  {o['id']}: {o['title']}\n      source: {o['source']}")
        typer.echo("")


@compliance_app.command("lint")
def lint(
    file: Annotated[Path, typer.Argument(help="Template file (UTF-8 text).")],
    language: Annotated[str, typer.Option("--language", help="zh_CN or en.")] = "zh_CN",
    channel: Annotated[str, typer.Option("--channel", help="call, sms, email, letter...")] = "sms",
    pack: PackOpt = "cn",
    litigation_filed: Annotated[
        bool,
        typer.Option(
            "--litigation-filed", help="The account has a real court filing: allow saying so."
        ),
    ] = False,
) -> None:
    """Lint a message template: exit 0 when clean, 1 with every finding listed
    (rule, phrase, message), 2 on bad input."""
    from arrears.compliance import ComplianceError, lint_template

    try:
        text = file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail(f"{file}: cannot be read as UTF-8 text: {exc}") from None
    try:
        findings = lint_template(
            text, language=language, channel=channel, pack=pack, litigation_filed=litigation_filed
        )
    except ComplianceError as exc:
        raise _fail(str(exc)) from None
    if not findings:
        typer.echo(f"{file}: no findings")
        return
    for f in findings:
        line = text.count("\n", 0, f.start) + 1
        phrase = f"“{f.phrase}”" if f.phrase else "(missing)"
        typer.echo(f"{file}:{line}: {f.rule}: {phrase} {f.message}")
    raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main app."""
    app.add_typer(compliance_app, name="compliance")
