"""The debtor portal's pages under ``/portal`` (part of ``arrears serve``).

Its own session kind: the cookie ``arrears_portal`` (path ``/portal``, HttpOnly,
SameSite=Lax, Secure behind TLS) names a portal session (``arrears.services.portal.
access``), never a staff one; staff cookies are never read here, nor this one by the
workbench. Every form carries the session's CSRF token (the letter-code form, before any
session, the double-submit token of ``arrears.web.auth``); a form without it is
refused (403). No page takes an id: everything is about the loan of the verified
session, so another debtor's case cannot be named. Refusals are shown on the page in
the debtor's language with the status of the refusal (4xx).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.responses import HTMLResponse, RedirectResponse, Response

from arrears.services.portal import access, actions
from arrears.services.portal.config import PortalSettings
from arrears.services.workbench.errors import Invalid, TooMany, WorkbenchError
from arrears.store.models import Customer
from arrears.store.portal_models import PortalSession
from arrears.store.unit_of_work import UnitOfWork
from arrears.web.auth import PRE_CSRF_COOKIE, client_ip, pre_login_token, tokens_match
from arrears.web.portal.staff import router as staff_router
from arrears.web.portal.words import WORDS
from arrears.web.ui.i18n import normalise_language, request_language
from arrears.web.ui.render import money, when

COOKIE = "arrears_portal"
LANG_COOKIE = "arrears_portal_lang"
TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "portal"
MAX_UPLOAD = 10 * 1024 * 1024

router = APIRouter(include_in_schema=False)  # the portal and its staff page
portal = APIRouter(prefix="/portal", include_in_schema=False)
_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters.update(money=money, when=when)


def words(language: str) -> Callable[..., str]:
    """``t(key, **values)`` in ``language`` (the key itself when unknown)."""
    index = 1 if language == "zh_CN" else 0

    def t(key: str, **values: Any) -> str:
        pair = WORDS.get(key)
        if pair is None:
            return key
        return pair[index].format(**values) if values else pair[index]

    return t


def _settings(request: Request) -> PortalSettings:
    state = request.app.state
    if not hasattr(state, "portal_settings"):
        from arrears.services.settings import load_settings

        loaded = load_settings(state.workspace_root)
        state.portal_settings = loaded.portal
        state.portal_brand = (loaded.institution.brand, loaded.institution.brand_en)
        state.portal_lender = loaded.institution
    return state.portal_settings


def _lender(request: Request, language: str) -> Any:
    _settings(request)
    return request.app.state.portal_lender.voice(language)


@contextmanager
def _unit(request: Request) -> Iterator[UnitOfWork]:
    with UnitOfWork(request.app.state.engine) as uow:
        yield uow


def _language(request: Request, portal: PortalSession | None = None) -> str:
    if portal is not None and portal.language in ("zh_CN", "en"):
        return portal.language
    return normalise_language(request.cookies.get(LANG_COOKIE)) or request_language(request)


def _address(request: Request) -> str:
    return client_ip(request) or "unknown"


def _page(
    request: Request,
    template: str,
    language: str,
    *,
    csrf: str = "",
    status: int = 200,
    **values: Any,
) -> HTMLResponse:
    t = words(language)
    lender = _lender(request, language)
    html = _env.get_template(template).render(
        w=t,
        lang=language,
        # pages outside a session (errors, the letter form) switch language with the
        # double-submit token
        csrf=csrf or pre_login_token(request),
        lender=lender,
        path=request.url.path,
        **values,
    )
    return HTMLResponse(html, status_code=status)


def _refusal(exc: WorkbenchError, t: Callable[..., str]) -> str:
    if isinstance(exc, TooMany):
        return t("refusal.too_many", minutes=max(1, (exc.retry_after + 59) // 60))
    key = f"refusal.{exc.code}"
    if key in WORDS:
        try:
            return t(key, **exc.params)
        except (KeyError, IndexError):
            return t("refusal.other")
    if exc.code in ("file_type", "file_size", "not_accepted"):
        return t("refusal.file")
    return t("refusal.other")


def _set_cookie(request: Request, response: Response, cookie: str) -> None:
    response.set_cookie(
        COOKIE,
        cookie,
        httponly=True,
        samesite="lax",
        secure=request.app.state.settings.secure_cookies,
        path="/portal",
    )


def _see(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _ended(request: Request) -> HTMLResponse:
    language = _language(request)
    return _page(
        request,
        "message.html",
        language,
        status=401,
        title_key="session.over",
        text_key="session.over_text",
    )


def _live(request: Request, uow: UnitOfWork) -> PortalSession | None:
    settings = request.app.state.settings
    return access.current(uow.session, request.cookies.get(COOKIE), settings.now())


def _csrf_ok(portal: PortalSession, sent: str) -> bool:
    return tokens_match(sent, portal.csrf_token)


def _forbidden(request: Request, language: str) -> HTMLResponse:
    return _page(
        request,
        "message.html",
        language,
        status=403,
        title_key="refusal.csrf",
        text_key="session.over_text",
    )


# --- reaching the portal ---------------------------------------------------------------


@portal.get("")
@portal.get("/")
def landing(request: Request) -> Response:
    """Where a letter's reader types the printed code."""
    language = _language(request)
    return _page(request, "landing.html", language, csrf=pre_login_token(request), error=None)


