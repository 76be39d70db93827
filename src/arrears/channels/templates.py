"""Message templates: Jinja2 per channel and language, packaged defaults, rendering with
strict merge fields, and saving new versions to the store (only after the template
sandbox and the compliance linter pass them).

A template's variables must be merge fields (``arrears.channels.fields``); one that is
used but not given fails with ``MissingMergeField`` naming the template and the field.
Every template is parsed and rendered in the sandbox (``arrears.channels.sandbox``):
anything but text, merge fields, the allowed filters and ``if`` is refused at save and
again at render (``TemplateUnsafe``), and a stored template the re-check disabled is
never rendered (``TemplateDisabled``). Email bodies are HTML and autoescaped; other
channels are plain text.
"""

from __future__ import annotations

import html
import re
import tomllib
from dataclasses import dataclass
from functools import cache, lru_cache
from html.parser import HTMLParser
from pathlib import Path

import jinja2
from jinja2 import meta
from jinja2.exceptions import SecurityError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from arrears.channels.fields import LANGUAGES, MergeFields
from arrears.channels.sandbox import SandboxViolation, template_environment, template_violations
from arrears.channels.sms import SmsLength, sms_length
from arrears.store.contact_models import CHANNELS, MessageTemplate

DEFAULTS_DIR = Path(__file__).resolve().parent / "defaults"


class TemplateError(ValueError):
    """A template that cannot be saved or rendered; the message says which and why."""


class MissingMergeField(TemplateError):
    """A template uses merge fields that were not given."""

    def __init__(self, template: str, language: str, missing: list[str]) -> None:
        self.template, self.language, self.missing = template, language, missing
        names = ", ".join(repr(m) for m in missing)
        super().__init__(
            f"template {template!r} ({language}) uses merge field {names}, which was not given"
        )


class TemplateRefused(TemplateError):
    """The compliance linter refused a template; ``findings`` say phrase and rule."""

    def __init__(self, template: str, language: str, findings: list[object]) -> None:
        self.template, self.language, self.findings = template, language, findings
        lines = [
            f"  {getattr(f, 'rule', '?')}: {getattr(f, 'phrase', '')!r} "
            f"({getattr(f, 'message', '')})"
            for f in findings
        ]
        super().__init__(
            f"template {template!r} ({language}) refused by the compliance linter, "
            "nothing saved:\n" + "\n".join(lines)
        )


class TemplateUnsafe(TemplateError):
    """The template sandbox refused a template; ``violations`` name rule, line and
    construct each."""

    def __init__(self, template: str, language: str, violations: list[SandboxViolation]) -> None:
        self.template, self.language, self.violations = template, language, violations
        self.rules = sorted({v.rule for v in violations})
        lines = [f"  {violation}" for violation in violations]
        super().__init__(
            f"template {template!r} ({language}) refused by the template sandbox "
            f"({', '.join(self.rules)}):\n" + "\n".join(lines)
        )


class TemplateDisabled(TemplateError):
    """A stored template the sandbox re-check disabled; it is never rendered."""

    def __init__(self, template: str, language: str, version: int, reason: str) -> None:
        self.template, self.language, self.version, self.reason = (
            template, language, version, reason,
        )  # fmt: skip
        super().__init__(
            f"template {template!r} ({language}) version {version} is disabled and is not "
            f"rendered: {reason}"
        )


@dataclass(frozen=True)
class Template:
    """One version of a template (version 0 is the packaged default).
    ``disabled_reason`` is set when the stored version was disabled (the rule it broke)."""

    name: str
    channel: str
    language: str
    subject: str | None
    body: str
    version: int = 0
    disabled_reason: str | None = None


@dataclass(frozen=True)
class RenderedMessage:
    """A template filled in: ``body`` as sent (HTML for email), ``text`` the plain
    text of it, and for SMS its encoding and segment count."""

    template: str
    version: int
    channel: str
    language: str
    subject: str | None
    body: str
    text: str
    sms: SmsLength | None


_ENVIRONMENTS = {channel: template_environment(channel) for channel in CHANNELS}


