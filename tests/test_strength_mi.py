"""MI about the strength (lamina.analysis.strength) and the reporting statistics
(lamina.analysis.stats): jackknife CI coverage on a discrete channel with known MI, the decoder
estimate beyond the binned ceiling, joint (size, latency) codes, trials per cell, the Wilson
interval, survival tables and CIs that refuse 2–3 values — against values computed by hand."""
from __future__ import annotations

import math

import numpy as np
import pytest

from lamina.analysis.stats import (bootstrap_ci, format_mean_ci, mean_ci, survival_by_threshold,
                                   wilson_interval)
from lamina.analysis.strength import (fano_lower_bound, jackknife_half, mi_codes, strength_decoder_mi,
                                      strength_mi, strength_mi_joint)


def _channel(n_s=8, n_r=5, noise=1.0):
    """P(r | s): a Gaussian around the scaled stimulus, discretised to n_r codes."""
    centres = np.linspace(0, n_r - 1, n_s)
    p = np.exp(-0.5 * ((np.arange(n_r)[None] - centres[:, None]) / noise) ** 2)
    return p / p.sum(1, keepdims=True)


def _true_mi(p):
    ps = np.full(p.shape[0], 1 / p.shape[0])
    pr = ps @ p
    return float(np.sum(ps[:, None] * p * np.log2(p / pr[None])))


def test_true_mi_by_hand():
    # a binary symmetric channel with error 0.1: 1 - h(0.1) = 0.531004 bits
    p = np.array([[0.9, 0.1], [0.1, 0.9]])
    assert _true_mi(p) == pytest.approx(1 + 0.1 * math.log2(0.1) + 0.9 * math.log2(0.9), abs=1e-12)
    assert _true_mi(p) == pytest.approx(0.531004, abs=1e-6)


def test_jackknife_ci_coverage_on_a_known_channel():
    """200 synthetic experiments in the info_strength regime (8 strengths × 20 seeds, one trial per
    strength and seed, 5 response codes: 4 trials per cell), true MI 0.613 bits: the 95 % jackknife
    CI around the QE estimate covers the truth in 0.975 of them (measured; seed 12345), asserted
    in [0.88, 0.99]; the QE estimate's mean error is below 0.02 bits."""
    p = _channel()
    truth = _true_mi(p)
    assert truth == pytest.approx(0.6129, abs=1e-3)
    rng = np.random.default_rng(12345)
    s = np.tile(np.arange(8), 20)
    g = np.repeat(np.arange(20), 8)
    cum = np.cumsum(p, axis=1)
    cover, est = [], []
    for e in range(200):
        codes = (rng.random(s.size)[:, None] > cum[s]).sum(axis=1)
        m = mi_codes(s, codes, g, n_null=0, seed=e)
        assert m["trials_per_cell"] == pytest.approx(160 / (8 * m["n_codes"]))
        cover.append(abs(m["mi"] - truth) <= m["half"])
        est.append(m["mi"])
    coverage = float(np.mean(cover))
    assert 0.88 <= coverage <= 0.99, coverage
    assert abs(np.mean(est) - truth) < 0.02


def test_jackknife_refuses_few_groups():
    loo = np.array([0.1, 0.3, 0.2])
    assert np.isnan(jackknife_half(loo, min_groups=4))
    # G = 3 by hand: se = sqrt(2/3 · 0.02) = 0.11547, t(0.975, 2) = 4.3027
    assert jackknife_half(loo) == pytest.approx(4.302653 * math.sqrt(2 / 3 * 0.02), rel=1e-5)
    s = np.repeat(np.arange(4), 3)
    g = np.tile(np.arange(3), 4)
    assert np.isnan(strength_mi(s, s + 0.01 * np.arange(12), g, n_bins=2, n_null=10)["half"])


def test_decoder_beyond_the_bin_ceiling():
    """A response that orders 8 strengths perfectly: binned MI on 5 bins stays below log2 5 = 2.32
    bits, the cross-validated decoder reads the full 3 bits (Fano bound 3 at accuracy 1); an
    unrelated response decodes at chance."""
    rng = np.random.default_rng(0)
    s = np.repeat(np.arange(8), 20)
    g = np.tile(np.arange(20), 8)
    perfect = s + 0.05 * rng.standard_normal(s.size)
    assert strength_mi(s, perfect, g, n_null=20)["plugin"] < np.log2(5) + 1e-9
    d = strength_decoder_mi(s, perfect, g)
    assert d["accuracy"] == 1.0 and d["fano"] == pytest.approx(3.0) and d["mi"] == pytest.approx(3.0, abs=0.1)
    u = strength_decoder_mi(s, rng.standard_normal(s.size), g)
    assert abs(u["accuracy"] - 1 / 8) < 0.08 and abs(u["mi"]) < 0.2 and u["fano"] == 0.0
    # dead trials (NaN latency) decode as their own code: strengths 0-3 dead, 4-7 alive at noise
    lat = np.where(s >= 4, rng.normal(10, 1, s.size), np.nan)
    d2 = strength_decoder_mi(s, np.column_stack([np.zeros(s.size), lat]), g)
    assert d2["mi"] == pytest.approx(1.0, abs=0.35)


