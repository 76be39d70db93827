"""Fixtures of the portal's browser tests: the workbench browser tests' harness (a real
demo workspace closed through yesterday, the app under uvicorn, Debian's Chromium)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "web" / "browser"))

from browser_harness import (  # noqa: F401
    browser,
    pytest_configure,
    server,
    staff,
    workspace_root,
)
