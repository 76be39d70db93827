"""Conditions of segments and steps: parsing the ``when`` table, reasoning about them
(does one segment shadow or overlap another?) and turning them into Ibis predicates.

A ``when`` table maps a dimension (``bucket``, ``dpd``, ``product``, ``customer_type``,
``willingness``, ``amount_tier``, ``score_band``) or, under ``columns``, any column of
the evaluated table, to one of these forms:

- a scalar: equal to it (``bucket = "M1"``);
- a list: one of them (``customer_type = ["sme", "corporate"]``);
- ``{ min = A, max = B }``: between A and B inclusive (either end may be left out);
- ``{ in = [...] }``: the same as a list; ``{ null = true|false }``: the value is (not) missing.

All conditions of a ``when`` must hold. A missing value (null) never satisfies a
value or range test.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from arrears.strategy.model import CUSTOMER_TYPES, DIMENSION_COLUMNS, WILLINGNESS, Condition, Tiers

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from arrears.strategy.loader import _Problems

CLOSED_SETS = {"customer_type": CUSTOMER_TYPES, "willingness": WILLINGNESS}


def _number(value: Any) -> int | Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    if isinstance(value, int):
        return value
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    if not number.is_finite():
        return None
    return int(number) if number == number.to_integral_value() else number


def parse_conditions(
    node: Any,
    path: str,
    p: _Problems,
    amount_tiers: Tiers | None,
    score_bands: Tiers | None,
) -> tuple[Condition, ...]:
    """The conditions of the ``when`` table at ``path``; problems go to ``p``."""
    if not isinstance(node, dict):
        p.error(path, "must be a table of conditions")
        return ()
    conditions: list[Condition] = []
    for key, form in node.items():
        if key == "columns":
            if not isinstance(form, dict) or not form:
                p.error(f"{path}.columns", "must map column names to conditions")
                continue
            for column, sub in form.items():
                cond = _form(column, sub, f"{path}.columns.{column}", p, None)
                if cond is not None:
                    conditions.append(cond)
            continue
        if key not in DIMENSION_COLUMNS:
            known = ", ".join([*DIMENSION_COLUMNS, "columns"])
            p.error(f"{path}.{key}", f"unknown dimension (known: {known})")
            continue
        names: tuple[str, ...] | None = None
        if key in CLOSED_SETS:
            names = CLOSED_SETS[key]
        elif key in ("amount_tier", "score_band"):
            tiers = amount_tiers if key == "amount_tier" else score_bands
            if tiers is None:
                table = "amount_tiers" if key == "amount_tier" else "score_bands"
                p.error(f"{path}.{key}", f"needs the [{table}] definition in the strategy")
                continue
            names = tiers.names
        cond = _form(DIMENSION_COLUMNS[key], form, f"{path}.{key}", p, names)
        if cond is not None and key == "dpd":
            cond = _check_dpd(cond, f"{path}.{key}", p)
        if cond is not None:
            conditions.append(cond)
    return tuple(conditions)


def _form(
    column: str, form: Any, path: str, p: _Problems, names: tuple[str, ...] | None
) -> Condition | None:
    if isinstance(form, dict):
        keys = set(form)
        if keys == {"in"}:
            form = form["in"]
        elif keys == {"null"}:
            if not isinstance(form["null"], bool):
                p.error(f"{path}.null", "must be true or false")
                return None
            return Condition(column, is_null=form["null"])
        elif keys and keys <= {"min", "max"}:
            if names is not None:
                p.error(path, "a named category takes a value or a list, not a range")
                return None
            ends = {}
            for end in ("min", "max"):
                if end in form:
                    ends[end] = _number(form[end])
                    if ends[end] is None:
                        p.error(f"{path}.{end}", f"expected a number, got {form[end]!r}")
                        return None
            low, high = ends.get("min"), ends.get("max")
            if low is not None and high is not None and low > high:
                p.error(path, f"empty range: min {low} is above max {high}")
                return None
            return Condition(column, low=low, high=high)
        else:
            p.error(path, "expected a value, a list, {min, max}, {in} or {null}")
            return None
    values = form if isinstance(form, list) else [form]
    if not values:
        p.error(path, "an empty list matches nothing")
        return None
    clean: list[Any] = []
    for i, value in enumerate(values):
        here = f"{path}[{i}]" if isinstance(form, list) else path
        if isinstance(value, dict | list) or value is None:
            p.error(here, f"expected a scalar value, got {value!r}")
            return None
        if names is not None and value not in names:
            p.error(here, f"unknown value {value!r} (known: {', '.join(names)})")
            return None
        number = _number(value) if not isinstance(value, str) else None
        clean.append(number if number is not None else value)
    return Condition(column, values=tuple(clean))


def _check_dpd(cond: Condition, path: str, p: _Problems) -> Condition | None:
    """DPD is a whole number of days, 0 or more."""
    for end, value in (("min", cond.low), ("max", cond.high)):
        if value is not None and (not isinstance(value, int) or value < 0):
            p.error(f"{path}.{end}", f"DPD must be a whole number >= 0, got {value}")
            return None
    for value in cond.values or ():
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            p.error(path, f"DPD must be a whole number >= 0, got {value!r}")
            return None
    return cond


def _implies(a: Condition, b: Condition) -> bool:
    """Every value satisfying ``a`` satisfies ``b`` (same column)."""
    if a.is_null is not None or b.is_null is not None:
        return a.is_null == b.is_null or (b.is_null is False and a.is_null is None)
    if a.values is not None:
        if b.values is not None:
            return set(a.values) <= set(b.values)
        return all(_in_range(v, b) for v in a.values)
    if b.values is not None:
        return False
    low_ok = b.low is None or (a.low is not None and a.low >= b.low)
    high_ok = b.high is None or (a.high is not None and a.high <= b.high)
    return low_ok and high_ok


def _in_range(value: Any, c: Condition) -> bool:
    if isinstance(value, str):
        return False
    return (c.low is None or value >= c.low) and (c.high is None or value <= c.high)


def _intersect(a: Condition, b: Condition) -> bool:
    if a.is_null is not None or b.is_null is not None:
        if a.is_null is True or b.is_null is True:
            return a.is_null == b.is_null
        return True
    if a.values is not None and b.values is not None:
        return bool(set(a.values) & set(b.values))
    if a.values is not None:
        return any(_in_range(v, b) for v in a.values)
    if b.values is not None:
        return any(_in_range(v, a) for v in b.values)
    low = max((x for x in (a.low, b.low) if x is not None), default=None)
    high = min((x for x in (a.high, b.high) if x is not None), default=None)
    return low is None or high is None or low <= high


def shadows(earlier: tuple[Condition, ...], later: tuple[Condition, ...]) -> bool:
    """True when every row matching ``later`` also matches ``earlier``: with first
    match wins, the later segment is unreachable."""
    return all(any(x.column == e.column and _implies(x, e) for x in later) for e in earlier)


def overlaps(earlier: tuple[Condition, ...], later: tuple[Condition, ...]) -> bool:
    """True when the two test the same columns and their values intersect on each, so
    some rows match both (e.g. DPD 1-30 and DPD 15-60). Segments on different columns
    (a refinement such as "SME, DPD 1-30" before "DPD 1-30") are ordered on purpose
    and are not reported."""
    columns = {c.column for c in earlier}
    if not columns or columns != {c.column for c in later}:
        return False
    return all(_intersect(e, x) for e in earlier for x in later if e.column == x.column)


def predicate(t: ir.Table, conditions: tuple[Condition, ...]) -> ir.BooleanValue:
    """One boolean column: all ``conditions`` hold on the row (null counts as false)."""
    import ibis

    result: ir.BooleanValue = ibis.literal(True)
    for cond in conditions:
        col = t[cond.column]
        if cond.is_null is not None:
            test = col.isnull() if cond.is_null else col.notnull()
        elif cond.values is not None:
            test = col.isin(list(cond.values))
        else:
            test = ibis.literal(True)
            if cond.low is not None:
                test = test & (col >= cond.low)
            if cond.high is not None:
                test = test & (col <= cond.high)
        result = result & test.fill_null(False)
    return result
