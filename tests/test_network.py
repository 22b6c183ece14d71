"""Connectivity statistics of the feedforward builder (runtime device, no compiler)."""
from __future__ import annotations

import brian2 as b2
import numpy as np
import pytest

from conftest import chain_spec
from lamina.config import experiment_from_dict
from lamina.network import build


def _built(changes):
    b2.set_device("runtime")
    b2.prefs.codegen.target = "numpy"
    b2.seed(5)
    exp = experiment_from_dict(chain_spec(changes))
    return exp, build(exp)


def _synapses(built):
    return {o.name: o for o in built.network.objects if isinstance(o, b2.Synapses)}


def test_p_9_over_n_gives_mean_in_degree_9_and_only_z_to_z_plus_1():
    exp, built = _built({"network.size": 1000, "network.layers": ["input", "int", "diff", "int"],
                         "input.alpha": 10})
    syn = _synapses(built)
    assert sorted(syn) == ["syn0to1", "syn1to2", "syn2to3"]
    for name, s in syn.items():
        pre, post = s.source.name, s.target.name
        names = [g.name for g in built.groups.values()]
        assert names.index(post) == names.index(pre) + 1
        indeg = np.bincount(np.asarray(s.j[:]), minlength=1000)
        # mean of 1000 Binomial(1000, 0.009): SD of the mean ≈ 0.095, so ±0.5 is > 5 SD.
        assert abs(indeg.mean() - 9) < 0.5
        assert 8.0 < indeg.var() < 10.0  # binomial variance 8.92; SE of the variance ≈ 0.4


def test_fixed_in_degree_is_exact():
    exp, built = _built({"network.connection": {"rule": "feedforward", "in_degree": 7}})
    for s in _synapses(built).values():
        indeg = np.bincount(np.asarray(s.j[:]), minlength=200)
        assert np.all(indeg == 7)
        # no duplicate pre for a post neuron
        pairs = set(zip(np.asarray(s.i[:]).tolist(), np.asarray(s.j[:]).tolist()))
        assert len(pairs) == len(s.i[:])


def test_feedforward_inhibition_groups():
    exp, built = _built({"network.inhibition": {"cell": "prescott.inh", "size": 50, "p": 0.05, "delay": "2 ms"}})
    syn = _synapses(built)
    # layers 0-2 are the chain, 3 = I1, 4 = I2: E0 → I1 → E1 and E1 → I2 → E2
    assert {"syn0to1", "syn1to2", "syn0to3", "syn3to1", "syn1to4", "syn4to2"} == set(syn)
    assert "x_i_post += 1" in syn["syn3to1"].pre.code
    assert "x_e_post += 1" in syn["syn0to3"].pre.code
    assert float(np.asarray(syn["syn3to1"].delay[:])) == pytest.approx(0.002)


def test_heun_equals_euler_with_additive_noise():
    """docs/results.md §10: Brian2's stochastic Heun corrects only the noise term, and the cards'
    noise is additive (sigma * xi does not depend on the state), so 'heun' and 'euler' give the
    same trajectories bit for bit; only dt matters. If a card ever made the noise multiplicative
    this would fail, and the choice of method would start to matter."""
    from lamina.simulation import simulate

    out = {}
    for method in ("heun", "euler"):
        spec = chain_spec({"simulation.method": method, "simulation.backend": "runtime",
                           "simulation.duration": "60 ms", "network.size": 40, "input.alpha": 30,
                           "input.t0": "30 ms"})
        out[method] = simulate(experiment_from_dict(spec))
    heun, euler = out["heun"], out["euler"]
    n_spikes = 0
    for name, (t, i) in heun.spikes.items():
        assert np.array_equal(t, euler.spikes[name][0]) and np.array_equal(i, euler.spikes[name][1])
        n_spikes += t.size
    assert n_spikes > 30  # the noise and the packet made the comparison non-trivial
