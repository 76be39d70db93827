"""The operational store: SQLAlchemy models, repositories, unit of work, migrations."""

from arrears.store.db import make_engine, redact, upgrade
from arrears.store.unit_of_work import UnitOfWork

__all__ = ["UnitOfWork", "make_engine", "redact", "upgrade"]
