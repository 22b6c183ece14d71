"""The classic synfire chain (Diesmann, Gewaltig & Aertsen 1999) as lamina specs (issue 15): the
LIF card's `synfire` variant has the paper's EPSP and background, and the shipped chain
propagates a strong synchronous packet and loses a weak broad one. Plus the measures of
lamina.analysis.propagation. Small runs on the runtime backend (no compile)."""
from __future__ import annotations

import numpy as np
import pytest

from lamina.analysis.propagation import (best_lag_correlation, lagged_correlation, separatrix,
                                         synchrony)
from lamina.config import apply_overrides, experiment_from_dict, read_toml
from lamina.figures.synfire import group_packet, survives
from lamina.resources import sims_dir
from lamina.simulation import simulate, simulate_batch


def test_epsp_of_the_synfire_synapse_is_0_14_mV():
    """One spike of a kicked `quiet` neuron into one resting neuron (p = 1, J_syn of the card):
    the EPSP peaks at 0.14 mV (Diesmann et al.) about 1.7 ms after the spike."""
    spec = {"name": "epsp", "simulation": {"duration": "20 ms", "backend": "runtime", "seed": 1},
            "network": {"layers": [{"cell": "lif.quiet", "name": "pre", "size": 1},
                                   {"cell": "lif.quiet", "name": "post", "size": 1}],
                        "connection": {"rule": "feedforward", "p": 1}},
            "input": {"kind": "pulse_packet", "alpha": 1, "sigma": "0 ms", "t0": "5 ms"},
            "record": {"spikes": "all", "traces": {"vars": ["v"], "neurons": 1}}}
    exp = experiment_from_dict(spec)
    assert exp.layer("post").cell.params["J_syn"] == exp.layer("pre").cell.params["J_syn"]  # quiet = synfire's J
    r = simulate(exp)
    assert list(r.spikes["pre"][0]) == [5.0] and r.spikes["post"][0].size == 0
    v = r.traces["post"]["v"][0] * 1e3
    assert v.max() + 70.0 == pytest.approx(0.14, abs=0.02)
    assert np.argmax(v) * r.trace_dt_ms - 5.0 == pytest.approx(1.7, abs=0.2)


def test_background_gives_2_Hz_and_3_mV():
    """1000 isolated `synfire` neurons, 250 ms after a 50 ms transient: ≈ 500 spikes, so 1.5–2.6 Hz
    is > 5 standard errors wide; the membrane SD of 50 traced neurons within 2.6–3.4 mV."""
    spec = {"name": "bg", "simulation": {"duration": "300 ms", "backend": "runtime", "seed": 3},
            "network": {"layers": [{"cell": "lif.synfire", "name": "A", "size": 1000}], "connection": {"rule": "none"}},
            "record": {"spikes": "all", "traces": {"vars": ["v"], "neurons": 50}}}
    r = simulate(experiment_from_dict(spec))
    rate = np.count_nonzero(r.spikes["A"][0] >= 50) / 1000 / 0.25
    v = r.traces["A"]["v"][:, int(50 / r.trace_dt_ms):] * 1e3
    assert 1.5 <= rate <= 2.6
    assert 2.6 <= v.std() <= 3.4
    assert -64.5 <= v.mean() <= -62.0  # 71 pA × 100 MΩ above rest, a little less after resets


def _chain(alpha: int, sigma: str, seed: int):
    """The shipped sims/synfire.toml, one trial, shortened: packet at 30 ms, 70 ms in all."""
    spec = {k: v for k, v in read_toml(sims_dir() / "synfire.toml").items() if k not in ("sweep", "scales")}
    return experiment_from_dict(apply_overrides(spec, {
        "simulation.backend": "runtime", "simulation.duration": "70 ms", "simulation.seed": seed,
        "input.alpha": alpha, "input.sigma": sigma, "input.t0": "30 ms"}))


def test_strong_tight_packet_propagates_weak_broad_one_dies():
    """(a, sigma) = (100, 0.5 ms) reaches group 10 as a near-complete, sub-millisecond packet in
    most trials; (10, 4 ms) is gone by then (only background left)."""
    strong = [_chain(100, "0.5 ms", s) for s in (1, 2, 3)]
    weak = [_chain(10, "4 ms", s) for s in (4, 5, 6)]
    runs = simulate_batch(strong + weak)
    exp = strong[0]
    assert len(exp.layers) == 11 and all(l.size == 100 for l in exp.layers)
    assert [p.value for p in exp.projections] == [1.0] * 10  # all-to-all between consecutive groups
    packets = [group_packet(r.spikes["G10"][0], 10.0, 70.0, 2.0, 100) for r in runs]
    a = np.array([p.size for p in packets])
    alive = survives(a, 100)
    assert alive[:3].sum() >= 2 and not alive[3:].any(), a
    for p, ok in zip(packets[:3], alive[:3]):
        if ok:
            assert p.size >= 80 and p.sd < 1.0, p
    for r in runs[3:]:  # the weak packet: no more G10 spikes than background (2 Hz × 100 × 70 ms ≈ 14)
        assert r.spikes["G10"][0].size < 40


