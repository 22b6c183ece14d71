"""simulation.noise = "counter": the cards' xi drawn by lamina.rng.lamina_randn (issue 16).

A replica's noise then depends on its own seed only, so without synapses (whose connectivity still
comes from the batch's device generator) a replica in a batch equals the same run alone, bit for
bit; with synapses the network statistics match Brian2's generator in distribution."""
from __future__ import annotations

import numpy as np
import pytest
from conftest import chain_spec
from scipy.stats import ks_2samp

from lamina.config import ConfigError, experiment_from_dict
from lamina.simulation import simulate_batch


def _exp(seed, noise="counter", **changes):
    return experiment_from_dict(chain_spec({"simulation.seed": seed, "simulation.noise": noise, **changes}))


def test_bad_noise_value_is_one_clear_error():
    with pytest.raises(ConfigError, match="simulation.noise"):
        _exp(1, noise="philox")


@pytest.mark.slow
def test_replica_noise_does_not_depend_on_its_batch(cache_dir):
    iso = {"network.connection": {"rule": "none"}, "network.size": 40, "simulation.duration": "60 ms",
           "input.alpha": 20, "input.t0": "30 ms"}
    alone = simulate_batch([_exp(5, **iso)])[0]
    batch = simulate_batch([_exp(s, **iso) for s in (7, 5, 9)])
    assert sum(len(t) for t, _ in alone.spikes.values()) > 20  # the input layer fires (kicks, noise)
    for name, (t, i) in alone.spikes.items():
        assert np.array_equal(t, batch[1].spikes[name][0]) and np.array_equal(i, batch[1].spikes[name][1])
    assert any(not np.array_equal(alone.spikes[n][0], batch[0].spikes[n][0]) for n in alone.spikes)


def _stats(r):
    from lamina.analysis import pulse_packet

    out = []
    for l in r.layers:
        t = r.spikes[l["name"]][0]
        out += [np.count_nonzero((t >= 20) & (t < 140)) / l["size"] / 0.12,
                pulse_packet(t, 0.0, r.duration_ms).alpha / l["size"]]
    return out


@pytest.mark.slow
def test_network_statistics_match_brian2_noise(cache_dir):
    seeds = range(200, 220)
    counter = np.array([_stats(r) for r in simulate_batch([_exp(s) for s in seeds])])
    brian2 = np.array([_stats(r) for r in simulate_batch([_exp(s, noise="brian2") for s in seeds])])
    assert counter[:, 0].mean() > 0 and brian2[:, 2].mean() > 0  # spontaneous activity in both
    for c in range(counter.shape[1]):  # per layer: spontaneous rate, packet size
        assert ks_2samp(counter[:, c], brian2[:, c]).pvalue > 0.01, c