@portal.post("/code")
def letter_code(request: Request, code: str = Form(""), csrf_token: str = Form("")) -> Response:
    """Open the portal with the code printed on a letter."""
    if not tokens_match(csrf_token, request.cookies.get(PRE_CSRF_COOKIE)):
        return _forbidden(request, _language(request))
    return _open(request, code, short_code=True)


@portal.get("/l/{token}")
def open_link(request: Request, token: str) -> Response:
    """A personal link from a message: start a portal session, then verify."""
    return _open(request, token, short_code=False)


def _open(request: Request, token: str, *, short_code: bool) -> Response:
    settings = request.app.state.settings
    language = _language(request)
    portal_settings = _settings(request)
    with _unit(request) as uow:
        try:
            opened = access.open_link(
                uow.session,
                request.app.state.workspace_root,
                token[:300],
                address=_address(request),
                now=settings.now(),
                today=settings.today(),
                link_days=portal_settings.link_days,
                language=language,
                short_code=short_code,
            )
        except WorkbenchError as exc:
            uow.session.rollback()
            keys = {
                "portal_link_expired": ("link.expired", "link.expired_text"),
                "portal_link_replaced": ("link.replaced", "link.expired_text"),
            }
            title, text = keys.get(exc.code or "", ("link.bad", "link.bad_text"))
            if isinstance(exc, TooMany):
                text = "refusal.too_many"
            return _page(
                request,
                "message.html",
                language,
                status=exc.status,
                title_key=title,
                text_key=text,
                minutes=max(1, getattr(exc, "retry_after", 60) // 60),
            )
        uow.commit()
    response = _see("/portal/verify")
    _set_cookie(request, response, opened.cookie)
    return response


@portal.post("/lang")
def choose_language(request: Request, lang: str = Form(""), csrf_token: str = Form("")) -> Response:
    """Switch the portal's language (the session's, and a cookie before one)."""
    chosen = normalise_language(lang) or "zh_CN"
    with _unit(request) as uow:
        portal = _live(request, uow)
        if portal is not None:
            if not _csrf_ok(portal, csrf_token):
                return _forbidden(request, chosen)
            portal.language = chosen
            uow.commit()
        elif not tokens_match(csrf_token, request.cookies.get(PRE_CSRF_COOKIE)):
            return _forbidden(request, chosen)
    back = "/portal/home" if portal is not None and portal.verified_at else "/portal/verify"
    response = _see(back if portal is not None else "/portal")
    response.set_cookie(
        LANG_COOKIE,
        chosen,
        samesite="lax",
        path="/portal",
        max_age=365 * 86400,
        secure=request.app.state.settings.secure_cookies,
        httponly=True,
    )
    return response


# --- verification ---------------------------------------------------------------------


@portal.get("/verify")
def verify_page(request: Request, sent: str = "") -> Response:
    """The identity question, then the one-time code."""
    with _unit(request) as uow:
        portal = _live(request, uow)
        if portal is None:
            return _ended(request)
        if portal.verified_at is not None:
            return _see("/portal/home")
        language = _language(request, portal)
        return _page(
            request,
            "verify.html",
            language,
            csrf=portal.csrf_token,
            portal=portal,
            sent=_sent_to(uow, portal) if sent else "",
            error=None,
        )


def _sent_to(uow: UnitOfWork, portal: PortalSession) -> str:
    """Where the session's code went, masked, as the store knows it (never the words
    of the query string: anyone could write a link showing their own text here)."""
    customer = uow.session.get(Customer, portal.customer_id)
    channel = portal.code_channel
    value = (customer.mobile if channel == "sms" else customer.email) if customer else None
    if channel not in access.CODE_CHANNELS or not value:
        return ""
    return access.masked_recipient(channel, value)


def _verify_step(
    request: Request, csrf_token: str, step: Callable[[UnitOfWork, PortalSession], Response]
) -> Response:
    with _unit(request) as uow:
        portal = _live(request, uow)
        if portal is None:
            return _ended(request)
        language = _language(request, portal)
        if not _csrf_ok(portal, csrf_token):
            return _forbidden(request, language)
        try:
            return step(uow, portal)
        except WorkbenchError as exc:
            uow.session.rollback()
            portal = _live(request, uow)
            if portal is None:
                return _ended(request)
            return _page(
                request,
                "verify.html",
                language,
                csrf=portal.csrf_token,
                portal=portal,
                sent="",
                error=_refusal(exc, words(language)),
                status=exc.status,
            )


@portal.post("/verify/identity")
def verify_identity(
    request: Request,
    birth_date: str = Form(""),
    id_last4: str = Form(""),
    csrf_token: str = Form(""),
) -> Response:
    """Check the date of birth or the ID number's last four characters."""
    settings = request.app.state.settings

    def step(uow: UnitOfWork, portal: PortalSession) -> Response:
        day = None
        if birth_date.strip():
            day = actions.parse_day(birth_date[:20], "birth_date")
        access.check_identity(
            uow.session,
            portal,
            birth_date=day,
            id_last4=id_last4[:10],
            address=_address(request),
            now=settings.now(),
        )
        uow.commit()
        return _see("/portal/verify")

    return _verify_step(request, csrf_token, step)


@portal.post("/verify/send")
def verify_send(request: Request, channel: str = Form(""), csrf_token: str = Form("")) -> Response:
    """Send a one-time code to the phone or email on file."""
    settings = request.app.state.settings

    def step(uow: UnitOfWork, portal: PortalSession) -> Response:
        language = _language(request, portal)
        brand = _lender(request, language).brand
        sent = access.send_code(uow.session, portal, channel[:10], brand=brand, now=settings.now())
        uow.commit()
        access.deliver_now(
            request.app.state.engine, request.app.state.workspace_root, sent.outbox_id
        )
        return _see(f"/portal/verify?sent={sent.masked}")

    return _verify_step(request, csrf_token, step)


@portal.post("/verify/code")
def verify_code(request: Request, code: str = Form(""), csrf_token: str = Form("")) -> Response:
    """Check the one-time code; the session is verified under a new cookie."""
    settings = request.app.state.settings

    def step(uow: UnitOfWork, portal: PortalSession) -> Response:
        done = access.check_code(
            uow.session, portal, code[:20], address=_address(request), now=settings.now()
        )
        uow.commit()
        response = _see("/portal/home")
        _set_cookie(request, response, done.cookie)
        return response

    return _verify_step(request, csrf_token, step)


@portal.post("/sign-out")
def sign_out(request: Request, csrf_token: str = Form("")) -> Response:
    """End the portal session."""
    with _unit(request) as uow:
        portal = _live(request, uow)
        if portal is not None:
            if not _csrf_ok(portal, csrf_token):
                return _forbidden(request, _language(request, portal))
            access.end(uow.session, portal, request.app.state.settings.now())
            uow.commit()
    response = _see("/portal")
    response.delete_cookie(COOKIE, path="/portal")
    return response


# --- the verified debtor ---------------------------------------------------------------


PAGES = ("pay", "promise", "plan", "settlement", "hardship", "dispute", "preferences")


def _verified(request: Request, uow: UnitOfWork) -> PortalSession | None:
    portal = _live(request, uow)
    if portal is None or portal.verified_at is None:
        return None
    access.touch(uow.session, portal, request.app.state.settings.now())
    return portal


def _show(
    request: Request,
    uow: UnitOfWork,
    portal: PortalSession,
    template: str,
    *,
    status: int = 200,
    error: str | None = None,
    done: str | None = None,
    page: str = "",
) -> HTMLResponse:
    settings = request.app.state.settings
    language = _language(request, portal)
    view = actions.overview(uow.session, portal, _settings(request), settings.today())
    return _page(
        request,
        template,
        language,
        csrf=portal.csrf_token,
        view=view,
        error=error,
        done=done,
        page=page,
        today=settings.today(),
        prefs=actions.channel_preferences(uow.session, portal.customer_id),
        channels=actions.PREFERENCE_CHANNELS,
        status=status,
        pay_ready=_payments_ready(),
    )


def _payments_ready() -> bool:
    try:
        import arrears.services.payments  # noqa: F401
    except ImportError:
        return False
    return True


@portal.get("/home")
def home(request: Request, done: str = "") -> Response:
    """What the debtor owes and can do."""
    with _unit(request) as uow:
        portal = _verified(request, uow)
        if portal is None:
            return _ended(request)
        from arrears.services import audit

        audit.begin_write(uow.session)
        audit.append(
            uow.session,
            "portal",
            "portal.view",
            "portal_session",
            portal.id,
            {"loan_id": portal.loan_id, "page": "home"},
        )
        response = _show(request, uow, portal, "home.html", done=_done_key(done))
        uow.commit()
        return response


def _done_key(done: str) -> str | None:
    key = {"pay": "pay.returned", "asked": "plan.asked"}.get(done, f"{done}.done")
    return key if key in WORDS else None


@portal.get("/{page}")
def action_page(request: Request, page: str) -> Response:
    """The form of one action."""
    if page not in PAGES:
        return _page(
            request,
            "message.html",
            _language(request),
            status=404,
            title_key="link.bad",
            text_key="link.bad_text",
        )
    with _unit(request) as uow:
        portal = _verified(request, uow)
        if portal is None:
            return _ended(request)
        response = _show(request, uow, portal, "action.html", page=page)
        uow.commit()
        return response


def _act(
    request: Request,
    page: str,
    csrf_token: str,
    act: Callable[[UnitOfWork, PortalSession], str | Response],
) -> Response:
    """Run one action of a verified session: CSRF first, then ``act`` (which returns
    the ``done`` key to show, or a response); a refusal shows the form again."""
    with _unit(request) as uow:
        portal = _verified(request, uow)
        if portal is None:
            return _ended(request)
        language = _language(request, portal)
        if not _csrf_ok(portal, csrf_token):
            return _forbidden(request, language)
        try:
            outcome = act(uow, portal)
        except WorkbenchError as exc:
            uow.session.rollback()
            portal = _verified(request, uow)
            if portal is None:
                return _ended(request)
            error = _refusal(exc, words(language))
            response = _show(
                request, uow, portal, "action.html", page=page, error=error, status=exc.status
            )
            uow.commit()
            return response
        uow.commit()
        if isinstance(outcome, Response):
            return outcome
        return _see(f"/portal/home?done={outcome}")


@portal.post("/promise")
def do_promise(
    request: Request,
    amount: str = Form(""),
    due_date: str = Form(""),
    csrf_token: str = Form(""),
) -> Response:
    """Promise to pay ``amount`` by ``due_date``."""
    settings = request.app.state.settings

    def act(uow: UnitOfWork, portal: PortalSession) -> str:
        loan_currency = actions.target(uow.session, portal).loan.currency
        actions.promise(
            uow.session,
            portal,
            _settings(request),
            amount=actions.parse_amount(amount[:40], loan_currency),
            due_date=actions.parse_day(due_date[:20], "due_date"),
            today=settings.today(),
        )
        return "promise"

    return _act(request, "promise", csrf_token, act)


def _whole(text: str, field: str) -> int:
    digits = text.strip()
    if not digits.isdigit() or not 1 <= int(digits) <= 60:
        raise Invalid(f"{field}: 1 to 60", "whole_between", field=field, low=1, high=60)
    return int(digits)


@portal.post("/plan")
def do_plan(
    request: Request,
    count: str = Form(""),
    first_due: str = Form(""),
    csrf_token: str = Form(""),
) -> Response:
    """Choose an instalment plan (pre-approved, or sent for approval)."""
    settings = request.app.state.settings

    def act(uow: UnitOfWork, portal: PortalSession) -> str:
        done = actions.choose_plan(
            uow.session,
            portal,
            _settings(request),
            count=_whole(count[:4], "count"),
            first_due=actions.parse_day(first_due[:20], "first_due"),
            today=settings.today(),
        )
        return "plan" if done.request is None else "asked"

    return _act(request, "plan", csrf_token, act)


@portal.post("/settlement")
def do_settlement(
    request: Request,
    amount: str = Form(""),
    pay_by: str = Form(""),
    csrf_token: str = Form(""),
) -> Response:
    """Accept the settlement offer, or ask for another amount."""
    settings = request.app.state.settings

    def act(uow: UnitOfWork, portal: PortalSession) -> str:
        currency = actions.target(uow.session, portal).loan.currency
        asked = actions.parse_amount(amount[:40], currency) if amount.strip() else None
        done = actions.accept_settlement(
            uow.session,
            portal,
            _settings(request),
            amount=asked,
            pay_by=actions.parse_day(pay_by[:20], "pay_by"),
            today=settings.today(),
        )
        return "settle" if done.request is None else "asked"

    return _act(request, "settlement", csrf_token, act)


def _files(documents: list[UploadFile]) -> list[tuple[str, str, bytes]]:
    named = [upload for upload in documents if upload.filename]
    if len(named) > actions.MAX_DOCUMENTS:  # refused before any is read into memory
        raise Invalid(
            f"documents: at most {actions.MAX_DOCUMENTS}",
            "portal_too_many_files",
            high=actions.MAX_DOCUMENTS,
        )
    out = []
    for upload in named:
        content = upload.file.read(MAX_UPLOAD + 1)
        out.append((upload.filename[:200], upload.content_type or "", content))
    return out


@portal.post("/hardship")
def do_hardship(
    request: Request,
    reason: str = Form(""),
    documents: list[UploadFile] = File(default=[]),
    csrf_token: str = Form(""),
) -> Response:
    """Ask for hardship relief, with documents."""
    settings = request.app.state.settings

    def act(uow: UnitOfWork, portal: PortalSession) -> str:
        actions.hardship(
            uow.session, portal, reason=reason, files=_files(documents), today=settings.today()
        )
        return "hardship"

    return _act(request, "hardship", csrf_token, act)


@portal.post("/dispute")
def do_dispute(
    request: Request,
    reason: str = Form(""),
    documents: list[UploadFile] = File(default=[]),
    csrf_token: str = Form(""),
) -> Response:
    """Dispute the debt: a hold, documents and a compliance task."""
    settings = request.app.state.settings

    def act(uow: UnitOfWork, portal: PortalSession) -> str:
        actions.dispute(
            uow.session,
            portal,
            reason=reason,
            files=_files(documents),
            today=settings.today(),
            pack=settings.compliance_pack,
        )
        return "dispute"

    return _act(request, "dispute", csrf_token, act)


@portal.post("/preferences")
def do_preferences(
    request: Request,
    channel: str = Form(""),
    allow: str = Form(""),
    csrf_token: str = Form(""),
) -> Response:
    """Opt out of a channel (or back in), in the consent ledger."""
    settings = request.app.state.settings

    def act(uow: UnitOfWork, portal: PortalSession) -> str:
        language = _language(request, portal)
        t = words(language)
        on = allow == "1"
        name = t(f"channel.{channel}") if f"channel.{channel}" in WORDS else channel
        text = t("prefs.opt_in_text" if on else "prefs.opt_out_text", channel=name)
        actions.set_channel(uow.session, portal, channel[:10], on, text=text, now=settings.now())
        return "prefs"

    return _act(request, "preferences", csrf_token, act)


@portal.post("/pay")
def do_pay(request: Request, amount: str = Form(""), csrf_token: str = Form("")) -> Response:
    """Start a hosted checkout at the processor for ``amount`` and go there."""

    def act(uow: UnitOfWork, portal: PortalSession) -> Response:
        from arrears.services.payments import CheckoutError, start_checkout

        t = actions.target(uow.session, portal)
        value = actions.parse_amount(amount[:40], t.loan.currency)
        try:
            checkout = start_checkout(
                uow.session,
                loan_id=t.loan.loan_id,
                customer_id=t.customer.customer_id,
                amount=value,
                currency=t.loan.currency,
                return_url="/portal/home?done=pay",
                origin="portal",
                now=request.app.state.settings.now(),
            )
        except CheckoutError as exc:
            raise Invalid(str(exc), "not_amount", field="amount") from None
        # a page that moves on to the processor (a link and a refresh, not a redirect of
        # the form's POST: the Content-Security-Policy's form-action allows this site only)
        return _page(request, "go.html", _language(request, portal), url=checkout.url)

    return _act(request, "pay", csrf_token, act)


_env.globals.update(Decimal=Decimal, timedelta=timedelta)


router.include_router(portal)
router.include_router(staff_router)
