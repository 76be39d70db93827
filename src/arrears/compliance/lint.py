"""The template linter: what a collection message must never say, and what it must say.

Lexicons (``lexicons/<language>.toml``) hold regular expressions per rule id with
negation guards against false positives; a pack adds required disclosures per channel
and language. ``lint_template`` returns every finding, ordered by position.
"""

from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass
from importlib import resources

from arrears.compliance.limitation import suit_findings
from arrears.compliance.model import CHANNELS, ComplianceError, Finding
from arrears.compliance.packs import LANGUAGES, RulePack, load_pack

_GUARD_SPAN = 40  # characters of context the negation guards look at


@dataclass(frozen=True, slots=True)
class LexiconEntry:
    """Patterns of one rule, with its message and negation guards."""

    rule: str
    message: str
    patterns: tuple[re.Pattern[str], ...]
    unless_before: re.Pattern[str] | None
    unless_after: re.Pattern[str] | None
    litigation: bool  # allowed when the account has a real court filing

    def findings(self, text: str) -> list[Finding]:
        """Every unguarded match of this entry in ``text``, one per distinct span."""
        out: dict[tuple[int, int], Finding] = {}
        for pattern in self.patterns:
            for m in pattern.finditer(text):
                if m.end() == m.start() or self._guarded(text, m.start(), m.end()):
                    continue
                out.setdefault(
                    (m.start(), m.end()),
                    Finding(self.rule, m.group(0), self.message, m.start(), m.end()),
                )
        return _drop_nested(list(out.values()))

    def _guarded(self, text: str, start: int, end: int) -> bool:
        before = text[max(0, start - _GUARD_SPAN) : start]
        after = text[end : end + _GUARD_SPAN]
        return bool(
            (self.unless_before and self.unless_before.search(before))
            or (self.unless_after and self.unless_after.match(after))
        )


def _drop_nested(found: list[Finding]) -> list[Finding]:
    """Keep the longest of overlapping matches of one rule (one phrase, one finding)."""
    found.sort(key=lambda f: (f.start, -(f.end - f.start)))
    kept: list[Finding] = []
    for f in found:
        if kept and f.start < kept[-1].end:
            continue
        kept.append(f)
    return kept


def _compile(expr: str, where: str) -> re.Pattern[str]:
    try:
        return re.compile(expr, re.IGNORECASE)
    except re.error as exc:
        raise ComplianceError(f"{where}: bad regular expression {expr!r}: {exc}") from None


@functools.cache
def lexicon(language: str) -> tuple[LexiconEntry, ...]:
    """The lexicon shipped for ``language`` ("zh_CN" or "en")."""
    if language not in LANGUAGES:
        raise ComplianceError(f"language {language!r} is not one of {', '.join(LANGUAGES)}")
    where = f"lexicons/{language}.toml"
    data = tomllib.loads(
        resources.files("arrears.compliance").joinpath(where).read_text(encoding="utf-8")
    )
    entries = []
    for t in data.get("entries", []):
        rule = t["rule"]
        ctx = f"{where}: rule {rule!r}"
        entries.append(
            LexiconEntry(
                rule,
                t["message"],
                tuple(_compile(p, ctx) for p in t["patterns"]),
                _compile(t["unless_before"], ctx) if "unless_before" in t else None,
                _compile(t["unless_after"], ctx) if "unless_after" in t else None,
                bool(t.get("litigation", False)),
            )
        )
    return tuple(entries)


def lint_template(
    text: str,
    *,
    language: str,
    channel: str,
    pack: RulePack | str,
    litigation_filed: bool = False,
    time_barred: bool = False,
) -> list[Finding]:
    """Every problem in template ``text`` written in ``language`` for ``channel`` under
    ``pack``: forbidden phrases (threats, insults, shaming, impersonation, false legal
    consequences, third-party disclosure) and missing required disclosures. Statements
    that a lawsuit or enforcement is under way pass only with ``litigation_filed``.
    A message about a ``time_barred`` debt may not mention suit or legal action at all
    (12 CFR 1006.26(b); ``arrears.compliance.limitation``). An empty list means the
    template may be saved."""
    if channel not in CHANNELS:
        raise ComplianceError(f"channel {channel!r} is not one of {', '.join(CHANNELS)}")
    rule_pack = load_pack(pack) if isinstance(pack, str) else pack
    found: list[Finding] = []
    for entry in lexicon(language):
        if entry.litigation and litigation_filed:
            continue
        found.extend(entry.findings(text))
    if time_barred:
        found.extend(suit_findings(text, language))
    for disclosure in rule_pack.disclosures:
        if disclosure.language != language or channel not in disclosure.channels:
            continue
        if not any(_compile(p, disclosure.id).search(text) for p in disclosure.patterns):
            found.append(Finding(disclosure.id, "", disclosure.message, 0, 0))
    found.sort(key=lambda f: (f.start, f.end, f.rule))
    return found
