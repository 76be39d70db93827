"""Fixtures of the browser tests; they live in ``browser_harness`` with the helpers the
tests import (a conftest module is not meant to be imported by tests)."""

from browser_harness import (  # noqa: F401
    browser,
    pytest_configure,
    server,
    staff,
    workspace_root,
)
