"""Errors the workbench services raise; the API turns them into HTTP statuses
(NotFound 404, Forbidden 403, Conflict 409, Invalid 422, Blocked 409, TooMany 429).

Each carries an English message (logs, the CLI, the API's ``detail``) and, for the pages,
a stable ``code`` with its ``params``: the web layer words it in the reader's language
from its catalogue (``refusal.<code>`` in arrears/web/ui/messages.py); services never
translate. A refusal without a code is worded by its kind (status) there."""

from __future__ import annotations


class WorkbenchError(Exception):
    """A refused workbench action: ``message`` in English, ``code`` and ``params`` for
    the pages to say it in the reader's language."""

    status = 400

    def __init__(self, message: str, code: str | None = None, /, **params: object) -> None:
        super().__init__(message)
        self.code = code
        self.params = params


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
        super().__init__(message, "blocked", rules=", ".join(rules))
        self.rules = rules


class TooMany(WorkbenchError):
    """The actor has done this as often as allowed for now; ``retry_after`` seconds at
    most until it may again (the API sends it as Retry-After)."""

    status = 429

    def __init__(self, message: str, retry_after: int, code: str = "too_many") -> None:
        super().__init__(message, code, seconds=retry_after)
        self.retry_after = retry_after
