"""Many mutual-information estimates in one parallel call."""
from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from ._parallel import threads_for
from ._samples import as_pairs
from .gcmi import gcmi_bits, mi_gcmi
from .ksg import KSG_NOISE, ksg_bits, mi_ksg, prepare_ksg

BatchEstimator = Literal["gcmi", "ksg"]
# Pairs are processed in blocks of at most this many samples in total, which
# bounds the temporary memory (trees, sort orders) to a few hundred MB.
BLOCK_SAMPLES = 4_000_000


def batch_name(estimator: str | Callable) -> BatchEstimator | None:
    """The mi_batch name of an estimator ("gcmi", "ksg", mi_gcmi or mi_ksg), else None."""
    names = {"gcmi": "gcmi", "ksg": "ksg"}
    if isinstance(estimator, str):
        if estimator not in names:
            raise ValueError(f"estimator must be 'gcmi', 'ksg' or a callable, got {estimator!r}")
        return names[estimator]
    return {mi_gcmi: "gcmi", mi_ksg: "ksg"}.get(estimator)


def mi_batch(
    xs: ArrayLike,
    ys: ArrayLike,
    estimator: BatchEstimator = "gcmi",
    k: int = 3,
    *,
    noise: float = KSG_NOISE,
    seed: int = 0,
) -> np.ndarray:
    """MI in bits for many 1-D (x, y) pairs at once, e.g. all layers x all sweep points.

    Method: the same estimators as ``mi_gcmi`` / ``mi_ksg``, run by numba kernels
    that loop over pairs with ``prange`` (KSG also splits each pair's samples
    into chunks, so a few large pairs still use every core). Pairs are processed
    in blocks of at most BLOCK_SAMPLES samples to bound memory. For KSG the
    jitter of all pairs comes from one ``default_rng(seed)`` (x block, then y
    block), so a single pair gives exactly ``mi_ksg(x, y, k, noise=noise, seed=seed)``.

    Args:
        xs, ys: (n_pairs, n_samples) arrays; row i of xs is paired with row i of ys.
        estimator: "gcmi" (Gaussian copula) or "ksg" (Kraskov, k neighbours).
        k: KSG neighbours.
        noise, seed: KSG tie-breaking jitter, see ``mi_ksg``.

    Returns:
        (n_pairs,) array of MI estimates in bits.
    """
    name = batch_name(estimator)
    if name is None:
        raise ValueError(f"estimator must be 'gcmi' or 'ksg', got {estimator!r}")
    a, b = as_pairs(xs, ys)
    n_pairs, n = a.shape
    if n < 4 or (name == "ksg" and n <= k):
        raise ValueError(f"too few samples per pair: {n}")
    rng = np.random.default_rng(seed)
    block = max(1, BLOCK_SAMPLES // n)
    out = np.empty(n_pairs)
    with threads_for(n_pairs * n):
        for s in range(0, n_pairs, block):
            xa = a[s:s + block, :, None]
            ya = b[s:s + block, :, None]
            if name == "gcmi":
                out[s:s + block] = gcmi_bits(xa, ya)
            else:
                out[s:s + block] = ksg_bits(prepare_ksg(xa, 1, noise, rng), prepare_ksg(ya, 1, noise, rng), k)
    return out
