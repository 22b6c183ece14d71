"""benchmarks/peer_nest.py's sweep mode (issue 15: lamina vs NEST on an N-point sweep): both sides
sweep the same values of the background noise SD, and the plumbing works end to end on a tiny
network. NEST is the optional ``peers`` extra: the tests that run it skip without it."""
from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "peer_nest.py"
HAS_NEST = importlib.util.find_spec("nest") is not None
needs_nest = pytest.mark.skipif(not HAS_NEST, reason="nest-simulator not installed (pip install -e '.[peers]')")


@pytest.fixture(scope="module")
def pn():
    sys.path.insert(0, str(SCRIPT.parent))
    spec = importlib.util.spec_from_file_location("peer_nest", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def small_args(**kw) -> argparse.Namespace:
    base = dict(layers=2, size=200, duration=60.0, method="heun", sweep=5, sweep_range="0.9,1.1")
    return argparse.Namespace(**{**base, **kw})


def test_lamina_sweep_spec_has_the_values_nest_gets(pn, tmp_path):
    from lamina.config import load_experiment
    from lamina.sweep import expand_sweep

    args = small_args()
    sigmas = pn.sweep_values(args)
    card = pn.card_values()["sigma_noise"]
    assert len(sigmas) == 5 and sigmas[0] == pytest.approx(0.9 * card) and sigmas[-1] == pytest.approx(1.1 * card)
    points = expand_sweep(load_experiment(pn.lamina_spec(tmp_path, args, "counter", sigmas)))
    assert len(points) == 5
    for p, sigma in zip(points, sigmas):
        for layer in p.experiment.layers:  # every layer's cell gets the point's value, in pA
            assert float(layer.cell.params["sigma_noise"]) == pytest.approx(sigma * 1e-12, rel=1e-12)


@needs_nest
def test_nest_worker_runs_several_points_in_one_process(pn, tmp_path):
    """--sigma a,b: one process, ResetKernel between points, one file per point with its own value."""
    cmd = [sys.executable, str(SCRIPT), "--nest-worker", "--threads", "1", "--seed", "7", "--layers", "2",
           "--size", "200", "--duration", "200", "--out", str(tmp_path), "--sigma", "300.0,600.0"]
    subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=300)
    args = small_args(size=200, duration=200.0)
    low, high = (pn.read_nest(tmp_path / f"p{k}.npz", args) for k in range(2))
    assert (low["sigma_pA"], low["seed"], high["sigma_pA"], high["seed"]) == (300.0, 7, 600.0, 8)
    assert high["stats"][0]["rate_hz"] > 2 * max(low["stats"][0]["rate_hz"], 0.5)  # more noise, more spikes


@pytest.mark.slow
@needs_nest
def test_sweep_mode_end_to_end(tmp_path):
    """--sweep 2 on a tiny network: NEST's 2 processes and one lamina sweep (compiles) both run the
    2 points; the JSON has both sides' rates per point, and the rates rise with sigma on both."""
    out = tmp_path / "r.json"
    cmd = [sys.executable, str(SCRIPT), "--sweep", "2", "--sweep-range", "0.8,1.2", "--layers", "2", "--size", "300",
           "--duration", "300", "--no-warm", "--json", str(out)]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "ratio lamina / NEST" in res.stdout
    sw = json.loads(out.read_text())["sweep"]
    assert sw["batches"] == [1] and sw["lamina_cold_b1"]["compiled_any"]
    nest = np.array([r["stats"][0]["rate_hz"] for r in sw["nest_pool"]["runs"]])
    lam = np.array([r["stats"][0]["rate_hz"] for r in sw["lamina_cold_b1"]["runs"]])
    assert [r["sigma_pA"] for r in sw["nest_pool"]["runs"]] == [r["sigma_pA"] for r in sw["lamina_cold_b1"]["runs"]]
    assert nest[1] > nest[0] and lam[1] > lam[0]
    assert np.all(np.abs(lam / nest - 1) < 0.5)  # 300 neurons: loose; the benchmark's full size checks closely
