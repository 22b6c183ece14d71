"""Small statistics helpers for reporting: binomial (Wilson) intervals, survival over alive
thresholds, t and bootstrap CIs that refuse 2-3 values, and the window readout's SD ceiling.

Plain numpy / standard library; no simulation objects.
"""
from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["ALIVE_THRESHOLDS", "MIN_N_T", "WINDOW_SD_CEILING_MS", "bootstrap_ci", "format_mean_ci", "mean_ci",
           "format_survival_table", "survival_by_threshold", "wilson_interval", "window_sd_ceiling"]

#: Fewest values for which a t-interval is given (with 2 or 3 values its width rests on one or two
#: degrees of freedom and its normality assumption cannot be checked; mean_ci refuses).
MIN_N_T = 4
#: "Alive" thresholds of the sensitivity table: packet size (fraction of the layer) above the
#: no-stimulus readout; 0.10 is the one the figures use.
ALIVE_THRESHOLDS = (0.05, 0.10, 0.15, 0.20)


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


def bootstrap_ci(values: ArrayLike, statistic=np.mean, level: float = 0.95, n_boot: int = 10_000, seed: int = 0,
                 min_n: int = 5) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of a statistic of one sample.

    For statistics or distributions where a t-interval's normality does not hold (bimodal
    alive/dead packet sizes, skewed MI values). Resamples the values with replacement
    ``n_boot`` times (``default_rng(seed)``) and returns the ``(1 ∓ level)/2`` quantiles of the
    statistic. With fewer than ``min_n`` finite values there are too few distinct resamples
    (at most C(2n-1, n): 10 for n = 3) and the interval is refused (nan, nan). Percentile
    intervals undercover at small n (about 0.90 for a normal mean at n = 10, level 0.95).

    Parameters
    ----------
    values : array_like
        The sample (non-finite values are dropped).
    statistic : callable
        ``statistic(array, axis=-1)`` -> value, vectorised over the last axis (np.mean, np.median).
    level : float
        Two-sided confidence level.
    n_boot : int
        Bootstrap resamples.
    seed : int
        Resampling seed.
    min_n : int
        Fewest values for an interval.

    Returns
    -------
    lo, hi : float
        The interval, or (nan, nan).
    """
    _z(level)
    x = np.asarray(values, dtype=float).reshape(-1)
    x = x[np.isfinite(x)]
    if x.size < max(2, int(min_n)):
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, x.size, size=(int(n_boot), x.size))
    stats = statistic(x[idx], axis=-1)
    a = (1.0 - float(level)) / 2.0
    lo, hi = np.quantile(stats, [a, 1.0 - a])
    return float(lo), float(hi)


def mean_ci(values: ArrayLike, level: float = 0.95, method: str = "t", min_n: int = MIN_N_T,
            seed: int = 0) -> tuple[float, float, float, int]:
    """Mean and a confidence interval over the finite values, refusing tiny samples.

    Parameters
    ----------
    values : array_like
        Values (None and non-finite values are dropped).
    level : float
        Two-sided confidence level.
    method : {"t", "bootstrap"}
        Student-t interval (normal data), or :func:`bootstrap_ci` of the mean (bimodal or
        skewed data, e.g. packet sizes that are alive in some seeds and dead in others).
    min_n : int
        Fewest values for an interval (default :data:`MIN_N_T` = 4; the bootstrap needs at
        least 5). Below it the interval is (nan, nan): no t-interval from 2–3 values.
    seed : int
        Bootstrap seed.

    Returns
    -------
    mean, lo, hi : float
        Mean and interval (nan where refused).
    n : int
        Number of finite values.
    """
    x = np.asarray([v for v in np.asarray(values, dtype=object).reshape(-1)
                    if v is not None and np.isfinite(float(v))], dtype=float)
    n = int(x.size)
    if n == 0:
        return float("nan"), float("nan"), float("nan"), 0
    m = float(x.mean())
    if method == "bootstrap":
        lo, hi = bootstrap_ci(x, np.mean, level, seed=seed, min_n=max(min_n, 5))
        return m, lo, hi, n
    if method != "t":
        raise ValueError(f"method must be 't' or 'bootstrap', got {method!r}")
    if n < max(2, int(min_n)):
        return m, float("nan"), float("nan"), n
    from scipy.stats import t

    half = float(t.ppf(0.5 + level / 2, n - 1) * x.std(ddof=1) / math.sqrt(n))
    return m, m - half, m + half, n


def format_mean_ci(values: ArrayLike, digits: int = 2, unit: str = "", method: str = "t") -> str:
    """'m ± h unit (n = N)' (t) / 'm unit [lo, hi] (n = N, bootstrap)'; without an interval
    (n < :data:`MIN_N_T`, or < 5 for the bootstrap) 'm unit (n = N, no CI)', with the range of
    the values for n = 2–3."""
    m, lo, hi, n = mean_ci(values, method=method)
    if n == 0:
        return "n/a"
    u = f" {unit}" if unit else ""
    if not (np.isfinite(lo) and np.isfinite(hi)):
        x = np.asarray([v for v in np.asarray(values, dtype=float).reshape(-1) if np.isfinite(v)])
        rng = f", range {x.min():.{digits}f}–{x.max():.{digits}f}" if n > 1 else ""
        return f"{m:.{digits}f}{u} (n = {n}{rng}, no CI)"
    if method == "t":
        return f"{m:.{digits}f} ± {(hi - lo) / 2:.{digits}f}{u} (n = {n})"
    return f"{m:.{digits}f}{u} [{lo:.{digits}f}, {hi:.{digits}f}] (n = {n}, bootstrap)"


def survival_by_threshold(size_frac: ArrayLike, floor_frac: ArrayLike = 0.0,
                          thresholds=ALIVE_THRESHOLDS, level: float = 0.95) -> list[dict]:
    """Survival probability of a packet per layer and alive threshold, with Wilson intervals.

    A seed's packet is alive in layer z at threshold c when its baseline-subtracted size (fraction
    of the layer) exceeds the same readout of the no-stimulus run by at least c:
    ``size_frac - floor_frac >= c`` (the rule of ``lamina.figures.packets.packet_rows`` at
    c = 0.10). Non-finite sizes count as not measured and are left out of n.

    Parameters
    ----------
    size_frac : array_like
        (n_seeds, n_layers) packet sizes as fractions of the layer (1-D: one layer).
    floor_frac : array_like
        No-stimulus readout, broadcast against ``size_frac`` (default 0).
    thresholds : sequence of float
        Alive thresholds above the floor.
    level : float
        Confidence level of :func:`wilson_interval`.

    Returns
    -------
    list of dict
        One row per threshold and layer: ``threshold``, ``layer``, ``k`` (alive seeds), ``n``,
        ``p`` (k / n, nan for n = 0), ``lo``, ``hi`` (Wilson interval).
    """
    s = np.asarray(size_frac, dtype=float)
    f = np.asarray(floor_frac, dtype=float)
    if s.ndim == 1:
        s = s[:, None]
        if f.ndim == 1:
            f = f[:, None]
    if s.ndim != 2:
        raise ValueError(f"size_frac must be (n_seeds, n_layers), got shape {s.shape}")
    f = np.broadcast_to(f, s.shape)
    measured = np.isfinite(s) & np.isfinite(f)
    rows = []
    for c in thresholds:
        alive = measured & (s - f >= float(c))
        for z in range(s.shape[1]):
            k, n = int(alive[:, z].sum()), int(measured[:, z].sum())
            lo, hi = wilson_interval(k, n, level)
            rows.append({"threshold": float(c), "layer": z, "k": k, "n": n, "p": k / n if n else float("nan"),
                         "lo": lo, "hi": hi})
    return rows


def format_survival_table(rows: list[dict], layers: list | None = None) -> list[str]:
    """Text lines of a :func:`survival_by_threshold` table: one line per threshold, per layer
    'k/n p [lo, hi]'."""
    lines = []
    for c in dict.fromkeys(r["threshold"] for r in rows):
        sub = [r for r in rows if r["threshold"] == c and (layers is None or r["layer"] in layers)]
        lines.append(f"alive ≥ {c:.2f} above floor: " + "; ".join(
            f"L{r['layer']} {r['k']}/{r['n']} {r['p']:.2f} [{r['lo']:.2f}, {r['hi']:.2f}]" for r in sub))
    return lines
