"""Read a strategy document (TOML or YAML), validate every field, build a ``Strategy``.

Every problem names the file, the path inside the document (``segments[2].when.dpd``)
and the reason; all problems are collected and raised together as one
``StrategyError``. Questionable but legal shapes (a segment no case can reach, two
segments that overlap, a ladder no segment uses) become ``Strategy.warnings``.
The document format is described in ``docs/strategies.md``.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from typing import Any

from arrears.strategy.conditions import overlaps, parse_conditions, shadows
from arrears.strategy.model import (
    CHANNELS,
    Arm,
    Ladder,
    Segment,
    Step,
    Strategy,
    Tier,
    Tiers,
)

WORKSPACE_FILE = "strategies.toml"
TOP_KEYS = {
    "name",
    "version",
    "description",
    "champion",
    "amount_tiers",
    "score_bands",
    "segments",
    "ladders",
    "arms",
}
SEGMENT_KEYS = {"name", "ladder", "when"}
STEP_KEYS = {
    "name",
    "offset",
    "channel",
    "template",
    "priority",
    "send_hour",
    "script",
    "skip_if_promise_active",
    "skip_if_paid_within_days",
    "min_amount",
    "when",
}
ARM_KEYS = {"name", "share", "holdout", "ladders"}
TIERS_KEYS = {"column", "tiers"}
TIER_KEYS = {"name", "below"}


def default_strategy_path() -> Path:
    """The strategy file shipped with arrears (``arrears/strategy/default.toml``)."""
    return Path(str(resources.files("arrears.strategy").joinpath("default.toml")))


class StrategyError(ValueError):
    """A strategy document that cannot be used; ``problems`` are ``(path, reason)``."""

    def __init__(self, source: str, problems: list[tuple[str, str]]) -> None:
        self.source = source
        self.problems = problems
        lines = [f"{source}: {path or '<document>'}: {reason}" for path, reason in problems]
        super().__init__("\n".join(lines))


class _Problems:
    """Collects errors and warnings while the document is walked."""

    def __init__(self) -> None:
        self.errors: list[tuple[str, str]] = []
        self.warnings: list[str] = []

    def error(self, path: str, reason: str) -> None:
        self.errors.append((path, reason))

    def warn(self, path: str, reason: str) -> None:
        self.warnings.append(f"{path}: {reason}")

    def keys(
        self, node: Any, allowed: set[str], path: str, required: set[str] | None = None
    ) -> bool:
        """False (with an error) unless ``node`` is a table; flags unknown/missing keys."""
        if not isinstance(node, dict):
            self.error(path, f"expected a table, got {type(node).__name__}")
            return False
        for key in sorted(set(node) - allowed):
            self.error(_join(path, key), f"unknown key (allowed: {', '.join(sorted(allowed))})")
        for key in sorted((required or set()) - set(node)):
            self.error(_join(path, key), "required key is missing")
        return True


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def read_document(path: Path) -> dict[str, Any]:
    """The raw document at ``path`` (``.toml``, ``.yaml`` or ``.yml``)."""
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            import yaml

            doc = yaml.safe_load(text)
        else:
            doc = tomllib.loads(text)
    except Exception as exc:  # the parsers' own errors carry the line and column
        raise StrategyError(str(path), [("", f"cannot parse: {exc}")]) from None
    if not isinstance(doc, dict):
        raise StrategyError(str(path), [("", "the document must be a table/mapping")])
    return doc


def fingerprint(doc: dict[str, Any]) -> str:
    """sha256 of the document's canonical JSON (key order and TOML/YAML spelling do not
    matter; any change of content does)."""
    canonical = json.dumps(doc, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def load_strategy(path: Path | str | None = None, workspace_root: Path | None = None) -> Strategy:
    """The validated strategy at ``path``; with no path, ``<workspace>/strategies.toml``
    if it exists, else the packaged default. Raises ``StrategyError`` naming every
    problem (file, path in the document, reason)."""
    if path is None:
        candidate = workspace_root / WORKSPACE_FILE if workspace_root else None
        path = candidate if candidate and candidate.exists() else default_strategy_path()
    path = Path(path)
    return parse_strategy(read_document(path), str(path))


def parse_strategy(doc: dict[str, Any], source: str = "<strategy>") -> Strategy:
    """Validate ``doc`` (a parsed TOML/YAML mapping) and build the ``Strategy``."""
    p = _Problems()
    p.keys(doc, TOP_KEYS, "", {"name", "version", "segments", "ladders"})
    name = doc.get("name")
    if "name" in doc and (not isinstance(name, str) or not name.strip()):
        p.error("name", "must be a non-empty string")
    version = doc.get("version")
    if "version" in doc and (not isinstance(version, int) or isinstance(version, bool)):
        p.error("version", "must be a whole number (bump it on every change)")
    elif isinstance(version, int) and version < 1:
        p.error("version", "must be 1 or more")
    description = doc.get("description", "")
    if not isinstance(description, str):
        p.error("description", "must be a string")
    amount_tiers = _tiers(doc.get("amount_tiers"), "amount_tiers", p)
    score_bands = _tiers(doc.get("score_bands"), "score_bands", p)
    ladders = _ladders(doc.get("ladders"), amount_tiers, score_bands, p)
    segments = _segments(doc.get("segments"), ladders, amount_tiers, score_bands, p)
    arms, champion = _arms(doc, ladders, p)
    if p.errors:
        raise StrategyError(source, p.errors)
    used = {s.ladder for s in segments} | {v for a in arms for v in a.ladders.values()}
    for unused in sorted(set(ladders) - used):
        p.warn(f"ladders.{unused}", "no segment or arm uses this ladder")
    return Strategy(
        name=str(name),
        version=int(version),  # type: ignore[arg-type]
        fingerprint=fingerprint(doc),
        source=source,
        description=description if isinstance(description, str) else "",
        amount_tiers=amount_tiers,
        score_bands=score_bands,
        segments=tuple(segments),
        ladders=ladders,
        arms=tuple(arms),
        champion=champion,
        warnings=tuple(p.warnings),
    )


def _decimal(value: Any, path: str, p: _Problems) -> Decimal | None:
    """A number written in the document as a Decimal (floats through their shortest
    repr, so 0.1 is 0.1), or None with an error."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        p.error(path, f"expected a number, got {value!r}")
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        p.error(path, f"expected a number, got {value!r}")
        return None
    if not number.is_finite():
        p.error(path, f"expected a finite number, got {value!r}")
        return None
    return number


