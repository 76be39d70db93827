"""Security headers (issue 22, finding 5): every page and JSON answer carries a
Content-Security-Policy without inline script or style, refuses framing, is never
sniffed or cached, and sends no referrer; and no page needs what the policy forbids
(inline ``<script>``, ``on…=`` handlers, ``style=`` attributes, ``<style>`` blocks)."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import arrears.web

# (who, page) for every page of the workbench, each seen by a role that may open it
PAGES = [
    ("c1", "/queue"),
    ("c1", "/cases/{case}"),
    ("tl", "/team"),
    ("tl", "/approvals"),
    ("mgr", "/dashboard"),
    ("mgr", "/agencies"),
    ("mgr", "/legal"),
    ("comp", "/compliance"),
]


def _assert_hardened(response, cached: bool = False) -> None:  # type: ignore[no-untyped-def]
    policy = response.headers["content-security-policy"]
    directives = {d.split()[0]: d.split()[1:] for d in policy.split("; ")}
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["object-src"] == ["'none'"]
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    if not cached:
        assert response.headers["cache-control"] == "no-store"


class InlineCode(HTMLParser):
    """Collects what a CSP of script-src 'self' and style-src 'self' would block."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name for name, _ in attrs}
        if tag == "script" and "src" not in names:
            self.found.append("inline <script>")
        if tag == "style":
            self.found.append("<style> block")
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}=…>")
            if name == "style":
                self.found.append(f"<{tag} style={value!r}>")
            if name in {"href", "action", "src"} and (value or "").startswith("javascript:"):
                self.found.append(f"<{tag} {name}=javascript:…>")
            if name in {"hx-vals", "hx-vars"} and (value or "").startswith(("js:", "javascript:")):
                self.found.append(f"<{tag} {name}=js:…> (needs eval)")


def _inline_code(html: str) -> list[str]:
    parser = InlineCode()
    parser.feed(html)
    return parser.found


def test_the_login_page_is_hardened_and_has_no_inline_code(app) -> None:
    with TestClient(app) as client:
        page = client.get("/login")
    assert page.status_code == 200
    _assert_hardened(page)
    assert _inline_code(page.text) == []


@pytest.mark.parametrize(("who", "path"), PAGES)
def test_every_page_is_hardened_and_has_no_inline_code(login, book, who, path) -> None:
    page = login(who).get(path.format(case=book.case_ids[0]))
    assert page.status_code == 200, page.text
    _assert_hardened(page)
    assert _inline_code(page.text) == []


def test_json_with_personal_data_is_hardened_and_never_cached(login, book) -> None:
    c1 = login("c1")
    for path in (f"/api/v1/cases/{book.case_ids[0]}", "/api/v1/queue", "/api/v1/me"):
        answer = c1.get(path)
        assert answer.status_code == 200
        _assert_hardened(answer)
    # errors too: a 404 says which ids exist no more than a cached page would
    _assert_hardened(c1.get("/api/v1/cases/999999"))


def test_static_files_are_hardened_but_may_be_cached(app) -> None:
    with TestClient(app) as client:
        script = client.get("/static/workbench.js")
    assert script.status_code == 200
    _assert_hardened(script, cached=True)
    assert "no-store" not in script.headers.get("cache-control", "")


def test_htmx_is_told_not_to_inject_its_indicator_style(login) -> None:
    page = login("c1").get("/queue").text
    assert '"includeIndicatorStyles": false' in page


def test_no_template_has_inline_code_in_any_branch() -> None:
    # the pages above render the branches a small book reaches; the sources hold all
    templates = Path(arrears.web.__file__).parent / "templates"
    found = {
        str(path.relative_to(templates)): _inline_code(path.read_text(encoding="utf-8"))
        for path in sorted(templates.rglob("*.html"))
    }
    assert {name: code for name, code in found.items() if code} == {}