def template_variables(channel: str, *texts: str | None) -> set[str]:
    """The variables the given template texts use (a syntax error is a
    ``TemplateError`` naming the line)."""
    found: set[str] = set()
    for text in texts:
        if text is not None:
            found |= _variables(channel, text)
    return found


# A day's treatments render thousands of messages from a handful of template texts:
# parse and compile each text once per process (keyed by the text itself, so a newly
# saved version is a new entry, never a stale one).
@lru_cache(maxsize=512)
def _variables(channel: str, text: str) -> frozenset[str]:
    try:
        return frozenset(meta.find_undeclared_variables(_ENVIRONMENTS[channel].parse(text)))
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"template syntax error, line {exc.lineno}: {exc.message}") from exc


@lru_cache(maxsize=512)
def _compiled(channel: str, text: str) -> jinja2.Template:
    return _ENVIRONMENTS[channel].from_string(text)


@lru_cache(maxsize=512)
def _violations(channel: str, text: str) -> tuple[SandboxViolation, ...]:
    try:
        return tuple(template_violations(channel, text))
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"template syntax error, line {exc.lineno}: {exc.message}") from exc


def sandbox_violations(template: Template) -> list[SandboxViolation]:
    """What the sandbox refuses in ``template``'s subject and body (empty: nothing).
    A syntax error is a ``TemplateError`` naming the line."""
    found: list[SandboxViolation] = []
    for text in (template.subject, template.body):
        if text is not None:
            found.extend(_violations(template.channel, text))
    return found


def check_template(template: Template) -> None:
    """Raise ``TemplateError`` unless ``template`` has a known channel and language,
    parses, and holds nothing but what the sandbox allows (text, documented merge
    fields, allowed filters, ``if``): else ``TemplateUnsafe`` names each construct."""
    where = f"template {template.name!r} ({template.language})"
    if template.channel not in CHANNELS:
        raise TemplateError(f"{where}: channel must be one of {', '.join(CHANNELS)}")
    if template.language not in LANGUAGES:
        raise TemplateError(f"{where}: language must be one of {', '.join(LANGUAGES)}")
    if not template.body.strip():
        raise TemplateError(f"{where}: body is empty")
    try:
        violations = sandbox_violations(template)
    except TemplateError as exc:
        raise TemplateError(f"{where}: {exc}") from exc
    if violations:
        raise TemplateUnsafe(template.name, template.language, violations)


def check_renderable(template: Template) -> None:
    """Raise what ``render`` would raise before rendering ``template``: ``TemplateDisabled``
    for a disabled one, ``TemplateUnsafe`` for one the sandbox refuses."""
    if template.disabled_reason:
        raise TemplateDisabled(
            template.name, template.language, template.version, template.disabled_reason
        )
    check_template(template)


def refusal(template: Template) -> str | None:
    """Why ``template`` would not be rendered (disabled, or refused by the sandbox), or
    None when it would be."""
    if template.disabled_reason:
        return f"disabled: {template.disabled_reason}"
    try:
        check_renderable(template)
    except TemplateError as exc:
        return str(exc).replace("\n", " ")
    return None


def render(template: Template, merge: MergeFields) -> RenderedMessage:
    """``template`` filled in with ``merge`` in the template's language. A disabled
    template raises ``TemplateDisabled`` and one the sandbox refuses ``TemplateUnsafe``
    (checked here again: a stored text may never have passed ``save_template``), before
    anything is rendered. Every variable used must be given, else ``MissingMergeField``
    names them all."""
    check_renderable(template)
    channel = template.channel
    context = merge.context(template.language)
    used = template_variables(template.channel, template.subject, template.body)
    missing = sorted(used - set(context))
    if missing:
        raise MissingMergeField(template.name, template.language, missing)
    try:
        subject = (
            None
            if template.subject is None
            else _compiled(channel, template.subject).render(context).strip()
        )
        body = _compiled(channel, template.body).render(context).strip()
    except (jinja2.UndefinedError, SecurityError) as exc:  # the sandbox's second wall
        raise TemplateError(f"template {template.name!r} ({template.language}): {exc}") from exc
    text = html_to_text(body) if template.channel == "email" else body
    sms = sms_length(body) if template.channel == "sms" else None
    return RenderedMessage(
        template.name, template.version, template.channel, template.language,
        subject, body, text, sms,
    )  # fmt: skip


