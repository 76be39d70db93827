"""Re-check every stored message template against the template sandbox; disable the
ones it refuses.

Until this revision a template was checked for its variable names only, so a stored
version may walk attributes to ``os.popen`` (issue 22). Adds
``message_templates.disabled_reason`` and writes there, for every stored version the
sandbox's allow-list refuses (``arrears.channels.sandbox.template_violations``), the
rules and constructs it broke; each is logged as a warning. ``arrears templates list``
shows the reason and the render path refuses a disabled template (``TemplateDisabled``).
A text that does not even parse is disabled too.

Downgrade drops the column; the render path still re-checks every template, so a
refused one stays unrendered.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import logging

import jinja2
import sqlalchemy as sa
from alembic import op

from arrears.channels.sandbox import template_violations

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels = None
depends_on = None

log = logging.getLogger("arrears.store.migrations")

_templates = sa.table(
    "message_templates",
    sa.column("name", sa.String),
    sa.column("language", sa.String),
    sa.column("version", sa.Integer),
    sa.column("channel", sa.String),
    sa.column("subject", sa.String),
    sa.column("body", sa.Text),
    sa.column("disabled_reason", sa.Text),
)


def disabled_reason(channel: str, subject: str | None, body: str) -> str | None:
    """Why the sandbox refuses a stored template (its rules, then each construct), or
    None when it may be rendered."""
    problems: list[str] = []
    rules: set[str] = set()
    for part, text in (("subject", subject), ("body", body)):
        if text is None:
            continue
        try:
            violations = template_violations(channel, text)
        except jinja2.TemplateSyntaxError as exc:
            rules.add("sandbox.syntax")
            problems.append(f"{part} line {exc.lineno}: sandbox.syntax: {exc.message}")
            continue
        rules |= {v.rule for v in violations}
        problems.extend(f"{part} {v}" for v in violations)
    if not problems:
        return None
    return f"refused by the template sandbox ({', '.join(sorted(rules))}): " + "; ".join(problems)


def upgrade() -> None:
    with op.batch_alter_table("message_templates", schema=None) as batch_op:
        batch_op.add_column(sa.Column("disabled_reason", sa.Text(), nullable=True))
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(
            _templates.c.name,
            _templates.c.language,
            _templates.c.version,
            _templates.c.channel,
            _templates.c.subject,
            _templates.c.body,
        )
    ).all()
    for row in rows:
        reason = disabled_reason(row.channel, row.subject, row.body)
        if reason is None:
            continue
        log.warning(
            "template %r (%s) version %d disabled: %s", row.name, row.language, row.version, reason
        )
        connection.execute(
            _templates.update()
            .where(
                _templates.c.name == row.name,
                _templates.c.language == row.language,
                _templates.c.version == row.version,
            )
            .values(disabled_reason=reason)
        )


def downgrade() -> None:
    with op.batch_alter_table("message_templates", schema=None) as batch_op:
        batch_op.drop_column("disabled_reason")
