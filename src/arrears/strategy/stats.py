"""Confidence intervals for the champion/challenger readout, in exact ``Decimal``.

- a proportion (cure rate): the Wilson score interval;
- a difference of proportions: Newcombe's hybrid score interval (his method 10), built
  from the two Wilson intervals;
- a mean and a difference of means (amount recovered per case): Student's t with the
  Welch–Satterthwaite degrees of freedom. The t quantile comes from the normal one by
  the Cornish–Fisher expansion (Abramowitz & Stegun 26.7.5), good to about 1e-3 for
  4 or more degrees of freedom and exact in the large samples a readout sees; below 3
  degrees of freedom the exact closed forms for 1 and 2 are used.

All levels are two-sided; the default is 95%.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal, localcontext
from statistics import NormalDist

Interval = tuple[Decimal, Decimal]


def z_quantile(level: float = 0.95) -> Decimal:
    """The two-sided normal quantile for ``level`` (1.959964 for 95%)."""
    return Decimal(repr(NormalDist().inv_cdf(0.5 + level / 2)))


def t_quantile(df: float, level: float = 0.95) -> Decimal:
    """The two-sided Student t quantile for ``df`` degrees of freedom (Cornish–Fisher)."""
    p = 0.5 + level / 2
    z = NormalDist().inv_cdf(p)
    if df == float("inf"):
        return Decimal(repr(z))
    # below 3 degrees of freedom the expansion is poor: the exact quantile of the whole
    # df below (more conservative for a fractional Welch df)
    if df < 2:
        return Decimal(repr(math.tan(math.pi * (p - 0.5))))
    if df < 3:
        return Decimal(repr((2 * p - 1) / math.sqrt(2 * p * (1 - p))))
    g1 = (z**3 + z) / 4
    g2 = (5 * z**5 + 16 * z**3 + 3 * z) / 96
    g3 = (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384
    g4 = (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / 92160
    return Decimal(repr(z + g1 / df + g2 / df**2 + g3 / df**3 + g4 / df**4))


def wilson(successes: int, n: int, level: float = 0.95) -> Interval:
    """The Wilson score interval of ``successes`` out of ``n`` (``(0, 1)`` when n = 0)."""
    if n == 0:
        return Decimal(0), Decimal(1)
    with localcontext() as ctx:
        ctx.prec = 28
        z = z_quantile(level)
        p = Decimal(successes) / n
        z2 = z * z
        denominator = 1 + z2 / n
        center = (p + z2 / (2 * n)) / denominator
        half = z / denominator * (p * (1 - p) / n + z2 / (4 * n * n)).sqrt()
        return max(Decimal(0), center - half), min(Decimal(1), center + half)


def newcombe(x1: int, n1: int, x2: int, n2: int, level: float = 0.95) -> Interval:
    """Interval of the difference ``x2/n2 - x1/n1`` (Newcombe's hybrid score)."""
    if n1 == 0 or n2 == 0:
        return Decimal(-1), Decimal(1)
    with localcontext() as ctx:
        ctx.prec = 28
        p1, p2 = Decimal(x1) / n1, Decimal(x2) / n2
        l1, u1 = wilson(x1, n1, level)
        l2, u2 = wilson(x2, n2, level)
        d = p2 - p1
        lower = d - ((p2 - l2) ** 2 + (u1 - p1) ** 2).sqrt()
        upper = d + ((u2 - p2) ** 2 + (p1 - l1) ** 2).sqrt()
        return lower, upper


def mean_and_variance(values: Sequence[Decimal]) -> tuple[Decimal, Decimal]:
    """The mean and the unbiased sample variance (0 for fewer than two values)."""
    n = len(values)
    if n == 0:
        return Decimal(0), Decimal(0)
    with localcontext() as ctx:
        ctx.prec = 34
        mean = sum(values, Decimal(0)) / n
        if n < 2:
            return mean, Decimal(0)
        return mean, sum(((v - mean) ** 2 for v in values), Decimal(0)) / (n - 1)


def mean_interval(values: Sequence[Decimal], level: float = 0.95) -> Interval:
    """The t interval of the mean of ``values`` (a point when fewer than two)."""
    n = len(values)
    mean, variance = mean_and_variance(values)
    if n < 2:
        return mean, mean
    with localcontext() as ctx:
        ctx.prec = 34
        half = t_quantile(n - 1, level) * (variance / n).sqrt()
        return mean - half, mean + half


def welch_interval(
    champion: Sequence[Decimal], challenger: Sequence[Decimal], level: float = 0.95
) -> Interval:
    """Welch's interval of ``mean(challenger) - mean(champion)``."""
    n1, n2 = len(champion), len(challenger)
    m1, v1 = mean_and_variance(champion)
    m2, v2 = mean_and_variance(challenger)
    d = m2 - m1
    if n1 < 2 or n2 < 2:
        return d, d
    with localcontext() as ctx:
        ctx.prec = 34
        a, b = v1 / n1, v2 / n2
        se2 = a + b
        if se2 == 0:
            return d, d
        df = float(se2 * se2 / (a * a / (n1 - 1) + b * b / (n2 - 1)))
        half = t_quantile(df, level) * se2.sqrt()
        return d - half, d + half
