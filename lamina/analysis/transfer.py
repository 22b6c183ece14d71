"""Information transfer between consecutive layers: MI of per-trial responses (packets) and
transfer entropy of population rates (time-varying input), KSG-based, plus the closed form of a
linear Gaussian chain that validates them.

Plain numpy arrays in and out; the neighbour searches are the numba kernels of :mod:`.ksg`.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from ._parallel import threads_for
from ._samples import as_samples, column_argsorts
from ._special import LN2
from .ksg import KSG_NOISE, _kth_distances, _marginal_psi_sums, _psi_table, prepare_ksg

__all__ = ["TE_K", "TE_MAX_LAG_MS", "TE_N_SHIFTS", "TRANSFER_META", "cmi_ksg", "cmi_ksg_batch", "gaussian_var_te",
           "layer_transfer_mi", "transfer_entropy", "transfer_entropy_scan"]

#: Settings of the per-layer transfer entropy that ``lamina analyze`` stores: KSG neighbours,
#: longest source → target lag searched, circularly shifted surrogates of the lag-maximised null.
TE_K = 4
TE_MAX_LAG_MS = 10.0
TE_N_SHIFTS = 5
#: Units of the per-layer transfer numbers ``lamina analyze`` stores (merge into
#: ``lamina.store.run.ANALYSIS_META``): name -> (units, method).
TRANSFER_META = {
    "transfer_te_bits": ("bits", "transfer entropy layer z-1 -> z (layer 0: stimulus -> layer 0), KSG, max over "
                                 "source lags minus the lag-maximised circular-shift null mean"),
    "transfer_te_raw_bits": ("bits", "transfer entropy at the best source lag, not bias-corrected"),
    "transfer_te_null_bits": ("bits", "mean lag-maximised TE of circularly shifted sources"),
    "transfer_te_lag_ms": ("ms", "source lag maximising the transfer entropy"),
}
# Pairs are processed in blocks of at most this many samples in total (bounds the trees' memory).
BLOCK_SAMPLES = 2_000_000


def cmi_ksg_batch(xs: np.ndarray, ys: np.ndarray, zs: np.ndarray, k: int = TE_K) -> np.ndarray:
    """Frenzel–Pompe (KSG-type) conditional MI I(X;Y|Z) in bits for P prepared triples.

    I = psi(k) - < psi(n_xz + 1) + psi(n_yz + 1) - psi(n_z + 1) >, where eps_i is the
    max-norm distance to the k-th neighbour in the joint (x, y, z) space and n_xz, n_yz, n_z
    count the other samples strictly closer than eps_i in those subspaces (Frenzel & Pompe,
    PRL 99:204101, 2007; Vejmelka & Paluš 2008). The counts include the sample itself, as in
    :func:`lamina.analysis.ksg.ksg_bits`.

    Parameters
    ----------
    xs, ys, zs : ndarray
        (P, n, dx), (P, n, dy), (P, n, dz): standardised, jittered samples
        (:func:`lamina.analysis.ksg.prepare_ksg`).
    k : int
        Neighbours.

    Returns
    -------
    ndarray
        (P,) estimates in bits (can be slightly negative).
    """
    n = xs.shape[1]
    dx, dy = xs.shape[2], ys.shape[2]
    joint = np.ascontiguousarray(np.concatenate((xs, ys, zs), axis=2))
    orders = column_argsorts(joint)
    xz = np.ascontiguousarray(np.concatenate((xs, zs), axis=2))
    yz = np.ascontiguousarray(np.concatenate((ys, zs), axis=2))
    iz = list(range(dx + dy, joint.shape[2]))
    o_xz = np.ascontiguousarray(orders[:, list(range(dx)) + iz])
    o_yz = np.ascontiguousarray(orders[:, list(range(dx, dx + dy)) + iz])
    o_z = np.ascontiguousarray(orders[:, iz])
    with threads_for(xs.shape[0] * n):
        eps = _kth_distances(joint, orders, int(k))
        psi = _psi_table(n)
        s_xz = _marginal_psi_sums(xz, o_xz, eps, psi)
        s_yz = _marginal_psi_sums(yz, o_yz, eps, psi)
        s_z = _marginal_psi_sums(np.ascontiguousarray(zs), o_z, eps, psi)
    return (psi[k] - (s_xz + s_yz - s_z) / n) / LN2


def _prepare(a: np.ndarray, noise: float, rng: np.random.Generator) -> np.ndarray:
    return prepare_ksg(a, 1, noise, rng)


def cmi_ksg(x: ArrayLike, y: ArrayLike, z: ArrayLike, k: int = TE_K, *, noise: float = KSG_NOISE,
            seed: int = 0) -> float:
    """Conditional mutual information I(X;Y|Z) in bits, KSG-type (Frenzel–Pompe) estimator.

    Parameters
    ----------
    x, y, z : array_like
        Samples, 1-D (n,) or 2-D (n, dims), same n.
    k : int
        Neighbours (4 here: a CMI subtracts estimates, so a little more averaging pays).
    noise : float
        Tie-breaking jitter relative to unit-variance data (see :func:`lamina.analysis.mi_ksg`).
    seed : int
        Seed of the jitter.

    Returns
    -------
    float
        Estimate in bits.

    Notes
    -----
    Each dimension is standardised and jittered as in :func:`lamina.analysis.mi_ksg` (x, then
    y, then z from one ``default_rng(seed)``). Validated against the closed form of a linear
    Gaussian chain (:func:`gaussian_var_te`; docs/statistics.md). With discrete data (spike
    counts in short bins) the jitter only breaks ties: the estimate is then biased, which is why
    :func:`transfer_entropy_scan` subtracts a surrogate null.
    """
    xs, ys, zs = as_samples(x, "x"), as_samples(y, "y"), as_samples(z, "z")
    n = xs.shape[0]
    if ys.shape[0] != n or zs.shape[0] != n:
        raise ValueError("x, y and z must have the same number of samples")
    if n <= k:
        raise ValueError(f"need more than k={k} samples, got {n}")
    rng = np.random.default_rng(seed)
    return float(cmi_ksg_batch(_prepare(xs[None], noise, rng), _prepare(ys[None], noise, rng),
                               _prepare(zs[None], noise, rng), k)[0])


def _te_triples(source: np.ndarray, target: np.ndarray, lags: Sequence[int], history: int,
                start: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(future (L, m, 1), source past (L, m, 1), target past (L, m, history)) for each lag, on the
    common sample range t = start .. n-1."""
    n = target.size
    t = np.arange(start, n)
    fut = np.broadcast_to(target[t][None, :, None], (len(lags), t.size, 1))
    src = np.stack([source[t - lag] for lag in lags])[:, :, None]
    past = np.stack([target[t - h] for h in range(1, history + 1)], axis=1)
    past = np.broadcast_to(past[None], (len(lags), t.size, history))
    return np.ascontiguousarray(fut), np.ascontiguousarray(src), np.ascontiguousarray(past)


