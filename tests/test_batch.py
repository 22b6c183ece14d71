"""Batched runs: B replicas of one structure in one compiled program.

What is promised (README, "GPU, batches, precision" and "Reproducibility"): every replica has its
own seed for its per-neuron parameters, its stimulus and (default simulation.noise = "counter") its
noise, its own run-time values, and no synapse to another replica; its connectivity (and its noise
with noise = "brian2") comes from the batch's device seed (derived from all the replicas' seeds,
recorded in every replica's file), so re-running the same batch reproduces each replica bit for
bit, and a batch of one *is* the unbatched run. Per-replica statistics match unbatched runs in
distribution.
"""
from __future__ import annotations

import brian2 as b2
import numpy as np
import pytest
from conftest import chain_spec
from scipy.stats import ks_2samp

from lamina.analysis import pulse_packet
from lamina.config import experiment_from_dict
from lamina.network import Layout, build, projection_pairs
from lamina.simulation import simulate, simulate_batch


def _exp(seed: int, **changes):
    spec = chain_spec({"simulation.duration": "120 ms", "network.size": 100, "input.alpha": 60,
                       "input.t0": "80 ms", "simulation.seed": seed,
                       "network.layers": ["prescott.input", "prescott.int", "prescott.diff", "prescott.int"], **changes})
    return experiment_from_dict(spec)


def _same(a, b) -> bool:
    return all(np.array_equal(a.spikes[k][0], b.spikes[k][0]) and np.array_equal(a.spikes[k][1], b.spikes[k][1])
               for k in a.spikes)


def test_replicas_have_no_cross_synapses_and_own_connectivity():
    b2.set_device("runtime")
    b2.prefs.codegen.target = "numpy"
    b2.seed(3)
    exp = _exp(1)
    built = build(exp, batch=3)
    lay: Layout = built.layout
    owner = lay.owner(0)
    for syn, _, offset in built.synapses:
        i, j = np.asarray(syn.i[:]), np.asarray(syn.j[:]) + offset
        assert len(i) > 0
        assert np.array_equal(owner[i] % 3, owner[j] % 3)  # same replica, always
        assert np.array_equal(owner[j] // 3, owner[i] // 3 + 1)  # layer z -> z + 1
    for k in range(len(exp.projections)):
        pairs = [set(zip(*map(np.ndarray.tolist, projection_pairs(built, exp, k, r)))) for r in range(3)]
        assert all(len(p) > 0 for p in pairs)
        assert pairs[0] != pairs[1] and pairs[1] != pairs[2]  # each replica its own connectivity
        for p in pairs:  # p = 9/size: mean in-degree 9 in every replica (SD of the mean ≈ 0.3)
            assert abs(len(p) / 100 - 9) < 1.5


@pytest.mark.slow
def test_batch_reproducible_distinct_and_batch_of_one_is_unbatched(cache_dir):
    exps = [_exp(s) for s in (21, 22, 23)]
    a = simulate_batch(exps)
    b = simulate_batch(exps)
    assert all(_same(x, y) for x, y in zip(a, b))  # the same batch again: bit for bit
    assert not _same(a[0], a[1]) and not _same(a[1], a[2])  # replicas differ
    for k, r in enumerate(a):
        assert r.attrs["batch_size"] == 3 and r.attrs["batch_index"] == k and r.attrs["seed"] == exps[k].seed
        assert r.attrs["batch_seeds"] == [21, 22, 23]
        assert sum(len(t) for t, _ in r.spikes.values()) > 60  # the packet went through
    # a replica's stimulus is its own seed's, whatever batch it runs in
    alone = simulate(exps[1])
    assert np.array_equal(alone.stimulus.kick_step["L0_input"], a[1].stimulus.kick_step["L0_input"])
    assert alone.attrs["batch_size"] == 1 and alone.attrs["structure_key"] == a[1].attrs["structure_key"]
    assert alone.attrs["program_key"] != a[1].attrs["program_key"]
    # a batch of one is the unbatched run, bit for bit
    assert _same(simulate_batch([exps[1]])[0], alone)


def _stats(result):
    """Per layer: spontaneous rate before the packet (20-70 ms, Hz) and the packet size."""
    out = []
    for layer in result.layers:
        t = result.spikes[layer["name"]][0]
        n = layer["size"]
        out.append(np.count_nonzero((t >= 20) & (t < 70)) / n / 0.05)
        out.append(pulse_packet(t, 0.0, result.duration_ms).alpha / n)
    return np.array(out)


@pytest.mark.slow
def test_batched_statistics_match_unbatched(cache_dir):
    seeds = list(range(100, 120))  # 20 seeds
    alone = np.array([_stats(simulate(_exp(s))) for s in seeds])
    batched = np.array([_stats(r) for r in simulate_batch([_exp(s + 1000) for s in seeds])])
    assert alone.shape == batched.shape == (20, 8)
    for col in range(alone.shape[1]):
        if np.ptp(alone[:, col]) == 0 and np.ptp(batched[:, col]) == 0:
            assert alone[0, col] == batched[0, col]
            continue
        assert ks_2samp(alone[:, col], batched[:, col]).pvalue > 0.01, col


@pytest.mark.slow
def test_single_precision_within_seed_spread_of_double(cache_dir):
    """--precision single (float32 state) keeps per-layer rates and packet sizes within the
    seed-to-seed spread of double precision: KS over 20 seeds, each run as one batch."""
    seeds = list(range(200, 220))
    double = np.array([_stats(r) for r in simulate_batch([_exp(s) for s in seeds])])
    single_runs = simulate_batch([_exp(s, **{"simulation.precision": "single"}) for s in seeds])
    assert single_runs[0].attrs["precision"] == "single"
    single = np.array([_stats(r) for r in single_runs])
    for col in range(double.shape[1]):
        if np.ptp(double[:, col]) == 0 and np.ptp(single[:, col]) == 0:
            continue
        assert ks_2samp(double[:, col], single[:, col]).pvalue > 0.01, col
