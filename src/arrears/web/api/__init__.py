"""The JSON API (``/api/v1``): one router per resource, Pydantic models as the contract."""

from __future__ import annotations

from arrears.web.api import actions, admin, auth, cases
from arrears.web.deps import workbench_router

router = workbench_router()
router.include_router(auth.router)
router.include_router(cases.router)
router.include_router(actions.router)
router.include_router(admin.router)
