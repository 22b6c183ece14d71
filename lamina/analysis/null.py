"""Permutation (shuffle) null distributions for MI estimates."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike

from .batch import batch_name, mi_batch


def mi_shuffle_null(
    estimator: Callable[[np.ndarray, np.ndarray], float] | str,
    x: ArrayLike,
    y: ArrayLike,
    n: int = 200,
    seed: int = 0,
) -> tuple[float, np.ndarray, float]:
    """Observed MI, its shuffle null distribution and a permutation p-value.

    Method: the pairing of samples is destroyed by permuting y (rows, for 2-D y)
    with ``default_rng(seed)``; the estimator on each of the ``n`` permutations
    gives the null. p = (1 + #{null >= observed}) / (n + 1), the standard
    permutation p-value that is never 0. Note that shuffling also destroys any
    autocorrelation structure shared by x and y, so for time series the null is
    anti-conservative; block shuffles or a lagged control are safer there.
    For mi_gcmi / mi_ksg (or "gcmi" / "ksg") with 1-D data the null runs as one
    parallel ``mi_batch`` call.

    Args:
        estimator: MI estimator, a callable ``(x, y) -> bits`` or "gcmi" / "ksg".
        x, y: paired samples.
        n: number of permutations.
        seed: permutation seed.

    Returns:
        (observed_bits, null_bits (n,), p_value).
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    xa = np.asarray(x, dtype=np.float64)
    ya = np.asarray(y, dtype=np.float64)
    if xa.shape[0] != ya.shape[0]:
        raise ValueError(f"x and y differ in sample count: {xa.shape[0]} != {ya.shape[0]}")
    rng = np.random.default_rng(seed)
    perms = np.stack([rng.permutation(ya.shape[0]) for _ in range(n)])
    name = batch_name(estimator)
    if name is not None and xa.ndim == 1 and ya.ndim == 1:
        values = mi_batch(np.vstack([xa[None], np.broadcast_to(xa, (n, xa.size))]),
                          np.vstack([ya[None], ya[perms]]), name)
        observed, null = float(values[0]), values[1:]
    else:
        if isinstance(estimator, str):
            raise ValueError(f"estimator {estimator!r} needs 1-D x and y; pass a callable for 2-D data")
        observed = float(estimator(xa, ya))
        null = np.array([estimator(xa, ya[perm]) for perm in perms])
    p_value = (1.0 + np.count_nonzero(null >= observed)) / (n + 1.0)
    return observed, null, float(p_value)