class _TextExtractor(HTMLParser):
    BREAKS = frozenset({"p", "br", "div", "tr", "li", "h1", "h2", "h3", "table"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.BREAKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.BREAKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_to_text(markup: str) -> str:
    """The readable text of an HTML body (the plain-text part of an email)."""
    parser = _TextExtractor()
    parser.feed(markup)
    text = html.unescape("".join(parser.parts))
    lines = [re.sub(r"[ \t]+", " ", line).strip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


@cache
def default_templates() -> dict[tuple[str, str], Template]:
    """The packaged default templates by (name, language), from ``defaults/*.toml``."""
    found: dict[tuple[str, str], Template] = {}
    for path in sorted(DEFAULTS_DIR.glob("*.toml")):
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        name, channel = path.stem, data["channel"]
        for language in LANGUAGES:
            part = data[language]
            template = Template(name, channel, language, part.get("subject"), part["body"])
            check_template(template)
            found[(name, language)] = template
    return found


def get_template(
    session: Session | None, name: str, language: str, version: int | None = None
) -> Template:
    """The template ``name`` in ``language``: the given ``version`` or the latest saved
    one, else the packaged default. Unknown name is a ``TemplateError``."""
    if session is not None:
        query = select(MessageTemplate).where(
            MessageTemplate.name == name, MessageTemplate.language == language
        )
        if version is not None:
            query = query.where(MessageTemplate.version == version)
        row = session.scalars(query.order_by(MessageTemplate.version.desc()).limit(1)).first()
        if row is not None:
            return _from_row(row)
    default = default_templates().get((name, language))
    if default is None or (version not in (None, 0)):
        raise TemplateError(f"no template {name!r} in {language} (version {version or 'latest'})")
    return default


def list_templates(session: Session | None) -> list[Template]:
    """Every template name and language at its latest version (saved over default)."""
    latest = dict(default_templates())
    if session is not None:
        newest = (
            select(
                MessageTemplate.name,
                MessageTemplate.language,
                func.max(MessageTemplate.version).label("version"),
            )
            .group_by(MessageTemplate.name, MessageTemplate.language)
            .subquery()
        )
        rows = session.scalars(
            select(MessageTemplate).join(
                newest,
                (MessageTemplate.name == newest.c.name)
                & (MessageTemplate.language == newest.c.language)
                & (MessageTemplate.version == newest.c.version),
            )
        )
        for row in rows:
            latest[(row.name, row.language)] = _from_row(row)
    return [latest[key] for key in sorted(latest)]


def _from_row(row: MessageTemplate) -> Template:
    return Template(
        row.name, row.channel, row.language, row.subject, row.body, row.version,
        row.disabled_reason,
    )  # fmt: skip


def save_template(
    session: Session,
    *,
    name: str,
    channel: str,
    language: str,
    body: str,
    subject: str | None = None,
    pack: str = "cn",
    created_by: str | None = None,
) -> Template:
    """Save a new version of a template in the caller's transaction, after checking it
    (``check_template``: the sandbox's refusal, ``TemplateUnsafe``, names each
    construct) and running the compliance linter of ``pack`` over subject and
    body: any finding raises ``TemplateRefused`` (phrase and rule each) and nothing is
    written. Returns the saved version."""
    from arrears.compliance import lint_template, load_pack

    template = Template(name, channel, language, subject, body)
    check_template(template)
    # Subject and body are read together: a disclosure may stand in either.
    text = body if not subject else f"{subject}\n\n{body}"
    findings = lint_template(text, language=language, channel=channel, pack=load_pack(pack))
    if findings:
        raise TemplateRefused(name, language, findings)
    current = session.scalar(
        select(func.max(MessageTemplate.version)).where(
            MessageTemplate.name == name, MessageTemplate.language == language
        )
    )
    version = (current or 0) + 1
    session.add(
        MessageTemplate(
            name=name, language=language, version=version, channel=channel,
            subject=subject, body=body, created_by=created_by,
        )
    )  # fmt: skip
    session.flush()
    return Template(name, channel, language, subject, body, version)
