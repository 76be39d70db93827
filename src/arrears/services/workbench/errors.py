"""Errors the workbench services raise; the API turns them into HTTP statuses
(NotFound 404, Forbidden 403, Conflict 409, Invalid 422, Blocked 409, TooMany 429)."""

from __future__ import annotations


class WorkbenchError(Exception):
    """A refused workbench action, with a message fit to show the user."""

    status = 400


class NotFound(WorkbenchError):
    """The thing does not exist, or the actor may not see it (never say which)."""

    status = 404


class Forbidden(WorkbenchError):
    """The actor's role does not allow this action."""

    status = 403


class Conflict(WorkbenchError):
    """The action clashes with the current state (already approved, locked …)."""

    status = 409


class Invalid(WorkbenchError):
    """The input is wrong: the message names the field and the reason."""

    status = 422


class Blocked(WorkbenchError):
    """The compliance gate refused a contact; ``rules`` are the rule ids that did."""

    status = 409

    def __init__(self, message: str, rules: list[str]) -> None:
        super().__init__(message)
        self.rules = rules


class TooMany(WorkbenchError):
    """The actor has done this as often as allowed for now; ``retry_after`` seconds at
    most until it may again (the API sends it as Retry-After)."""

    status = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
