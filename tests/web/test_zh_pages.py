"""Chinese throughout: every workbench page a Chinese reader opens (as admin, team lead,
collector and agency user) shows no untranslated English, on a store that has what
brings English in: ledger memos (the close's late fee, an arrangement's waiver),
service refusals (a second proposal while one waits, a promise dated in the past, a
visit for a collector who may not work the case), and compliance blocks (a dispute
hold, and contacts blocked by it, on the case page and the compliance report).

A word is English when it is two or more Latin letters outside the allow-list (codes,
ids, units, product names, buckets …); text of ``mono`` elements (ids, rule ids, codes)
and of scripts is not read as prose.
"""

from __future__ import annotations

import re
from decimal import Decimal
from html.parser import HTMLParser

from fastapi.testclient import TestClient
from web_support import Book, login_client

from arrears.domain.account import LATE_FEE_MEMO
from arrears.domain.ledger import Ledger
from arrears.domain.operations import charge_fee
from arrears.services.workbench.seed import DISPOSITIONS
from arrears.store.unit_of_work import UnitOfWork

# Latin words a Chinese page may show: product and unit names, codes, the buckets
ALLOWED = {
    "arrears",  # the product's name
    "English",  # the language toggle names the other language in itself
    "CNY",
    "DPD",
    "PD",
    "PSI",
    "ID",
    "SMS",
    "MiB",
    "YYYY",
    "MM",
    "DD",
    "CONSUMER",
    "Asia",  # the workspace's time zone, an IANA id (Asia/Shanghai), as a tooltip
    "Shanghai",
} | {f"M{n}" for n in range(8)}
WORD = re.compile(r"[A-Za-z][A-Za-z']+")
SKIP_TAGS = {"script", "style"}
# attributes a reader sees (a tooltip, a placeholder, a screen reader's label)
READ_ATTRIBUTES = ("title", "placeholder", "aria-label", "alt")


class _Text(HTMLParser):
    """The text a reader sees, minus scripts and ``mono`` elements (codes and ids)."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[tuple[str, bool]] = []
        self.parts: list[str] = []

    def _hidden(self) -> bool:
        return any(hidden for _, hidden in self.stack)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = (dict(attrs).get("class") or "").split()
        hidden = tag in SKIP_TAGS or "mono" in classes
        if not self._hidden() and not hidden:
            self.parts.extend(v or "" for k, v in attrs if k in READ_ATTRIBUTES)
        if tag not in {"input", "br", "meta", "link", "img", "hr", "option"}:
            self.stack.append((tag, hidden))

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                break

    def handle_data(self, data: str) -> None:
        if not self._hidden():
            self.parts.append(data)


def english_words(html: str, names: set[str]) -> list[str]:
    """The Latin words of the page's visible text that are neither allowed nor the
    store's own names (user names, ids)."""
    parser = _Text()
    parser.feed(html)
    text = " ".join(parser.parts)
    return sorted({w for w in WORD.findall(text) if w not in ALLOWED and w not in names})


def _names(book: Book) -> set[str]:
    """The store's own names, which no catalogue translates (users, ids)."""
    users = {"c1", "c2", "c3", "tl", "tl2", "mgr", "comp", "ag", "admin"}
    emails = {"debtor", "example", "com"}  # the customers' email addresses are data
    users |= {"north", "south"}  # the teams' names (the staff page lists them)
    codes = {row[0] for row in DISPOSITIONS}  # disposition codes, shown beside their words
    return users | {u.upper() for u in users} | {f"C{n}" for n in range(1, 7)} | emails | codes


