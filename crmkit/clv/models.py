"""BG/NBD and Gamma-Gamma fitted by maximum likelihood (numpy/scipy, vectorised, in log space).

BG/NBD (Fader, Hardie & Lee 2005, "'Counting Your Customers' the Easy Way: An
Alternative to the Pareto/NBD Model", Marketing Science 24(2)): while alive a
customer buys at a Poisson rate lambda ~ Gamma(r, alpha); after each purchase
they drop out with probability p ~ Beta(a, b).  The likelihood of one
customer's (x, t_x, T), eq. (6) of the paper, in logs::

    ln L = ln G(r+x) - ln G(r) + r ln alpha + ln B(a, b+x) - ln B(a, b)
           + ln( (alpha+T)^-(r+x) + [x>0] a/(b+x-1) (alpha+t_x)^-(r+x) )

Gamma-Gamma (Fader, Hardie & Lee 2005, "RFM and CLV: Using Iso-Value Curves
for Customer Base Analysis", JMR 42(4); Fader & Hardie 2013, "The Gamma-Gamma
Model of Monetary Value"): the value of each transaction is Gamma(p, nu),
nu ~ Gamma(q, gamma) across customers; the mean zbar of x transactions has::

    ln f = ln G(px+q) - ln G(px) - ln G(q) + q ln gamma + (px-1) ln zbar + px ln x
           - (px+q) ln(gamma + x zbar)

Both are fitted on identical rows aggregated with weights (a million
customers have a few thousand distinct (x, t_x, T)), over the logarithms of
the parameters (so they stay positive), with L-BFGS-B from a data-driven start
and Nelder-Mead to polish when L-BFGS-B stops short.  A fit that does not
converge, or data the model cannot be fitted to, raises a
:class:`~crmkit.exceptions.ValidationError` naming the Orders sheet: never a
NaN table.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import betaln, gammaln

from ..exceptions import ValidationError
from ..i18n import msg

__all__ = ["MIN_REPEAT_BUYERS", "BGNBDParams", "GammaGammaParams", "fit_bgnbd", "fit_gamma_gamma",
           "bgnbd_log_likelihood", "gamma_gamma_log_likelihood"]

#: Fewest customers with a repeat purchase a fit needs (fewer give parameters that mean nothing).
MIN_REPEAT_BUYERS = 10


@dataclass(frozen=True)
class BGNBDParams:
    """Fitted BG/NBD parameters (time in the summary's units) and how the fit went."""

    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float
    customers: int
    converged: bool
    iterations: int


@dataclass(frozen=True)
class GammaGammaParams:
    """Fitted Gamma-Gamma parameters (``v`` is the papers' gamma) and how the fit went."""

    p: float
    q: float
    v: float
    log_likelihood: float
    customers: int
    converged: bool
    iterations: int

    @property
    def mean_spend(self) -> float:
        """Population mean of the spend per transaction, p v / (q - 1) (infinite when q <= 1)."""
        return self.p * self.v / (self.q - 1.0) if self.q > 1.0 else float("inf")


def _fail(reason_key: str, **params) -> ValidationError:
    return ValidationError(msg("e_clv_cannot_fit", reason=msg(reason_key, **params)), sheet="Orders")


def _aggregate(*cols: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Distinct rows of ``cols`` and how often each occurs (a sort, then run lengths)."""
    order = np.lexsort(cols[::-1])
    sorted_cols = [c[order] for c in cols]
    new = np.ones(len(order), dtype=bool)
    if len(order) > 1:
        new[1:] = np.any([c[1:] != c[:-1] for c in sorted_cols], axis=0)
    starts = np.flatnonzero(new)
    counts = np.diff(np.append(starts, len(order))).astype("float64")
    return [c[starts] for c in sorted_cols], counts


def bgnbd_log_likelihood(r: float, alpha: float, a: float, b: float, x: np.ndarray, t_x: np.ndarray,
                         T: np.ndarray) -> np.ndarray:
    """Log-likelihood of each customer's (x, t_x, T) under BG/NBD (formula: module docstring)."""
    x = np.asarray(x, dtype="float64")
    t_x = np.asarray(t_x, dtype="float64")
    T = np.asarray(T, dtype="float64")
    head = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + betaln(a, b + x) - betaln(a, b)
    a3 = -(r + x) * np.log(alpha + T)
    rep = x > 0
    a4 = np.full_like(x, -np.inf)
    a4[rep] = np.log(a) - np.log(b + x[rep] - 1.0) - (r + x[rep]) * np.log(alpha + t_x[rep])
    return head + np.logaddexp(a3, a4)


def gamma_gamma_log_likelihood(p: float, q: float, v: float, x: np.ndarray, zbar: np.ndarray) -> np.ndarray:
    """Log-density of each repeat buyer's mean spend ``zbar`` over ``x`` transactions (module docstring)."""
    x = np.asarray(x, dtype="float64")
    zbar = np.asarray(zbar, dtype="float64")
    px = p * x
    return (gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(v) + (px - 1.0) * np.log(zbar)
            + px * np.log(x) - (px + q) * np.log(v + x * zbar))


def _maximise(neg_ll, start: np.ndarray) -> tuple[np.ndarray, float, bool, int]:
    """Minimise ``neg_ll`` over log-parameters: L-BFGS-B, then Nelder-Mead when it stops short."""
    def safe(theta: np.ndarray) -> float:
        if np.any(np.abs(theta) > 30):
            return 1e300
        val = neg_ll(np.exp(theta))
        return float(val) if np.isfinite(val) else 1e300

    res = minimize(safe, start, method="L-BFGS-B", options={"maxiter": 2000})
    iterations = int(res.nit)
    best = res
    if not res.success:
        nm = minimize(safe, res.x, method="Nelder-Mead",
                      options={"maxiter": 8000, "maxfev": 16000, "xatol": 1e-8, "fatol": 1e-10})
        iterations += int(nm.nit)
        if nm.fun <= res.fun:
            best = nm
        converged = bool(nm.success)
    else:
        converged = True
    ok = converged and np.isfinite(best.fun) and best.fun < 1e299 and np.all(np.abs(best.x) < 25)
    return np.exp(best.x), float(best.fun), bool(ok), iterations


def fit_bgnbd(frequency: np.ndarray, recency: np.ndarray, T: np.ndarray) -> BGNBDParams:
    """Fit BG/NBD to repeat-purchase counts ``frequency`` (x), ``recency`` (t_x) and age ``T``.

    Rows with a blank ``T`` (customers without purchase) are left out.  Raises
    :class:`~crmkit.exceptions.ValidationError` when there are no customers,
    fewer than :data:`MIN_REPEAT_BUYERS` repeat buyers, or the fit does not
    converge.

    >>> s = summary(orders, "1997-09-30", unit_days=7)          # doctest: +SKIP
    >>> fit_bgnbd(s["frequency"], s["recency"], s["T"])         # doctest: +SKIP
    BGNBDParams(r=0.243, alpha=4.414, a=0.793, b=2.426, ...)
    """
    x = np.asarray(frequency, dtype="float64")
    t_x = np.asarray(recency, dtype="float64")
    age = np.asarray(T, dtype="float64")
    keep = np.isfinite(age) & np.isfinite(x) & np.isfinite(t_x)
    x, t_x, age = x[keep], t_x[keep], age[keep]
    if len(x) == 0:
        raise _fail("e_clv_no_orders")
    repeaters = int((x > 0).sum())
    if repeaters < MIN_REPEAT_BUYERS:
        raise _fail("e_clv_few_repeaters", n=repeaters, need=MIN_REPEAT_BUYERS)
    if not np.any(age > 0):
        raise _fail("e_clv_no_time")
    (ux, ut, uT), w = _aggregate(x, t_x, age)
    # what depends on x alone, on T alone or on t_x alone is computed once per distinct value
    xs, ix = np.unique(ux, return_inverse=True)
    Ts, iT = np.unique(uT, return_inverse=True)
    ts, it = np.unique(ut, return_inverse=True)
    wx = np.bincount(ix, weights=w, minlength=len(xs))
    rep = ux > 0
    n = float(w.sum())

    def neg_ll(params: np.ndarray) -> float:
        r, alpha, a, b = params
        per_x = gammaln(r + xs) + betaln(a, b + xs)
        head = float(np.dot(wx, per_x)) + n * (r * np.log(alpha) - gammaln(r) - betaln(a, b))
        a3 = -(r + ux) * np.log(alpha + Ts)[iT]
        a4 = np.full_like(a3, -np.inf)
        a4[rep] = (np.log(a) - np.log(b + ux[rep] - 1.0)
                   - (r + ux[rep]) * np.log(alpha + ts)[it[rep]])
        return -(head + float(np.dot(w, np.logaddexp(a3, a4))))

    # start: r = 1 and alpha from the mean purchase rate of the customers; a = b = 1
    rate = max(float(x.sum() / max(age.sum(), 1e-9)), 1e-6)
    start = np.log([1.0, 1.0 / rate, 1.0, 1.0])
    params, nll, converged, iterations = _maximise(neg_ll, start)
    if not converged:
        raise _fail("e_clv_no_convergence", model="BG/NBD")
    r, alpha, a, b = (float(v) for v in params)
    return BGNBDParams(r, alpha, a, b, -nll, int(len(x)), converged, iterations)


def fit_gamma_gamma(frequency: np.ndarray, monetary_value: np.ndarray) -> GammaGammaParams:
    """Fit Gamma-Gamma to the repeat buyers' mean repeat spend (rows with frequency > 0 and spend > 0).

    Raises :class:`~crmkit.exceptions.ValidationError` when fewer than
    :data:`MIN_REPEAT_BUYERS` customers qualify, when every amount is the same
    (the model needs a spread of spend), or when the fit does not converge.

    >>> fit_gamma_gamma(s["frequency"], s["monetary_value"])   # doctest: +SKIP
    GammaGammaParams(p=6.25, q=3.74, v=15.44, ...)
    """
    x = np.asarray(frequency, dtype="float64")
    z = np.asarray(monetary_value, dtype="float64")
    keep = np.isfinite(x) & np.isfinite(z) & (x > 0) & (z > 0)
    x, z = x[keep], z[keep]
    if len(x) < MIN_REPEAT_BUYERS:
        raise _fail("e_clv_few_repeaters", n=int(len(x)), need=MIN_REPEAT_BUYERS)
    if np.ptp(z) <= 1e-9 * max(float(np.abs(z).max()), 1.0):
        raise _fail("e_clv_same_amounts")
    (ux, uz), w = _aggregate(x, z)
    xs, ix = np.unique(ux, return_inverse=True)
    wx = np.bincount(ix, weights=w, minlength=len(xs))
    log_z, log_x = np.log(uz), np.log(ux)
    n = float(w.sum())
    wxlz = float(np.dot(w * ux, log_z)) + float(np.dot(w * ux, log_x))   # sum of w x (ln zbar + ln x)
    wlz = float(np.dot(w, log_z))

    def neg_ll(params: np.ndarray) -> float:
        p, q, v = params
        per_x = gammaln(p * xs + q) - gammaln(p * xs)
        ll = (float(np.dot(wx, per_x)) + n * (q * np.log(v) - gammaln(q)) + p * wxlz - wlz
              - float(np.dot(w, (p * ux + q) * np.log(v + ux * uz))))
        return -ll

    # start: method of moments on the spread of the means (p ~ mean^2 / var, a heavy-ish tail q = 3)
    mean, var = float(np.average(z)), float(np.var(z)) or 1.0
    p0 = min(max(mean * mean / var, 0.5), 50.0)
    q0 = 3.0
    v0 = mean * (q0 - 1.0) / p0
    params, nll, converged, iterations = _maximise(neg_ll, np.log([p0, q0, v0]))
    if not converged:
        raise _fail("e_clv_no_convergence", model="Gamma-Gamma")
    p, q, v = (float(val) for val in params)
    return GammaGammaParams(p, q, v, -nll, int(len(x)), converged, iterations)