def _tiers(node: Any, path: str, p: _Problems) -> Tiers | None:
    if node is None:
        return None
    if not p.keys(node, TIERS_KEYS, path, TIERS_KEYS):
        return None
    column = node.get("column")
    if not isinstance(column, str) or not column:
        p.error(_join(path, "column"), "must name a column of the snapshot or inputs")
    items = node.get("tiers")
    if not isinstance(items, list) or len(items) < 2:
        p.error(_join(path, "tiers"), "needs at least two tiers")
        return None
    tiers: list[Tier] = []
    previous: Decimal | None = None
    for i, item in enumerate(items):
        here = _join(_join(path, "tiers"), i)
        if not p.keys(item, TIER_KEYS, here, {"name"}):
            continue
        tier_name = item.get("name")
        if not isinstance(tier_name, str) or not tier_name:
            p.error(_join(here, "name"), "must be a non-empty string")
            continue
        if tier_name in {t.name for t in tiers}:
            p.error(_join(here, "name"), f"duplicate tier name {tier_name!r}")
        last = i == len(items) - 1
        below = None
        if "below" in item:
            below = _decimal(item["below"], _join(here, "below"), p)
            if last:
                p.error(_join(here, "below"), "the last tier has no upper end: drop 'below'")
            elif below is not None and previous is not None and below <= previous:
                p.error(_join(here, "below"), f"must be above the previous edge {previous}")
            previous = below if below is not None else previous
        elif not last:
            p.error(_join(here, "below"), "every tier but the last needs its upper edge 'below'")
        tiers.append(Tier(tier_name, None if last else below))
    return Tiers(column if isinstance(column, str) else "", tuple(tiers))


