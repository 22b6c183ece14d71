"""Small-scale regression tests of the paper's qualitative claims (paper-spec §6), and checks that
every paper spec (sims/fig*.toml, ou_ffn.toml) validates at both scales with the same physics.

One network structure — Input + 4 layers × 200 neurons, p = 9/N (mean in-degree 9, as in the
paper), 160 ms, Heun, dt 0.01 ms — run as Het (Input → Int → Diff → Int → Diff), Diff-only and
Int-only. Cell types are run-time values, so all 21 runs share one compiled program (one C++
compile, ~40 s on 2 idle cores, plus ~1.5 s per run).

Every number is averaged over three seeds (1, 2, 3: the same connectivity/noise realisations for
each network). Runs are deterministic for a seed, so the tests cannot flake; the tolerances are
set by what the claim says, with the seed-to-seed spread we measured in comments, not tuned to
pass. Readout (paper-spec §4): 200 bins over the run, ±4 ms around the peak bin, spontaneous
count (same network and seed, no stimulus) subtracted from the packet size.

Claims that did *not* reproduce at this scale are documented in docs/results.md, not tested here.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lamina.analysis import pulse_packet
from lamina.config import experiment_from_dict
from lamina.simulation import simulate

SIZE = 200
SEEDS = (1, 2, 3)
T0, DURATION = 100.0, 160.0
NETWORKS = {
    "het": ["input", "int", "diff", "int", "diff"],
    "diff": ["input", "diff", "diff", "diff", "diff"],
    "int": ["input", "int", "int", "int", "int"],
}
# (network, sigma ms, alpha) of every stimulated condition; alpha = 0 runs give the baselines.
CONDITIONS = [
    ("het", 5.0, 80), ("het", 5.0, 180),      # graded input: 40 % and 90 % of the input layer
    ("diff", 2.0, 160),                       # strong, fairly synchronous packet (80 %)
    ("diff", 1.0, 10),                        # weak packet (5 %)
]


def _spec(net: str, sigma_ms: float, alpha: int, seed: int) -> dict:
    return {
        "name": f"claims_{net}",
        "simulation": {"duration": f"{DURATION:g} ms", "dt": "0.01 ms", "method": "heun", "backend": "cpp",
                       "seed": seed},
        "network": {"layers": [f"prescott.{c}" for c in NETWORKS[net]], "size": SIZE,
                    "connection": {"rule": "feedforward", "p": "9/size"}},
        "input": {"kind": "pulse_packet", "alpha": alpha, "sigma": f"{sigma_ms:g} ms", "t0": f"{T0:g} ms"},
        "record": {"spikes": "all", "rate_bin": "0.5 ms"},
    }


SIMS = Path(__file__).resolve().parent.parent / "sims"
PAPER_SPECS = ["fig1", "fig1_fi", "fig1_ramp", "fig2", "fig3", "fig4", "figA2", "figA3", "figA4", "figA5", "ou_ffn",
               "info_strength", "sensitivity"]


@pytest.mark.parametrize("name", PAPER_SPECS)
def test_paper_specs_validate_at_both_scales(name):
    """Every experiment spec of paper-spec §4 validates as published and at --scale small, and its
    sweep expands; the small scale keeps the physics (dt, method, mean in-degree 9 where p = 9/size)."""
    from lamina.config import load_experiment
    from lamina.sweep.cache import expand

    full = load_experiment(SIMS / f"{name}.toml")
    small = load_experiment(SIMS / f"{name}.toml", scale="small")
    assert len(expand(full)) >= 1 and len(expand(small)) >= 1
    assert (full.dt, full.method) == (small.dt, small.method)

    def in_degrees(e):
        return [p.value * e.layer(p.pre).size for p in e.projections if p.rule == "p"]

    assert np.allclose(in_degrees(full), in_degrees(small)), (in_degrees(full), in_degrees(small))


def test_network_labels():
    from lamina.figures.labels import deep_network_label, fly_label

    het = ["prescott.input"] + ["prescott.int", "prescott.diff"] * 3
    assert deep_network_label(het) == "Het"
    assert deep_network_label(["prescott.input"] + ["prescott.diff", "prescott.int"] * 3) == "Reversed Het"
    assert deep_network_label(["prescott.input"] + ["prescott.diff"] * 6) == "Diff-only"
    assert deep_network_label(["prescott.input"] + ["prescott.mid10"] * 6) == "β_w −10 mV"
    assert fly_label(["prescott.input", "prescott.int", "prescott.diff"]) == "Het"


@pytest.fixture(scope="module")
def runs(cache_dir):
    """{(net, sigma, alpha, seed): {layer index: spike times (ms)}} for every condition and the
    no-stimulus runs of every network."""
    out = {}
    todo = [(net, 5.0, 0) for net in NETWORKS] + CONDITIONS
    for net, sigma, alpha in todo:
        for seed in SEEDS:
            r = simulate(experiment_from_dict(_spec(net, sigma, alpha, seed)))
            out[(net, sigma, alpha, seed)] = {z: r.spikes[l["name"]][0] for z, l in enumerate(r.layers)}
    return out


def _rate(t: np.ndarray, start: float = 20.0, stop: float = DURATION) -> float:
    """Mean rate per neuron (Hz) over [start, stop) ms; the first 20 ms are the initial transient."""
    return np.count_nonzero((t >= start) & (t < stop)) / SIZE / ((stop - start) / 1e3)


def _floor(runs, net):
    """Per layer, mean over seeds: the readout applied to the no-stimulus run itself — the size a
    pure background appears to have (the peak bin of a noisy background is biased upwards)."""
    out = np.zeros((len(SEEDS), len(NETWORKS[net])))
    for k, seed in enumerate(SEEDS):
        for z, t in runs[(net, 5.0, 0, seed)].items():
            out[k, z] = pulse_packet(t, 0.0, DURATION, baseline_rate=_rate(t), n_neurons=SIZE).alpha / SIZE
    return out.mean(axis=0)


def _packets(runs, net, sigma, alpha):
    """Per seed and layer: (size as a fraction of the layer, SD ms, latency after t0 ms)."""
    out = np.empty((len(SEEDS), len(NETWORKS[net]), 3))
    for k, seed in enumerate(SEEDS):
        base = runs[(net, 5.0, 0, seed)]
        for z, t in runs[(net, sigma, alpha, seed)].items():
            pp = pulse_packet(t, 0.0, DURATION, baseline_rate=_rate(base[z]), n_neurons=SIZE)
            out[k, z] = pp.alpha / SIZE, pp.sigma, pp.latency - T0
    return out


@pytest.mark.slow
def test_int_layers_active_diff_layers_quiet(runs):
    """Claim 2. Int layers fire spontaneously (spec ≈ 8 Hz; measured here 8.4 and 8.8 Hz, seeds
    within ±1.3 Hz): accept 4–14 Hz. Diff layers of the Diff-only network are silent (measured
    0.0 Hz): < 0.5 Hz. In the Het network the Diff layers are *not* silent — the Int layers drive
    them to 2.4–2.6 Hz here (3–4 Hz in the 1000-neuron quickstart; see docs/results.md) — but they
    stay well below the Int layers: less than half their rate."""
    het = np.array([[_rate(runs[("het", 5.0, 0, s)][z]) for z in range(5)] for s in SEEDS]).mean(axis=0)
    diff = np.array([[_rate(runs[("diff", 5.0, 0, s)][z]) for z in range(5)] for s in SEEDS]).mean(axis=0)
    assert 4.0 <= het[1] <= 14.0, het
    assert 4.0 <= het[3] <= 14.0, het
    assert np.all(diff[1:] < 0.5), diff
    assert het[2] < 0.5 * het[1] and het[4] < 0.5 * het[3], het


@pytest.mark.slow
def test_diff_only_synchronises_a_strong_packet(runs):
    """Claim 4 (all-or-none, the 'all' side). A strong packet (80 % of the input layer, sigma 2 ms)
    in Diff-only layers converges to synchronous firing: SD < 1 ms by the 4th layer (measured
    1.8 → 1.2 → 0.7 → 0.4 → 0.31 ms, all seeds within 0.01 ms of each other at layer 4), shrinking
    with depth, and nearly the whole layer fires (size > 0.6; measured 0.99)."""
    p = _packets(runs, "diff", 2.0, 160).mean(axis=0)
    size, sd = p[:, 0], p[:, 1]
    assert sd[4] < 1.0, sd
    assert sd[4] < sd[1], sd
    assert size[4] > 0.6, size


@pytest.mark.slow
def test_diff_only_weak_packet_dies(runs):
    """Claim 4 (the 'none' side). A weak synchronous packet (5 % of the input layer) does not
    propagate through Diff-only layers, which have no background to help it: by the 4th layer the
    baseline-subtracted packet size is below 2 % of the layer in every seed (measured 0 in all
    three by layer 3; a Diff neuron at rest needs about 3 coincident inputs of its 9, and 10 input
    spikes give a first-layer Diff neuron 0.45 inputs on average)."""
    p = _packets(runs, "diff", 1.0, 10)
    assert np.all(p[:, 4, 0] < 0.02), p[:, :, 0]


@pytest.mark.slow
def test_het_packet_sizes_stay_graded(runs):
    """Claim 3. Through 4 Het layers the packet size stays graded by the input and neither dies nor
    runs away. Measured (mean of 3 seeds, fraction of the layer, layers 1 → 4): 40 % input
    0.17 → 0.23, 90 % input 0.47 → 0.74; the readout of the no-stimulus runs (pure background)
    gives 0.03–0.05 in these layers. Tested: the 90 % packet is at least twice the 40 % one in the
    last layer (measured 3.2 ×); the weak one stays alive, ≥ 0.10 of the layer above the
    background readout (measured 0.18 above); each stays within a factor 3 of its first-layer
    size (measured 1.3 × and 1.6 ×: slow growth, not the all-or-none of Diff-only). Output SD
    stays around 2 ms (paper: ~2 ms; measured 1.5–2.3 ms; Diff-only reaches 0.3 ms): accept
    0.8–3 ms in every layer."""
    lo = _packets(runs, "het", 5.0, 80).mean(axis=0)
    hi = _packets(runs, "het", 5.0, 180).mean(axis=0)
    floor = _floor(runs, "het")
    assert hi[4, 0] > 2 * lo[4, 0], (lo[:, 0], hi[:, 0])
    assert lo[4, 0] - floor[4] >= 0.10, (lo[:, 0], floor)
    for p in (lo, hi):
        assert 1 / 3 < p[4, 0] / p[1, 0] < 3, p[:, 0]
        assert np.all((0.8 < p[1:, 1]) & (p[1:, 1] < 3.0)), p[:, 1]


@pytest.mark.slow
def test_int_only_activity_grows_with_depth(runs):
    """Claim 5. In Int-only networks activity spreads and grows layer by layer: each Int layer adds
    its own ~8 Hz to what it receives. Measured spontaneous rates, layers 1 → 4: 8.4, 13.5, 18.1,
    23.0 Hz (seeds within ±1.2 Hz). Tested: the 4th layer fires at least 1.5 × the 1st (measured
    2.7 ×) and the rate increases monotonically."""
    r = np.array([[_rate(runs[("int", 5.0, 0, s)][z]) for z in range(5)] for s in SEEDS]).mean(axis=0)
    assert r[4] > 1.5 * r[1], r
    assert np.all(np.diff(r[1:]) > 0), r
