"""Window-free packet readout (lamina.analysis.packets.packet_moments / packet_gaussian_fit,
lamina.analysis.readout.packet_readout_free) against synthetic spikes with known Gaussian packets
on a Poisson background, and the ±4 ms window's SD ceiling 8/√12 computed by hand."""
from __future__ import annotations

import math

import numpy as np
import pytest

from lamina.analysis.packets import packet_gaussian_fit, packet_moments, pulse_packet
from lamina.analysis.readout import FREE_META, free_table_columns, layer_rows, packet_readout_free
from lamina.analysis.stats import WINDOW_SD_CEILING_MS, window_sd_ceiling

N, RATE, T, T0, A = 200, 5.0, 300.0, 150.0, 120  # layer size, background Hz, run ms, packet centre, spikes


def _layer(rng, sd, a=A):
    bg = rng.uniform(0.0, T, rng.poisson(RATE * N * T / 1000.0))
    return np.concatenate([bg, rng.normal(T0, sd, a)])


def test_window_ceiling_by_hand():
    # a uniform distribution over ±4 ms has SD 8 / sqrt(12) = 2.3094010767585 ms
    assert WINDOW_SD_CEILING_MS == pytest.approx(8.0 / math.sqrt(12.0), rel=1e-12)
    assert WINDOW_SD_CEILING_MS == pytest.approx(2.3094010767585, abs=1e-12)
    assert window_sd_ceiling(2.0) == pytest.approx(4.0 / math.sqrt(12.0), rel=1e-12)
    # pure background: the window readout's SD is the ceiling (to sampling error: 20 000 spikes in
    # 300 ms, ~530 in the window, SE of an SD ~ 0.05 ms)
    rng = np.random.default_rng(0)
    bg = rng.uniform(0.0, T, 20000)
    assert pulse_packet(bg, 0.0, T, 200, 4.0).sigma == pytest.approx(WINDOW_SD_CEILING_MS, abs=0.15)


@pytest.mark.parametrize("sd", [1.0, 3.0, 10.0])
def test_window_saturates_window_free_recovers_width(sd):
    """40 layers per width: the window readout's median SD is min(true, ≈ ceiling); the window-free
    moments and the Gaussian fit recover the true SD within 10 % (median; measured −3 … +0 %), the
    size within 5 % and the latency within 0.5 ms."""
    rng = np.random.default_rng(int(sd * 10))
    win, mom, fit, size, size_fit, lat = [], [], [], [], [], []
    for _ in range(40):
        t = _layer(rng, sd)
        win.append(pulse_packet(t, 0.0, T, 200, 4.0, RATE, N).sigma)
        r = packet_readout_free(t, N, 60.0, T, onset_ms=T0, baseline_rate_hz=RATE)
        mom.append(r["packet_sd_free_ms"])
        fit.append(r["packet_sd_fit_ms"])
        size.append(r["packet_size_free"])
        size_fit.append(r["packet_size_fit"])
        lat.append(r["packet_latency_free_ms"])
    w = np.nanmedian(win)
    assert w <= WINDOW_SD_CEILING_MS + 0.1
    if sd >= 3.0:
        assert w < 0.8 * sd  # the window cannot see the width
    assert np.isnan(mom).mean() <= 0.05
    assert np.nanmedian(mom) == pytest.approx(sd, rel=0.10)
    assert np.nanmedian(fit) == pytest.approx(sd, rel=0.10)
    assert np.nanmedian(size) == pytest.approx(A / N, rel=0.05)
    assert np.nanmedian(size_fit) == pytest.approx(A / N, rel=0.10)
    assert abs(np.nanmedian(lat)) < 0.5


def test_no_packet_has_no_significant_excess():
    rng = np.random.default_rng(3)
    zs = [packet_moments(rng.uniform(0.0, T, rng.poisson(RATE * N * T / 1000.0)), 60.0, T, RATE, N).z
          for _ in range(30)]
    # the peak-centred window picks the largest fluctuation, so z is biased upwards, but stays small
    assert np.median(zs) < 3.0


def test_moments_are_exact_without_background():
    # no background: the moments are those of the spikes in the window (all of them here)
    t = np.array([100.0, 101.0, 102.0, 103.0, 104.0])
    m = packet_moments(t, 0.0, 200.0)
    assert m.size == 5 and m.centroid == pytest.approx(102.0) and m.sd == pytest.approx(np.std(t))


def test_layer_rows_and_table_columns():
    rng = np.random.default_rng(4)
    spikes = {"L0": (_layer(rng, 3.0), None)}
    stim = {"kind": "pulse_packet", "t0_ms": T0, "sigma_ms": 3.0}
    (row,) = layer_rows([{"name": "L0", "cell": "prescott.int", "size": N}], spikes, T, stim)
    for key, _, fmt in free_table_columns():
        assert key in row and np.isfinite(row[key])
        fmt.format(row[key])
    assert set(FREE_META) <= set(row)
    assert row["packet_sd_free_ms"] == pytest.approx(3.0, rel=0.25)
