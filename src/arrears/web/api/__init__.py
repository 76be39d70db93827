"""The JSON API (``/api/v1``): one router per resource, Pydantic models as the contract."""

from __future__ import annotations

from fastapi import APIRouter

from arrears.web.api import actions, admin, auth, cases

router = APIRouter()
router.include_router(auth.router)
router.include_router(cases.router)
router.include_router(actions.router)
router.include_router(admin.router)
