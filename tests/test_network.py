"""Connectivity statistics of the feedforward builder (runtime device, no compiler)."""
from __future__ import annotations

import brian2 as b2
import numpy as np
import pytest

from conftest import built_network, chain_spec
from lamina.config import experiment_from_dict
from lamina.network import projection_pairs


def _built(changes):
    return built_network(changes, seed=5)


def _synapses(built):
    return {o.name: o for o in built.network.objects if isinstance(o, b2.Synapses)}


def test_p_9_over_n_gives_mean_in_degree_9_and_only_z_to_z_plus_1():
    exp, built = _built({"network.size": 1000, "network.layers": ["input", "int", "diff", "int"],
                         "input.alpha": 10})
    # one card, one group, one excitatory pathway object for the whole chain
    assert len(built.groups) == 1 and sorted(_synapses(built)) == ["syn0"]
    owner = built.layout.owner(0)
    syn = built.synapses[0][0]
    zi, zj = owner[np.asarray(syn.i[:])], owner[np.asarray(syn.j[:])]
    assert np.array_equal(zj, zi + 1)  # only z -> z + 1
    for k in range(len(exp.projections)):
        _, j = projection_pairs(built, exp, k)
        indeg = np.bincount(j, minlength=1000)
        # mean of 1000 Binomial(1000, 0.009): SD of the mean ≈ 0.095, so ±0.5 is > 5 SD.
        assert abs(indeg.mean() - 9) < 0.5
        assert 8.0 < indeg.var() < 10.0  # binomial variance 8.92; SE of the variance ≈ 0.4


def test_fixed_in_degree_is_exact():
    exp, built = _built({"network.connection": {"rule": "feedforward", "in_degree": 7}})
    for k in range(len(exp.projections)):
        i, j = projection_pairs(built, exp, k)
        indeg = np.bincount(j, minlength=200)
        assert np.all(indeg == 7)
        # no duplicate pre for a post neuron
        pairs = set(zip(i.tolist(), j.tolist()))
        assert len(pairs) == len(i)
    n_syn = sum(len(s.i[:]) for s, _, _ in built.synapses)
    assert n_syn == 7 * 200 * len(exp.projections)  # nothing outside the projections


def test_feedforward_inhibition_groups():
    exp, built = _built({"network.inhibition": {"cell": "prescott.inh", "size": 50, "p": 0.05, "delay": "2 ms"}})
    # layers 0-2 are the chain, 3 = I1, 4 = I2: E0 → I1 → E1 and E1 → I2 → E2
    pairs = {(p.pre, p.post): k for k, p in enumerate(exp.projections)}
    assert set(pairs) == {("L0_input", "L1_int"), ("L1_int", "L2_diff"), ("L0_input", "I1"), ("I1", "L1_int"), ("L1_int", "I2"), ("I2", "L2_diff")}
    by_proj = {k: syn for syn, members, _ in built.synapses for k in members}
    inh = by_proj[pairs[("I1", "L1_int")]]
    assert "x_i_post += 1" in inh.pre.code
    assert "x_e_post += 1" in by_proj[pairs[("L0_input", "I1")]].pre.code
    assert np.allclose(np.asarray(inh.delay[:]), 0.002)
    for (pre, post), k in pairs.items():  # every projection made synapses, within its layers
        i, j = projection_pairs(built, exp, k)
        assert len(i) > 0
    n_syn = sum(len(s.i[:]) for s, _, _ in built.synapses)
    assert n_syn == sum(len(projection_pairs(built, exp, k)[0]) for k in pairs.values())


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


def test_current_input_reaches_only_its_layers_and_stays_out_of_the_state_update():
    """A current input (step, OU, current pulse) is looked up once per step by a run_regularly over
    the input layers (inside the state update it kept the group's loop from vectorising: 7.5x
    slower); layers of the same group that are not inputs get none of it, in every replica."""
    import brian2 as b2

    from lamina.network import build
    from lamina.simulation import simulate_batch

    def spec(seed):
        return {"name": "stim", "simulation": {"duration": "40 ms", "dt": "0.01 ms", "backend": "runtime", "seed": seed},
                "network": {"layers": [{"cell": "prescott.diff", "name": "A", "size": 3},
                                       {"cell": "prescott.diff", "name": "B", "size": 3}], "connection": {"rule": "none"}},
                "cells": {"all": {"sigma_noise": "0 uA/cm**2"}},
                "input": {"kind": "step", "layers": ["A"], "onset": "10 ms", "amplitude": "300 uA/cm**2"},
                "record": {"spikes": "all", "rate_bin": "1 ms"}}

    exps = [experiment_from_dict(spec(s)) for s in (1, 2)]
    b2.set_device("runtime")
    built = build(exps[0], 2)
    (grp,) = built.groups.values()
    assert "I_stim" not in str(grp.equations) and "I_cur" in str(grp.equations)  # one group: A and B
    for r in simulate_batch(exps):
        ta, tb = r.spikes["A"][0], r.spikes["B"][0]
        assert len(np.unique(r.spikes["A"][1])) == 3 and ta.min() >= 10.0  # every A neuron, after the onset
        assert tb.size == 0  # B shares A's group but not its input
