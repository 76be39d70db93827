"""Domain errors: each says what is wrong in words a collections user understands."""

from __future__ import annotations


class DomainError(ValueError):
    """A rule of the loan book was broken by the input; the message says which and why."""


class CurrencyMismatch(DomainError):
    def __init__(self, left: str, right: str) -> None:
        super().__init__(f"cannot mix currencies {left} and {right}")
        self.left = left
        self.right = right


class ConflictingPosting(DomainError):
    """A posting reuses an external reference already used for a different posting."""


class ProductError(DomainError):
    """A product definition is invalid; the message names the file, product and field."""
