"""What every page handler shares: the page context of the signed-in actor, role
gates that answer with a readable page (not JSON), htmx detection, safe redirects."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from arrears.services.workbench.access import Actor
from arrears.services.workbench.errors import WorkbenchError
from arrears.store.unit_of_work import UnitOfWork
from arrears.web.auth import csrf_token
from arrears.web.ui.i18n import request_language, translator
from arrears.web.ui.refusals import refusal_text
from arrears.web.ui.render import page_context, render


def context(request: Request, actor: Actor | None, **data: Any) -> dict[str, Any]:
    """The page context for ``actor`` with the page's own ``data``."""
    base = page_context(request, actor, csrf_token(request))
    base.update(data)
    return base


def show(
    request: Request, actor: Actor | None, template: str, status_code: int = 200, **data: Any
) -> HTMLResponse:
    """Render ``template`` for ``actor`` with ``data``."""
    return render(request, template, context(request, actor, **data), status_code=status_code)


def refused(request: Request, actor: Actor | None, status_code: int = 403) -> HTMLResponse:
    """The readable "you may not" page (also for a case outside the actor's scope)."""
    key = "error.not_found" if status_code == 404 else "error.forbidden"
    return show(request, actor, "error.html", status_code=status_code, message_key=key)


def refusal_for(request: Request, actor: Actor | None, error: WorkbenchError) -> str:
    """A service's refusal in the language of the page (web/ui/refusals.py)."""
    language = request_language(request, getattr(actor, "language", None))
    return refusal_text(error, translator(language), language)


def failed(request: Request, actor: Actor, error: WorkbenchError) -> HTMLResponse:
    """A service's refusal shown as a page with its message and HTTP status."""
    detail = refusal_for(request, actor, error)
    return show(
        request, actor, "error.html", status_code=error.status, message_key=None, detail=detail
    )


def allowed(actor: Actor, roles: frozenset[str] | set[str]) -> bool:
    """True when the actor's role is one of ``roles`` (admin always is)."""
    return actor.role in roles or actor.role == "admin"


def is_htmx(request: Request) -> bool:
    """True for a request htmx sent (it swaps a fragment instead of loading a page)."""
    return request.headers.get("HX-Request") == "true"


def local_target(target: str | None, default: str) -> str:
    """``target`` when it is a path on this site, else ``default`` (no open redirects)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default


def see_other(target: str) -> Response:
    """A 303 to ``target`` (after a POST, so reload does not post again); htmx gets an
    ``HX-Redirect`` so it loads the whole page."""
    response = RedirectResponse(target, status_code=303)
    response.headers["HX-Redirect"] = target
    return response


Form = dict[str, list[str]]


async def read_form(request: Request) -> Form:
    """The request's form fields, each name to its values (a multi-select sends one
    name many times); uploads are left out."""
    data = await request.form()
    out: Form = {}
    for key, value in data.multi_items():
        if isinstance(value, str):
            out.setdefault(key, []).append(value)
    return out


def first(form: Form, key: str) -> str:
    """The first value of field ``key``, stripped ("" when absent)."""
    return (form.get(key) or [""])[0].strip()


Flashes = list[tuple[str, str]]
Page = Callable[[Request, Actor, UnitOfWork, Flashes, int], Response]


def run_work(
    request: Request,
    actor: Actor,
    uow: UnitOfWork,
    page: Page,
    work: Callable[[Callable[..., str]], str],
) -> Response:
    """A form's ``work`` (given the reader's translate function, it returns what to
    tell them), committed, then ``page`` with that message; a service's refusal rolls
    back and shows ``page`` with it, in the reader's language, at the refusal's status."""
    t = translator(request_language(request, actor.language))
    try:
        message = work(t)
    except WorkbenchError as error:
        uow.rollback()
        refusal = [("bad", t("rejected", reason=refusal_for(request, actor, error)))]
        return page(request, actor, uow, refusal, error.status)
    uow.commit()
    return page(request, actor, uow, [("ok", message)], 200)
