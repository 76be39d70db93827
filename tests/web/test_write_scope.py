"""Every write route re-checks the case scope of the object it changes (issue 22,
finding 2): an actor who may not see a case gets 404 for any write on it, or on any
of its objects (hold, promise, arrangement, visit), exactly as for an id that does not
exist, and nothing in the store changes. A page form posted on one case's page never
changes another case's object.

``PROBES`` try each write route as an outsider: a collector of the other team (c3), the
other team's lead (tl2), an agency user of another agency (ag2), and for page routes
that name a case and an object, a manager on a case the object is not on. Routes that
are not about a case are in ``NOT_ABOUT_A_CASE`` with the reason. The write routes are
read from the OpenAPI document and the app's page routes, so a new one fails
``test_every_write_route_is_probed_or_listed`` until it is probed here or listed.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import timedelta
from decimal import Decimal
from typing import Any

import fastapi.routing
import pytest
from fastapi.routing import APIRoute
from sqlalchemy import Engine, select
from web_support import TODAY, Book

from arrears.services.workbench import arrangements, dpd_pauses, holds, promises, visits
from arrears.services.workbench.access import Actor
from arrears.store.models import Base
from arrears.store.unit_of_work import UnitOfWork
from arrears.store.workbench_models import Agency, User

API = "/api/v1"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# a minimal PDF, so an upload passes any content check and only the scope can refuse it
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
# what a reveal needs besides the field, whichever reason fields the route reads
REVEAL_REASON = {"reason_code": "verify_identity", "reason_text": "write scope test"}


@dataclass(frozen=True)
class Probe:
    """One outsider's write: ``actor`` sends ``method`` to ``route`` with the path
    parameters naming objects of the book (``case1`` … ``case4``, ``hold``,
    ``promise``, ``arrangement``, ``visit``, ``dpd_pause``); a body value ``"@name"``
    is that object's id. ``why`` says what makes the actor an outsider."""

    method: str
    route: str
    actor: str
    why: str
    params: dict[str, str] = field(default_factory=dict)
    json: Any = None
    form: dict[str, Any] | None = None
    upload: bool = False

    @property
    def id(self) -> str:
        return f"{self.method} {self.route} as {self.actor}: {self.why}"


NORTH_CASE = {"case_id": "case1"}  # collector c1's case, team north
NOT_C3 = "a collector of the other team"
NOT_TL2 = "the other team's lead"
NOT_AG2 = "a user of another agency"
MISMATCH = "a manager, the object being on another case than the URL's"
OWN_CASE_URL = "the other team's lead, on their own case's URL"

