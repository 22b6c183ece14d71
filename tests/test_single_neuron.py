"""Single Prescott neurons against the spec's table (deterministic step currents, 300 ms)."""
from __future__ import annotations

import numpy as np
import pytest

from lamina.config import experiment_from_dict
from lamina.simulation import simulate


def _fi(variants_currents: dict[str, list[float]], duration="300 ms"):
    """Spike counts per neuron; one layer per variant, one neuron per current (uA/cm²), no noise."""
    layers = [{"cell": f"prescott.{v}", "name": f"L_{v}", "size": len(cur),
               "params": {"I_bias": {"values": [f"{c} uA/cm**2" for c in cur]},
                          "sigma_noise": "0 uA/cm**2", "t_ref": "1 ms"}}
              for v, cur in variants_currents.items()]
    spec = {"name": "fi", "simulation": {"duration": duration, "dt": "0.01 ms", "backend": "runtime"},
            "network": {"layers": layers, "connection": {"rule": "none"}},
            "record": {"spikes": "all", "traces": {"vars": ["v"], "neurons": 1}}}
    r = simulate(experiment_from_dict(spec))
    counts = {}
    for v, cur in variants_currents.items():
        t, i = r.spikes[f"L_{v}"]
        counts[v] = np.bincount(i.astype(int), minlength=len(cur))
    return counts, r


@pytest.fixture(scope="module")
def fi():
    return _fi({"int": [0, 30, 40], "diff": [55, 70], "input": [70, 90, 120], "class2": [40, 45]})


def test_resting_potential(fi):
    _, r = fi
    v_end = r.traces["L_int"]["v"][0, -1] * 1e3  # neuron 0 has I = 0
    assert v_end == pytest.approx(-69.4, abs=0.15)


def test_integrator_fires_repetitively_above_rheobase(fi):
    counts, _ = fi
    assert counts["int"][0] == 0 and counts["int"][1] == 0  # 0 and 30 uA/cm²: below rheobase (35–40)
    # 40 uA/cm²: repetitive at ~75 Hz (spec); one action potential must count as one spike.
    assert 60 <= counts["int"][2] / 0.3 <= 90


def test_differentiator_onset_spike_then_repetitive(fi):
    counts, _ = fi
    assert counts["diff"][0] == 1  # 55 uA/cm²: exactly one onset spike
    assert counts["diff"][1] >= 5  # 70: repetitive


def test_input_class3_single_spike_up_to_120(fi):
    counts, _ = fi
    assert list(counts["input"]) == [1, 1, 1]  # 70, 90, 120 uA/cm²: never repetitive


def test_class2_repetitive_from_45(fi):
    counts, _ = fi
    assert counts["class2"][0] == 0 and counts["class2"][1] >= 5


def test_spontaneous_rates_with_default_noise():
    """Isolated layers (no synapses) with each variant's default OU noise, as in the spec's
    single-cell table: Int ≈ 8 Hz (accept 4–14), Diff ≈ 0 (< 1 Hz), Input ≈ 0.5 Hz (< 2).
    200 Int neurons × 250 ms after a 50 ms transient ≈ 400 spikes: 4–14 Hz is > 5 SE wide."""
    spec = {"name": "spont", "simulation": {"duration": "300 ms", "backend": "runtime", "seed": 3},
            "network": {"layers": ["prescott.int", "prescott.diff", "prescott.input"], "size": 200,
                        "connection": {"rule": "none"}}}
    r = simulate(experiment_from_dict(spec))
    rate = {k: np.count_nonzero(t >= 50) / 200 / 0.25 for k, (t, _) in r.spikes.items()}
    assert 4 <= rate["L0_int"] <= 14
    assert rate["L1_diff"] < 1
    assert rate["L2_input"] < 2
