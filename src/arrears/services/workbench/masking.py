"""Masking of personal data by role: phone numbers, 身份证 ID numbers, addresses and
emails. Collectors and supervisors see enough to recognise a value (``138****5678``),
agency users less (``*******5678``); the full value only through a logged reveal
(``arrears.services.workbench.reveal``)."""

from __future__ import annotations

FIELDS = ("mobile", "id_number", "address", "email")
# roles that see a field unmasked without asking (none: every full view is a reveal)
_LIGHT = frozenset({"collector", "team_lead", "manager", "compliance", "admin"})


def mask_phone(value: str, role: str) -> str:
    """``13812345678`` → ``138****5678`` (agency: ``*******5678``)."""
    digits = value.strip()
    if len(digits) <= 4:
        return "*" * len(digits)
    if role in _LIGHT and len(digits) >= 7:
        return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]
    return "*" * (len(digits) - 4) + digits[-4:]


def mask_id_number(value: str, role: str) -> str:
    """An 18-character 身份证 number keeps its region prefix and check tail:
    ``110101********123X`` (agency: only the last 4)."""
    text = value.strip()
    if len(text) <= 4:
        return "*" * len(text)
    if role in _LIGHT and len(text) >= 10:
        return text[:6] + "*" * (len(text) - 10) + text[-4:]
    return "*" * (len(text) - 4) + text[-4:]


def mask_address(value: str, role: str) -> str:
    """The first part of the address (province/city), the rest starred; agency users
    see only the first 3 characters."""
    text = value.strip()
    keep = 6 if role in _LIGHT else 3
    if len(text) <= keep:
        return text[:1] + "*" * max(len(text) - 1, 0)
    return text[:keep] + "*" * min(len(text) - keep, 12)


def mask_email(value: str, role: str) -> str:
    """``zhang.wei@example.com`` → ``z***@example.com`` (agency: ``***@e***``)."""
    local, at, domain = value.strip().partition("@")
    if not at:
        return "*" * len(value)
    if role in _LIGHT:
        return (local[:1] or "*") + "***@" + domain
    return "***@" + (domain[:1] or "*") + "***"


_MASKERS = {
    "mobile": mask_phone,
    "id_number": mask_id_number,
    "address": mask_address,
    "email": mask_email,
}


def mask(field: str, value: str | None, role: str) -> str | None:
    """``value`` of personal ``field`` as ``role`` may see it (None stays None)."""
    if value is None or value == "":
        return value
    return _MASKERS[field](value, role)
