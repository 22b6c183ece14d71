"""The hand-written Brian2 script of the peer benchmark (benchmarks/plain_fig3_script.py) simulates
the same model as lamina: checked on a tiny network where the answer is deterministic.

With the noise off, every packet kick at the same instant (sigma 0) and all-to-all projections
(p = 1), every neuron of a layer has the same trajectory, so both simulators must give the same
spike times. They differ by exactly one time step by construction: lamina applies the kick at the
start of its step, the script (like the authors' Deep-FFN.py) through a SpikeGeneratorGroup
synapse, after that step's state update. A negative control (Diff instead of Int in layer 1)
shows the comparison can fail, and the connection count at p = 9/N is checked against its
binomial distribution. Both sides run Brian2's numpy target: no compiler, a few seconds.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "plain_fig3_script.py"
SIZE, ALPHA, T0_MS, DURATION_MS, DT_MS = 100, 40, 10.0, 30.0, 0.01


def run_script(tmp_path: Path, name: str, *extra: str) -> np.lib.npyio.NpzFile:
    out = tmp_path / f"{name}.npz"
    cmd = [sys.executable, str(SCRIPT), "--seed", "3", "--alpha", str(ALPHA), "--sigma", "0", "--size", str(SIZE),
           "--duration", str(DURATION_MS), "--t0", str(T0_MS), "--target", "numpy", "-o", str(out), *extra]
    subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=120)
    return np.load(out)


def lamina_spikes(layers: list[str]) -> list[np.ndarray]:
    from lamina.config import experiment_from_dict
    from lamina.simulation import simulate

    spec = {"name": "peer_tiny",
            "simulation": {"duration": f"{DURATION_MS:g} ms", "dt": f"{DT_MS:g} ms", "method": "heun",
                           "backend": "runtime", "seed": 3},
            "network": {"layers": [f"prescott.{v}" for v in layers], "size": SIZE,
                        "connection": {"rule": "feedforward", "p": 1.0}},
            "cells": {"all": {"sigma_noise": "0 uA/cm**2"}},
            "input": {"kind": "pulse_packet", "alpha": ALPHA, "sigma": "0 ms", "t0": f"{T0_MS:g} ms", "kick": "70 mV"},
            "record": {"spikes": "all"}}
    result = simulate(experiment_from_dict(spec))
    return [np.sort(result.spikes[name][0]) for name in (f"L{z}_{v}" for z, v in enumerate(layers))]


def lag_steps(plain: np.ndarray, lamina: np.ndarray) -> np.ndarray | None:
    """Per spike, how many steps later the script's spike is (None if the counts differ)."""
    if len(plain) != len(lamina):
        return None
    return np.round((np.sort(plain) - lamina) / DT_MS).astype(int)


@pytest.fixture(scope="module")
def lamina_het() -> list[np.ndarray]:
    return lamina_spikes(["input", "int", "diff"])


def test_same_spike_times_one_step_later(tmp_path, lamina_het):
    plain = run_script(tmp_path, "det", "--layers", "input,int,diff", "--k", str(SIZE), "--no-noise")
    assert list(plain["n_synapses"]) == [SIZE * SIZE] * 2  # p = 1: all to all
    for z, lam in enumerate(lamina_het):
        assert len(lam) > 0, f"layer {z}: lamina gave no spike"
        lag = lag_steps(plain[f"t{z}"], lam)
        assert lag is not None, f"layer {z}: {len(plain[f't{z}'])} spikes in the script, {len(lam)} in lamina"
        assert np.all(lag == 1), f"layer {z}: lags {np.unique(lag)} steps"
    assert len(lamina_het[0]) == ALPHA  # every kicked input neuron fires once


def test_comparison_fails_for_another_model(tmp_path, lamina_het):
    """Negative control: a Diff layer where lamina has an Int layer must not match."""
    plain = run_script(tmp_path, "ctrl", "--layers", "input,diff,diff", "--k", str(SIZE), "--no-noise")
    assert np.all(lag_steps(plain["t0"], lamina_het[0]) == 1)  # the input layer is the same
    lag = lag_steps(plain["t1"], lamina_het[1])
    assert lag is None or not np.all(lag == 1)


def test_connection_count_is_binomial(tmp_path):
    plain = run_script(tmp_path, "conn", "--layers", "input,int,diff", "--k", "9")
    n, p = SIZE * SIZE, 9 / SIZE
    mean, sd = n * p, np.sqrt(n * p * (1 - p))
    for count in plain["n_synapses"]:
        assert abs(count - mean) < 4 * sd, (count, mean, sd)
