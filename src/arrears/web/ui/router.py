"""The workbench pages (server-rendered, htmx for partial updates): one router the app
includes at ``/``. Each page module is thin: parse, call a service, render."""

from __future__ import annotations

from arrears.web.deps import workbench_router
from arrears.web.ui import (
    case_actions,
    pages_agencies,
    pages_approvals,
    pages_auth,
    pages_case,
    pages_oversight,
    pages_queue,
    pages_staff,
    pages_team,
)

router = workbench_router(include_in_schema=False)
router.include_router(pages_auth.router)
router.include_router(pages_queue.router)
router.include_router(pages_case.router)
router.include_router(case_actions.router)
router.include_router(pages_approvals.router)
router.include_router(pages_team.router)
router.include_router(pages_agencies.router)
router.include_router(pages_oversight.router)
router.include_router(pages_staff.router)
