"""Teams, users and agencies created in the pages (issue 24, point 3), and the top
bar's links (search for every role that may search, staff for admins and managers).

An admin creates a team and a collector in it, who can then sign in; a manager creates
an agency with its bucket rates but no user; refusals come back in the reader's
language with the form kept as typed; every creation is audited under its actor.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from web_support import PASSWORD, login_client

from arrears.services.workbench.search import SEARCHERS
from arrears.store.unit_of_work import UnitOfWork
from arrears.store.workbench_models import Agency, AuditEvent, CommissionRate, Team, User


def _set_language(engine, username: str, language: str) -> None:  # type: ignore[no-untyped-def]
    with UnitOfWork(engine) as uow:
        user = uow.session.scalar(select(User).where(User.username == username))
        assert user is not None
        user.language = language
        uow.commit()


def _audited(engine, actor: str, action: str) -> list[str]:  # type: ignore[no-untyped-def]
    with UnitOfWork(engine) as uow:
        return list(
            uow.session.scalars(
                select(AuditEvent.entity_id).where(
                    AuditEvent.actor == actor, AuditEvent.action == action
                )
            )
        )


def test_admin_creates_a_team_and_a_collector_who_signs_in(app, book, login) -> None:
    _set_language(book.engine, "admin", "en")
    admin = login("admin")
    page = admin.get("/staff")
    assert page.status_code == 200 and 'href="/staff"' in page.text

    made = admin.post("/staff/teams", data={"team_name": "  华南二组 "})
    assert made.status_code == 200 and "Team 华南二组 created." in made.text
    with UnitOfWork(book.engine) as uow:
        team = uow.session.scalar(select(Team).where(Team.name == "华南二组"))
        assert team is not None
        team_id = team.id
    made = admin.post(
        "/staff/users",
        data={
            "username": "new.collector", "display_name": "新员工", "role": "collector",
            "team_id": str(team_id), "language": "zh_CN", "approval_limit": "300",
            "password": "Tide-Pool-Lantern-91",
        },
    )  # fmt: skip
    assert made.status_code == 200 and "User new.collector created." in made.text
    with UnitOfWork(book.engine) as uow:
        user = uow.session.scalar(select(User).where(User.username == "new.collector"))
        assert user is not None
        assert (user.role, user.team_id, user.display_name) == ("collector", team_id, "新员工")
        assert user.approval_limit == Decimal("300.00") and user.agency_id is None
    # the new collector signs in with the password the admin typed
    collector = login_client(app, "new.collector", "Tide-Pool-Lantern-91")
    assert collector.get("/api/v1/me").json()["username"] == "new.collector"
    collector.close()
    assert _audited(book.engine, "admin", "team.create") == [str(team_id)]
    assert len(_audited(book.engine, "admin", "user.create")) == 1


def test_a_user_without_a_password_gets_one_shown_once(app, book, login) -> None:
    _set_language(book.engine, "admin", "en")
    made = login("admin").post(
        "/staff/users",
        data={"username": "new.lead", "role": "team_lead", "team_id": str(book.north)},
    )
    assert made.status_code == 200
    assert "Password (shown once): " in made.text
    password = made.text.split("Password (shown once): ")[1].split("<")[0].strip()
    assert password != PASSWORD and len(password) >= 12
    login_client(app, "new.lead", password).close()


# (form, what a zh reader is told, what an en reader is told)
REFUSALS = [
    # a collector needs a team
    ({"username": "x.y", "role": "collector", "password": "Tide-Pool-Lantern-91"},
     "催收员和组长须属于某个团队", "belongs to a team"),
    # the password policy
    ({"username": "x.y", "role": "manager", "password": "password"},
     "密码强度不足", "password is too weak"),
    # a taken username
    ({"username": "c1", "role": "manager", "password": "Tide-Pool-Lantern-91"},
     "c1 已存在", "c1 exists already"),
    # an agency user needs an agency
    ({"username": "x.y", "role": "agency", "password": "Tide-Pool-Lantern-91"},
     "委外机构用户必须隶属于某个委外机构", "An agency user must belong to an agency"),
    # an approval limit that is not an amount
    ({"username": "x.y", "role": "manager", "password": "Tide-Pool-Lantern-91",
      "approval_limit": "lots"}, "审批额度：不是有效金额", "Approval limit: not an amount"),
    # a display name too long
    ({"username": "x.y", "role": "manager", "password": "Tide-Pool-Lantern-91",
      "display_name": "名" * 101}, "姓名：长度须为 0 至 100 个字符",
     "Name: 0 to 100 characters"),
]  # fmt: skip


def test_refusals_in_the_readers_language_keep_the_form(book, login) -> None:
    admin = login("admin")
    for language in ("zh_CN", "en"):
        _set_language(book.engine, "admin", language)
        for data, zh, en in REFUSALS:
            refused = admin.post("/staff/users", data={"display_name": "某人", **data})
            assert refused.status_code in (409, 422), refused.text
            said = refused.text.split("<main", 1)[1]
            if language == "zh_CN":
                assert "已拒绝" in said and zh in said, (data, said[:400])
            else:
                assert "Rejected" in said and en in said, (data, said[:400])
            # the form is kept as typed, the password never
            assert f'value="{data["username"]}"' in said
            assert f'value="{data["password"]}"' not in said
    with UnitOfWork(book.engine) as uow:
        assert uow.session.scalar(select(User).where(User.username == "x.y")) is None


def test_manager_creates_an_agency_with_rates_but_no_team_or_user(book, login) -> None:
    manager = login("mgr")
    made = manager.post(
        "/staff/agencies",
        data={"code": "AG-2", "agency_name": "南方律所", "buckets": ["M5", "M6"], "rate": "15%"},
    )
    assert made.status_code == 200 and "委外机构 南方律所 已创建。" in made.text
    with UnitOfWork(book.engine) as uow:
        agency = uow.session.scalar(select(Agency).where(Agency.code == "AG-2"))
        assert agency is not None and agency.name == "南方律所"
        rates = uow.session.scalars(
            select(CommissionRate).where(CommissionRate.agency_id == agency.id)
        ).all()
        assert sorted((r.bucket, r.rate) for r in rates) == [
            ("M5", Decimal("0.15")),
            ("M6", Decimal("0.15")),
        ]
        agency_id = agency.id
    assert _audited(book.engine, "mgr", "agency.create") == [str(agency_id)]
    bad = manager.post(
        "/staff/agencies", data={"code": "AG-3", "agency_name": "x", "buckets": "M5", "rate": "2"}
    )
    assert bad.status_code == 422 and "佣金比例：须大于 0 且不超过 1" in bad.text
    assert manager.post("/staff/teams", data={"team_name": "t"}).status_code == 403
    assert (
        manager.post(
            "/staff/users",
            data={"username": "x.y", "role": "manager", "password": "Tide-Pool-Lantern-91"},
        ).status_code
        == 403
    )
    with UnitOfWork(book.engine) as uow:
        assert uow.session.scalar(select(Agency).where(Agency.code == "AG-3")) is None
        assert uow.session.scalar(select(Team).where(Team.name == "t")) is None


def test_the_staff_page_is_for_admins_and_managers(login) -> None:
    for username in ("c1", "tl", "comp", "ag"):
        client = login(username)
        assert client.get("/staff").status_code == 403
        refused = client.post("/staff/agencies", data={"code": "Z", "agency_name": "Z"})
        assert refused.status_code == 403


ROLES = {"c1": "collector", "tl": "team_lead", "mgr": "manager", "comp": "compliance",
         "ag": "agency", "admin": "admin"}  # fmt: skip


def test_the_top_bar_links_search_for_every_role_that_may_search(login) -> None:
    for username, role in ROLES.items():
        home = login(username).get("/search")
        assert home.status_code == 200
        nav = home.text.split('<nav aria-label="', 1)[1].split("</nav>", 1)[0]
        assert ('href="/search"' in nav) == (role in SEARCHERS), username
        assert 'aria-current="page">查询<' in nav
        assert ('href="/staff"' in nav) == (role in ("manager", "admin")), username
