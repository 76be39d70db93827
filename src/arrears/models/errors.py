"""Errors of the model layer: each names what was wrong and where."""

from __future__ import annotations


class ModelDataError(ValueError):
    """Input data a model cannot be built or evaluated on (file, column and reason)."""


class RegistryError(ValueError):
    """A saved model that cannot be loaded as it claims to be (missing or mismatched)."""
