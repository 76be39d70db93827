"""Service refusals, compliance reasons and ledger memos in the reader's language.

Services raise a :class:`WorkbenchError` with an English message, a stable ``code`` and
its ``params``; the pages say it as ``refusal.<code>`` of the catalogue, with the params
that are codes themselves (a field, a status, a role, a stage …) looked up too. A
refusal without a catalogued code is worded by its kind (status): English readers get
the service's own sentence, Chinese readers a Chinese one naming the field when the
message names one.

Compliance reasons are worded by the rule that blocked (``compliance.rule.<kind>``,
``hold.<kind>``, ``blacklist``): the gate's English sentence is for the audit and the
English page.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from arrears.services.workbench.errors import WorkbenchError
from arrears.web.ui.messages import MESSAGES

Translate = Callable[..., str]

# a param of this name is a code of this catalogue group (its value is looked up)
PARAM_GROUPS = {
    "field": "field",
    "status": "state",
    "role": "role",
    "stage": "legal.stage",
    "component": "account",
    "channel": "channel",
}
_FIELD_PREFIX = re.compile(r"^([a-z_]+(?:\.[a-z_]+)?): ")


def _word(t: Translate, group: str, value: object) -> str:
    key = f"{group}.{value}"
    return t(key) if key in MESSAGES else str(value)


def refusal_text(error: WorkbenchError, t: Translate, language: str) -> str:
    """What to tell the reader about ``error``, in ``language`` (``t`` translates)."""
    code = getattr(error, "code", None)
    if code and f"refusal.{code}" in MESSAGES:
        params: dict[str, Any] = {}
        for name, value in getattr(error, "params", {}).items():
            group = PARAM_GROUPS.get(name)
            params[name] = _word(t, group, value) if group else value
        return t(f"refusal.{code}", **params)
    if language == "en":
        return str(error)
    field = _FIELD_PREFIX.match(str(error)) if error.status == 422 else None
    if field:
        name = field.group(1).removeprefix("terms.")
        return t("refusal.invalid_field", field=_word(t, "field", name))
    key = f"refusal.status.{error.status}"
    return t(key) if key in MESSAGES else t("refusal.status.400")


def rule_kind(rule_id: str) -> str:
    """The catalogue key of a blocking rule: ``hold.<kind>`` for a hold (one channel or
    all), ``blacklist``, else the pack rule's kind read from its id (``cn.hours`` →
    hours, ``cn.cap.call.daily`` → cap, ``us-regf.7in7`` → cap …)."""
    if rule_id.startswith("hold."):
        return "hold." + rule_id.split(".")[1]
    if rule_id == "blacklist":
        return "blacklist"
    parts = rule_id.split(".")
    if "third_party" in parts and len(parts) > 2:  # cn-2026.third_party.unreachable …
        return f"third_party.{parts[-1]}"
    for kind in ("hours", "third_party", "cap", "after-conversation", "7in7", "dials",
                 "conversations", "phone", "visit", "tcpa"):  # fmt: skip
        if kind in parts:
            return _KINDS.get(kind, kind)
    return rule_id


_KINDS = {
    "7in7": "cap",
    "after-conversation": "quiet_after_conversation",
    "dials": "cap",
    "conversations": "cap",
    "phone": "cap",
    "visit": "visit_agents",
    "tcpa": "prior_consent",
}


def rule_reason(rule_id: str, t: Translate) -> str:
    """One rule's reason to block, in the reader's language (by the rule's kind)."""
    kind = rule_kind(rule_id)
    if kind.startswith("hold."):
        hold = f"hold.{kind.split('.', 1)[1]}"
        name = t(hold) if hold in MESSAGES else kind
        return t("compliance.reason.hold", hold=name)
    key = f"compliance.reason.{kind}"
    return t(key) if key in MESSAGES else t("compliance.reason.other", rule=rule_id)


def block_reasons(
    rules: Sequence[str], english: str | Iterable[str], t: Translate, language: str
) -> str:
    """Why a contact was blocked: the gate's own sentences for English readers, the
    blocking rules' reasons for the others."""
    if language == "en":
        return english if isinstance(english, str) else "; ".join(english)
    return t("clause_break").join(dict.fromkeys(rule_reason(r, t) for r in rules))


_ARRANGEMENT_MEMO = re.compile(r"^arrangement (\d+) \((\w+)\)$")


def memo_text(memo: str, t: Translate) -> str:
    """A ledger entry's memo: the workbench's own memos (an arrangement's waiver, the
    close's late fee, a fee) in the reader's language; anything else (a memo that came
    with imported data) as written."""
    if memo in ("late fee", "fee"):
        return ""  # the kind's label ("Late fee" / 滞纳金) says it already
    match = _ARRANGEMENT_MEMO.match(memo)
    if match:
        kind = _word(t, "arrangement", match.group(2))
        return t("memo.arrangement", id=match.group(1), kind=kind)
    return memo
