"""The JSON API's errors in the caller's language.

Every error of ``/api/v1`` keeps its ``detail`` as before (the service's English
sentence, or FastAPI's list of invalid fields: what scripts and logs match on) and adds
``message``, the same refusal worded for a person in the caller's language, with the
refusal's stable ``code`` and ``lang``:

    {"detail": "due_date: 2026-01-01 is in the past", "code": "date_past",
     "message": "承诺日期：2026-01-01 已经过去。", "lang": "zh_CN"}

The caller's language, strongest first: an ``Accept-Language`` header naming Chinese
or English (an API client says per request what it wants), then the signed-in user's
own setting, then the workbench's default (Chinese). The words are the pages' own
catalogue (``web/ui/messages.py``): a refusal reads the same in the API as on a page.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from starlette.requests import Request

from arrears.services.workbench.errors import WorkbenchError
from arrears.web.ui.i18n import (
    DEFAULT_LANGUAGE,
    from_accept_language,
    normalise_language,
)
from arrears.web.ui.i18n import translator as _translator
from arrears.web.ui.messages import MESSAGES
from arrears.web.ui.refusals import refusal_text

LOGIN_PATH = "/auth/login"
# an HTTP status the API answers itself (not a service's refusal) -> its message key
STATUS_KEYS = {
    401: "api.not_logged_in",
    403: "refusal.status.403",
    404: "refusal.status.404",
    405: "api.method_not_allowed",
    409: "refusal.status.409",
    422: "refusal.status.422",
    429: "refusal.status.429",
}
LOGIN_KEYS = {401: "login.failed", 423: "login.locked_plain", 429: "login.throttled"}


def caller_language(request: Request) -> str:
    """The language of this API caller (see the module docstring)."""
    actor = getattr(request.state, "actor", None)
    return (
        from_accept_language(request.headers.get("accept-language", ""))
        or normalise_language(getattr(actor, "language", None))
        or DEFAULT_LANGUAGE
    )


def _said(request: Request, message: str, code: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {"message": message, "lang": caller_language(request)}
    if code:
        out["code"] = code
    return out


def refusal_body(request: Request, error: WorkbenchError) -> dict[str, Any]:
    """The JSON body of a service's refusal."""
    language = caller_language(request)
    words = refusal_text(error, _translator(language), language)
    return {"detail": str(error), **_said(request, words, error.code)}


def http_error_body(
    request: Request, status: int, detail: Any, path: str, headers: dict[str, str] | None
) -> dict[str, Any]:
    """The JSON body of an error the API raised itself (not logged in, CSRF, role,
    login refused, unknown route …)."""
    t = _translator(caller_language(request))
    if path.endswith(LOGIN_PATH) and status in LOGIN_KEYS:
        key = LOGIN_KEYS[status]
        seconds = (headers or {}).get("Retry-After", "")
        code = {401: "login_failed", 423: "login_locked", 429: "login_throttled"}[status]
        if key == "login.throttled" and seconds:
            return {"detail": detail, **_said(request, t(key, seconds=seconds), code)}
        key = "login.locked_plain" if key == "login.throttled" else key
        return {"detail": detail, **_said(request, t(key), code)}
    if status == 403 and "CSRF" in str(detail):
        return {"detail": detail, **_said(request, t("error.csrf"), "csrf")}
    key = STATUS_KEYS.get(status, "refusal.status.400")
    return {"detail": detail, **_said(request, t(key), None)}


def _field_name(t: Callable[..., str], loc: Sequence[Any]) -> str:
    names = [str(part) for part in loc if not isinstance(part, int)]
    name = names[-1] if names and names[-1] not in ("body", "query", "path") else ""
    key = f"field.{name}"
    return t(key) if key in MESSAGES else name


def validation_body(request: Request, errors: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The JSON body of a request FastAPI refused before any handler (a missing field,
    a wrong type …): FastAPI's list as ``detail``, and a message naming the fields."""
    t = _translator(caller_language(request))
    fields = [_field_name(t, e.get("loc", ())) for e in errors]
    named = t("clause_break").join(dict.fromkeys(f for f in fields if f))
    message = t("api.invalid_fields", fields=named) if named else t("refusal.status.422")
    return {"detail": list(errors), **_said(request, message, "invalid_request")}


def store_refused_body(request: Request) -> dict[str, Any]:
    """The JSON body of a value the database cannot hold."""
    t = _translator(caller_language(request))
    return {
        "detail": "a value is not valid for the store",
        **_said(request, t("api.store_refused"), "store_refused"),
    }
