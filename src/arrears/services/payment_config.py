"""Which payment processor a workspace uses and the secret its webhooks are signed with
(``[payments]`` of ``arrears.toml``; docs/payments.md, docs/settings.md).

The secret never sits in ``arrears.toml`` (which is copied around and shown): it comes
from, in order,

* ``$ARREARS_PROCESSOR_SECRET``: one or more secrets, comma-separated; the first is
  current, the others are still accepted (a rotation in progress);
* the file ``[payments] secret_file`` names: one secret a line, the same way;
* for the stand-in only, ``processor-secret`` in the workspace folder, made (mode
  0600, random) the first time it is needed, so the demo works with nothing to set.

Nothing here logs or prints a secret; ``describe`` says where one came from.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from arrears.channels.adapters.processor import STANDIN, Processor, StandInProcessor
from arrears.files import open_private
from arrears.services.settings import PaymentSettings, SettingsError, load_settings

ENV_PROCESSOR_SECRET = "ARREARS_PROCESSOR_SECRET"
STANDIN_SECRET_FILE = "processor-secret"
MIN_SECRET_CHARS = 16

ProcessorFactory = Callable[[PaymentSettings, tuple[bytes, ...]], Processor]


class PaymentConfigError(RuntimeError):
    """The workspace's processor cannot be used: unknown, or no secret to check its
    webhooks with. The message says which and what to set (never the secret)."""


def _standin(settings: PaymentSettings, keys: tuple[bytes, ...]) -> Processor:
    return StandInProcessor(keys, settings.tolerance_seconds)


# name -> how to make it; a lender's own adapter is added with ``register_processor``
PROCESSORS: dict[str, ProcessorFactory] = {STANDIN: _standin}


def register_processor(name: str, factory: ProcessorFactory) -> None:
    """Make processor ``name`` (``[payments] processor = "<name>"``) available."""
    PROCESSORS[name] = factory


@dataclass(frozen=True)
class ProcessorSecrets:
    """The webhook secrets (current first) and where they came from (no secret in it)."""

    keys: tuple[bytes, ...]
    source: str


def _split(text: str, where: str) -> tuple[bytes, ...]:
    parts = [p.strip() for p in text.replace("\n", ",").split(",") if p.strip()]
    for n, part in enumerate(parts, start=1):
        if len(part) < MIN_SECRET_CHARS:
            raise PaymentConfigError(
                f"{where}: secret {n} is {len(part)} characters; at least "
                f"{MIN_SECRET_CHARS} are needed"
            )
    return tuple(p.encode("utf-8") for p in parts)


def processor_secrets(root: Path | None, settings: PaymentSettings) -> ProcessorSecrets:
    """The secrets of the workspace at ``root`` (see the module doc); no keys when there
    is none (a store opened without a workspace folder and no variable set)."""
    value = os.environ.get(ENV_PROCESSOR_SECRET, "")
    if value.strip():
        return ProcessorSecrets(_split(value, f"${ENV_PROCESSOR_SECRET}"), ENV_PROCESSOR_SECRET)
    if settings.secret_file:
        path = Path(settings.secret_file)
        if not path.is_absolute() and root is not None:
            path = root / path
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise PaymentConfigError(
                f"payments.secret_file {path} cannot be read ({exc.strerror})"
            ) from None
        return ProcessorSecrets(_split(text, str(path)), str(path))
    if settings.processor != STANDIN or root is None or not _is_workspace(root):
        return ProcessorSecrets((), "none")
    path = root / STANDIN_SECRET_FILE
    if not path.exists():
        _make_secret_file(path)
    return ProcessorSecrets(_split(path.read_text(encoding="utf-8"), str(path)), str(path))


def _make_secret_file(path: Path) -> None:
    """Write a new random secret to ``path`` (0600), whole or not at all. Processes
    making it at once (the workers of ``arrears serve``) agree on one: the file is
    written aside and linked into place, which fails if another got there first."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}")
    with open_private(temporary, "w", encoding="utf-8") as handle:
        handle.write(secrets.token_hex(32) + "\n")
    try:
        os.link(temporary, path)
    except FileExistsError:
        pass
    finally:
        temporary.unlink()


def _is_workspace(root: Path) -> bool:
    # a secret file is made only in a folder ``arrears init`` made, never in a
    # directory an app happened to be started from
    return (root / "arrears.toml").exists() or (root / "products.toml").exists()


def configured_processor(root: Path | None) -> Processor:
    """The processor of the workspace at ``root`` (the stand-in when ``root`` is None
    or the settings say nothing), with its webhook secrets."""
    try:
        settings = load_settings(root).payments if root is not None else PaymentSettings()
    except SettingsError as exc:
        raise PaymentConfigError(str(exc)) from None
    factory = PROCESSORS.get(settings.processor)
    if factory is None:
        raise PaymentConfigError(
            f"payments.processor {settings.processor!r} has no adapter here "
            f"(known: {', '.join(sorted(PROCESSORS))}); see docs/payments.md"
        )
    return factory(settings, processor_secrets(root, settings).keys)
