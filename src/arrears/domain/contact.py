"""The vocabulary of contacting a debtor, defined once: the channels a contact goes
through, who was reached, how an attempt ended, and the kinds of hold that stop contact.
The compliance gate, the store's check constraints and the API's schemas all use these."""

from __future__ import annotations

CHANNELS = ("call", "sms", "email", "letter", "visit", "push")
PARTIES = ("debtor", "third_party", "unknown")
# "refused": the person said they will not help or not to call again (GB/T 45251-2025:
# a third party who refused is never contacted again)
OUTCOMES = (
    "connected_conversation",
    "no_answer",
    "voicemail",
    "busy",
    "delivered",
    "failed",
    "refused",
)
HOLD_KINDS = (
    "dispute",
    "hardship",
    "bankruptcy",
    "deceased",
    "legal_hold",
    "do_not_contact",
    "consent_withdrawn",
    # Reg F 1006.34: a debt's validation notice is not yet sent (every channel but
    # letters waits; arrears.channels.validation)
    "validation_pending",
)