def _seed(book: Book, c1: TestClient, tl: TestClient, mgr: TestClient) -> int:
    """Memos, refusals and blocks on case 1; returns its id."""
    case = book.case_ids[0]
    with UnitOfWork(book.engine) as uow:  # the close's late fee, with its memo
        ledger = Ledger("L1")
        fee = charge_fee(ledger, "late:3", book_day(), Decimal("20.00"), memo=LATE_FEE_MEMO)
        uow.entries.add_entry("L1", fee.ledger.entries[-1], 100)
        uow.commit()
    waiver = c1.post(
        f"/api/v1/cases/{case}/arrangements",
        json={"kind": "waiver", "terms": {"component": "penalty", "amount": "10.00"}},
    )
    assert waiver.status_code == 201, waiver.text
    decided = tl.post(
        f"/api/v1/arrangements/{waiver.json()['id']}/decision", json={"approve": True}
    )
    assert decided.status_code == 200, decided.text  # posts the waiver: memo "arrangement N"
    pending = c1.post(
        f"/api/v1/cases/{case}/arrangements",
        json={"kind": "waiver", "terms": {"component": "compound", "amount": "5.00"}},
    )
    assert pending.status_code == 201, pending.text  # waits for a checker
    hold = mgr.post(
        f"/api/v1/cases/{case}/holds", json={"kind": "dispute", "reason": "客户对金额有异议"}
    )
    assert hold.status_code == 201, hold.text
    blocked = c1.post(
        f"/api/v1/cases/{case}/contacts", json={"channel": "call", "disposition": "PTP"}
    )
    assert blocked.status_code == 409, blocked.text  # blocked by the hold, and recorded
    return case


def book_day():  # type: ignore[no-untyped-def]
    from web_support import TODAY

    return TODAY


REFUSALS = {
    # a second proposal while one waits
    "arrangement": {"kind": "extension", "months": "2"},
    # a promise dated before today
    "promise": {"amount": "100.00", "due_date": "2026-01-01"},
    # a field visit dated in the past
    "visit": {"scheduled_on": "2026-01-01", "address": "北京"},
    # an amount that is not one
    "hold": {"kind": "no-such-hold", "reason": ""},
}
PAGES = {
    "admin": [
        "/queue",
        "/approvals",
        "/team",
        "/agencies",
        "/legal",
        "/dashboard",
        "/compliance",
        "/staff",
        "/search?q=客户",
    ],
    "tl": ["/queue", "/approvals", "/team", "/legal", "/dashboard", "/search"],
    "c1": ["/queue", "/search?q=客户1"],
    "ag": ["/queue", "/agencies"],
}


def test_every_zh_page_of_the_workbench_is_in_chinese(app, book: Book) -> None:  # type: ignore[no-untyped-def]
    clients = {name: login_client(app, name) for name in ("admin", "tl", "c1", "ag", "mgr")}
    case = _seed(book, clients["c1"], clients["tl"], clients["mgr"])
    names = _names(book)
    found: dict[str, list[str]] = {}

    def check(where: str, html: str) -> None:
        words = english_words(html, names)
        if words:
            found[where] = words

    anonymous = TestClient(app)
    check("login", anonymous.get("/login", headers={"accept-language": "zh-CN"}).text)
    for user, paths in PAGES.items():
        for path in [*paths, f"/cases/{book.case_ids[3 if user == 'ag' else 0]}"]:
            response = clients[user].get(path)
            assert response.status_code == 200, (user, path, response.status_code)
            assert 'lang="zh-CN"' in response.text
            check(f"{user} {path}", response.text)
    case_page = clients["c1"].get(f"/cases/{case}").text
    assert "还款安排" in case_page and "（减免）" in case_page  # the waiver's memo, translated
    assert "正常还款中" in case_page  # the loan's status, not the five-tier class 正常
    assert "争议暂停：停止联系" in case_page  # the hold's block, by its rule
    refused = clients["c1"].post(f"/cases/{case}/arrangement", data=REFUSALS["arrangement"])
    assert "须待其审批完成后才能再次申请" in refused.text  # the second proposal, in Chinese
    compliance = clients["admin"].get("/compliance").text
    assert "争议暂停：停止联系" in compliance
    for panel, form in REFUSALS.items():
        response = clients["c1"].post(f"/cases/{case}/{panel}", data=form)
        assert 400 <= response.status_code < 500, (panel, response.status_code)
        assert "已拒绝" in response.text, panel
        check(f"c1 refused {panel}", response.text)
    assert clients["c1"].get("/cases/99999").status_code == 404
    check("c1 missing case", clients["c1"].get("/cases/99999").text)
    assert found == {}, "\n".join(f"{where}: {words}" for where, words in found.items())


def test_the_detector_sees_english_prose_and_spares_codes() -> None:
    html = (
        '<p>已拦截 <span class="mono">cn.hours</span> late fee M3 CNY 100 DPD</p>'
        '<input placeholder="Choose a reason"><script>var x = "hidden";</script>'
    )
    assert english_words(html, set()) == ["Choose", "fee", "late", "reason"]
