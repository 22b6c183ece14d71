"""C++ standalone backend: one compiled structure serves seeds, weights and inputs.

All tests here share one structure (compiled once per session, ~30–60 s on 2 cores).
"""
from __future__ import annotations

import numpy as np
import pytest

from conftest import chain_spec
from lamina.backends import get_backend
from lamina.config import experiment_from_dict
from lamina.simulation import simulate

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def backend(cache_dir):
    return get_backend("cpp")


@pytest.fixture(scope="module")
def first(backend):
    exp = experiment_from_dict(chain_spec())
    binary = backend.project_dir(exp) / "main"
    result = simulate(exp)
    return exp, result, binary.stat().st_mtime_ns


def _same_spikes(a, b) -> bool:
    return all(np.array_equal(a.spikes[k][0], b.spikes[k][0]) and np.array_equal(a.spikes[k][1], b.spikes[k][1])
               for k in a.spikes)


def test_same_seed_is_bit_identical(first):
    exp, r1, _ = first
    r2 = simulate(exp)
    assert r2.attrs["compiled"] is False
    assert _same_spikes(r1, r2)
    assert sum(len(t) for t, _ in r1.spikes.values()) > 100


def test_different_seed_differs_without_recompiling(first, backend):
    exp, r1, mtime = first
    r2 = simulate(exp.with_seed(exp.seed + 1))
    assert r2.attrs["compiled"] is False
    assert not _same_spikes(r1, r2)
    assert (backend.project_dir(exp) / "main").stat().st_mtime_ns == mtime


def test_changed_weight_and_input_reuse_the_binary(first, backend):
    exp, r1, mtime = first
    spec = chain_spec({"cells.diff.g_syn": "1500 uS/cm**2", "cells.int.beta_w": "3 mV", "input.alpha": 150})
    exp2 = experiment_from_dict(spec)
    assert backend.project_dir(exp2) == backend.project_dir(exp)
    r2 = simulate(exp2)
    assert r2.attrs["compiled"] is False
    assert (backend.project_dir(exp) / "main").stat().st_mtime_ns == mtime
    # A stronger packet and stronger Diff synapses must give more Diff spikes after t0.
    late = lambda r: np.count_nonzero(r.spikes["L2_diff"][0] > 150)
    assert late(r2) > late(r1)


def test_second_process_reuses_compiled_project(first, cache_dir, tmp_path):
    """A new process (e.g. a second `lamina run`) regenerates code but make finds nothing to do."""
    import subprocess
    import sys

    exp, _, mtime = first
    code = ("import sys; sys.path.insert(0, 'tests'); from conftest import chain_spec;"
            "from lamina.config import experiment_from_dict; from lamina.simulation import simulate;"
            "r = simulate(experiment_from_dict(chain_spec({'simulation.seed': 3})));"
            "print('COMPILED', r.attrs['compiled'])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "COMPILED False" in out.stdout
    from lamina.backends.standalone import CppBackend
    assert (CppBackend().project_dir(exp) / "main").stat().st_mtime_ns == mtime


def test_het_diff_only_int_only_share_one_program(first, backend):
    """Cell variants are run-time values: changing the chain's cell types does not recompile."""
    exp, r1, mtime = first
    exp2 = experiment_from_dict(chain_spec({"network.layers": ["prescott.input", "prescott.diff", "prescott.diff"]}))
    assert backend.project_dir(exp2) == backend.project_dir(exp)
    r2 = simulate(exp2)
    assert r2.attrs["compiled"] is False and "L1_diff" in r2.spikes


def test_runtime_run_in_between_does_not_break_the_compiled_program(first):
    """A runtime-backend run switches Brian2's current device; the cpp backend must not care."""
    exp, r1, _ = first
    simulate(experiment_from_dict(chain_spec({"simulation.backend": "runtime", "simulation.duration": "5 ms",
                                              "network.size": 20, "input.alpha": 5, "input.t0": "2 ms"})))
    r2 = simulate(exp)
    assert r2.attrs["compiled"] is False and _same_spikes(r1, r2)


def test_progress_goes_to_stderr_and_stdout_holds_only_the_table(first, cache_dir, tmp_path):
    """The compiled program's progress lines go to stderr; stdout is the per-layer table alone."""
    import subprocess
    import sys

    import tomli_w

    spec = tmp_path / "small.toml"
    spec.write_text(tomli_w.dumps(chain_spec()))
    out = subprocess.run([sys.executable, "-m", "lamina.cli", "run", str(spec), "-o", str(tmp_path / "o"),
                          "--figure", "none"], capture_output=True, text=True, check=True)
    lines = out.stdout.strip().splitlines()
    # header, rule, three layers, and the legend of the packet columns
    assert lines[0].startswith("layer") and len(lines) == 2 + 3 + 1 and lines[-1].startswith("packet size")
    assert "simulated in" in out.stderr and "Starting simulation" not in out.stdout