def test_fano_by_hand():
    # M = 4, accuracy 0.7: 2 - h(0.3) - 0.3 log2 3 = 2 - 0.881291 - 0.475489 = 0.643220
    assert fano_lower_bound(0.7, 4) == pytest.approx(0.643220, abs=1e-6)
    assert fano_lower_bound(0.25, 4) == 0.0 and fano_lower_bound(1.0, 8) == pytest.approx(3.0)


def test_joint_size_latency_codes():
    """Size tells strengths {0,1} from {2,3}, latency tells 0 from 1 and 2 from 3: each alone
    carries 1 bit, jointly 2 bits. Default codes for 40 seeds: budget 10 = 3 latency × 3 size;
    with dead trials one latency code is "no packet"."""
    rng = np.random.default_rng(1)
    s = np.repeat(np.arange(4), 40)
    g = np.tile(np.arange(40), 4)
    size = (s >= 2) + 0.01 * rng.standard_normal(s.size)
    lat = (s % 2) + 0.01 * rng.standard_normal(s.size)
    assert strength_mi_joint(s, size, lat, g, n_null=0)["n_bins"] == (3, 3)
    dead = strength_mi_joint(s, size, np.where(s == 0, np.nan, lat), g, n_null=0)
    assert dead["n_bins"] == (3, 2)
    j = strength_mi_joint(s, size, lat, g, n_bins=(2, 2), n_null=20)
    assert j["plugin"] == pytest.approx(2.0, abs=1e-9) and j["mi"] == pytest.approx(2.0, abs=0.1)
    assert strength_mi(s, size, g, n_bins=2, n_null=20)["plugin"] == pytest.approx(1.0, abs=1e-9)
    assert j["trials_per_cell"] == pytest.approx(160 / (4 * j["n_codes"])) and j["qe_ok"]


def test_wilson_by_hand():
    z = 1.959963984540054
    # k = 0, n = 10: hi = z² / (n + z²)
    assert wilson_interval(0, 10) == (0.0, pytest.approx(z * z / (10 + z * z), rel=1e-12))
    # k = 2, n = 5: centre (0.4 + z²/10) / (1 + z²/5), half z/(1 + z²/5) sqrt(0.24/5 + z²/100)
    c = (0.4 + z * z / 10) / (1 + z * z / 5)
    h = z / (1 + z * z / 5) * math.sqrt(0.24 / 5 + z * z / 100)
    lo, hi = wilson_interval(2, 5)
    assert (lo, hi) == (pytest.approx(c - h, rel=1e-12), pytest.approx(c + h, rel=1e-12))
    assert (round(lo, 4), round(hi, 4)) == (0.1176, 0.7693)


def test_survival_by_threshold():
    size = np.array([[0.9, 0.30, 0.13], [0.9, 0.18, 0.04], [0.9, 0.08, 0.00], [0.9, 0.23, 0.16]])
    floor = np.array([0.0, 0.02, 0.02])
    rows = {(r["threshold"], r["layer"]): r for r in survival_by_threshold(size, floor)}
    assert [rows[(c, 1)]["k"] for c in (0.05, 0.10, 0.15, 0.20)] == [4, 3, 3, 2]
    assert [rows[(c, 2)]["k"] for c in (0.05, 0.10, 0.15, 0.20)] == [2, 2, 0, 0]
    r = rows[(0.10, 1)]
    assert (r["n"], r["p"]) == (4, 0.75) and (r["lo"], r["hi"]) == wilson_interval(3, 4)
    nan = survival_by_threshold(np.array([np.nan, 0.5]))
    assert nan[0]["n"] == 1
    one = survival_by_threshold(size[:, 2], np.full(4, 0.02), thresholds=(0.10,))
    assert (one[0]["k"], one[0]["n"]) == (2, 4)


def test_cis_refuse_two_or_three_values():
    assert np.isnan(mean_ci([1.0, 2.0, 3.0])[1]) and np.isnan(bootstrap_ci([1.0, 2.0, 3.0, 4.0])[0])
    m, lo, hi, n = mean_ci([1.0, 2.0, 3.0, 4.0])
    # t(0.975, 3) = 3.182446, sd 1.290994, se 0.645497
    assert (m, n) == (2.5, 4) and hi - m == pytest.approx(3.182446 * 1.290994 / 2, rel=1e-5)
    assert "no CI" in format_mean_ci([1.0, 2.0]) and "range 1.00–2.00" in format_mean_ci([1.0, 2.0])
    lo, hi = bootstrap_ci(np.r_[np.zeros(10), np.ones(10)], seed=1)
    assert 0.2 < lo < 0.4 and 0.6 < hi < 0.8  # mean 0.5, SE 0.11
