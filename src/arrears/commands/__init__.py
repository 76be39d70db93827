"""Command groups of the ``arrears`` CLI, one module per concern.

Each module has ``register(app)``, which adds its commands (or a sub-command group) to
the main Typer app in ``arrears.cli``. Like ``cli.py`` they are thin: parse, call a
service, print; heavy imports stay inside the command functions so ``arrears --help``
stays fast.
"""