PROBES = [
    # JSON API
    Probe("POST", f"{API}/cases/{{case_id}}/release", "c3", NOT_C3, NORTH_CASE),
    Probe("POST", f"{API}/cases/{{case_id}}/assign", "tl2", NOT_TL2, NORTH_CASE,
          json={"to_user": "c2", "reason": "scope"}),
    Probe("POST", f"{API}/transfers", "tl2", "the other team's lead, moving c1's cases",
          json={"from_user": "c1", "to_users": ["c2"], "reason": "scope"}),
    Probe("POST", f"{API}/cases/{{case_id}}/reveal", "c3", NOT_C3, NORTH_CASE,
          json={"field": "mobile", "reason": "scope", **REVEAL_REASON}),
    Probe("POST", f"{API}/cases/{{case_id}}/notes", "c3", NOT_C3, NORTH_CASE,
          json={"body": "scope"}),
    Probe("POST", f"{API}/cases/{{case_id}}/notes", "ag2", NOT_AG2, {"case_id": "case4"},
          json={"body": "scope"}),
    Probe("POST", f"{API}/cases/{{case_id}}/documents", "c3", NOT_C3, NORTH_CASE,
          upload=True),
    Probe("POST", f"{API}/cases/{{case_id}}/contacts", "c3", NOT_C3, NORTH_CASE,
          json={"channel": "call", "disposition": "RPC"}),
    Probe("POST", f"{API}/cases/{{case_id}}/contacts", "ag2", NOT_AG2, {"case_id": "case4"},
          json={"channel": "call", "disposition": "RPC"}),
    Probe("POST", f"{API}/cases/{{case_id}}/promises", "c3", NOT_C3, NORTH_CASE,
          json={"amount": "10.00", "due_date": "2026-12-05"}),
    Probe("POST", f"{API}/promises/{{promise_id}}/cancel", "c3", NOT_C3,
          {"promise_id": "promise"}),
    Probe("POST", f"{API}/cases/{{case_id}}/arrangements", "c3", NOT_C3, NORTH_CASE,
          json={"kind": "waiver", "terms": {"component": "penalty", "amount": "10.00"}}),
    Probe("POST", f"{API}/arrangements/{{arrangement_id}}/decision", "tl2", NOT_TL2,
          {"arrangement_id": "arrangement"}, json={"approve": True}),
    Probe("POST", f"{API}/cases/{{case_id}}/holds", "c3", NOT_C3, NORTH_CASE,
          json={"kind": "dispute", "reason": "scope"}),
    Probe("POST", f"{API}/holds/{{hold_id}}/release", "tl2", NOT_TL2, {"hold_id": "hold"}),
    Probe("POST", f"{API}/cases/{{case_id}}/dpd-pauses", "tl2", NOT_TL2, NORTH_CASE,
          json={"reason": "dispute", "on": "2026-12-20"}),
    Probe("POST", f"{API}/dpd-pauses/{{pause_id}}/resume", "tl2", NOT_TL2,
          {"pause_id": "dpd_pause"}),
    Probe("POST", f"{API}/cases/{{case_id}}/visits", "c3", NOT_C3, NORTH_CASE,
          json={"scheduled_on": "2026-12-05"}),
    Probe("POST", f"{API}/visits/{{visit_id}}/result", "tl2", NOT_TL2, {"visit_id": "visit"},
          json={"outcome": "not_home"}),
    Probe("POST", f"{API}/cases/{{case_id}}/legal", "tl2", NOT_TL2, NORTH_CASE,
          json={"stage": "lawyer_letter", "started_on": "2026-12-01"}),
    # page forms
    Probe("POST", "/cases/{case_id}/reveal", "c3", NOT_C3, NORTH_CASE,
          form={"field": "mobile", "reason": "scope", **REVEAL_REASON}),
    Probe("POST", "/cases/{case_id}/release", "c3", NOT_C3, NORTH_CASE),
    Probe("POST", "/cases/{case_id}/contact", "c3", NOT_C3, NORTH_CASE,
          form={"channel": "call", "disposition": "RPC"}),
    Probe("POST", "/cases/{case_id}/promise", "c3", NOT_C3, NORTH_CASE,
          form={"amount": "10.00", "due_date": "2026-12-05"}),
    Probe("POST", "/cases/{case_id}/arrangement", "c3", NOT_C3, NORTH_CASE,
          form={"kind": "waiver", "component": "penalty", "amount": "10.00"}),
    Probe("POST", "/cases/{case_id}/hold", "c3", NOT_C3, NORTH_CASE,
          form={"kind": "dispute", "reason": "scope"}),
    Probe("POST", "/cases/{case_id}/visit", "c3", NOT_C3, NORTH_CASE,
          form={"scheduled_on": "2026-12-05"}),
    Probe("POST", "/cases/{case_id}/visit/{visit_id}/outcome", "tl2", NOT_TL2,
          {"case_id": "case1", "visit_id": "visit"},
          form={"outcome": "not_home", "visited_on": "2026-12-01"}),
    Probe("POST", "/cases/{case_id}/visit/{visit_id}/outcome", "tl2", OWN_CASE_URL,
          {"case_id": "case3", "visit_id": "visit"},
          form={"outcome": "not_home", "visited_on": "2026-12-01"}),
    Probe("POST", "/cases/{case_id}/visit/{visit_id}/outcome", "mgr", MISMATCH,
          {"case_id": "case2", "visit_id": "visit"},
          form={"outcome": "not_home", "visited_on": "2026-12-01"}),
    Probe("POST", "/cases/{case_id}/note", "c3", NOT_C3, NORTH_CASE, form={"body": "scope"}),
    Probe("POST", "/cases/{case_id}/note", "ag2", NOT_AG2, {"case_id": "case4"},
          form={"body": "scope"}),
    Probe("POST", "/cases/{case_id}/blacklist", "tl2", NOT_TL2, NORTH_CASE,
          form={"source": "typed", "value": "13900000000", "reason": "scope"}),
    Probe("POST", "/cases/{case_id}/hold/{hold_id}/release", "tl2", NOT_TL2,
          {"case_id": "case1", "hold_id": "hold"}),
    Probe("POST", "/cases/{case_id}/hold/{hold_id}/release", "tl2", OWN_CASE_URL,
          {"case_id": "case3", "hold_id": "hold"}),
    Probe("POST", "/cases/{case_id}/hold/{hold_id}/release", "mgr", MISMATCH,
          {"case_id": "case2", "hold_id": "hold"}),
    Probe("POST", "/cases/{case_id}/dpd-pause", "tl2", NOT_TL2, NORTH_CASE,
          form={"reason": "dispute", "on": "2026-12-20"}),
    Probe("POST", "/cases/{case_id}/dpd-pause/{pause_id}/resume", "tl2", NOT_TL2,
          {"case_id": "case1", "pause_id": "dpd_pause"}),
    Probe("POST", "/cases/{case_id}/dpd-pause/{pause_id}/resume", "tl2", OWN_CASE_URL,
          {"case_id": "case3", "pause_id": "dpd_pause"}),
    Probe("POST", "/cases/{case_id}/dpd-pause/{pause_id}/resume", "mgr", MISMATCH,
          {"case_id": "case2", "pause_id": "dpd_pause"}),
    Probe("POST", "/cases/{case_id}/document", "c3", NOT_C3, NORTH_CASE, upload=True),
    Probe("POST", "/approvals/{arrangement_id}", "tl2", NOT_TL2,
          {"arrangement_id": "arrangement"}, form={"decision": "approve"}),
    Probe("POST", "/team/reassign", "tl2", NOT_TL2,
          form={"case_id": "@case1", "to_user": "c2", "reason": "scope"}),
    Probe("POST", "/team/transfer", "tl2", "the other team's lead, moving c1's cases",
          form={"from_user": "c1", "to_users": "c2", "reason": "scope"}),
    Probe("POST", "/legal/stage", "tl2", NOT_TL2,
          form={"case_id": "@case1", "stage": "lawyer_letter", "started_on": "2026-12-01"}),
]  # fmt: skip

