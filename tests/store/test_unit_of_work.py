"""The unit of work commits only when told; cases keep one open per loan."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import Engine, func, insert, select
from sqlalchemy.exc import IntegrityError

from arrears.domain.errors import DomainError
from arrears.store.models import CaseRow, Customer, InstallmentRow, Loan
from arrears.store.unit_of_work import UnitOfWork


def _counts(engine: Engine) -> tuple[int, int, int]:
    with UnitOfWork(engine) as uow:
        return tuple(  # type: ignore[return-value]
            uow.session.scalar(select(func.count()).select_from(model)) or 0
            for model in (Customer, Loan, InstallmentRow)
        )


def test_rollback_on_exception_leaves_nothing(booked: Engine) -> None:
    before = _counts(booked)
    with pytest.raises(RuntimeError), UnitOfWork(booked) as uow:
        uow.customers.add(Customer(customer_id="C2", name="李四"))
        uow.bulk_insert(
            InstallmentRow,
            [
                {
                    "loan_id": "L1",
                    "seq": 100 + i,
                    "due_date": date(2030, 1, 1),
                    "principal": Decimal("1.00"),
                    "interest": Decimal("0.00"),
                }
                for i in range(10)
            ],
        )
        raise RuntimeError("boom")
    assert _counts(booked) == before


def test_leaving_without_commit_discards(booked: Engine) -> None:
    before = _counts(booked)
    with UnitOfWork(booked) as uow:
        uow.customers.add(Customer(customer_id="C3", name="王五"))
    assert _counts(booked) == before
    with UnitOfWork(booked) as uow:
        uow.customers.add(Customer(customer_id="C3", name="王五"))
        uow.rollback()
        uow.commit()
    assert _counts(booked) == before


def test_one_open_case_per_loan(booked: Engine) -> None:
    with UnitOfWork(booked) as uow:
        case = uow.cases.open(
            "L1",
            date(2024, 3, 1),
            dpd=5,
            bucket="M1",
            loan_class="special_mention",
            amount_overdue=Decimal("1100.10"),
        )
        assert case.customer_id == "C1"
        with pytest.raises(DomainError, match="already has an open case"):
            uow.cases.open(
                "L1",
                date(2024, 3, 2),
                dpd=6,
                bucket="M1",
                loan_class="special_mention",
                amount_overdue=Decimal("1100.10"),
            )
        uow.commit()
    row = {
        "customer_id": "C1",
        "loan_id": "L1",
        "status": "open",
        "opened_on": date(2024, 3, 3),
        "dpd": 0,
        "bucket": "M0",
        "loan_class": "normal",
        "amount_overdue": Decimal("0"),
        "updated_on": date(2024, 3, 3),
    }
    with pytest.raises(IntegrityError), UnitOfWork(booked) as uow:
        uow.session.execute(insert(CaseRow), [row])  # the database refuses it too
    with UnitOfWork(booked) as uow:
        uow.cases.close("L1", date(2024, 4, 1))
        reopened = uow.cases.open(
            "L1",
            date(2024, 5, 1),
            dpd=3,
            bucket="M1",
            loan_class="special_mention",
            amount_overdue=Decimal("10.00"),
        )
        uow.commit()
        assert [c.status for c in uow.cases.for_loan("L1")] == ["closed", "open"]
        assert reopened.amount_overdue == Decimal("10.00")


def test_close_runs_record_start_and_finish(engine: Engine) -> None:
    with UnitOfWork(engine) as uow:
        uow.close_runs.start(date(2024, 3, 1), "duckdb")
        uow.close_runs.finish(date(2024, 3, 1), loans=42)
        uow.commit()
    with UnitOfWork(engine) as uow:
        run = uow.close_runs.latest()
        assert run is not None and (run.as_of, run.loans, run.status) == (
            date(2024, 3, 1),
            42,
            "done",
        )


def test_a_read_only_unit_reads_and_refuses_every_write(booked: Engine) -> None:
    from arrears.services import audit
    from arrears.store.db import read_engine
    from arrears.store.unit_of_work import ReadOnlyError

    before = _counts(booked)
    with UnitOfWork(read_engine(booked), read_only=True) as uow:
        assert uow.session.scalar(select(Customer.name).where(Customer.customer_id == "C1"))
        attempts = {
            "orm add": lambda: (
                uow.customers.add(Customer(customer_id="C9", name="赵六")),
                uow.session.flush(),
            ),
            "core insert": lambda: uow.session.execute(
                insert(Customer).values(customer_id="C9", name="x")
            ),
            "orm change": lambda: (
                setattr(uow.session.get(Customer, "C1"), "name", "x"),
                uow.session.flush(),
            ),
            "bulk insert": lambda: uow.bulk_insert(Customer, [{"customer_id": "C9", "name": "x"}]),
            "audit entry": lambda: audit.append(uow.session, "tester", "test.event", "thing", 1),
        }
        for name, attempt in attempts.items():
            try:
                attempt()
            except ReadOnlyError:
                pass
            else:
                pytest.fail(f"a read-only unit allowed {name}")
            uow.session.rollback()
            uow.session.expunge_all()
    assert _counts(booked) == before


def test_reads_on_postgresql_run_without_a_transaction(booked: Engine) -> None:
    # at READ COMMITTED each statement has its own snapshot anyway; autocommit spares
    # every read request its BEGIN and ROLLBACK. SQLite keeps its snapshot transaction.
    from arrears.store.db import read_engine

    reader = read_engine(booked)
    if booked.dialect.name != "postgresql":
        assert reader is booked
        return

    def autocommit(engine: Engine, read_only: bool) -> bool:
        with UnitOfWork(engine, read_only=read_only) as uow:
            uow.session.scalar(select(func.count()).select_from(Customer))
            return uow.session.connection().connection.dbapi_connection.autocommit  # type: ignore[union-attr]

    assert autocommit(reader, read_only=True) is True
    # the shared pool's connections go back to transactions for the next writer
    assert autocommit(booked, read_only=False) is False
