"""What the CLI and the daily close call: the adapters of a workspace and outbox
summaries."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from arrears.channels.adapters.base import Adapter
from arrears.channels.adapters.http_gateway import HttpGatewayAdapter
from arrears.channels.adapters.smtp import SmtpAdapter
from arrears.channels.adapters.spool import FileSpoolAdapter, LetterSpoolAdapter, render_print_runs
from arrears.store.contact_models import DeliveryEvent, OutboxMessage

SPOOL_CHANNELS = ("email", "sms", "push")


def workspace_adapters(
    root: Path,
    *,
    smtp: SmtpAdapter | None = None,
    gateway: HttpGatewayAdapter | None = None,
) -> dict[str, Adapter]:
    """Adapters for a workspace: email by ``smtp`` and SMS/push by ``gateway`` when
    given, else written to the file spool ``<root>/outbox/<channel>/``; letters always
    handed to the print shop's spool ``<root>/outbox/letter/`` (see ``print_letters``).
    Calls are not here: they go to the dialer list (``export_dialer_list``)."""
    spool = FileSpoolAdapter(Path(root) / "outbox")
    adapters: dict[str, Adapter] = {channel: spool for channel in SPOOL_CHANNELS}
    if smtp is not None:
        adapters["email"] = smtp
    if gateway is not None:
        adapters["sms"] = adapters["push"] = gateway
    adapters["letter"] = LetterSpoolAdapter(Path(root) / "outbox" / "letter")
    return adapters


def print_letters(root: Path) -> list[Path]:
    """Set the letters handed to the workspace's print spool as print runs (one PDF
    per letter date, only where letters came since its run); returns the runs."""
    return render_print_runs(Path(root) / "outbox" / "letter")


def outbox_counts(engine: Engine) -> dict[tuple[str, str], int]:
    """Messages in the outbox by (channel, status)."""
    with Session(engine) as session:
        rows = session.execute(
            select(OutboxMessage.channel, OutboxMessage.status, func.count())
            .group_by(OutboxMessage.channel, OutboxMessage.status)
            .order_by(OutboxMessage.channel, OutboxMessage.status)
        )
        return {(channel, status): n for channel, status, n in rows}


def blocked_by_rule(engine: Engine) -> Mapping[str, int]:
    """Messages the send-time re-check blocked, by blocking rule id."""
    counts: dict[str, int] = {}
    with Session(engine) as session:
        for (error,) in session.execute(
            select(OutboxMessage.last_error).where(OutboxMessage.status == "blocked")
        ):
            for rule in (error or "unknown").split(", "):
                counts[rule] = counts.get(rule, 0) + 1
    return dict(sorted(counts.items()))


def message_history(engine: Engine, reference: str) -> list[tuple[str, str, str]]:
    """(at, status, detail) of each event of the message whose idempotency key or
    provider message id is ``reference``; empty when there is none."""
    with Session(engine) as session:
        outbox_id = session.scalar(
            select(OutboxMessage.id).where(
                (OutboxMessage.idempotency_key == reference)
                | (OutboxMessage.provider_message_id == reference)
            )
        )
        if outbox_id is None:
            return []
        rows = session.execute(
            select(DeliveryEvent.at, DeliveryEvent.status, DeliveryEvent.detail)
            .where(DeliveryEvent.outbox_id == outbox_id)
            .order_by(DeliveryEvent.id)
        )
        return [(at.isoformat(timespec="seconds"), status, detail) for at, status, detail in rows]


def dispatch_workspace(
    engine: Engine,
    root: Path,
    *,
    pack: str = "cn",
    smtp: SmtpAdapter | None = None,
    gateway: HttpGatewayAdapter | None = None,
    limit: int = 50,
):  # type: ignore[no-untyped-def]
    """Send every due message of the workspace at ``root`` (``workspace_adapters``),
    each re-checked against ``pack`` from the store at send time. Returns the
    ``DispatchReport``; ``outbox_counts`` and ``blocked_by_rule`` summarise after."""
    from arrears.channels.dispatcher import Dispatcher
    from arrears.channels.recheck import store_recheck
    from arrears.channels.validation import release_sent_notices

    adapters = workspace_adapters(root, smtp=smtp, gateway=gateway)
    report = Dispatcher(engine, adapters, store_recheck(engine, pack)).run_until_idle(limit)
    with Session(engine) as session, session.begin():  # Reg F: a sent notice lifts its hold
        release_sent_notices(session, datetime.now(UTC).date())
    return report