def test_separatrix_interpolates_and_brackets():
    sizes = [20, 40, 60, 80]
    s = separatrix(sizes, k=[0, 5, 15, 20], n=[20, 20, 20, 20])
    assert s.position == "inside" and s.a50 == pytest.approx(50.0)
    assert 40 < s.lo < s.a50 < s.hi < 80
    assert separatrix(sizes[::-1], k=[20, 15, 5, 0], n=[20] * 4).a50 == pytest.approx(50.0)  # order-free
    below = separatrix(sizes, k=[12, 20, 20, 20], n=[20] * 4)
    assert below.position == "below" and np.isnan(below.a50)
    above = separatrix(sizes, k=[0, 0, 1, 3], n=[20] * 4)
    assert above.position == "above" and np.isnan(above.a50) and np.isnan(above.hi)
    with pytest.raises(ValueError):
        separatrix([10], [0], [0])


def test_lagged_correlation_finds_the_delay():
    rng = np.random.default_rng(0)
    x = np.convolve(rng.standard_normal(3000), np.ones(20) / 20, mode="same")
    y = np.roll(x, 7) + 0.1 * rng.standard_normal(x.size)
    lag, r = best_lag_correlation(x, y, np.arange(0, 30))
    assert lag == 7 and r > 0.9
    r_all = lagged_correlation(x, y, np.arange(-5, 30))
    assert np.argmax(r_all) == 12 and r_all.shape == (35,)
    assert np.isnan(lagged_correlation(np.ones(50), y[:50], np.arange(3))).all()
    with pytest.raises(ValueError):
        lagged_correlation(x, y[:-1], np.arange(3))


def test_synchrony_separates_independent_from_volleys():
    rng = np.random.default_rng(1)
    n, bins = 200, 5000
    independent = rng.poisson(n * 0.02, size=bins)  # 200 neurons, 20 Hz, 1 ms bins
    volleys = np.zeros(bins)
    volleys[::50] = n  # every neuron fires together every 50 ms: the same 20 Hz
    assert abs(synchrony(independent, n, 10.0)) < 0.01
    assert synchrony(volleys, n, 10.0) > 0.5
    assert np.isnan(synchrony(np.zeros(100), n, 10.0))


def test_membrane_sd_formula_matches_the_card():
    """The caption's noise axis (free-membrane SD of the card's OU current) for the synfire
    variant's 426 pA is the 3 mV that the simulation measures (test above)."""
    from lamina.analysis.propagation import ou_membrane_sd
    from lamina.cells import resolve_cell

    p = resolve_cell("lif.synfire").params
    sd = ou_membrane_sd(float(p["sigma_noise"]), float(p["tau_noise"]), float(p["tau_m"]), float(p["C_m"]))
    assert sd * 1e3 == pytest.approx(3.0, abs=0.02)


def test_rate_propagation_spec_sweeps_noise_at_fixed_layout():
    """Six noise levels, each with its own bias and weight, on one compiled structure."""
    from lamina.config import load_experiment
    from lamina.sweep.cache import expand
    from lamina.network import structure_key

    exp = load_experiment(sims_dir() / "rate_propagation.toml", scale="small")
    points = expand(exp)
    assert len(points) == 6 and len({structure_key(p.experiment, "cpp") for p in points}) == 1
    noise = [float(p.experiment.layers[-1].cell.params["sigma_noise"]) for p in points]
    assert noise == sorted(noise) and len(set(noise)) == 6
    assert all(float(p.experiment.layers[0].cell.params["sigma_noise"]) == pytest.approx(426e-12) for p in points)
    assert len(exp.layers) >= 9 and exp.input.kind == "ou"


def test_gaussian_fit_starting_outside_its_range_does_not_fail():
    """lamina analyze fits a Gaussian from the moments' centroid, which for a barely positive
    excess over the background can lie outside the search range (a synfire run with a = 10,
    sigma = 2 ms did): the fit then starts from the histogram's peak instead of raising."""
    from lamina.analysis.packets import packet_gaussian_fit

    rng = np.random.default_rng(2)
    times = np.concatenate([rng.uniform(20, 140, 30), rng.normal(80, 1.0, 40)])
    for start in (-500.0, 1e4):
        fit = packet_gaussian_fit(times, 20.0, 140.0, centre=start, sd=2.0)
        assert fit.ok and fit.centre == pytest.approx(80, abs=1.0)


def test_rate_regimes_and_depth():
    import pandas as pd

    from lamina.figures.synfire import rate_depth, regime

    assert regime(0.8, 0.01) == "rate" and regime(0.8, 0.2) == "synchrony" and regime(0.2, 0.01) == "lost"
    df = pd.DataFrame([{"layer": z, "r": 0.9 - 0.05 * z, "synchrony": 0.01 * z * z} for z in range(10)])
    assert rate_depth(df) == 2  # synchrony 0.09 ≥ 0.05 at layer 3
    assert rate_depth(df.assign(r=0.1)) == -1
