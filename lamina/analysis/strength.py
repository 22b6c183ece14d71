"""Mutual information between a discrete stimulus (a packet's strength) and a per-trial response,
bias-corrected, with a shuffle null and a jackknife-over-seeds confidence interval."""
from __future__ import annotations

import numpy as np

__all__ = ["MIN_GROUPS", "N_NULL", "TRIALS_PER_CELL", "fano_lower_bound", "jackknife_half", "mi_codes",
           "n_response_bins", "strength_decoder_mi", "strength_mi", "strength_mi_joint"]

# Response bins of the strength MI: at least TRIALS_PER_CELL trials per stimulus and response bin on
# average (the regime where the quadratic-extrapolation correction is reliable; with fewer, e.g.
# 8 bins for 20 trials per strength, its estimates of shuffled data were as large as the observed
# ones in our checks), at most one bin per strength and at least 2.
TRIALS_PER_CELL = 4
N_NULL = 200
# Fewest groups (seeds) for a jackknife CI: with 2-3 the t(G-1) quantile rests on 1-2 degrees of
# freedom (12.7 and 4.3 times the SE) and the interval is refused (nan) instead.
MIN_GROUPS = 4


def n_response_bins(n_strengths: int, trials_per_strength: int) -> int:
    """Response bins for ``strength_mi``: trials_per_strength // TRIALS_PER_CELL, within [2, n_strengths]."""
    return int(max(2, min(n_strengths, trials_per_strength // TRIALS_PER_CELL)))


def mi_codes(s: np.ndarray, codes: np.ndarray, groups: np.ndarray, *, n_null: int = N_NULL, seed: int = 0,
             min_groups: int = MIN_GROUPS) -> dict:
    """Bias-corrected MI (bits) between stimulus codes and response codes, with a shuffle null and
    a leave-one-group-out jackknife CI: the estimator behind :func:`strength_mi`.

    Parameters
    ----------
    s, codes : ndarray
        Integer stimulus and response codes per trial.
    groups : ndarray
        Group (seed) of each trial; the jackknife leaves one group out at a time.
    n_null : int
        Shuffles of the null (0: none; ``null95`` and ``p`` are then nan).
    seed : int
        Shuffle seed.
    min_groups : int
        Fewest groups for a CI (``half`` is nan below it).

    Returns
    -------
    dict
        ``mi`` (quadratic extrapolation, Strong et al. 1998), ``plugin``, ``pt`` (Panzeri–Treves),
        ``null95``, ``p``, ``loo`` (leave-one-group-out values, sorted group order), ``half``
        (95 % CI half-width, :func:`jackknife_half`), ``n_codes`` (occupied response codes),
        ``trials_per_cell`` (trials / (stimuli × occupied response codes)) and ``qe_ok``
        (``trials_per_cell >= TRIALS_PER_CELL``, the regime where the correction was checked).
    """
    from .discrete import mi_discrete
    from .null import mi_shuffle_null

    s = np.asarray(s, dtype=np.int64)
    codes = np.asarray(codes, dtype=np.int64)
    groups = np.asarray(groups)

    def qe(a, b):
        return mi_discrete(a, b, "qe")

    if n_null > 0:
        observed, null, p = mi_shuffle_null(qe, s, codes, n=n_null, seed=seed)
        null95 = float(np.percentile(null, 95))
    else:
        observed, null95, p = qe(s, codes), float("nan"), float("nan")
    labels = np.unique(groups)
    # leave-one-seed-out values (nan where too few trials are left for an estimate)
    loo = np.array([qe(s[groups != g], codes[groups != g]) if np.count_nonzero(groups != g) >= 4 else np.nan
                    for g in labels])
    n_codes = int(np.unique(codes).size)
    tpc = s.size / (np.unique(s).size * n_codes)
    return {"mi": float(observed), "plugin": mi_discrete(s, codes, "none"), "pt": mi_discrete(s, codes, "pt"),
            "null95": null95, "p": float(p), "loo": loo, "half": jackknife_half(loo, min_groups=min_groups),
            "n_codes": n_codes, "trials_per_cell": float(tpc), "qe_ok": bool(tpc >= TRIALS_PER_CELL)}


def strength_mi(stimulus: np.ndarray, response: np.ndarray, groups: np.ndarray, *,
                alive: np.ndarray | None = None, n_bins: int | None = None, n_null: int = N_NULL,
                seed: int = 0) -> dict:
    """MI (bits) between a discrete stimulus and a scalar response per trial.

    The response is coded by ``n_bins`` (default ``n_response_bins``) equal-population bins (``equal_population_bins``); with
    ``alive`` given, only alive trials are binned and the others form one extra "no packet" code
    (their latency is meaningless, but *that* there was no packet is information). The estimate
    is the plug-in MI with quadratic-extrapolation bias correction (Strong et al. 1998); also
    returned: the plug-in and Panzeri–Treves values, a shuffle null (95th percentile and p) and
    the leave-one-group-out (seed) jackknife: ``loo`` values in sorted group order and the 95 %
    CI half-width t(G-1) * SE_jack (nan with fewer than :data:`MIN_GROUPS` groups), the
    trials per (stimulus, response code) cell and whether that is in the checked regime
    (:func:`mi_codes`). ``n_bins`` above ``n_response_bins`` leaves that regime (``qe_ok``
    False): the caption should say so.
    """
    from .discrete import equal_population_bins

    stimulus = np.asarray(stimulus)
    response = np.asarray(response, dtype=float)
    _, s, per = np.unique(stimulus, return_inverse=True, return_counts=True)
    if n_bins is None:
        n_bins = n_response_bins(per.size, int(per.min()))
    codes = np.full(response.size, n_bins, np.int64)
    keep = np.ones(response.size, bool) if alive is None else np.asarray(alive, bool) & np.isfinite(response)
    if keep.any():
        codes[keep] = equal_population_bins(response[keep], n_bins)
    out = mi_codes(s, codes, np.asarray(groups), n_null=n_null, seed=seed)
    out["n_bins"] = n_bins
    return out


def strength_mi_joint(stimulus: np.ndarray, size: np.ndarray, latency: np.ndarray, groups: np.ndarray, *,
                      alive: np.ndarray | None = None, n_bins: tuple[int, int] | None = None,
                      n_null: int = N_NULL, seed: int = 0) -> dict:
    """MI (bits) between a discrete stimulus and the joint (size, latency) response per trial.

    The size is coded by ``n_bins[0]`` equal-population bins; the latency of alive trials by
    ``n_bins[1]`` (dead trials: one more latency code, "no packet"); the response code is the
    pair. By default the number of joint codes stays within the :data:`TRIALS_PER_CELL` budget
    ``B = max(4, trials_per_strength // TRIALS_PER_CELL)``: latency codes
    ``L = max(2, floor(sqrt(B)))`` (including "no packet" when there are dead trials) and size
    bins ``max(2, B // L)``. Same estimator, null and jackknife as :func:`strength_mi`.

    Parameters
    ----------
    stimulus, size, latency, groups : ndarray
        Per trial: the strength, the packet size, its latency and the group (seed).
    alive : ndarray of bool, optional
        Trials with a packet (the others' latency is not binned).
    n_bins : (int, int), optional
        (size bins, alive-latency bins).
    n_null, seed
        As :func:`strength_mi`.

    Returns
    -------
    dict
        :func:`mi_codes`'s numbers plus ``n_bins`` (size bins, latency bins).
    """
    from .discrete import equal_population_bins

    size = np.asarray(size, dtype=float)
    latency = np.asarray(latency, dtype=float)
    _, s, per = np.unique(np.asarray(stimulus), return_inverse=True, return_counts=True)
    keep = np.isfinite(latency) if alive is None else np.asarray(alive, bool) & np.isfinite(latency)
    dead = bool((~keep).any())
    if n_bins is None:
        budget = max(4, int(per.min()) // TRIALS_PER_CELL)
        n_lat_codes = max(2, int(np.floor(np.sqrt(budget))))
        n_bins = (max(2, budget // n_lat_codes), max(1, n_lat_codes - 1) if dead else n_lat_codes)
    nb_size, nb_lat = int(n_bins[0]), int(n_bins[1])
    size_codes = equal_population_bins(size, nb_size)
    lat_codes = np.full(size.size, nb_lat, np.int64)
    if keep.any():
        lat_codes[keep] = equal_population_bins(latency[keep], nb_lat)
    codes = size_codes * (nb_lat + 1) + lat_codes
    out = mi_codes(s, codes, np.asarray(groups), n_null=n_null, seed=seed)
    out["n_bins"] = (nb_size, nb_lat)
    return out


def fano_lower_bound(accuracy: float, n_classes: int) -> float:
    """Fano's lower bound on I(S; R) in bits for equiprobable S from a decoder's accuracy.

    For any decoder Ŝ(R) with error Pe = 1 - accuracy, H(S | R) <= h(Pe) + Pe log2(M - 1), so
    I(S; R) >= log2 M - h(Pe) - Pe log2(M - 1) (0 when Pe >= 1 - 1/M).

    Parameters
    ----------
    accuracy : float
        Fraction of correctly decoded trials.
    n_classes : int
        Number of equiprobable stimuli M.

    Returns
    -------
    float
        The bound, bits (>= 0).
    """
    m = int(n_classes)
    pe = 1.0 - float(accuracy)
    if m < 2 or pe >= 1.0 - 1.0 / m:
        return 0.0
    h = 0.0 if pe <= 0 else -(pe * np.log2(pe) + (1 - pe) * np.log2(1 - pe))
    return float(max(0.0, np.log2(m) - h - pe * np.log2(m - 1)))


def strength_decoder_mi(stimulus: np.ndarray, features: np.ndarray, groups: np.ndarray, *,
                        seed: int = 0) -> dict:
    """Decoder-based information about the stimulus: cross-validated Gaussian naive Bayes.

    Method: the features (columns standardised over all trials; non-finite entries, e.g. the
    latency of a dead trial, are replaced by the column's finite maximum plus 3 SDs, a code of
    its own, and a 0/1 "finite" column is added for each such feature) are decoded
    leave-one-group (seed)-out: a diagonal-covariance Gaussian per stimulus (variance floored at
    1e-2 of the standardised scale) fitted on the other groups, equal priors, maximum posterior.
    From the confusion of true and decoded stimuli: ``accuracy``, its ``chance`` level 1/M, the
    plug-in and quadratic-extrapolation MI of the confusion (``mi_plugin``, ``mi``, capped at
    log2 M, which a saturated confusion's extrapolation can overshoot: a lower bound
    on I(stimulus; features) up to the estimation error of the confusion itself, since the decoded
    label of a held-out trial is a function of its features), and Fano's bound
    (:func:`fano_lower_bound`) from the accuracy. Unlike binned MI there is no response-bin ceiling:
    a perfect response gives log2 M bits.

    Parameters
    ----------
    stimulus : ndarray
        (n,) stimulus per trial (equiprobable values).
    features : ndarray
        (n,) or (n, d) response features per trial (e.g. size, latency).
    groups : ndarray
        (n,) group (seed) per trial.
    seed : int
        Seed of the QE partitions.

    Returns
    -------
    dict
        ``mi``, ``mi_plugin``, ``fano``, ``accuracy``, ``chance``, ``n_groups``, ``decoded`` (n,).
    """
    from .discrete import mi_discrete

    x = np.asarray(features, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    labels, s = np.unique(np.asarray(stimulus), return_inverse=True)
    groups = np.asarray(groups)
    cols = []
    for c in range(x.shape[1]):
        v = x[:, c].copy()
        fin = np.isfinite(v)
        if not fin.any():
            continue
        sd = v[fin].std() if fin.sum() > 1 else 1.0
        sd = sd if sd > 0 else 1.0
        if not fin.all():
            v[~fin] = v[fin].max() + 3 * sd
            cols.append(fin.astype(float))
        cols.append(v)
    z = np.column_stack(cols)
    z = (z - z.mean(axis=0)) / np.where(z.std(axis=0) > 0, z.std(axis=0), 1.0)
    m = labels.size
    decoded = np.empty(s.size, np.int64)
    for g in np.unique(groups):
        test = groups == g
        train = ~test
        mu = np.zeros((m, z.shape[1]))
        var = np.ones((m, z.shape[1]))
        for c in range(m):
            zc = z[train & (s == c)]
            if zc.shape[0]:
                mu[c] = zc.mean(axis=0)
                var[c] = zc.var(axis=0)
        var = np.maximum(var, 1e-2)
        ll = -0.5 * (((z[test][:, None, :] - mu[None]) ** 2) / var[None] + np.log(var[None])).sum(axis=2)
        decoded[test] = np.argmax(ll, axis=1)
    acc = float(np.mean(decoded == s))
    # QE can extrapolate a saturated confusion above H(S) = log2 M, which no MI can exceed
    mi = min(mi_discrete(s, decoded, "qe", seed=seed), float(np.log2(m)))
    return {"mi": mi, "mi_plugin": mi_discrete(s, decoded, "none"),
            "fano": fano_lower_bound(acc, m), "accuracy": acc, "chance": 1.0 / m,
            "n_groups": int(np.unique(groups).size), "decoded": decoded}


def jackknife_half(loo: np.ndarray, min_groups: int = 2) -> float:
    """95 % CI half-width from leave-one-out estimates: t(G-1) * sqrt((G-1)/G * sum (x_i - mean)^2).

    nan with fewer than ``min_groups`` groups (:func:`strength_mi` asks for :data:`MIN_GROUPS`)
    or a non-finite value."""
    from scipy.stats import t as student_t

    g = loo.size
    if g < max(2, int(min_groups)) or not np.all(np.isfinite(loo)):
        return float("nan")
    se = np.sqrt((g - 1) / g * np.sum((loo - loo.mean()) ** 2))
    return float(student_t.ppf(0.975, g - 1) * se)
