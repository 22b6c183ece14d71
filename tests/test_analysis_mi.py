"""Continuous MI estimators: KSG and Gaussian-copula MI, batch, lags and shuffle nulls."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.special import digamma, ndtri
from scipy.stats import rankdata

from lamina.analysis import best_lag_mi, lagged_mi, mi_batch, mi_gcmi, mi_ksg, mi_shuffle_null
from lamina.analysis.ksg import prepare_ksg

RHOS = [0.0, 0.3, 0.6, 0.9, 0.99]


def gaussian_pair(rho: float, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n)
    return x, rho * x + np.sqrt(1.0 - rho**2) * rng.standard_normal(n)


def true_mi(rho: float) -> float:
    return -0.5 * np.log2(1.0 - rho**2)


@pytest.mark.parametrize("estimator", [mi_ksg, mi_gcmi], ids=["ksg", "gcmi"])
@pytest.mark.parametrize("rho", RHOS)
def test_bivariate_gaussian_matches_analytic(estimator, rho):
    x, y = gaussian_pair(rho, 20_000, seed=int(rho * 100))
    truth = true_mi(rho)
    assert abs(estimator(x, y) - truth) <= max(0.02, 0.03 * truth)


@pytest.mark.parametrize("estimator,n_perm", [("gcmi", 200), ("ksg", 100)])
def test_independent_data_within_shuffle_null(estimator, n_perm):
    x, y = gaussian_pair(0.0, 20_000, seed=7)
    observed, null, p = mi_shuffle_null(estimator, x, y, n=n_perm, seed=1)
    assert null.shape == (n_perm,)
    assert p > 0.01
    assert abs(observed) < 0.01


def test_dependent_data_outside_shuffle_null():
    x, y = gaussian_pair(0.3, 2_000, seed=3)
    _, null, p = mi_shuffle_null(mi_gcmi, x, y, n=99, seed=0)
    assert p == pytest.approx(0.01)
    # a custom callable takes the generic path and gives the same answer here
    obs2, null2, p2 = mi_shuffle_null(lambda a, b: mi_gcmi(a, b), x, y, n=99, seed=0)
    assert p2 == p
    np.testing.assert_allclose(null2, null, atol=1e-12)


@pytest.mark.parametrize("rho", [0.0, 0.5, 0.9])
def test_ksg_agrees_with_sklearn(rho):
    sklearn_fs = pytest.importorskip("sklearn.feature_selection")
    x, y = gaussian_pair(rho, 5_000, seed=11)
    ref_bits = sklearn_fs.mutual_info_regression(x[:, None], y, n_neighbors=3, random_state=0)[0] / np.log(2)
    # scikit-learn clips at 0 and uses its own 1e-10 jitter; otherwise the same algorithm
    assert max(0.0, mi_ksg(x, y, k=3)) == pytest.approx(ref_bits, abs=1e-4)


def ksg_brute(x: np.ndarray, y: np.ndarray, k: int, noise: float = 1e-10) -> float:
    """O(n^2) KSG algorithm 1 on the same prepared (standardised, jittered) data."""
    rng = np.random.default_rng(0)
    xp = prepare_ksg(x.reshape(len(x), -1), 0, noise, rng)
    yp = prepare_ksg(y.reshape(len(y), -1), 0, noise, rng)
    n = len(xp)
    dx = np.abs(xp[:, None, :] - xp[None, :, :]).max(axis=2)
    dy = np.abs(yp[:, None, :] - yp[None, :, :]).max(axis=2)
    d = np.maximum(dx, dy)
    np.fill_diagonal(d, np.inf)
    eps = np.partition(d, k - 1, axis=1)[:, k - 1]
    # includes the point itself (n_x + 1); at least 1 when eps = 0 (exact duplicates, no jitter)
    nx = np.maximum((dx < eps[:, None]).sum(axis=1), 1)
    ny = np.maximum((dy < eps[:, None]).sum(axis=1), 1)
    return float((digamma(k) + digamma(n) - np.mean(digamma(nx) + digamma(ny))) / np.log(2))


@pytest.mark.parametrize("dims,k", [((1, 1), 3), ((2, 2), 3), ((3, 1), 5), ((1, 2), 1)])
def test_ksg_matches_brute_force(dims, k):
    rng = np.random.default_rng(sum(dims) + k)
    n = 1500
    x = rng.standard_normal((n, dims[0]))
    y = x[:, :1] @ np.ones((1, dims[1])) + rng.standard_normal((n, dims[1]))
    assert mi_ksg(x, y, k=k) == pytest.approx(ksg_brute(x, y, k), abs=1e-9)


@pytest.mark.parametrize("noise", [1e-10, 0.0])
def test_ksg_matches_brute_force_on_tied_data(noise):
    # Integer data: with the jitter the marginal windows end inside blocks of nearly tied
    # values (one bucket of the count index); without it, radii equal exact differences
    # and are often 0. Both must give the exact counts.
    rng = np.random.default_rng(9)
    x = rng.integers(0, 6, 2000).astype(float)
    y = x + rng.integers(0, 3, 2000)
    assert mi_ksg(x, y, noise=noise) == pytest.approx(ksg_brute(x, y, 3, noise), abs=1e-9)


def test_ksg_handles_ties_deterministically():
    rng = np.random.default_rng(5)
    x = rng.integers(0, 5, 3000).astype(float)  # heavy ties, like binned spike counts
    y = x + rng.integers(0, 3, 3000)
    a = mi_ksg(x, y, seed=0)
    assert a == mi_ksg(x, y, seed=0)
    assert np.isfinite(a) and a > 0.3
    assert a == pytest.approx(mi_ksg(x, y, seed=1), abs=0.05)


def gcmi_reference(x: np.ndarray, y: np.ndarray) -> float:
    """Ince et al.'s mi_gg(copnorm(x), copnorm(y), biascorrect=True), average-rank ties."""
    x = x.reshape(len(x), -1)
    y = y.reshape(len(y), -1)
    n = len(x)
    z = np.column_stack([ndtri(rankdata(c) / (n + 1)) for c in np.column_stack([x, y]).T])
    cov = np.cov(z.T)
    dx = x.shape[1]
    d = cov.shape[0]

    def entropy(c, dims):
        psiterms = digamma((n - np.arange(1, dims + 1)) / 2.0) / 2.0
        dterm = (np.log(2.0) - np.log(n - 1.0)) / 2.0
        return 0.5 * np.linalg.slogdet(c)[1] - dims * dterm - psiterms.sum()

    h = entropy(cov[:dx, :dx], dx) + entropy(cov[dx:, dx:], d - dx) - entropy(cov, d)
    return float(h / np.log(2))


