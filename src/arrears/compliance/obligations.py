"""What a pack obliges beyond the gate's per-contact rules, with sources, as
``arrears compliance packs`` lists them: the consent ledger's opt-outs, the Reg F
validation notice, time-barred debts (periods and state disclosures) and retention."""

from __future__ import annotations

from dataclasses import dataclass

from arrears.compliance.limitation import DISCLOSURE_SOURCES, SUIT_RULE, SUIT_SOURCE
from arrears.compliance.packs import RulePack


@dataclass(frozen=True, slots=True)
class Obligation:
    """One obligation: the rule id a block or finding names, what it says, its source."""

    id: str
    title: str
    source: str


def _us(pack: RulePack) -> bool:
    return any(rule_id.startswith("us-regf.") for rule_id in pack.rule_ids)


def obligations(pack: RulePack) -> list[Obligation]:
    """The obligations of ``pack`` (see the module doc), in a stable order."""
    found = []
    if _us(pack):
        found.append(Obligation(
            "hold.consent_withdrawn",
            "An opt-out (portal, reply STOP, call note, letter) stops that channel and "
            "number at once; recorded in the consent ledger",
            "47 CFR 64.1200(a)(10) (FCC 24-24): revocation by any reasonable means, "
            "honoured within 10 business days; 12 CFR 1006.6(e)",
        ))  # fmt: skip
        found.append(Obligation(
            "hold.validation_pending",
            "The validation notice (Model Form B-1) is the first communication about a "
            "debt; every other contact waits until it is sent",
            "12 CFR 1006.34(a), (c), (d)(2); appendix B, Model Form B-1",
        ))  # fmt: skip
    else:
        found.append(Obligation(
            "hold.consent_withdrawn",
            "An opt-out (reply 退订, portal, call note, letter) stops that channel and "
            "number; recorded in the consent ledger",
            "《个人信息保护法》第十五条：个人有权撤回其同意",
        ))  # fmt: skip
    if pack.limitation is not None:
        table = pack.limitation
        found.append(Obligation(
            SUIT_RULE,
            "On a time-barred debt: no legal step, no mention of suit in any message",
            SUIT_SOURCE,
        ))  # fmt: skip
        periods = [(f"limitation.product.{k}", v) for k, v in sorted(table.products.items())]
        periods += [(f"limitation.state.{k}", v) for k, v in sorted(table.states.items())]
        if table.default is not None:
            periods.append(("limitation.default", table.default))
        for rule_id, period in periods:
            found.append(Obligation(rule_id, f"limitation period {period.years} years",
                                    period.source))  # fmt: skip
        for state, source in sorted(DISCLOSURE_SOURCES.items()):
            found.append(Obligation(
                f"time_barred.disclosure.{state}",
                f"Messages about a time-barred debt of a {state} debtor carry the state's text",
                source,
            ))  # fmt: skip
    if pack.retention is not None:
        found.append(Obligation(
            "retention",
            f"Contact records, recordings and documents kept {pack.retention.years} years "
            "after the last activity, then purged (arrears retention run), except under a "
            "legal hold",
            pack.retention.source,
        ))  # fmt: skip
    return found
