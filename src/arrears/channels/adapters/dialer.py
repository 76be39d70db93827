"""The dialer list (外呼名单): calls due today, as a CSV the dialer loads.

A call message in the outbox has a ``CallTask`` as JSON for its body. Dispatching the
``call`` channel through ``DialerListAdapter`` appends one row per call (phone, masked
account, amount, script, priority, the debtor's best local call window and the same
window in UTC) to the day's CSV; the idempotency key is a column, and a key already in
the file is not added again, so a resend after a crash cannot list a call twice.
"""

from __future__ import annotations

import csv
import json
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from arrears.channels.adapters.base import OutgoingMessage, PermanentSendError, SendResult
from arrears.channels.fields import mask_account
from arrears.files import open_private, replacing

COLUMNS = (
    "priority", "phone", "customer_name", "masked_account", "amount_due", "currency",
    "script", "time_zone", "window_local", "window_start_utc", "window_end_utc",
    "idempotency_key",
)  # fmt: skip


@dataclass(frozen=True)
class CallTask:
    """What the dialer needs to know about one call besides the phone number."""

    customer_name: str
    account: str
    amount_due: Decimal
    currency: str
    script: str
    priority: int
    time_zone: str

    def to_json(self) -> str:
        """The task as the outbox body of a call message."""
        data = asdict(self)
        data["amount_due"] = str(self.amount_due)
        return json.dumps(data, ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> CallTask:
        """The task ``to_json`` wrote; anything else is a ``ValueError`` naming why."""
        try:
            data = json.loads(text)
            data["amount_due"] = Decimal(data["amount_due"])
            data["priority"] = int(data["priority"])
            return cls(**data)
        except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
            raise ValueError(f"not a call task: {exc!r}") from exc


def best_call_window(
    pack: object | None, margin: timedelta = timedelta(hours=1)
) -> tuple[time, time]:
    """The local hours to dial in: the narrowest ``hours`` window the pack sets for
    calls (08:00-21:00 when there is no pack), ``margin`` inside each end so a call
    queued late in the window is not placed after it closes."""
    start, end = time(8), time(21)
    from arrears.compliance.rules import ContactHours

    for rule in getattr(pack, "rules", ()):
        if isinstance(rule, ContactHours) and "call" in rule.channels:
            start, end = max(start, rule.start), min(end, rule.end)
    day = date(2000, 1, 1)
    lo = datetime.combine(day, start) + margin
    hi = datetime.combine(day, end) - margin
    if lo >= hi:
        return start, end
    return lo.time(), hi.time()


class DialerListAdapter:
    """Appends due calls to the dialer CSV for ``day`` (see module doc)."""

    def __init__(self, path: Path, day: date, window: tuple[time, time]) -> None:
        self.path = Path(path)
        self.day = day
        self.window = window
        self.keys: set[str] = set()
        if self.path.exists():
            with self.path.open(newline="", encoding="utf-8") as handle:
                self.keys = {row["idempotency_key"] for row in csv.DictReader(handle)}

    def row_for(self, message: OutgoingMessage) -> dict[str, str]:
        """The CSV row of a call message."""
        try:
            task = CallTask.from_json(message.body)
        except ValueError as exc:
            raise PermanentSendError(f"call {message.idempotency_key}: {exc}") from exc
        try:
            zone = ZoneInfo(task.time_zone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise PermanentSendError(
                f"call {message.idempotency_key}: unknown time zone {task.time_zone!r}"
            ) from exc
        start = datetime.combine(self.day, self.window[0], zone)
        end = datetime.combine(self.day, self.window[1], zone)
        return {
            "priority": str(task.priority),
            "phone": message.recipient,
            "customer_name": task.customer_name,
            "masked_account": mask_account(task.account),
            "amount_due": str(task.amount_due),
            "currency": task.currency,
            "script": task.script,
            "time_zone": task.time_zone,
            "window_local": f"{self.window[0]:%H:%M}-{self.window[1]:%H:%M}",
            "window_start_utc": start.astimezone(ZoneInfo("UTC")).isoformat(),
            "window_end_utc": end.astimezone(ZoneInfo("UTC")).isoformat(),
            "idempotency_key": message.idempotency_key,
        }

    def send(self, message: OutgoingMessage) -> SendResult:
        """Append the call's row unless its key is already listed."""
        row = self.row_for(message)
        if message.idempotency_key not in self.keys:
            new = not self.path.exists()
            with open_private(self.path, "a", newline="", encoding="utf-8") as handle:
                writer = csv.DictWriter(handle, fieldnames=COLUMNS)
                if new:
                    writer.writeheader()
                writer.writerow(row)
            self.keys.add(message.idempotency_key)
        return SendResult(provider_message_id=f"{self.path.name}:{message.idempotency_key}")

    def sort_by_priority(self) -> None:
        """Rewrite the list highest priority first (1 = highest), then by phone."""
        if not self.path.exists():
            return
        with self.path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        rows.sort(key=lambda r: (int(r["priority"]), r["window_start_utc"], r["phone"]))
        with replacing(self.path) as partial, partial.open("w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=COLUMNS)
            writer.writeheader()
            writer.writerows(rows)
