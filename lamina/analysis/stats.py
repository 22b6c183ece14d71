"""Small statistics helpers for reporting: binomial confidence intervals and readout ceilings.

Plain numpy / standard library; no simulation objects.
"""
from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["WINDOW_SD_CEILING_MS", "wilson_interval", "window_sd_ceiling"]


def _z(level: float) -> float:
    if not 0.0 < float(level) < 1.0:
        raise ValueError(f"level must lie in (0, 1), got {level!r}")
    return NormalDist().inv_cdf(0.5 + float(level) / 2.0)


def wilson_interval(k: ArrayLike, n: ArrayLike, level: float = 0.95) -> tuple[float, float] | tuple[np.ndarray, np.ndarray]:
    """Wilson score confidence interval for a binomial proportion.

    Used for survival probabilities over seeds (k of n seeds alive): unlike a t-interval of
    0/1 outcomes it stays inside [0, 1] and is not degenerate at k = 0 or k = n.

    Parameters
    ----------
    k : int or array_like of int
        Number of successes (e.g. seeds in which the packet survives), ``0 <= k <= n``.
    n : int or array_like of int
        Number of trials (seeds), ``n >= 0``. Broadcast against ``k``.
    level : float, optional
        Two-sided confidence level, default 0.95 (z = 1.959963984540054).

    Returns
    -------
    lo, hi : float or ndarray
        Lower and upper bounds. With ``p = k/n`` and ``z`` the ``(1 + level)/2`` normal quantile::

            centre = (p + z²/(2n)) / (1 + z²/n)
            half   = z / (1 + z²/n) * sqrt(p(1-p)/n + z²/(4n²))
            (lo, hi) = (centre - half, centre + half)

        ``lo`` is exactly 0 at ``k = 0`` and ``hi`` exactly 1 at ``k = n``. For ``n = 0`` the
        interval is (0, 1) (no information). Scalars in give floats out.

    Raises
    ------
    ValueError
        If ``level`` is not in (0, 1), ``n < 0``, or ``k`` lies outside ``[0, n]``.

    Examples
    --------
    >>> wilson_interval(0, 10)   # doctest: +ELLIPSIS
    (0.0, 0.2775...)
    """
    z = _z(level)
    k_arr = np.asarray(k, dtype=float)
    n_arr = np.asarray(n, dtype=float)
    k_arr, n_arr = np.broadcast_arrays(k_arr, n_arr)
    if np.any(n_arr < 0) or np.any(k_arr < 0) or np.any(k_arr > n_arr):
        raise ValueError(f"need 0 <= k <= n, got k={k!r}, n={n!r}")
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.where(n_arr > 0, k_arr / np.where(n_arr > 0, n_arr, 1.0), 0.0)
        nn = np.where(n_arr > 0, n_arr, 1.0)
        denom = 1.0 + z * z / nn
        centre = (p + z * z / (2.0 * nn)) / denom
        half = z / denom * np.sqrt(p * (1.0 - p) / nn + z * z / (4.0 * nn * nn))
        lo = np.clip(centre - half, 0.0, 1.0)
        hi = np.clip(centre + half, 0.0, 1.0)
    lo = np.where(k_arr == 0, 0.0, lo)
    hi = np.where(k_arr == n_arr, 1.0, hi)
    lo = np.where(n_arr == 0, 0.0, lo)
    hi = np.where(n_arr == 0, 1.0, hi)
    if lo.ndim == 0:
        return float(lo), float(hi)
    return lo, hi


def window_sd_ceiling(w_ms: float = 4.0) -> float:
    """SD of spike times spread uniformly over a ±w readout window.

    The paper's packet readout keeps the spikes within ±``w_ms`` of the peak bin and reports
    their SD. A background with no packet at all fills that window uniformly, so its "output
    sigma" is the SD of a uniform distribution of width ``2 w``: ``2 w / sqrt(12) = w / sqrt(3)``
    (2.31 ms for the default ±4 ms). This is the ceiling of the windowed SD: a reading near it
    means *background* (or a packet much wider than the window), not a precise packet.

    Parameters
    ----------
    w_ms : float, optional
        Half-width of the readout window, ms (default 4.0, the paper's readout).

    Returns
    -------
    float
        ``2 * w_ms / sqrt(12)``, ms.

    Raises
    ------
    ValueError
        If ``w_ms`` is negative or not finite.
    """
    w = float(w_ms)
    if not math.isfinite(w) or w < 0:
        raise ValueError(f"w_ms must be a finite non-negative half-width, got {w_ms!r}")
    return 2.0 * w / math.sqrt(12.0)


WINDOW_SD_CEILING_MS: float = window_sd_ceiling(4.0)
"""SD ceiling of the paper's ±4 ms readout window: 8 / sqrt(12) = 2.309 ms."""