def _ladders(
    node: Any, amount_tiers: Tiers | None, score_bands: Tiers | None, p: _Problems
) -> dict[str, Ladder]:
    ladders: dict[str, Ladder] = {}
    if node is None:
        return ladders
    if not isinstance(node, dict) or not node:
        p.error("ladders", "must be a table of named ladders")
        return ladders
    for name, body in node.items():
        path = f"ladders.{name}"
        if not p.keys(body, {"steps"}, path, {"steps"}):
            continue
        items = body.get("steps")
        if not isinstance(items, list) or not items:
            p.error(_join(path, "steps"), "must be a non-empty list of steps")
            continue
        steps = [
            _step(item, _join(_join(path, "steps"), i), amount_tiers, score_bands, p)
            for i, item in enumerate(items)
        ]
        seen: set[str] = set()
        for i, step in enumerate(steps):
            if step is None:
                continue
            if step.name in seen:
                p.error(f"{path}.steps[{i}].name", f"duplicate step name {step.name!r}")
            seen.add(step.name)
        pre_due = [s.offset for s in steps if s is not None and s.offset <= 0]
        for offset in sorted({o for o in pre_due if pre_due.count(o) > 1}):
            p.warn(
                path,
                f"several steps at offset {offset}: a loan gets one step a day and pre-due "
                "days do not wait, so only the best priority of them is sent",
            )
        ladders[name] = Ladder(name, tuple(s for s in steps if s is not None))
    return ladders


def _step(
    node: Any, path: str, amount_tiers: Tiers | None, score_bands: Tiers | None, p: _Problems
) -> Step | None:
    if not p.keys(node, STEP_KEYS, path, {"name", "offset", "channel", "template"}):
        return None
    before = len(p.errors)
    name, channel, template = node.get("name"), node.get("channel"), node.get("template")
    offset = node.get("offset")
    for key, value in (("name", name), ("template", template)):
        if key in node and (not isinstance(value, str) or not value):
            p.error(_join(path, key), "must be a non-empty string")
    if "channel" in node and channel not in CHANNELS:
        known = ", ".join(CHANNELS)
        p.error(_join(path, "channel"), f"unknown channel {channel!r} (known: {known})")
    if "offset" in node and (not isinstance(offset, int) or isinstance(offset, bool)):
        p.error(_join(path, "offset"), "must be a whole number of days (-3 = D-3, 1 = 1 DPD)")
    priority = node.get("priority", 50)
    if not isinstance(priority, int) or isinstance(priority, bool) or priority < 0:
        p.error(_join(path, "priority"), "must be a whole number >= 0 (lower goes first)")
    hour = node.get("send_hour", 10)
    if not isinstance(hour, int) or isinstance(hour, bool) or not 0 <= hour <= 23:
        p.error(_join(path, "send_hour"), "must be an hour 0-23 in the debtor's local time")
    script = node.get("script")
    if script is not None and (not isinstance(script, str) or not script):
        p.error(_join(path, "script"), "must be a call script (话术) template name")
    if channel == "call" and script is None:
        p.error(_join(path, "script"), "a call step needs its call script (话术) template name")
    if script is not None and channel != "call":
        p.error(_join(path, "script"), "only call steps have a call script")
    skip_promise = node.get("skip_if_promise_active", True)
    if not isinstance(skip_promise, bool):
        p.error(_join(path, "skip_if_promise_active"), "must be true or false")
    paid_days = node.get("skip_if_paid_within_days")
    if paid_days is not None and (
        not isinstance(paid_days, int) or isinstance(paid_days, bool) or paid_days < 1
    ):
        p.error(_join(path, "skip_if_paid_within_days"), "must be a whole number of days >= 1")
    min_amount = None
    if "min_amount" in node:
        min_amount = _decimal(node["min_amount"], _join(path, "min_amount"), p)
        if min_amount is not None and min_amount < 0:
            p.error(_join(path, "min_amount"), "must not be negative")
    when = parse_conditions(node.get("when", {}), _join(path, "when"), p, amount_tiers, score_bands)
    if len(p.errors) > before:
        return None
    return Step(
        name=name,
        offset=offset,
        channel=channel,
        template=template,
        priority=priority,
        send_hour=hour,
        script=script,
        skip_if_promise_active=skip_promise,
        skip_if_paid_within_days=paid_days,
        min_amount=min_amount,
        when=when,
    )


