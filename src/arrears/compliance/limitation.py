"""Time-barred debts: the limitation period per product or per state, whether a debt is
time-barred on a day, what a message about it may not say, and the disclosure a state
requires.

A pack's ``[limitation]`` table gives the periods::

    [limitation]
    default_years = 6
    default_source = "..."
    [limitation.states.CA]
    years = 4
    source = "Cal. Code Civ. Proc. 337(a)"
    [limitation.products.CARD]
    years = 4
    source = "..."

A product's period wins over the state's, which wins over the default. The period runs
from the date of default (the first instalment missed). When it has run:

* no suit or threat of suit (12 CFR 1006.26(b)): the strategy takes no legal step and a
  message that mentions suit, court or legal action is not sent (``suit_findings``);
* the state's disclosure is added to every written or electronic message
  (``disclosure``): California, Cal. Civ. Code 1788.14(d); New York, 23 NYCRR 1.3.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from arrears.compliance.model import ComplianceError, Finding

SUIT_RULE = "time_barred.suit"
SUIT_SOURCE = "12 CFR 1006.26(b): no suit or threat of suit to collect a time-barred debt"

# FCRA 605(a)(4), 605(c): a collection account may be reported for 7 years from 180 days
# after the delinquency began.
REPORTING_YEARS = 7
REPORTING_START_DAYS = 180

_CA_REPORTABLE = (
    "The law limits how long you can be sued on a debt. Because of the age of your debt, "
    "we will not sue you for it. If you do not pay the debt, {collector} may continue to "
    "report it to the credit reporting agencies as unpaid for as long as the law permits "
    "this reporting."
)
_CA_OBSOLETE = (
    "The law limits how long you can be sued on a debt. Because of the age of your debt, "
    "we will not sue you for it, and we will not report it to any credit reporting agency."
)
# 23 NYCRR 1.3(c), with the sentence the Department's guidance of 7 April 2022 gives for
# consumer credit debts, whose limitation period a payment no longer revives (CPLR 214-i).
_NY = (
    "We are required by regulation of the New York State Department of Financial Services "
    "to notify you of the following information. This information is NOT legal advice: "
    "Your creditor or debt collector believes that the legal time limit (statute of "
    "limitations) for suing you to collect this debt may have expired. It is a violation "
    "of the Fair Debt Collection Practices Act, 15 U.S.C. section 1692 et seq., to sue to "
    "collect on a debt for which the statute of limitations has expired. If a creditor "
    "sues you to collect on this debt, you may be able to prevent the creditor from "
    "obtaining a judgment against you. To do so, you must tell the court that the statute "
    "of limitations has expired. Even if the statute of limitations has expired, you may "
    "choose to make payments on the debt. We are also required to tell you that, for "
    "certain kinds of debts, if you make a payment on a debt, admit to owing a debt, or "
    "promise to pay a debt, the time period in which the debt is enforceable in court may "
    "start again. However, your creditor or debt collector believes that restarting "
    "the time period on this debt is prohibited by law, and "
    "whether or not you acknowledge, promise to pay, or make a payment on this debt, your "
    "creditor or debt collector will NOT sue you to collect this debt. If you would like "
    "to learn more about your legal rights and options, you can consult an attorney or a "
    "legal assistance or legal aid organization."
)
DISCLOSURE_SOURCES = {
    "CA": "Cal. Civ. Code 1788.14(d)(1) and (2) (AB 1526, 2018)",
    "NY": "23 NYCRR 1.3(b)-(c); NYDFS industry letter of 7 April 2022 on CPLR 214-i",
}

# Words of suit and legal action a message about a time-barred debt may not use, unless
# denied just before ("we will not sue").
_SUIT = {
    "en": re.compile(
        r"\b(sue[ds]?|suing|lawsuits?|suit|legal (action|proceedings?|steps?)|court|"
        r"judge?ment|litigation|attorneys?|lawyers?|garnish\w*|arbitration)\b",
        re.IGNORECASE,
    ),
    "zh_CN": re.compile(r"诉讼|起诉|法院|律师函|律师|仲裁|强制执行|法律程序|法律行动"),
}
_DENIED = {
    "en": re.compile(r"\b(not|never|won't|cannot|can't|no)\b(\s+\S+){0,3}\s*$", re.IGNORECASE),
    "zh_CN": re.compile(r"(不会|不再|不得|不能|无法|没有)\S{0,4}$"),
}


@dataclass(frozen=True, slots=True)
class Limitation:
    """A limitation period in years and where it comes from."""

    years: int
    source: str


@dataclass(frozen=True, slots=True)
class LimitationTable:
    """The periods of a pack: per product, per state, and a default (None: unknown)."""

    default: Limitation | None = None
    states: Mapping[str, Limitation] = field(default_factory=dict)
    products: Mapping[str, Limitation] = field(default_factory=dict)

    def period(self, *, state: str | None, product: str | None) -> Limitation | None:
        """The product's period, else the state's, else the default."""
        if product and product in self.products:
            return self.products[product]
        if state and state in self.states:
            return self.states[state]
        return self.default


def _limitation(table: Any, where: str) -> Limitation:
    if not isinstance(table, Mapping):
        raise ComplianceError(f"{where}: must be a table with years and source")
    years = table.get("years")
    if not isinstance(years, int) or isinstance(years, bool) or years < 1:
        raise ComplianceError(f"{where}: years {years!r} is not a whole number >= 1")
    return Limitation(years, str(table.get("source", "")))


def parse_limitation(data: Any, where: str) -> LimitationTable | None:
    """The ``[limitation]`` table of a pack (None when the pack has none)."""
    if data is None:
        return None
    if not isinstance(data, Mapping):
        raise ComplianceError(f"{where}: [limitation] must be a table")
    default = None
    if "default_years" in data:
        default = _limitation(
            {"years": data["default_years"], "source": data.get("default_source", "")},
            f"{where}: [limitation] default",
        )
    states = {
        str(k): _limitation(v, f"{where}: [limitation.states.{k}]")
        for k, v in dict(data.get("states", {})).items()
    }
    products = {
        str(k): _limitation(v, f"{where}: [limitation.products.{k}]")
        for k, v in dict(data.get("products", {})).items()
    }
    return LimitationTable(default, states, products)


def add_years(day: date, years: int) -> date:
    """``day`` ``years`` later (29 February becomes 28 February)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def barred_from(defaulted_on: date, limitation: Limitation) -> date:
    """The first day a debt that defaulted on ``defaulted_on`` is time-barred."""
    return add_years(defaulted_on, limitation.years)


