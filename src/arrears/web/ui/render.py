"""Rendering of the workbench pages: one Jinja2 environment over ``web/templates``,
the filters the templates use (money, dates, percentages), and the role-dependent
navigation.

Handlers call :func:`render`; they pass data the services returned and never format a
number themselves, so every amount on every page is written the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context, select_autoescape
from jinja2.runtime import Context
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse

from arrears.services.clock import DEFAULT_TIME_ZONE
from arrears.services.workbench.access import LENDER_STAFF
from arrears.services.workbench.search import SEARCHERS
from arrears.web.ui.i18n import LANGUAGES, request_language, translator
from arrears.web.ui.refusals import block_reasons, memo_text

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
STATIC_PREFIX = "/static/"
# the workbench shows times in the workspace's zone (the business clock's, default
# Asia/Shanghai); debtor-local times are the compliance gate's business and are shown by
# it, labelled as such
DISPLAY_ZONE = ZoneInfo(DEFAULT_TIME_ZONE)

# page -> roles that see it in the top bar (the page itself checks again)
NAVIGATION: tuple[tuple[str, str, frozenset[str]], ...] = (
    ("queue", "/queue", frozenset({"collector", "team_lead", "manager", "agency", "admin"})),
    # search.SEARCHERS: every role that may look a customer up (and take an inbound call)
    ("search", "/search", SEARCHERS),
    ("approvals", "/approvals", frozenset({"team_lead", "manager", "admin"})),
    ("team", "/team", frozenset({"team_lead", "manager", "admin"})),
    ("agencies", "/agencies", frozenset({"manager", "admin", "agency", "compliance"})),
    ("legal", "/legal", frozenset({"team_lead", "manager", "admin", "compliance"})),
    ("dashboard", "/dashboard", frozenset({"team_lead", "manager", "admin"})),
    ("compliance", "/compliance", frozenset({"compliance", "manager", "admin"})),
    # what debtors asked in the portal (arrears.web.portal.staff)
    (
        "debtor_requests",
        "/debtor-requests",
        frozenset({"compliance", "team_lead", "manager", "admin"}),
    ),
    ("staff", "/staff", frozenset({"manager", "admin"})),
)


def navigation_for(role: str | None) -> list[tuple[str, str]]:
    """The (key, href) pairs of the top bar for a user of ``role``."""
    if role is None:
        return []
    return [(key, href) for key, href, roles in NAVIGATION if role in roles]


HOMES = {"manager": "/dashboard", "compliance": "/compliance"}


def home_for(role: str) -> str:
    """Where a user of ``role`` lands after signing in: managers on the dashboard, the
    compliance officer on the blocked contacts, everyone else on their queue."""
    return HOMES.get(role, "/queue")


def money(value: Decimal | int | str | None) -> str:
    """``1,234.50``: thousands separators, two decimals, exact (no float on the way)."""
    if value is None or value == "":
        return ""
    amount = value if isinstance(value, Decimal) else Decimal(str(value))
    return f"{amount.quantize(Decimal('0.01')):,}"


def percent(value: Decimal | float | None, digits: int = 1) -> str:
    """``12.3%`` from a ratio 0.123 (None shows as a dash)."""
    if value is None:
        return "–"
    return f"{Decimal(str(value)) * 100:.{digits}f}%"


@pass_context
def when_in_zone(context: Context, value: datetime | date | str | None) -> Markup:
    """The ``when`` filter: :func:`when` in the page's ``time_zone``."""
    return when(value, context.get("time_zone") or None)


def when(value: datetime | date | str | None, time_zone: str | None = None) -> Markup:
    """A date as ``2026-12-01``, a time as ``2026-12-01 14:05`` in ``time_zone`` (default
    the display zone), in a ``<time>`` element (never wrapped across lines). A time
    without a zone is UTC: the store writes UTC and SQLite gives it back without it."""
    if value is None or value == "":
        return Markup("")
    if isinstance(value, str):
        return Markup("<time>{}</time>").format(value)
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        local = aware.astimezone(ZoneInfo(time_zone) if time_zone else DISPLAY_ZONE)
        return Markup('<time datetime="{}">{}</time>').format(
            aware.isoformat(), local.strftime("%Y-%m-%d %H:%M")
        )
    return Markup('<time datetime="{0}">{0}</time>').format(value.isoformat())


@pass_context
def reasons_in_language(context: Context, rules: Sequence[str], english: Any) -> str:
    """Why a contact was blocked, in the page's language (by the blocking rules)."""
    return block_reasons(rules, english or "", context["t"], context["lang"])


@pass_context
def memo_in_language(context: Context, memo: str | None) -> str:
    """A ledger memo in the page's language (the workbench's own memos)."""
    return memo_text(memo or "", context["t"])


@pass_context
def staff_name(context: Context, name: str | None) -> str:
    """A username as the page shows it: the lender's staff, hidden from an agency user
    (``access.LENDER_STAFF``), in the page's language; any other name as it is."""
    if name == LENDER_STAFF:
        return str(context["t"]("lender_staff"))
    return name or ""


def bucket_tone(bucket: str | None) -> str:
    """The badge colour of an ageing bucket: none for M0/M1, warning to M3, bad after."""
    if not bucket or bucket in ("M0", "M1"):
        return ""
    if bucket in ("M2", "M3"):
        return "warn"
    return "bad"


def _static(name: str) -> str:
    return STATIC_PREFIX + name


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(money=money, percent=percent, when=when_in_zone, staff=staff_name)
    env.globals.update(
        static=_static,
        languages=LANGUAGES,
        bucket_tone=bucket_tone,
        block_reasons=reasons_in_language,
        memo_text=memo_in_language,
    )
    return env


ENVIRONMENT = _environment()


def page_context(
    request: Request, user: Any | None, csrf_token: str, language: str | None = None
) -> dict[str, Any]:
    """What every page needs: language and translate function, user, CSRF token,
    navigation and the path (for the language toggle to come back to)."""
    lang = language or request_language(request, getattr(user, "language", None))
    settings = getattr(request.app.state, "settings", None)
    return {
        # the business clock: the workspace's zone and today's date in it
        "time_zone": getattr(settings, "time_zone", "") or DEFAULT_TIME_ZONE,
        "business_date": settings.today() if settings is not None else None,
        "lang": lang,
        "t": translator(lang),
        "user": user,
        "csrf_token": csrf_token,
        "nav": navigation_for(getattr(user, "role", None)),
        "active_nav": None,
        "request_path": request.url.path + (("?" + request.url.query) if request.url.query else ""),
        "flashes": [],
        "flash_keys": [],
    }


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """The page ``template`` rendered with ``context`` (from :func:`page_context` plus
    the page's own data)."""
    html = ENVIRONMENT.get_template(template).render(**context)
    return HTMLResponse(html, status_code=status_code, headers=headers)
