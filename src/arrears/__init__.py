"""arrears: an open-source loan collections (催收) platform."""

__version__ = "0.1.0"
