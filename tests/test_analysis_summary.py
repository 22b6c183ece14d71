"""layer_summary, special functions and the package's import hygiene."""
from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
from scipy import special

from lamina.analysis import layer_summary
from lamina.analysis._special import digamma, ndtri


def test_special_functions_match_scipy():
    x = np.r_[0.5, 1.0, 1.5, 2.0, 5.5, 6.0, 17.3, 1e3, 1e6]
    np.testing.assert_allclose([digamma(v) for v in x], special.digamma(x), rtol=1e-13, atol=1e-13)
    p = np.r_[1e-300, 1e-20, 1e-5, 0.01, 0.075, 0.3, 0.5, 0.7, 0.925, 0.99, 1 - 1e-12]
    np.testing.assert_allclose([ndtri(v) for v in p], special.ndtri(p), rtol=1e-14, atol=1e-15)


def test_import_does_not_pull_brian2_or_h5py():
    code = "import sys, lamina.analysis; print('brian2' in sys.modules, 'h5py' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


@pytest.fixture(scope="module")
def run():
    """Three 100-neuron layers following a smooth stimulus with delays 0, 4, 9 ms, plus a packet."""
    rng = np.random.default_rng(0)
    dt, duration = 0.5, 8000.0
    n = int(duration / dt)
    stim = np.convolve(rng.standard_normal(n), np.ones(20) / 20, mode="same")
    spikes = {}
    for name, delay in (("L0", 0.0), ("L1", 4.0), ("L2", 9.0)):
        rate = np.clip(20 + 60 * np.roll(stim, int(delay / dt)), 0, None)  # Hz per neuron
        counts = rng.poisson(rate * 100 * dt / 1000)
        spikes[name] = np.repeat(np.arange(n) * dt, counts) + rng.uniform(0, dt, counts.sum())
    spikes["L2"] = np.concatenate([spikes["L2"], rng.normal(4000.0, 1.0, 300)])
    return spikes, stim, dt, duration


def test_layer_summary_numbers(run):
    spikes, stim, dt, duration = run
    per, params = layer_summary(spikes, {"L0": 100, "L1": 100, "L2": 100}, duration,
                                stimulus=stim, stimulus_dt_ms=dt, mi_bin_ms=1.0, max_lag_ms=20.0,
                                baseline_rate_hz=20.0, packet_range_ms=(3900.0, 4100.0))
    assert list(per) == ["L0", "L1", "L2"]
    assert [per[k]["best_lag_ms"] for k in per] == [0.0, 4.0, 9.0]
    for key, values in per.items():
        assert values["rate_hz"] == pytest.approx(values["n_spikes"] / 100 / 8.0)
        assert values["rate_hz"] == pytest.approx(20.0, rel=0.1)
        assert 0.1 < values["mi_gcmi_bits"] < 2 and 0.1 < values["mi_ksg_bits"] < 2
        assert values["info_rate_bits_s"] > 10
        assert all(isinstance(v, float) for v in values.values())
    assert per["L2"]["packet_peak_ms"] == pytest.approx(4000.0, abs=1.0)
    assert per["L2"]["packet_size"] == pytest.approx(300, abs=30)
    assert per["L2"]["packet_sd_ms"] < 2.0
    assert all(isinstance(v, (str, int, float, bool)) for v in params.values())
    assert params["ksg_k"] == 3 and params["mi_bin_ms"] == 1.0 and params["max_lag_ms"] == 20.0
    assert params["packet_start_ms"] == 3900.0


def test_layer_summary_without_stimulus_and_sequences(run):
    spikes, _, _, duration = run
    per, params = layer_summary([spikes["L0"], np.array([])], [100, 50], duration, packet_window_ms=None)
    assert list(per) == [0, 1]
    assert per[1]["n_spikes"] == 0 and per[1]["rate_hz"] == 0
    assert math.isnan(per[0]["mi_gcmi_bits"]) and math.isnan(per[0]["info_rate_bits_s"])
    assert "packet_size" not in per[0] and "ksg_k" not in params


def test_layer_summary_silent_layer_with_stimulus(run):
    spikes, stim, dt, duration = run
    per, _ = layer_summary({"A": spikes["L0"], "silent": np.array([])}, {"A": 100, "silent": 100}, duration,
                           stimulus=stim, stimulus_dt_ms=dt, mi_bin_ms=1.0)
    silent = per["silent"]
    assert silent["mi_gcmi_bits"] == 0.0 and abs(silent["mi_ksg_bits"]) < 0.02
    assert silent["info_rate_bits_s"] == 0.0 and silent["packet_size"] == 0.0
    with pytest.raises(ValueError):
        layer_summary({"A": spikes["L0"]}, {"A": 100}, duration, stimulus=stim, stimulus_dt_ms=dt, mi_bin_ms=0.7)