ROLE_SEES_ALL = "only managers and admins may do it, and they see every case (403 for others)"
NOT_ABOUT_A_CASE = {
    ("POST", "/webhooks/processor/{name}"): "a processor's signed event: no session, its "
    "signature authenticates it (docs/payments.md)",
    ("POST", "/standin/processor/checkout/{checkout_id}/{action}"): "the stand-in processor's "
    "page: the checkout's own form token, no staff session",
    ("POST", f"{API}/auth/login"): "logging in: no case",
    ("POST", f"{API}/auth/logout"): "ends the caller's own session",
    ("PUT", f"{API}/me/language"): "the caller's own preference",
    ("POST", f"{API}/queue/next"): "takes the next case from the caller's own scope; no id",
    ("PUT", f"{API}/dispositions"): "disposition codes: configuration, managers and admins",
    ("POST", f"{API}/blacklist"): "the blacklist is global, by contact value, supervisors",
    ("DELETE", f"{API}/blacklist/{{entry_id}}"): "the blacklist is global, supervisors",
    ("POST", f"{API}/agencies"): "adds an agency: " + ROLE_SEES_ALL,
    ("PUT", f"{API}/agencies/{{agency_id}}/rates"): "an agency's rates: " + ROLE_SEES_ALL,
    ("POST", f"{API}/cases/{{case_id}}/placement"): ROLE_SEES_ALL,
    ("POST", f"{API}/cases/{{case_id}}/recall"): ROLE_SEES_ALL,
    ("POST", f"{API}/placements/by-rule"): "picks cases by rule, no id: " + ROLE_SEES_ALL,
    ("POST", f"{API}/promises/settle"): "settles every promise: admins only",
    ("POST", f"{API}/users"): "adds a user: admins only",
    ("POST", f"{API}/teams"): "adds a team: admins only",
    ("POST", "/login"): "logging in: no case",
    ("POST", "/logout"): "ends the caller's own session",
    ("POST", "/lang"): "the caller's own preference",
    ("POST", "/queue/next"): "takes the next case from the caller's own scope; no id",
    ("POST", "/agencies/place"): ROLE_SEES_ALL,
    ("POST", "/agencies/recall"): ROLE_SEES_ALL,
    ("POST", "/agencies/by-rule"): "picks cases by rule, no id: " + ROLE_SEES_ALL,
    ("POST", "/staff/teams"): "adds a team: admins only",
    ("POST", "/staff/users"): "adds a user: admins only",
    ("POST", "/staff/agencies"): "adds an agency: " + ROLE_SEES_ALL,
    ("POST", "/debtor-requests/{request_id}"): "a debtor's request, answered only on a case "
    "in the answerer's scope: probed by tests/portal/test_security_probe.py (another "
    "team's lead, compliance, a collector and an agency user get 403/404)",
}
# The debtor portal: no staff session and no id in any path; a portal session is bound
# to the one loan of its verified link (tests/portal/test_portal_security.py and
# test_security_probe.py probe another debtor's loan, forged and rotated links, CSRF).
PORTAL_WRITES = (
    "code", "lang", "verify/identity", "verify/send", "verify/code", "sign-out",
    "promise", "plan", "settlement", "hardship", "dispute", "preferences", "pay",
)  # fmt: skip
NOT_ABOUT_A_CASE.update(
    {
        ("POST", f"/portal/{path}"): "the debtor portal: bound to its link's loan"
        for path in PORTAL_WRITES
    }
)
# bookkeeping of logins and sessions, which a request may touch whatever it asks for
SESSION_TABLES = ("session", "login", "throttl")


