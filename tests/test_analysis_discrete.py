"""Discrete MI with quadratic-extrapolation and Panzeri-Treves bias corrections."""
from __future__ import annotations

import numpy as np
import pytest

from lamina.analysis import mi_discrete


def joint_truth(p: np.ndarray) -> float:
    p = p / p.sum()
    indep = np.outer(p.sum(axis=1), p.sum(axis=0))
    nz = p > 0
    return float((p[nz] * np.log2(p[nz] / indep[nz])).sum())


def sample(p: np.ndarray, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    p = p / p.sum()
    flat = rng.choice(p.size, size=n, p=p.ravel())
    return np.divmod(flat, p.shape[1])


DIAGONAL = np.array([[0.20, 0.05, 0.00, 0.05],
                     [0.05, 0.15, 0.05, 0.00],
                     [0.00, 0.05, 0.15, 0.05],
                     [0.05, 0.00, 0.05, 0.10]])
NOISY_CHANNEL = np.full((3, 6), 1.0) + 4.0 * np.kron(np.eye(3), np.ones((1, 2)))


@pytest.mark.parametrize("p", [DIAGONAL, NOISY_CHANNEL], ids=["diagonal4x4", "channel3x6"])
@pytest.mark.parametrize("n", [40, 100])
def test_bias_corrections_beat_plugin(p, n):
    truth = joint_truth(p)
    rng = np.random.default_rng(n)
    estimates = {bias: [] for bias in ("none", "pt", "qe")}
    for rep in range(150):  # averaged so the comparison of biases is not flaky
        x, y = sample(p, n, rng)
        for bias in estimates:
            estimates[bias].append(mi_discrete(x, y, bias=bias, seed=rep))
    error = {bias: abs(np.mean(v) - truth) for bias, v in estimates.items()}
    assert np.mean(estimates["none"]) > truth  # the plug-in is biased upward
    assert error["pt"] < error["none"]
    assert error["qe"] < error["none"]


def test_plugin_matches_sklearn_and_exact_cases():
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    x, y = sample(DIAGONAL, 500, rng)
    assert mi_discrete(x, y, "none") == pytest.approx(metrics.mutual_info_score(x, y) / np.log(2), abs=1e-12)
    x = np.repeat(np.arange(4), 50)
    assert mi_discrete(x, x, "none") == pytest.approx(2.0)
    assert mi_discrete(x, np.zeros_like(x), "none") == pytest.approx(0.0)


def test_words_and_codes():
    rng = np.random.default_rng(1)
    a, b = rng.integers(0, 2, (2, 400))
    words = np.column_stack([a, b])  # 2-D rows are joint symbols
    target = 2 * a + b
    assert mi_discrete(words, target, "none") == pytest.approx(mi_discrete(target, target, "none"))
    # labels need not be contiguous
    assert mi_discrete(a * 7 - 3, b + 100, "none") == pytest.approx(mi_discrete(a, b, "none"))
    assert mi_discrete(a, b, "qe", seed=3) == mi_discrete(a, b, "qe", seed=3)


def test_discrete_validation():
    with pytest.raises(ValueError):
        mi_discrete([0.5, 1.0, 2.0, 3.0], [0, 1, 0, 1])
    with pytest.raises(ValueError):
        mi_discrete([0, 1, 0, 1], [0, 1, 0, 1], bias="nsb")


@pytest.mark.parametrize("n", [37, 64, 101])
def test_qe_partitions_are_numpy_array_split(n):
    """The QE partitions cut inside numba give the plug-in values of np.array_split's parts of the
    same permutations, bit for bit (so MI numbers did not move when the loop left Python)."""
    from lamina.analysis.discrete import _codes, _plugin, _plugin_mean

    rng = np.random.default_rng(n)
    cx, mx = _codes(rng.integers(0, 5, n), "x")
    cy, my = _codes(rng.integers(0, 4, n), "y")
    for blocks in (1, 2, 4):
        ref_rng, rng_a = np.random.default_rng(7), np.random.default_rng(7)
        values, sizes = [], []
        for _ in range(8 if blocks > 1 else 1):
            perm = ref_rng.permutation(n) if blocks > 1 else np.arange(n)
            for part in np.array_split(perm, blocks):
                values.append(_plugin(cx[part], cy[part], mx, my)[0])
                sizes.append(part.size)
        assert _plugin_mean(cx, cy, mx, my, blocks, rng_a, 8) == (float(np.mean(values)), float(np.mean(sizes)))
