"""Rule packs: a portfolio's contact rules as data (TOML), built into rules by kind.

A pack file lives in ``arrears/compliance/packs/<name>.toml`` (or anywhere, given by
path). Adding a pack is adding a file; a new kind of rule is a function registered in
``arrears.compliance.rules``.
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from arrears.compliance.limitation import LimitationTable, parse_limitation
from arrears.compliance.model import CHANNELS, ComplianceError
from arrears.compliance.rules import Rule, build_rule
from arrears.compliance.zones import zone

LANGUAGES = ("zh_CN", "en")


@dataclass(frozen=True, slots=True)
class Disclosure:
    """Text a template on ``channels`` in ``language`` must contain: any one of
    ``patterns`` (regular expressions, case-insensitive) must match."""

    id: str
    language: str
    channels: frozenset[str]
    patterns: tuple[str, ...]
    message: str
    source: str


@dataclass(frozen=True, slots=True)
class Retention:
    """Keep contact records, recordings and documents ``years`` after the debt's last
    activity, then purge them (``arrears retention run``)."""

    years: int
    source: str


@dataclass(frozen=True, slots=True)
class RulePack:
    """A named set of contact rules, the zones to try when a debtor's zone is unknown,
    and the disclosures its templates must carry."""

    name: str
    title: str
    candidate_zones: tuple[str, ...]
    rules: tuple[Rule, ...]
    disclosures: tuple[Disclosure, ...]
    source_file: str
    # limitation periods (time-barred debts) and how long contact records are kept
    limitation: LimitationTable | None = None
    retention: Retention | None = None

    @property
    def rule_ids(self) -> tuple[str, ...]:
        """Ids of the pack's contact rules, in evaluation order."""
        return tuple(r.id for r in self.rules)

    @property
    def history_days(self) -> int:
        """The longest window, in days, of any rule that counts earlier attempts: a gate
        needs the allowed attempts of that many days (plus one for zone offsets) before
        the moment it checks (``us-ma`` needs 30, ``cn`` and ``us-regf`` 7). Rules that
        look back without a window (the debtor's last calls, a refusal) see only what
        the gate was given."""
        return max((int(getattr(r, "days", 1)) for r in self.rules), default=1)


def _pack_dir() -> Any:
    return resources.files("arrears.compliance").joinpath("packs")


def available_packs() -> list[str]:
    """Names of the packs shipped with arrears (``load_pack`` also takes a path)."""
    return list(_shipped_names())


@functools.cache
def _shipped_names() -> tuple[str, ...]:
    return tuple(
        sorted(
            p.name.removesuffix(".toml") for p in _pack_dir().iterdir() if p.name.endswith(".toml")
        )
    )


def load_pack(name_or_path: str) -> RulePack:
    """The pack called ``name_or_path`` (e.g. "cn", "us-regf") or read from that TOML
    path. An unknown name or a malformed file raises ComplianceError naming the file
    (and rule, key) and, for a name, the packs there are."""
    if name_or_path in available_packs():
        return _shipped_pack(name_or_path)
    data, where = _pack_data(name_or_path, ())
    return parse_pack(data, where)


@functools.cache
def _shipped_pack(name: str) -> RulePack:
    # Shipped packs cannot change while the process runs, and packs are immutable.
    data, where = _pack_data(name, ())
    return parse_pack(data, where)


