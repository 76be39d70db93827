"""The compliance gate (合规): what must never happen when arrears contacts a debtor.

* ``Gate`` checks each proposed contact against a rule pack (``load_pack("cn")``,
  ``load_pack("us-regf")`` or a pack file), the debtor's holds and a blacklist, and
  names every rule that blocks it, with a reason.
* ``lint_template`` refuses message templates with threats, insults, shaming,
  impersonation, false legal consequences or third-party disclosure, and checks the
  pack's required disclosures.

Depends only on the standard library and ``arrears.domain``.
"""

from arrears.compliance.gate import Gate
from arrears.compliance.lint import lint_template
from arrears.compliance.model import (
    CHANNELS,
    HOLD_KINDS,
    OUTCOMES,
    PARTIES,
    Attempt,
    ComplianceError,
    Finding,
    Hold,
    Verdict,
)
from arrears.compliance.packs import RulePack, available_packs, load_pack

__all__ = [
    "CHANNELS",
    "HOLD_KINDS",
    "OUTCOMES",
    "PARTIES",
    "Attempt",
    "ComplianceError",
    "Finding",
    "Gate",
    "Hold",
    "RulePack",
    "Verdict",
    "available_packs",
    "lint_template",
    "load_pack",
]
