"""The JSON API (``/api/v1``): one router per resource, Pydantic models as the contract."""

from __future__ import annotations

from fastapi import APIRouter

from arrears.web.api import auth

router = APIRouter()
router.include_router(auth.router)
