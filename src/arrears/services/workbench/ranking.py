"""How a floor manager ranks the work: which case a collector should call first.

A case falls in the first *tier* of ``Ranking.tiers`` it meets, in that order:

``promise_due_today``
    a pending promise to pay falls due today (call to confirm the payment);
``promise_broken_yesterday``
    a promise that fell due yesterday was broken (or is still unsettled);
``callback_due``
    the debtor asked to be called back and the time has come (the case's latest
    logged contact is a callback whose ``callback_at`` is now or earlier);
``contactable_now``
    a call to the debtor would pass the compliance gate right now: the rule pack's
    hours and caps, holds and the blacklist, checked by ``arrears.compliance.Gate``
    exactly as a logged call is (``gating.load_gate_inputs``), nothing re-implemented.

Within a tier, and for the cases in no tier, the larger *score* comes first:
``amount overdue × (1 − risk_weight + risk_weight × risk)``, where ``risk`` is the
loan's probability of default from the workspace's latest scores (``default_risk``
when it was not scored). ``risk_weight`` 1 is risk × amount, 0 is amount alone. Ties go
to the higher DPD, then the lower case id.

The ranking is a table of the workspace's ``arrears.toml``; every key is optional::

    [queue]
    tiers = ["promise_due_today", "promise_broken_yesterday", "callback_due", "contactable_now"]
    risk_weight = 1.0      # 0 … 1
    default_risk = 0.5     # 0 … 1, for loans without a score
    risk_model = ""        # a model name in the scores; "" = the highest pd of any model
    window = 1000          # how many cases are ranked exactly (see below)

Tiers left out of ``tiers`` do not count. The promise and callback tiers come from the
store by index; whether a case is contactable takes the gate, so only the first
``window`` cases of the actor's scope (the tier cases first, then by amount overdue)
are ranked exactly; cases past the window follow in amount order. A collector's own
list is far shorter than the window, so it is ranked exactly.
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from arrears.services.settings import SETTINGS_FILE, SettingsError

TIERS = ("promise_due_today", "promise_broken_yesterday", "callback_due", "contactable_now")
# the tiers read from the store (the rest take the gate)
STORE_TIERS = TIERS[:3]
WINDOW_MAX = 5000


@dataclass(frozen=True)
class Ranking:
    """The workspace's ranking of the work (module docstring)."""

    tiers: tuple[str, ...] = TIERS
    risk_weight: Decimal = Decimal(1)
    default_risk: Decimal = Decimal("0.5")
    risk_model: str = ""
    window: int = 1000

    def score(self, amount: Decimal, risk: Decimal) -> Decimal:
        """``amount × (1 − risk_weight + risk_weight × risk)``, in cents."""
        factor = Decimal(1) - self.risk_weight + self.risk_weight * risk
        return (amount * factor).quantize(Decimal("0.01"))


def load_ranking(root: Path | None) -> Ranking:
    """The ``[queue]`` table of the workspace at ``root`` (defaults where silent); a bad
    value is a ``SettingsError`` naming the file and key."""
    if root is None:
        return Ranking()
    path = Path(root) / SETTINGS_FILE
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        return Ranking()
    return _load(path, stamp)


@functools.lru_cache(maxsize=8)
def _load(path: Path, stamp: int) -> Ranking:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SettingsError(f"{path}: not valid TOML ({exc})") from None
    table = data.get("queue", {})
    if not isinstance(table, dict):
        raise SettingsError(f"{path}: queue must be a table ([queue])")
    return ranking_from(path, table)


def ranking_from(path: Path | str, table: Mapping[str, object]) -> Ranking:
    """A ``Ranking`` from a ``[queue]`` table read from ``path``."""
    unknown = set(table) - {"tiers", "risk_weight", "default_risk", "risk_model", "window"}
    if unknown:
        raise SettingsError(f"{path}: queue.{sorted(unknown)[0]} is not a setting")
    ranking = Ranking()
    tiers = table.get("tiers", list(ranking.tiers))
    if not (isinstance(tiers, list) and all(t in TIERS for t in tiers)):
        raise SettingsError(f"{path}: queue.tiers must be a list of {', '.join(TIERS)}")
    if len(set(tiers)) != len(tiers):
        raise SettingsError(f"{path}: queue.tiers names a tier twice")

    def fraction(key: str, default: Decimal) -> Decimal:
        value = table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
            raise SettingsError(f"{path}: queue.{key} must be a number from 0 to 1")
        number = Decimal(str(value))
        if not 0 <= number <= 1:
            raise SettingsError(f"{path}: queue.{key} must be from 0 to 1, not {value}")
        return number

    model = table.get("risk_model", "")
    if not isinstance(model, str):
        raise SettingsError(f"{path}: queue.risk_model must be a string")
    window = table.get("window", ranking.window)
    if isinstance(window, bool) or not isinstance(window, int) or not 50 <= window <= WINDOW_MAX:
        raise SettingsError(f"{path}: queue.window must be a whole number from 50 to {WINDOW_MAX}")
    return Ranking(
        tiers=tuple(tiers),
        risk_weight=fraction("risk_weight", ranking.risk_weight),
        default_risk=fraction("default_risk", ranking.default_risk),
        risk_model=model,
        window=window,
    )


def loan_risks(root: Path | None, model: str = "") -> Mapping[str, Decimal]:
    """Loan id → probability of default on the latest day the workspace was scored
    (``model``'s, or the highest of any model's when ""); empty when never scored."""
    if root is None:
        return {}
    from arrears.services.book_models import score_days, scores_path

    days = score_days(Path(root))
    if not days:
        return {}
    path = scores_path(Path(root), days[0])
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        return {}
    return _risks(path, stamp, model)


@functools.lru_cache(maxsize=4)
def _risks(path: Path, stamp: int, model: str) -> Mapping[str, Decimal]:
    import pyarrow.parquet as pq

    table = pq.read_table(path, columns=["loan_id", "model", "pd"])
    out: dict[str, Decimal] = {}
    for loan_id, name, pd in zip(
        table.column("loan_id").to_pylist(),
        table.column("model").to_pylist(),
        table.column("pd").to_pylist(),
        strict=True,
    ):
        if pd is None or (model and name != model):
            continue
        risk = min(max(Decimal(str(round(pd, 4))), Decimal(0)), Decimal(1))
        if risk > out.get(loan_id, Decimal(-1)):
            out[loan_id] = risk
    return out
