"""Input coercion shared by the estimators (plain numpy, no numba)."""
from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike


def as_samples(a: ArrayLike, name: str) -> np.ndarray:
    """Return a C-contiguous float64 (n_samples, n_dims) array; 1-D becomes one column."""
    arr = np.asarray(a, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 1-D or 2-D (samples x dims), got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf")
    return np.ascontiguousarray(arr)


def paired_samples(x: ArrayLike, y: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """as_samples for both variables, checking they have the same number of samples."""
    xs = as_samples(x, "x")
    ys = as_samples(y, "y")
    if xs.shape[0] != ys.shape[0]:
        raise ValueError(f"x and y differ in sample count: {xs.shape[0]} != {ys.shape[0]}")
    if xs.shape[0] < 2:
        raise ValueError("need at least 2 samples")
    return xs, ys


def as_pairs(xs: ArrayLike, ys: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Coerce batch inputs to matching C-contiguous float64 (n_pairs, n_samples) arrays."""
    a = np.ascontiguousarray(np.asarray(xs, dtype=np.float64))
    b = np.ascontiguousarray(np.asarray(ys, dtype=np.float64))
    if a.ndim == 1:
        a = a[None, :]
    if b.ndim == 1:
        b = b[None, :]
    if a.ndim != 2 or a.shape != b.shape:
        raise ValueError(f"xs and ys must be 2-D (n_pairs x n_samples) of equal shape, got {a.shape}, {b.shape}")
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise ValueError("xs or ys contains NaN or inf")
    return a, b


def column_argsorts(a: np.ndarray) -> np.ndarray:
    """Argsort of every column of a (P, n, d), as a C-contiguous (P, d, n) int array.

    The columns are copied to contiguous rows first: numpy sorts contiguous data
    ~1.5x faster than a strided axis (measured at n = 100 000), more than the copy costs.
    """
    return np.argsort(np.ascontiguousarray(a.transpose(0, 2, 1)), axis=2)