def _pack_data(name_or_path: str, chain: tuple[str, ...]) -> tuple[dict[str, Any], str]:
    """The pack's TOML as a dict, with ``extends`` resolved (base rules, overrides by
    rule id, removals, then the file's own rules)."""
    text, where = _pack_text(name_or_path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ComplianceError(f"{where}: not valid TOML: {exc}") from None
    base_name = data.pop("extends", None)
    if base_name is None:
        return data, where
    if not isinstance(base_name, str) or base_name in chain or name_or_path in chain:
        raise ComplianceError(f"{where}: 'extends' {base_name!r} is invalid or circular")
    base, _ = _pack_data(base_name, (*chain, name_or_path))
    return _extend(base, data, where), where


def _extend(base: dict[str, Any], child: dict[str, Any], where: str) -> dict[str, Any]:
    overrides = child.pop("overrides", {})
    removed = set(child.pop("remove", []))
    rules = [dict(r) for r in base.get("rules", [])]
    known = {r.get("id") for r in rules}
    for rule_id in [*overrides, *removed]:
        if rule_id not in known:
            raise ComplianceError(
                f"{where}: rule {rule_id!r} (in overrides/remove) is not in the base pack"
            )
    for r in rules:
        r.update(overrides.get(r.get("id"), {}))
    merged = {**base, **{k: v for k, v in child.items() if k not in ("rules", "lint")}}
    merged["rules"] = [r for r in rules if r.get("id") not in removed] + child.get("rules", [])
    disclosures = base.get("lint", {}).get("disclosures", [])
    merged["lint"] = {"disclosures": disclosures + child.get("lint", {}).get("disclosures", [])}
    return merged


def _pack_text(name_or_path: str) -> tuple[str, str]:
    looks_like_path = name_or_path.endswith(".toml") or "/" in name_or_path or "\\" in name_or_path
    if looks_like_path:
        path = Path(name_or_path)
        if not path.is_file():
            raise ComplianceError(f"{name_or_path}: no such rule pack file")
        return path.read_text(encoding="utf-8"), str(path)
    if name_or_path not in available_packs():
        raise ComplianceError(
            f"unknown rule pack {name_or_path!r}; available packs: "
            f"{', '.join(available_packs())} (or give a path to a pack .toml)"
        )
    entry = _pack_dir().joinpath(f"{name_or_path}.toml")
    return entry.read_text(encoding="utf-8"), f"{name_or_path}.toml"


def _str_list(data: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = data.get(key)
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise ComplianceError(f"{where}: {key!r} must be a non-empty list of strings")
    return tuple(value)


def parse_pack(data: dict[str, Any], where: str) -> RulePack:
    """A pack from parsed TOML ``data``; errors name ``where``, the rule and the key."""
    name = data.get("name")
    if not isinstance(name, str) or not name:
        raise ComplianceError(f"{where}: 'name' is required")
    zones = _str_list(data, "candidate_zones", where)
    for z in zones:
        if zone(z) is None:
            raise ComplianceError(f"{where}: candidate zone {z!r} is not a known IANA zone")
    tables = data.get("rules", [])
    if not isinstance(tables, list):
        raise ComplianceError(f"{where}: 'rules' must be an array of tables [[rules]]")
    rules = tuple(build_rule(t, where) for t in tables)
    seen: set[str] = set()
    for r in rules:
        if r.id in seen:
            raise ComplianceError(f"{where}: rule id {r.id!r} is used twice")
        seen.add(r.id)
    disclosures = tuple(_disclosure(t, where) for t in data.get("lint", {}).get("disclosures", []))
    return RulePack(
        name, str(data.get("title", name)), zones, rules, disclosures, where,
        parse_limitation(data.get("limitation"), where), _retention(data.get("retention"), where),
    )  # fmt: skip


def _retention(table: Any, where: str) -> Retention | None:
    if table is None:
        return None
    years = table.get("years") if isinstance(table, dict) else None
    if not isinstance(years, int) or isinstance(years, bool) or years < 1:
        raise ComplianceError(f"{where}: [retention] years {years!r} is not a whole number >= 1")
    return Retention(years, str(table.get("source", "")))


def _disclosure(t: dict[str, Any], where: str) -> Disclosure:
    did = t.get("id")
    if not isinstance(did, str) or not did:
        raise ComplianceError(f"{where}: a [[lint.disclosures]] entry has no 'id'")
    language = t.get("language")
    if language not in LANGUAGES:
        raise ComplianceError(
            f"{where}: disclosure {did!r}: language {language!r} is not one of "
            f"{', '.join(LANGUAGES)}"
        )
    channels = _str_list(t, "channels", f"{where}: disclosure {did!r}")
    bad = [c for c in channels if c not in CHANNELS]
    if bad:
        raise ComplianceError(f"{where}: disclosure {did!r}: channel {bad[0]!r} is unknown")
    return Disclosure(
        did,
        str(language),
        frozenset(channels),
        _str_list(t, "patterns", f"{where}: disclosure {did!r}"),
        str(t.get("message", "required disclosure is missing")),
        str(t.get("source", "")),
    )