def _segments(
    node: Any,
    ladders: dict[str, Ladder],
    amount_tiers: Tiers | None,
    score_bands: Tiers | None,
    p: _Problems,
) -> list[Segment]:
    if node is None:
        return []
    if not isinstance(node, list) or not node:
        p.error("segments", "must be a non-empty list of segments")
        return []
    segments: list[Segment] = []
    names: set[str] = set()
    for i, item in enumerate(node):
        path = f"segments[{i}]"
        if not p.keys(item, SEGMENT_KEYS, path, {"name", "ladder"}):
            continue
        name, ladder = item.get("name"), item.get("ladder")
        if not isinstance(name, str) or not name:
            p.error(_join(path, "name"), "must be a non-empty string")
            continue
        if name in names:
            p.error(_join(path, "name"), f"duplicate segment name {name!r}")
        names.add(name)
        if ladder not in ladders:
            p.error(_join(path, "ladder"), f"no ladder called {ladder!r} under [ladders]")
        when = parse_conditions(
            item.get("when", {}), _join(path, "when"), p, amount_tiers, score_bands
        )
        segments.append(Segment(name, str(ladder), when))
    _reachability(segments, p)
    return segments


def _reachability(segments: list[Segment], p: _Problems) -> None:
    """Errors: no catch-all. Warnings: a segment an earlier one shadows (no case can
    reach it), or one that overlaps an earlier one (the earlier wins the overlap)."""
    if segments and not any(s.is_catch_all for s in segments):
        last = f"segments[{len(segments) - 1}]"
        p.error(last, "the last segment must be a catch-all (no 'when')")
    for i, later in enumerate(segments):
        for j, earlier in enumerate(segments[:i]):
            if shadows(earlier.when, later.when):
                p.warn(
                    f"segments[{i}]",
                    f"unreachable: every case it matches is taken by segments[{j}] "
                    f"({earlier.name!r}) first",
                )
                break
            if overlaps(earlier.when, later.when):
                p.warn(
                    f"segments[{i}]",
                    f"overlaps segments[{j}] ({earlier.name!r}); the earlier segment wins",
                )


def _arms(doc: dict[str, Any], ladders: dict[str, Ladder], p: _Problems) -> tuple[list[Arm], str]:
    node = doc.get("arms")
    if node is None:
        arms = [Arm("champion", Decimal(1))]
    elif not isinstance(node, list) or not node:
        p.error("arms", "must be a non-empty list of arms")
        return [], ""
    else:
        arms = []
        for i, item in enumerate(node):
            arm = _arm(item, f"arms[{i}]", ladders, p)
            if arm is not None:
                if arm.name in {a.name for a in arms}:
                    p.error(f"arms[{i}].name", f"duplicate arm name {arm.name!r}")
                arms.append(arm)
        total = sum((a.share for a in arms), Decimal(0))
        if len(arms) == len(node) and total != 1:
            p.error("arms", f"shares must sum to 1, they sum to {total}")
    champion = doc.get("champion", next((a.name for a in arms if not a.holdout), ""))
    chosen = next((a for a in arms if a.name == champion), None)
    if chosen is None:
        p.error("champion", f"no arm called {champion!r}")
    elif chosen.holdout:
        p.error("champion", "the champion cannot be a holdout arm")
    return arms, str(champion)


def _arm(node: Any, path: str, ladders: dict[str, Ladder], p: _Problems) -> Arm | None:
    if not p.keys(node, ARM_KEYS, path, {"name", "share"}):
        return None
    before = len(p.errors)
    name = node.get("name")
    if not isinstance(name, str) or not name or len(name) > 32:
        p.error(_join(path, "name"), "must be a non-empty string of at most 32 characters")
    share = _decimal(node.get("share"), _join(path, "share"), p) if "share" in node else None
    if share is not None and not 0 <= share <= 1:
        p.error(_join(path, "share"), f"must be between 0 and 1, got {share}")
    holdout = node.get("holdout", False)
    if not isinstance(holdout, bool):
        p.error(_join(path, "holdout"), "must be true or false")
    overrides = node.get("ladders", {})
    if not isinstance(overrides, dict):
        p.error(_join(path, "ladders"), "must map a ladder name to its replacement")
        overrides = {}
    for old, new in overrides.items():
        for which, value in (("", old), (" replacement", new)):
            if value not in ladders:
                p.error(f"{path}.ladders.{old}", f"no ladder called {value!r}{which}")
    if holdout and overrides:
        p.error(_join(path, "ladders"), "a holdout arm gets no treatment: drop its ladders")
    if len(p.errors) > before or share is None:
        return None
    return Arm(name, share, holdout, dict(overrides))
