"""Population rates and pulse-packet readout on hand-made and synthetic spike trains."""
from __future__ import annotations

import numpy as np
import pytest

from lamina.analysis import PulsePacket, population_rate, pulse_packet


def test_population_rate_hand_computed():
    spikes = np.array([0.0, 0.5, 0.99, 1.0, 2.5, 2.5, 3.999, 4.0, -0.1])
    centres, rate = population_rate(spikes, 0.0, 4.0, 1.0)
    np.testing.assert_allclose(centres, [0.5, 1.5, 2.5, 3.5])
    # counts per 1 ms bin [0,1) [1,2) [2,3) [3,4): 3, 1, 2, 1 -> Hz = count / 0.001 s
    np.testing.assert_allclose(rate, [3000.0, 1000.0, 2000.0, 1000.0])
    _, per_neuron = population_rate(spikes, 0.0, 4.0, 1.0, n_neurons=10)
    np.testing.assert_allclose(per_neuron, [300.0, 100.0, 200.0, 100.0])


def test_population_rate_bin_edges_are_exact():
    # 0.3 / 0.1 = 2.9999999999999996: the spike at 0.3 ms must still land in bin 3,
    # and so must 3 * 0.1 = 0.30000000000000004 (a time computed as step * dt)
    centres, rate = population_rate([0.3, 3 * 0.1, 0.7, 1.0], 0.0, 1.0, 0.1)
    assert len(centres) == 10
    assert np.flatnonzero(rate).tolist() == [3, 7]
    assert rate[3] == 2 / 1e-4  # and t_stop itself is outside [0, 1)
    _, rate = population_rate([0.05, 0.25], 0.0, 0.35, 0.1)  # partial last bin dropped
    assert rate.size == 3


def test_population_rate_smoothing():
    rng = np.random.default_rng(0)
    spikes = np.sort(rng.uniform(0.0, 1000.0, 200_000))  # 200 Hz total, homogeneous
    _, raw = population_rate(spikes, 0.0, 1000.0, 1.0)
    _, smooth = population_rate(spikes, 0.0, 1000.0, 1.0, smooth=5.0)
    assert smooth.mean() == pytest.approx(raw.mean(), rel=0.01)
    assert smooth[:3].mean() == pytest.approx(200_000, rel=0.05)  # edge-corrected, no sag
    assert smooth.std() < raw.std() / 3
    _, one = population_rate([50.0], 0.0, 100.0, 1.0, smooth=2.0)
    assert one.sum() * 1e-3 == pytest.approx(1.0, rel=1e-9)  # away from the edges mass is kept
    assert np.argmax(one) == 50


def make_packet(alpha, sigma, t0, bg_rate, n_neurons, duration, rng):
    packet = rng.normal(t0, sigma, alpha)
    background = rng.uniform(0.0, duration, rng.poisson(bg_rate * n_neurons * duration / 1000.0))
    return np.concatenate([packet, background])


@pytest.mark.parametrize("sigma", [0.5, 1.0])
def test_pulse_packet_recovers_alpha_sigma(sigma):
    rng = np.random.default_rng(int(sigma * 10))
    alphas, sigmas, corrected, latencies = [], [], [], []
    for _ in range(40):
        spikes = make_packet(100, sigma, 60.0, 5.0, 100, 200.0, rng)
        raw = pulse_packet(spikes, 0.0, 200.0)
        alphas.append(raw.alpha)
        sigmas.append(raw.sigma)
        latencies.append(raw.latency)
        corrected.append(pulse_packet(spikes, 0.0, 200.0, baseline_rate=5.0, n_neurons=100).alpha)
    expected_bg = 5.0 * 100 * 8.0 / 1000.0  # 4 background spikes in the 8 ms window
    assert np.mean(alphas) == pytest.approx(100 + expected_bg, abs=2.0)
    assert np.mean(corrected) == pytest.approx(100, abs=2.0)
    assert np.mean(latencies) == pytest.approx(60.0, abs=0.2)
    # background spikes spread uniformly over +-4 ms inflate sigma slightly
    inflated = np.sqrt((100 * sigma**2 + expected_bg * 16 / 3) / (100 + expected_bg))
    assert np.mean(sigmas) == pytest.approx(inflated, rel=0.05)


def test_pulse_packet_exact_small_example():
    spikes = np.array([10.0, 49.0, 50.0, 50.0, 51.0, 53.0, 56.0, 90.0])
    pk = pulse_packet(spikes, 0.0, 100.0, n_bins=20, window=4.0)  # 5 ms bins; peak bin [50, 55)
    assert isinstance(pk, PulsePacket)
    assert pk.peak_time == 52.5
    inside = np.array([49.0, 50.0, 50.0, 51.0, 53.0, 56.0])  # |t - 52.5| <= 4
    assert pk.alpha == 6 and pk.n_window == 6
    assert pk.latency == pytest.approx(inside.mean())
    assert pk.sigma == pytest.approx(inside.std())
    sub = pulse_packet(spikes, 0.0, 100.0, n_bins=20, window=4.0, baseline_rate=100.0, n_neurons=5)
    assert sub.baseline == pytest.approx(4.0) and sub.alpha == pytest.approx(2.0)
    floor = pulse_packet(spikes, 0.0, 100.0, n_bins=20, baseline_rate=1000.0, n_neurons=5)
    assert floor.alpha == 0.0


def test_pulse_packet_empty_and_validation():
    pk = pulse_packet(np.array([]), 0.0, 100.0)
    assert pk.alpha == 0 and np.isnan(pk.sigma) and np.isnan(pk.latency)
    pk = pulse_packet(np.array([150.0]), 0.0, 100.0)  # outside the range counts as empty
    assert pk.alpha == 0 and np.isnan(pk.sigma)
    with pytest.raises(ValueError):
        pulse_packet([1.0], 0.0, 10.0, baseline_rate=1.0)


def test_bin_counts_match_a_plain_loop_on_edges_and_decimal_times():
    """The vectorised binning counts exactly what the per-spike rule says (floor with the edge
    tolerance; a closed last bin with include_stop), on times that sit on or next to edges."""
    import math

    from lamina.analysis.rates import EDGE_TOLERANCE, _bin_counts

    def reference(times, t0, width, n_bins, include_stop):
        counts = np.zeros(n_bins, np.int64)
        for t in times:
            x = (t - t0) / width
            i = int(math.floor(x + EDGE_TOLERANCE))
            if include_stop and i == n_bins and x <= n_bins + EDGE_TOLERANCE:
                i = n_bins - 1
            if 0 <= i < n_bins:
                counts[i] += 1
        return counts

    rng = np.random.default_rng(3)
    for _ in range(300):
        width, t0, n_bins = rng.choice([0.1, 0.3, 0.5, 0.9]), rng.choice([0.0, 0.3, -1.0]), int(rng.integers(1, 20))
        t = np.concatenate([rng.uniform(t0 - 2, t0 + n_bins * width + 2, 30),
                            t0 + width * rng.integers(-1, n_bins + 2, 15),           # on edges
                            np.round(rng.uniform(t0, t0 + n_bins * width, 30), 1)])  # decimal times
        for inc in (False, True):
            np.testing.assert_array_equal(_bin_counts(t, t0, width, n_bins, inc), reference(t, t0, width, n_bins, inc))
