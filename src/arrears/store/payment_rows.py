"""Which rows of ``payments`` still count as money received.

A payment stays in ``payments`` when it is reversed (a processor's refund or
chargeback, a bounced transfer): the ledger books the reversal as its own entry,
``kind = 'reversal'`` with ``reverses`` naming the payment's reference. Everything that
reports what was collected (promises kept, a collector's or an agency's collections and
commission, the portal's figures, the models' and the strategy's payment features) counts
only the payments **standing**: a bounced payment collected nothing.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Table, exists

from arrears.store.models import EntryRow, PaymentRow


def standing(payments: Table | None = None) -> ColumnElement[bool]:
    """True for a payment no ledger entry reverses. ``payments`` is the table (or an
    alias of it) the query selects from; the mapped ``payments`` table by default."""
    pay = payments if payments is not None else PaymentRow.__table__
    entries = EntryRow.__table__
    return ~exists().where(
        entries.c.loan_id == pay.c.loan_id,
        entries.c.kind == "reversal",
        entries.c.reverses == pay.c.payment_ref,
    )