@pytest.mark.parametrize("case", ["1d", "2d", "ties"])
def test_gcmi_matches_reference(case):
    rng = np.random.default_rng(2)
    if case == "ties":
        x = rng.integers(0, 4, 800).astype(float)
        y = x + rng.integers(0, 3, 800)
    else:
        dims = 1 if case == "1d" else 2
        x = rng.standard_normal((800, dims))
        y = np.exp(x.sum(axis=1, keepdims=True)) + rng.standard_normal((800, 1))
    assert mi_gcmi(x, y) == pytest.approx(gcmi_reference(x, y), abs=1e-10)


def test_gcmi_is_rank_invariant_and_zero_for_constants():
    x, y = gaussian_pair(0.6, 3_000, seed=4)
    assert mi_gcmi(np.exp(x), y**3) == pytest.approx(mi_gcmi(x, y), abs=1e-12)
    assert mi_gcmi(np.ones(100), np.arange(100.0)) == 0.0


@pytest.mark.parametrize("estimator", ["gcmi", "ksg"])
def test_mi_batch_equals_single_calls(estimator):
    rng = np.random.default_rng(9)
    rho = np.linspace(0.0, 0.9, 12)[:, None]
    xs = rng.standard_normal((12, 800))
    ys = rho * xs + np.sqrt(1 - rho**2) * rng.standard_normal((12, 800))
    single = {"gcmi": mi_gcmi, "ksg": mi_ksg}[estimator]
    batch = mi_batch(xs, ys, estimator)
    assert batch.shape == (12,)
    # gcmi is exact; ksg differs only through the 1e-10 jitter draws
    np.testing.assert_allclose(batch, [single(a, b) for a, b in zip(xs, ys)], atol=1e-9)
    assert mi_batch(xs[:1], ys[:1], estimator)[0] == pytest.approx(single(xs[0], ys[0]), abs=1e-12)


def test_lagged_mi_finds_the_lag():
    rng = np.random.default_rng(3)
    x = rng.standard_normal(5_000)
    y = np.roll(x, 7) + 0.5 * rng.standard_normal(5_000)  # y(t) = x(t - 7): x leads by 7
    lags = np.arange(-10, 11)
    values = lagged_mi(x, y, lags)
    assert values.shape == lags.shape
    assert lags[np.argmax(values)] == 7
    lag, best = best_lag_mi(x, y, lags, estimator="ksg")
    assert lag == 7 and best > 0.8
    # a generic callable gives the same numbers as the batched default
    np.testing.assert_allclose(lagged_mi(x, y, lags, estimator=lambda a, b: mi_gcmi(a, b)), values, atol=1e-12)


def test_input_validation():
    with pytest.raises(ValueError):
        mi_ksg(np.zeros(10), np.zeros(11))
    with pytest.raises(ValueError):
        mi_gcmi(np.array([1.0, np.nan, 2.0, 3.0]), np.arange(4.0))
    with pytest.raises(ValueError):
        mi_batch(np.zeros((2, 10)), np.zeros((3, 10)))
    with pytest.raises(ValueError):
        lagged_mi(np.zeros(10), np.zeros(10), [0.5])


def test_marginal_counts_exact_at_extreme_ranges_and_zero_radius():
    from lamina.analysis._kdtree import bucket_table, count_within_sorted

    cases = [
        (np.array([0.0, 1.0, 1.0, 1.0, 2.0]), 0.0),  # r = 0: nothing is strictly closer
        (np.array([0.0, 1.0, 1.0, 1.0, 2.0]), 1.0),
        (np.array([-1e308, 0.0, 1e308]), 1.0),  # the range overflows to inf
        (np.array([0.0] * 5 + [1e-310] * 5), 1e-310),  # a subnormal range
    ]
    for vals, r in cases:
        radii = np.full(vals.size, r)
        out = np.empty(vals.size, np.int64)
        table, lo, scale = bucket_table(vals)
        count_within_sorted(vals, radii, table, lo, scale, 0, vals.size, out)
        with np.errstate(over="ignore"):  # 1e308 - (-1e308) = inf: not within r, as intended
            brute = (np.abs(vals[None, :] - vals[:, None]) < radii[:, None]).sum(axis=1)
        np.testing.assert_array_equal(out, brute)