def is_time_barred(defaulted_on: date, on: date, limitation: Limitation | None) -> bool:
    """True when the period has run by ``on`` (never with no known period)."""
    return limitation is not None and on >= barred_from(defaulted_on, limitation)


def reportable(defaulted_on: date, on: date) -> bool:
    """True while a credit bureau may still report the debt (FCRA 605(a)(4), (c))."""
    start = defaulted_on + timedelta(days=REPORTING_START_DAYS)
    return on < add_years(start, REPORTING_YEARS)


def disclosure(state: str | None, *, collector: str, defaulted_on: date, on: date) -> str | None:
    """The text ``state`` requires in a written or electronic message about a
    time-barred debt (None: the state prescribes none here)."""
    if state == "CA":
        if reportable(defaulted_on, on):
            return _CA_REPORTABLE.format(collector=collector)
        return _CA_OBSOLETE
    if state == "NY":
        return _NY
    return None


def suit_findings(text: str, language: str) -> list[Finding]:
    """Each mention of suit, court or legal action in ``text`` not denied just before
    (``we will not sue``): a message about a time-barred debt may not make them."""
    pattern = _SUIT.get(language, _SUIT["en"])
    denied = _DENIED.get(language, _DENIED["en"])
    found = []
    for m in pattern.finditer(text):
        if denied.search(text[max(0, m.start() - 40) : m.start()]):
            continue
        found.append(
            Finding(
                SUIT_RULE,
                m.group(0),
                f"the debt is time-barred: no mention of suit or legal action ({SUIT_SOURCE})",
                m.start(),
                m.end(),
            )
        )
    return found


_STATE_ZIP = re.compile(r"\b([A-Z]{2})\s+\d{5}(?:-\d{4})?\s*$")


def state_of(address: str | None) -> str | None:
    """The US state of a postal address whose last line ends ``<ST> <ZIP>``."""
    lines = [line.strip() for line in (address or "").splitlines() if line.strip()]
    for line in reversed(lines):
        m = _STATE_ZIP.search(line)
        if m:
            return m.group(1)
    return None
