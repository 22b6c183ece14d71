"""Measures of the classic feedforward results (issue 15): where a synfire chain's survival
probability crosses one half (the separatrix), and how closely a layer's population rate follows a
slowly varying input (lagged correlation) or instead fires in synchronous volleys.

Plain numpy arrays in, numbers out.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from .rates import gaussian_smooth
from .stats import wilson_interval

__all__ = ["Separatrix", "best_lag_correlation", "lagged_correlation", "ou_membrane_sd", "separatrix", "synchrony"]


class Separatrix(NamedTuple):
    """Where survival crosses ``level`` along one axis of input sizes.

    a50: the crossing, linearly interpolated between grid points (nan when outside the grid).
    lo, hi: the range of sizes over which the Wilson interval contains ``level`` (nan where that
    range reaches beyond the grid).
    position: "inside", "below" (every grid point survives at least as often as ``level``) or
    "above" (no grid point does).
    """

    a50: float
    lo: float
    hi: float
    position: str


def _first_crossing(x: np.ndarray, y: np.ndarray, level: float) -> float:
    """The first x at which y reaches ``level`` (interpolated); nan if y starts there or never does."""
    above = np.flatnonzero(y >= level)
    if above.size == 0 or above[0] == 0:
        return float("nan")
    i = int(above[0])
    x0, x1, y0, y1 = x[i - 1], x[i], y[i - 1], y[i]
    return float(x0 + (level - y0) * (x1 - x0) / (y1 - y0))


def separatrix(sizes: ArrayLike, k: ArrayLike, n: ArrayLike, level: float = 0.5,
               confidence: float = 0.95) -> Separatrix:
    """The input size at which survival probability crosses ``level``, with a Wilson band.

    Parameters
    ----------
    sizes : array_like
        Input packet sizes of one row of the (a, sigma) grid (any order; sorted here).
    k, n : array_like of int
        Surviving trials and trials at each size.
    level : float
        Survival probability that defines the separatrix (0.5: as likely to survive as to die).
    confidence : float
        Level of the Wilson intervals.

    Returns
    -------
    Separatrix
        ``a50`` — the first upward crossing of ``level`` by k/n; ``lo`` — where the upper Wilson
        bound first reaches ``level``; ``hi`` — where the lower bound does. Survival is not
        distinguishable from ``level`` between ``lo`` and ``hi``.
    """
    a = np.asarray(sizes, dtype=float)
    kk, nn = np.asarray(k, dtype=float), np.asarray(n, dtype=float)
    order = np.argsort(a)
    a, kk, nn = a[order], kk[order], nn[order]
    if a.size == 0 or np.any(nn <= 0):
        raise ValueError("need at least one size, each with n > 0 trials")
    p = kk / nn
    lo_p, hi_p = (np.atleast_1d(b) for b in wilson_interval(kk, nn, confidence))
    if p[0] >= level:
        position = "below"
    elif p.max() < level:
        position = "above"
    else:
        position = "inside"
    return Separatrix(_first_crossing(a, p, level), _first_crossing(a, hi_p, level),
                      _first_crossing(a, lo_p, level), position)


def lagged_correlation(x: ArrayLike, y: ArrayLike, lags: ArrayLike) -> np.ndarray:
    """Pearson correlation of x(t) with y(t + lag) for each lag (samples; x leads y if positive).

    Every lag uses the same n - max|lag| samples (as :func:`lamina.analysis.lagged_mi`), so the
    values can be compared across lags. A constant segment gives nan.
    """
    xa, ya = np.asarray(x, dtype=float).ravel(), np.asarray(y, dtype=float).ravel()
    lag_arr = np.asarray(lags)
    if xa.size != ya.size:
        raise ValueError(f"x and y differ in length: {xa.size} != {ya.size}")
    if lag_arr.ndim != 1 or lag_arr.size == 0 or not np.issubdtype(lag_arr.dtype, np.integer):
        raise ValueError("lags must be a non-empty 1-D array of integers (samples)")
    m = xa.size - int(np.abs(lag_arr).max())
    if m < 3:
        raise ValueError(f"lags up to {int(np.abs(lag_arr).max())} leave fewer than 3 samples of {xa.size}")
    out = np.empty(lag_arr.size)
    for j, lag in enumerate(lag_arr.tolist()):
        xs = xa[max(0, -lag):max(0, -lag) + m]
        ys = ya[max(0, lag):max(0, lag) + m]
        xs, ys = xs - xs.mean(), ys - ys.mean()
        den = np.sqrt(np.dot(xs, xs) * np.dot(ys, ys))
        out[j] = np.dot(xs, ys) / den if den > 0 else np.nan
    return out


def best_lag_correlation(x: ArrayLike, y: ArrayLike, lags: ArrayLike) -> tuple[int, float]:
    """The lag (samples) of the largest :func:`lagged_correlation`, and that correlation
    (the first on ties; (lags[0], nan) if every lag gives nan)."""
    r = lagged_correlation(x, y, lags)
    if not np.isfinite(r).any():
        return int(np.asarray(lags)[0]), float("nan")
    best = int(np.nanargmax(r))
    return int(np.asarray(lags)[best]), float(r[best])


def synchrony(counts: ArrayLike, n_neurons: int, smooth_bins: float) -> float:
    """Mean pairwise correlation of the neurons' fast spike-count fluctuations, from the
    population count alone.

    The population count per bin minus its Gaussian-smoothed version (SD ``smooth_bins`` bins:
    what a slowly varying rate explains) has variance ``M·f·(1 + (n − 1)·c)`` for a mean count M
    per bin, n neurons of about Poisson variability whose fast counts correlate by c on average,
    and ``f = Σ(δ − w)²`` the share of white noise the smoothing kernel w leaves. So c is 0 for
    independent neurons (Poisson population count) and 1 when every spike is part of a volley of
    the whole layer. nan for an empty count; n_neurons must be at least 2.
    """
    c = np.asarray(counts, dtype=float).ravel()
    if int(n_neurons) < 2:
        raise ValueError(f"need at least 2 neurons, got {n_neurons}")
    mean = c.mean() if c.size else 0.0
    if mean <= 0:
        return float("nan")
    fast = c - gaussian_smooth(c, smooth_bins)
    half = int(np.ceil(4 * smooth_bins)) + 1
    delta = np.zeros(2 * half + 1)
    delta[half] = 1.0
    f = float(np.sum((delta - gaussian_smooth(delta, smooth_bins)) ** 2))
    return float((fast.var() / (mean * f) - 1.0) / (int(n_neurons) - 1))


def ou_membrane_sd(sigma_noise: float, tau_noise: float, tau_m: float, c_m: float) -> float:
    """Free-membrane SD (V) of a leaky membrane (tau_m, c_m) driven by the LIF card's OU current
    ``dI/dt = -I/tau_noise + sigma_noise·xi/sqrt(tau_noise)`` (SI units; stationary SD
    sigma_noise/√2): ``sigma_noise/√2 · tau_m/c_m · sqrt(tau_noise/(tau_m + tau_noise))``."""
    return float(sigma_noise / np.sqrt(2.0) * tau_m / c_m * np.sqrt(tau_noise / (tau_m + tau_noise)))
