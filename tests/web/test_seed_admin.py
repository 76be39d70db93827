"""The first administrator: `arrears serve` makes an ``admin`` (and prints its password
once) when the store has nobody who could administer it, also after the demo has staffed
its collectors; never a second one, and never one that was deactivated."""

from __future__ import annotations

from sqlalchemy import Engine, select, update

from arrears.services.workbench.seed import seed_workbench
from arrears.services.workbench.users import authenticate, create_user, new_password
from arrears.store.unit_of_work import UnitOfWork
from arrears.store.workbench_models import User


def _staff_a_collector(engine: Engine) -> None:
    with UnitOfWork(engine) as uow:
        create_user(uow.session, "zhang.wei", new_password("zhang.wei"), "collector")
        uow.commit()


def test_an_admin_is_made_when_only_collectors_exist(engine: Engine) -> None:
    _staff_a_collector(engine)
    password = seed_workbench(engine)
    assert password is not None
    with UnitOfWork(engine) as uow:
        admin = uow.session.scalar(select(User).where(User.username == "admin"))
        assert admin is not None and admin.role == "admin" and admin.active
        assert isinstance(authenticate(uow.session, "admin", password), User)
    assert seed_workbench(engine) is None  # printed once, made once


def test_a_deactivated_admin_is_not_made_again(engine: Engine) -> None:
    assert seed_workbench(engine) is not None
    with UnitOfWork(engine) as uow:
        uow.session.execute(update(User).where(User.username == "admin").values(active=False))
        uow.commit()
    assert seed_workbench(engine) is None
    with UnitOfWork(engine) as uow:
        assert uow.session.scalar(select(User.active).where(User.username == "admin")) is False
