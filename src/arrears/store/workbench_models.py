"""Tables of the collector workbench (users, promises, arrangements, placements, legal
stages, audit chain …). Filled by the workbench work (issue 6); migration 0005."""

from __future__ import annotations