def write_routes(app) -> set[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """(method, path) of every write route: the OpenAPI document's and the pages'."""
    routes = {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
        if method.upper() in WRITE_METHODS
    }
    # FastAPI >= 0.16x keeps included routers lazily; iter_route_contexts flattens them
    flatten = getattr(fastapi.routing, "iter_route_contexts", None)
    found = list(flatten(app.routes)) if flatten else app.routes
    for route in found:
        if flatten is None and not isinstance(route, APIRoute):
            continue
        for method in set(getattr(route, "methods", None) or ()) & WRITE_METHODS:
            routes.add((method, route.path))
    return routes


def test_every_write_route_is_probed_or_listed(app) -> None:
    probed = {(p.method, p.route) for p in PROBES}
    assert not probed & set(NOT_ABOUT_A_CASE), "a route is both probed and listed"
    unaccounted = write_routes(app) - probed - set(NOT_ABOUT_A_CASE)
    assert unaccounted == set(), "write routes neither probed nor listed as not about a case"
    stale = (probed | set(NOT_ABOUT_A_CASE)) - write_routes(app)
    assert stale == set(), "probed or listed routes the app does not have"


def _objects(book: Book) -> dict[str, int]:
    """Objects on case 1 (collector c1, team north) for the probes to aim at, and a
    second agency with its user ag2 (case 4 is placed with the first)."""
    ids = {f"case{n}": case_id for n, case_id in enumerate(book.case_ids, start=1)}
    with UnitOfWork(book.engine) as uow:
        session = uow.session
        actors = {u.username: Actor.of(u) for u in session.scalars(select(User))}
        case1 = ids["case1"]
        hold = holds.place_hold(session, actors["mgr"], case1, "dispute", "scope", on=TODAY)
        promise = promises.create_promise(
            session, actors["c1"], case1, Decimal("100.00"), TODAY + timedelta(days=4), on=TODAY
        )
        # relief 10.00: within a team lead's limit, so only the scope can refuse tl2
        arrangement = arrangements.propose(
            session, actors["c1"], case1, "waiver", {"component": "penalty", "amount": "10.00"},
            on=TODAY,
        )  # fmt: skip
        visit = visits.order_visit(
            session, actors["c1"], case1, TODAY + timedelta(days=3), on=TODAY
        )
        pause = dpd_pauses.pause_dpd(
            session, actors["mgr"], case1, "dispute", on=TODAY, until=TODAY + timedelta(days=5)
        )
        other = Agency(code="A2", name="another agency", active=True)
        session.add(other)
        session.flush()
        c3 = session.scalar(select(User).where(User.username == "c3"))
        assert c3 is not None
        session.add(
            User(
                username="ag2",
                display_name="AG2",
                password_hash=c3.password_hash,
                role="agency",
                agency_id=other.id,
                language="zh_CN",
                approval_limit=Decimal(0),
                active=True,
            )
        )
        ids.update(hold=hold.id, promise=promise.id, arrangement=arrangement.id, visit=visit.id)
        ids.update(dpd_pause=pause.id)
        uow.commit()
    return ids


def store_state(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table but login and session bookkeeping."""
    state = {}
    with engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            if any(word in table.name for word in SESSION_TABLES):
                continue
            rows = connection.execute(select(table)).all()
            state[table.name] = sorted((tuple(row) for row in rows), key=repr)
    return state


def _send(client, probe: Probe, ids: dict[str, int]):  # type: ignore[no-untyped-def]
    url = probe.route.format(**{name: ids[obj] for name, obj in probe.params.items()})

    def value(v: Any) -> Any:
        return str(ids[v[1:]]) if isinstance(v, str) and v.startswith("@") else v

    if probe.upload:
        files = {"file": ("letter.pdf", PDF, "application/pdf")}
        return client.request(probe.method, url, files=files, follow_redirects=False)
    if probe.form is not None:
        form = {k: value(v) for k, v in probe.form.items()}
        return client.request(probe.method, url, data=form, follow_redirects=False)
    return client.request(probe.method, url, json=probe.json, follow_redirects=False)


@pytest.mark.parametrize("probe", PROBES, ids=lambda p: p.id)
def test_an_outsider_gets_404_and_changes_nothing(probe: Probe, book: Book, login) -> None:
    ids = _objects(book)
    client = login(probe.actor)
    before = store_state(book.engine)
    response = _send(client, probe, ids)
    assert response.status_code == 404, response.text[:500]
    assert store_state(book.engine) == before


# who may do what each probe tries, on the same object: the probe's insider
INSIDER = {"c3": "c1", "tl2": "tl", "ag2": "ag", "mgr": "mgr"}


def test_each_probe_is_accepted_from_an_insider(book: Book, login) -> None:
    """The same requests from someone who sees the case are not refused as unknown or
    malformed (404, 422): the outsider's 404 above comes from the scope alone. They run
    in turn on one book, so a later one may find the object changed already (409)."""
    ids = _objects(book)
    clients = {name: login(name) for name in sorted(set(INSIDER.values()))}
    refused = []
    # the moves last: after them case 1 is no longer c1's
    moves_last = sorted(PROBES, key=lambda p: "assign" in p.route or "transfer" in p.route)
    for probe in moves_last:
        params = dict(probe.params)
        if "case_id" in params and len(params) > 1:  # the URL names the object's own case
            params["case_id"] = "case1"
        insider = replace(probe, actor=INSIDER[probe.actor], params=params)
        response = _send(clients[insider.actor], insider, ids)
        if response.status_code in (404, 422) or response.status_code >= 500:
            refused.append(f"{insider.id}: {response.status_code} {response.text[:200]}")
    assert refused == []
