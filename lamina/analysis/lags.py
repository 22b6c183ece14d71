"""Mutual information as a function of time lag."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike

from .batch import batch_name, mi_batch
from .gcmi import mi_gcmi

Estimator = Callable[[np.ndarray, np.ndarray], float]


def lagged_mi(
    x: ArrayLike,
    y: ArrayLike,
    lags: ArrayLike,
    estimator: Estimator | str = mi_gcmi,
) -> np.ndarray:
    """MI in bits between x(t) and y(t + lag) for each lag (in samples).

    Positive lags mean x leads y. Every lag uses the same number of samples,
    n - max|lag|, so the estimates share one sampling bias and can be compared
    (a lag-dependent sample size would bias the argmax towards small lags).
    With mi_gcmi / mi_ksg (or "gcmi" / "ksg") and 1-D series all lags are
    evaluated in one parallel ``mi_batch`` call; any other callable
    ``estimator(x, y) -> bits`` is called once per lag.

    Args:
        x, y: samples in time order, same length n, 1-D (2-D allowed with a callable).
        lags: integer lags in samples.
        estimator: MI estimator.

    Returns:
        (len(lags),) array of MI estimates in bits.
    """
    xa = np.asarray(x, dtype=np.float64)
    ya = np.asarray(y, dtype=np.float64)
    lag_arr = np.asarray(lags)
    if lag_arr.ndim != 1 or lag_arr.size == 0 or not np.issubdtype(lag_arr.dtype, np.integer):
        raise ValueError("lags must be a non-empty 1-D array of integers (samples)")
    n = xa.shape[0]
    if ya.shape[0] != n:
        raise ValueError(f"x and y differ in length: {n} != {ya.shape[0]}")
    m = n - int(np.abs(lag_arr).max())
    if m < 4:
        raise ValueError(f"lags up to {int(np.abs(lag_arr).max())} leave fewer than 4 samples of {n}")
    # x[t] pairs with y[t + lag]: shift y forward for lag > 0, x for lag < 0.
    x_segments = [xa[max(0, -lag):max(0, -lag) + m] for lag in lag_arr.tolist()]
    y_segments = [ya[max(0, lag):max(0, lag) + m] for lag in lag_arr.tolist()]
    name = batch_name(estimator)
    if name is not None and xa.ndim == 1 and ya.ndim == 1:
        return mi_batch(np.stack(x_segments), np.stack(y_segments), name)
    if isinstance(estimator, str):
        raise ValueError(f"estimator {estimator!r} needs 1-D x and y; pass a callable for 2-D data")
    return np.array([estimator(xs, ys) for xs, ys in zip(x_segments, y_segments)])


def best_lag_mi(
    x: ArrayLike,
    y: ArrayLike,
    lags: ArrayLike,
    estimator: Estimator | str = mi_gcmi,
) -> tuple[int, float]:
    """Lag (samples, x leads y if positive) with the largest MI, and that MI in bits.

    See ``lagged_mi``; ties go to the first lag listed. The maximum over lags is
    biased upward by the selection; compare against a shuffle null when it matters.
    """
    values = lagged_mi(x, y, lags, estimator)
    best = int(np.argmax(values))
    return int(np.asarray(lags)[best]), float(values[best])
