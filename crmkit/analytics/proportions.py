"""Confidence intervals and tests for rates (proportions): how sure a measured rate is.

* :func:`wilson_interval`: the Wilson score interval of one proportion
  (Wilson 1927).  Unlike the textbook "p +/- z * sqrt(p(1-p)/n)" (Wald)
  interval it stays inside [0, 1] and keeps its coverage for small counts
  and rates near 0 or 1, which campaign rates often are.
* :func:`proportion_difference`: the difference of two independent
  proportions with Newcombe's hybrid score interval (Newcombe 1998, method
  10, built from the two Wilson intervals) and the two-sided p-value of the
  pooled two-proportion z-test (the same as Pearson's chi-square test of the
  2 x 2 table without continuity correction).

The normal quantile comes from :func:`scipy.stats.norm.ppf`.

>>> wilson_interval(10, 100)
(0.0552..., 0.1743...)
>>> proportion_difference(30, 100, 20, 100)["p_value"]
0.1024...
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from ..exceptions import UsageError
from ..i18n import msg

__all__ = ["wilson_interval", "proportion_difference", "z_quantile"]


def z_quantile(confidence: float = 0.95) -> float:
    """The two-sided normal quantile of ``confidence`` (0.95 -> 1.95996...).

    >>> round(z_quantile(0.95), 4)
    1.96
    """
    if not 0 < confidence < 1:
        raise UsageError(msg("e_confidence", value=repr(confidence)))
    return float(stats.norm.ppf(1 - (1 - confidence) / 2))


def wilson_interval(successes, trials, confidence: float = 0.95):
    """The Wilson score interval ``(low, high)`` of ``successes / trials``.

    With ``p = k / n`` and ``z`` the normal quantile of ``confidence``::

        centre = (p + z^2 / (2n)) / (1 + z^2 / n)
        half   = z * sqrt(p (1 - p) / n + z^2 / (4 n^2)) / (1 + z^2 / n)
        (low, high) = (centre - half, centre + half)

    Works on numbers (returns two floats) and on arrays or Series (returns
    two arrays).  Where ``trials`` is 0 both ends are NaN (nothing measured).

    >>> low, high = wilson_interval(10, 100)
    >>> round(low, 4), round(high, 4)
    (0.0552, 0.1744)
    >>> wilson_interval(0, 20)[0]
    0.0
    """
    k = np.asarray(successes, dtype="float64")
    n = np.asarray(trials, dtype="float64")
    if np.any(k < 0) or np.any(k > n):
        raise UsageError(msg("e_successes"))
    z = z_quantile(confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        safe = np.where(n > 0, n, 1.0)
        p = k / safe
        denom = 1 + z * z / safe
        centre = (p + z * z / (2 * safe)) / denom
        half = z * np.sqrt(p * (1 - p) / safe + z * z / (4 * safe * safe)) / denom
        low = np.where(n > 0, np.clip(centre - half, 0.0, 1.0), np.nan)
        high = np.where(n > 0, np.clip(centre + half, 0.0, 1.0), np.nan)
    if low.ndim == 0:
        return float(low), float(high)
    return low, high


def proportion_difference(successes_a: int, trials_a: int, successes_b: int, trials_b: int,
                          confidence: float = 0.95) -> dict[str, float]:
    """The difference ``rate_a - rate_b`` of two independent proportions, its interval and p-value.

    Returns a dict: ``rate_a``, ``rate_b``, ``difference``, ``low``/``high``
    (Newcombe's hybrid score interval: with Wilson intervals (l1, u1) and
    (l2, u2) of the two rates, ``low = d - sqrt((p1 - l1)^2 + (u2 - p2)^2)``
    and ``high = d + sqrt((u1 - p1)^2 + (p2 - l2)^2)``), ``z`` and
    ``p_value`` (pooled two-proportion z-test, two-sided: with the pooled
    rate ``p = (k1 + k2) / (n1 + n2)``,
    ``z = d / sqrt(p (1 - p) (1/n1 + 1/n2))``).  When a rate cannot be
    measured (no trials) everything but the rates is NaN; when both rates
    are 0 or both are 1 the z-test has nothing to compare and ``p_value`` is
    1.0.

    >>> r = proportion_difference(30, 100, 20, 100)
    >>> round(r["difference"], 2), round(r["z"], 4), round(r["p_value"], 4)
    (0.1, 1.633, 0.1025)
    >>> round(r["low"], 4), round(r["high"], 4)
    (-0.0202, 0.2167)
    """
    p1 = successes_a / trials_a if trials_a > 0 else math.nan
    p2 = successes_b / trials_b if trials_b > 0 else math.nan
    out = {"rate_a": p1, "rate_b": p2, "difference": math.nan, "low": math.nan, "high": math.nan,
           "z": math.nan, "p_value": math.nan}
    if trials_a <= 0 or trials_b <= 0:
        return out
    l1, u1 = wilson_interval(successes_a, trials_a, confidence)
    l2, u2 = wilson_interval(successes_b, trials_b, confidence)
    d = p1 - p2
    pooled = (successes_a + successes_b) / (trials_a + trials_b)
    se = math.sqrt(pooled * (1 - pooled) * (1 / trials_a + 1 / trials_b))
    z = d / se if se > 0 else 0.0
    out.update(difference=d, low=d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2),
               high=d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2),
               z=z, p_value=float(2 * stats.norm.sf(abs(z))))
    return out