def transfer_entropy(source: ArrayLike, target: ArrayLike, lag: int = 1, history: int = 1, k: int = TE_K, *,
                     noise: float = KSG_NOISE, seed: int = 0) -> float:
    """Transfer entropy source → target in bits: I(target_t ; source_{t-lag} | target_{t-1..t-history}).

    Parameters
    ----------
    source, target : array_like
        Time series (1-D, same length n, regular sampling).
    lag : int
        Source lag, samples (>= 1).
    history : int
        Target past samples conditioned on (>= 1).
    k : int
        KSG neighbours.
    noise, seed
        Tie-breaking jitter, as :func:`cmi_ksg`.

    Returns
    -------
    float
        KSG (Frenzel–Pompe) estimate in bits, over the n - max(lag, history) usable samples.
    """
    return float(transfer_entropy_scan(source, target, [lag], history, k, n_shifts=0, noise=noise,
                                       seed=seed)["te_lags"][0])


def transfer_entropy_scan(source: ArrayLike, target: ArrayLike, lags: Sequence[int], history: int = 1,
                          k: int = TE_K, *, n_shifts: int = TE_N_SHIFTS, min_shift: int | None = None,
                          noise: float = KSG_NOISE, seed: int = 0) -> dict:
    """Transfer entropy over source lags, maximised over lags, minus a lag-maximised surrogate null.

    Method: TE(lag) = I(target_t ; source_{t-lag} | target past) for every lag on one common set
    of samples (so the estimates share their bias); the largest over ``lags`` is the raw value.
    Maximising over lags biases it upward, so the null applies the *same* maximisation to
    ``n_shifts`` surrogates in which the source is circularly shifted by a random offset of at
    least ``min_shift`` samples (default: n // 10), which keeps each series' own dynamics and
    destroys their coupling; the reported ``te`` is the raw value minus the null mean.

    Parameters
    ----------
    source, target : array_like
        Time series (1-D, same length).
    lags : sequence of int
        Source lags, samples (each >= 1).
    history : int
        Target past samples conditioned on.
    k : int
        KSG neighbours.
    n_shifts : int
        Circularly shifted surrogates (0: no null).
    min_shift : int, optional
        Smallest circular shift, samples.
    noise, seed
        Jitter and surrogate seed.

    Returns
    -------
    dict
        ``te`` (bits; raw minus null mean, nan without a null), ``te_raw``, ``null_mean``,
        ``null`` (per-surrogate lag maxima), ``best_lag`` (samples), ``te_lags`` (per lag),
        ``n_samples``.
    """
    s = np.asarray(source, dtype=np.float64).reshape(-1)
    y = np.asarray(target, dtype=np.float64).reshape(-1)
    lags = [int(v) for v in lags]
    if s.size != y.size:
        raise ValueError(f"source and target differ in length: {s.size} != {y.size}")
    if not lags or min(lags) < 1 or history < 1:
        raise ValueError("need lags >= 1 and history >= 1")
    if not (np.all(np.isfinite(s)) and np.all(np.isfinite(y))):
        raise ValueError("source or target contains NaN or inf")
    start = max(max(lags), history)
    m = y.size - start
    if m <= k + 1:
        raise ValueError(f"too short: {y.size} samples leave {m} after lag {max(lags)}, history {history}")
    rng = np.random.default_rng(seed)
    min_shift = max(1, y.size // 10) if min_shift is None else int(min_shift)
    sources = [s]
    if n_shifts > 0:
        if y.size - 2 * min_shift < 1:
            raise ValueError(f"series of {y.size} samples too short for shifts of at least {min_shift}")
        shifts = rng.integers(min_shift, y.size - min_shift + 1, size=n_shifts)
        sources += [np.roll(s, int(sh)) for sh in shifts]
    fut, src, past = [], [], []
    for src_series in sources:
        a, b, c = _te_triples(src_series, y, lags, history, start)
        fut.append(a), src.append(b), past.append(c)
    fut, src, past = np.concatenate(fut), np.concatenate(src), np.concatenate(past)
    values = np.empty(fut.shape[0])
    block = max(1, BLOCK_SAMPLES // m)
    for i in range(0, fut.shape[0], block):
        sl = slice(i, i + block)
        values[sl] = cmi_ksg_batch(_prepare(fut[sl], noise, rng), _prepare(src[sl], noise, rng),
                                   _prepare(past[sl], noise, rng), k)
    values = values.reshape(len(sources), len(lags))
    best = int(np.argmax(values[0]))
    null = values[1:].max(axis=1) if n_shifts > 0 else np.empty(0)
    raw = float(values[0, best])
    null_mean = float(null.mean()) if null.size else float("nan")
    return {"te": raw - null_mean, "te_raw": raw, "null_mean": null_mean, "null": null, "best_lag": lags[best],
            "te_lags": values[0].copy(), "n_samples": int(m)}


def gaussian_var_te(a: ArrayLike, noise_cov: ArrayLike, source: int, target: int) -> float:
    """Exact transfer entropy (bits, lag 1, target history 1) of a stationary linear Gaussian VAR(1).

    For s_t = A s_{t-1} + e_t, e_t ~ N(0, Q): with the stationary covariance S (S = A S Aᵀ + Q)
    and the lag-1 covariance C = Cov(s_t, s_{t-1}) = A S, the triple
    (y_t, y_{t-1}, x_{t-1}) of target y and source x is Gaussian, and::

        TE = 0.5 log2( Var(y_t | y_{t-1}) / Var(y_t | y_{t-1}, x_{t-1}) )

    (conditional variances by Schur complements). For a chain where y_t = b y_{t-1} + c x_{t-1}
    + noise of variance q, the denominator is q: TE = 0.5 log2(Var(y_t | y_{t-1}) / q).

    Parameters
    ----------
    a : array_like
        (d, d) coefficient matrix, spectral radius < 1.
    noise_cov : array_like
        (d, d) innovation covariance Q.
    source, target : int
        Indices of x and y.

    Returns
    -------
    float
        TE in bits.
    """
    from scipy.linalg import solve_discrete_lyapunov

    A = np.asarray(a, dtype=float)
    Q = np.asarray(noise_cov, dtype=float)
    if np.max(np.abs(np.linalg.eigvals(A))) >= 1:
        raise ValueError("the VAR(1) is not stationary (spectral radius >= 1)")
    S = solve_discrete_lyapunov(A, Q)
    C = A @ S  # Cov(s_t, s_{t-1})
    j, i = int(target), int(source)
    # Covariance of (y_t, y_{t-1}, x_{t-1})
    M = np.array([[S[j, j], C[j, j], C[j, i]],
                  [C[j, j], S[j, j], S[j, i]],
                  [C[j, i], S[i, j], S[i, i]]])

    def cond_var(idx):
        b = M[0, idx]
        return M[0, 0] - b @ np.linalg.solve(M[np.ix_(idx, idx)], b)

    return float(0.5 * np.log2(cond_var([1]) / cond_var([1, 2])))


def layer_transfer_mi(responses: ArrayLike, *, estimator: str = "ksg", k: int = 3, n_bins: int | None = None,
                      seed: int = 0) -> np.ndarray:
    """MI (bits) between consecutive layers' per-trial responses, across trials.

    Parameters
    ----------
    responses : array_like
        (n_trials, n_layers): one scalar per trial and layer (e.g. packet size as a fraction of
        the layer); trials are e.g. seeds × input strengths. Rows with a NaN in a pair of layers
        are left out of that pair.
    estimator : {"ksg", "gcmi", "binned"}
        KSG (k neighbours, tie-breaking jitter: many zero sizes are ties), Gaussian copula, or
        equal-population bins (``n_bins``, default ``max(2, n // 20)`` capped at 8) with the
        quadratic-extrapolation bias correction.
    k : int
        KSG neighbours.
    n_bins : int, optional
        Bins per layer for "binned".
    seed : int
        KSG jitter / QE partition seed.

    Returns
    -------
    ndarray
        (n_layers - 1,): entry z is MI(layer z; layer z + 1) (nan with fewer than 8 trials).
    """
    from .discrete import equal_population_bins, mi_discrete
    from .gcmi import mi_gcmi
    from .ksg import mi_ksg

    r = np.asarray(responses, dtype=np.float64)
    if r.ndim != 2 or r.shape[1] < 2:
        raise ValueError(f"responses must be (n_trials, n_layers >= 2), got shape {r.shape}")
    out = np.full(r.shape[1] - 1, np.nan)
    for z in range(r.shape[1] - 1):
        a, b = r[:, z], r[:, z + 1]
        keep = np.isfinite(a) & np.isfinite(b)
        a, b = a[keep], b[keep]
        if a.size < 8:
            continue
        if np.ptp(a) == 0 or np.ptp(b) == 0:
            out[z] = 0.0  # a constant response carries nothing
            continue
        if estimator == "ksg":
            out[z] = mi_ksg(a, b, k, seed=seed)
        elif estimator == "gcmi":
            out[z] = mi_gcmi(a, b)
        elif estimator == "binned":
            nb = n_bins if n_bins is not None else int(min(8, max(2, a.size // 20)))
            out[z] = mi_discrete(equal_population_bins(a, nb), equal_population_bins(b, nb), "qe", seed=seed)
        else:
            raise ValueError(f"estimator must be 'ksg', 'gcmi' or 'binned', got {estimator!r}")
    return out
