"""A revolving card's story replayed through the domain core: ``arrears loan replay``
of a scenario whose product is a revolving one (``method = "revolving"``).

Such a scenario has an ``[account]`` table (``opened_on``, optional ``credit_limit``)
instead of ``[loan]``, and events ``purchase``, ``cash_advance``, ``payment``,
``refund`` and ``fee``, each with an ``amount`` on its day ``on`` (on or after the
opening day). Every fault is a ``ScenarioError`` naming the file, the field and, for an
event, its number counted from 1 as the ``[[events]]`` tables appear in the file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import partial
from typing import Any

from arrears.domain.errors import DomainError
from arrears.domain.products import Catalog, RevolvingProduct
from arrears.domain.revolving import (
    EVENT_KINDS,
    CardAccount,
    CardEvent,
    CardState,
    TxKind,
    replay_card,
)
from arrears.domain.scenario import Fail, ScenarioError, _amount, _date, _prefixed

ACCOUNT_FIELDS = {"opened_on", "credit_limit"}
CARD_EVENT_FIELDS = {"kind", "on", "amount", "ref", "memo"}
CARD_TOP_FIELDS = {"product", "account", "events"}


@dataclass(frozen=True, slots=True)
class CardScenario:
    """A card account under one revolving product and what happened to it."""

    source: str
    account: CardAccount
    events: tuple[CardEvent, ...]


def is_card_scenario(data: Mapping[str, Any], catalog: Catalog) -> bool:
    """Whether the scenario names a revolving product of ``catalog``."""
    code = data.get("product")
    return isinstance(code, str) and catalog.revolving_product(code) is not None


def parse_card_scenario(data: Mapping[str, Any], catalog: Catalog, source: str) -> CardScenario:
    """Build a CardScenario from parsed TOML; every fault names ``source`` and the field."""

    def fail(field: str, reason: str) -> ScenarioError:
        return ScenarioError(f"{source}: {field}: {reason}")

    unknown = set(data) - CARD_TOP_FIELDS
    if unknown:
        first = sorted(unknown)[0]
        hint = " (a revolving card has [account], not [loan])" if first == "loan" else ""
        raise fail(first, f"unknown field{hint}: a card scenario has {sorted(CARD_TOP_FIELDS)}")
    code = data.get("product")
    product = catalog.revolving_product(code) if isinstance(code, str) else None
    if product is None:
        known = ", ".join(sorted(catalog.revolving)) or "none"
        raise fail("product", f"{code!r} is not a revolving product (known: {known})")
    body = data.get("account")
    if not isinstance(body, Mapping):
        raise fail("account", "required: an [account] table with opened_on")
    account = _account(body, product, partial(_prefixed, fail, "account."))
    raw_events = data.get("events", [])
    if not isinstance(raw_events, list) or not all(isinstance(e, Mapping) for e in raw_events):
        raise fail("events", "must be [[events]] tables")
    events = tuple(
        _event(n, e, account, partial(_prefixed, fail, f"events #{n}."))
        for n, e in enumerate(raw_events, start=1)
    )
    refs: dict[str, int] = {}
    for event in events:
        if event.ref in refs:
            raise fail(
                f"events #{event.number}.ref",
                f"{event.ref!r} is used by another event (events #{refs[event.ref]})",
            )
        refs[event.ref] = event.number
    return CardScenario(source, account, events)


def _account(body: Mapping[str, Any], product: RevolvingProduct, fail: Fail) -> CardAccount:
    unknown = set(body) - ACCOUNT_FIELDS
    if unknown:
        raise fail(sorted(unknown)[0], f"unknown field (an account has {sorted(ACCOUNT_FIELDS)})")
    opened_on = _date(body, "opened_on", fail)
    limit = _amount(body, "credit_limit", product.currency, fail, required=False)
    return CardAccount.open(product, opened_on, limit)


def _event(number: int, body: Mapping[str, Any], account: CardAccount, fail: Fail) -> CardEvent:
    unknown = set(body) - CARD_EVENT_FIELDS
    if unknown:
        raise fail(
            sorted(unknown)[0], f"unknown field (a card event has {sorted(CARD_EVENT_FIELDS)})"
        )
    known = " | ".join(k.value for k in EVENT_KINDS)
    raw_kind = body.get("kind")
    if raw_kind is None:
        raise fail("kind", f"required field is missing (one of {known})")
    try:
        kind = TxKind(str(raw_kind))
    except ValueError:
        kind = None
    if kind not in EVENT_KINDS:
        raise fail("kind", f"{raw_kind!r} is not one of {known} (a revolving card's events)")
    assert kind is not None
    on = _date(body, "on", fail)
    if on < account.opened_on:
        raise fail("on", f"{on} is before the account opened {account.opened_on}")
    amount = _amount(body, "amount", account.product.currency, fail, required=True)
    assert amount is not None
    ref = body.get("ref", f"{kind.value}#{number}")
    if not isinstance(ref, str) or not ref.strip():
        raise fail("ref", f'{ref!r} is not a reference (write ref = "p1")')
    memo = body.get("memo", "")
    if not isinstance(memo, str):
        raise fail("memo", "must be text")
    return CardEvent(kind, on, amount, ref.strip(), memo, number)


def replay_card_scenario(scenario: CardScenario, catalog: Catalog, as_of: date) -> CardState:
    """The scenario's account replayed through ``as_of``; a refusal (a purchase over
    the limit) names the file and the event."""
    if as_of < scenario.account.opened_on:
        raise ScenarioError(
            f"{scenario.source}: as-of {as_of} is before the account opened "
            f"{scenario.account.opened_on}"
        )
    try:
        return replay_card(scenario.account, scenario.events, as_of, catalog)
    except DomainError as exc:
        raise ScenarioError(f"{scenario.source}: {exc}") from None
