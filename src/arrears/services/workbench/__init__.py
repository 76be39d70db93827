"""Workbench services: the use cases of collectors, team leads, managers, compliance
and agencies. Each function takes a SQLAlchemy ``Session`` (``uow.session``) and an
``Actor`` (see ``access``), checks what the actor may do, makes the change, appends it
to the audit chain in the same transaction, and leaves the commit to the caller (the
API router or the page), so a page may combine several calls in one transaction.

Modules: ``access`` (roles, case scope), ``users`` (users, logins, sessions),
``queues`` (work queues, next-case leases, reassignment, bulk transfer), ``contacts``
(disposition codes, contact log through the compliance gate), ``promises`` (promises
to pay, settled by the close), ``arrangements`` (maker-checker plans, 展期, 减免, 结清
posted to the ledger), ``holds`` (disputes, hardship, blacklist), ``visits`` (field
visits), ``agencies`` (placements, recall, commission, performance), ``legal``
(litigation stages), ``notes`` (notes and documents), ``case_view`` (the customer's
whole picture), ``reveal`` (logged unmasking), ``dashboard`` (manager figures),
``seed`` (first-run content). Errors are in ``errors``.
"""
