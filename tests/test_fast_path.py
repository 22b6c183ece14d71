"""A cached C++ program runs from its manifest, without Brian2's objects or code generation
(issue 15, ``lamina/backends/standalone.py``: ``CachedProgram``).

The promise: the fast path gives bit-identical spikes, rates, traces, stimulus and stored
per-run values to the normal path (Brian2 builds the network and generates the code, then runs
the same program), for a batch of one and for batches whose replicas differ in seed, input and
per-neuron parameters; a missing or stale manifest takes the normal path; and the fast path is
really taken when it can be (Brian2's network is never built then).
"""
from __future__ import annotations

import json
import logging

import numpy as np
import pytest
from conftest import chain_spec

from lamina.backends import get_backend, standalone
from lamina.config import experiment_from_dict
from lamina.errors import SimulationError
from lamina.network import shared_parameters
from lamina.simulation import simulate_batch

pytestmark = pytest.mark.slow  # compiles three small C++ programs (about 15 s each)

#: attributes that time the run or say whether this run compiled: the only ones allowed to differ
TIMING = {"created", "wall_time_s", "build_time_s", "run_time_s", "loop_time_s", "binary_time_s",
          "batch_wall_time_s", "compiled"}


def _exp(seed: int, layers=None, **changes):
    spec = chain_spec({"simulation.duration": "50 ms", "network.size": 50, "input.alpha": 30,
                       "input.t0": "20 ms", "input.sigma": "2 ms", "simulation.seed": seed, **changes})
    if layers is not None:
        spec["network"]["layers"] = layers
    return experiment_from_dict(spec)


def _forbidden(*args, **kwargs):
    raise AssertionError("the fast path built Brian2 objects or generated code")


def _run(exps, monkeypatch, fast: bool):
    """simulate_batch on one path; on the fast one, building a network or a program fails."""
    be = get_backend("cpp")
    before = be.fast_runs
    with monkeypatch.context() as m:
        if fast:
            m.delenv("LAMINA_FAST_PATH", raising=False)
            m.setattr(standalone, "build", _forbidden)
            m.setattr(standalone.StandaloneBackend, "_built_for", _forbidden)
        else:
            m.setenv("LAMINA_FAST_PATH", "0")
        out = simulate_batch(exps)
    assert be.fast_runs == before + fast, "the fast path was not taken" if fast else "it was taken"
    return out


def _same(a, b) -> None:
    """Two RunResults hold the same data and provenance, bit for bit (timings aside)."""
    assert a.spikes.keys() == b.spikes.keys() and a.rates.keys() == b.rates.keys()
    for k in a.spikes:
        for x, y in zip(a.spikes[k], b.spikes[k]):
            assert x.dtype == y.dtype and np.array_equal(x, y), k
    for k in a.rates:
        assert a.rates[k].dtype == b.rates[k].dtype and np.array_equal(a.rates[k], b.rates[k]), k
    assert a.traces.keys() == b.traces.keys()
    for k in a.traces:
        assert a.traces[k].keys() == b.traces[k].keys()
        for v in a.traces[k]:
            assert np.array_equal(a.traces[k][v], b.traces[k][v]), (k, v)
    sa, sb = a.stimulus, b.stimulus
    assert sa.attrs == sb.attrs and sa.packet_ids.keys() == sb.packet_ids.keys()
    for k in sa.packet_ids:
        assert np.array_equal(sa.packet_ids[k], sb.packet_ids[k]) and np.array_equal(sa.kick_step[k], sb.kick_step[k])
        assert np.array_equal(sa.packet_times_ms[k], sb.packet_times_ms[k])
    assert (sa.current is None) == (sb.current is None)
    if sa.current is not None:
        assert np.array_equal(sa.current, sb.current)
    assert {k: v for k, v in a.attrs.items() if k not in TIMING} == {k: v for k, v in b.attrs.items() if k not in TIMING}
    assert (a.name, a.config_toml, a.layers, a.rate_dt_ms, a.duration_ms, a.trace_dt_ms, a.point) == \
           (b.name, b.config_toml, b.layers, b.rate_dt_ms, b.duration_ms, b.trace_dt_ms, b.point)


def _manifest_path(exps):
    be = get_backend("cpp")
    return be.project_dir(exps[0], len(exps), shared_parameters(exps)) / standalone.MANIFEST


# Batch of one: tau_decay changed in every layer is one shared run-time value (on the command line).
SHARED_SCALAR = [{"cell": f"prescott.{v}", "params": {"tau_decay": "4.5 ms"}} for v in ("input", "int", "diff")]


def test_batch_of_one_is_bit_identical_and_stale_manifests_fall_back(cache_dir, monkeypatch, caplog):
    exps = [_exp(5, SHARED_SCALAR)]
    normal = _run(exps, monkeypatch, fast=False)[0]  # compiles, and writes the manifest
    assert sum(len(t) for t, _ in normal.spikes.values()) > 0
    path = _manifest_path(exps)
    manifest = json.loads(path.read_text())
    assert manifest["version"] == standalone.MANIFEST_VERSION and manifest["batch"] == 1
    assert any(not v["dynamic"] and v["size"] == 1 for v in manifest["variables"].values())  # tau_decay, shared
    fast = _run(exps, monkeypatch, fast=True)[0]
    _same(normal, fast)
    assert fast.attrs["program_key"] == normal.attrs["program_key"] and not fast.attrs["compiled"]

    # another seed and another swept run-time value (the packet's alpha) on the fast path: the
    # same program, other numbers, still equal to the normal path's
    other = [_exp(6, SHARED_SCALAR, **{"input.alpha": 40})]
    fast2 = _run(other, monkeypatch, fast=True)[0]
    _same(_run(other, monkeypatch, fast=False)[0], fast2)
    assert not all(np.array_equal(fast.spikes[k][0], fast2.spikes[k][0]) for k in fast.spikes)

    # a run-time value the program does not take (here: a manifest with a wrong dtype, so a file of
    # the wrong size) fails the run instead of running with the program's defaults
    name, spec = next((k, v) for k, v in manifest["variables"].items() if v["size"] > 1 and v["dtype"] == "float64")
    path.write_text(json.dumps({**manifest, "variables": {**manifest["variables"], name: {**spec, "dtype": "float32"}}}))
    with pytest.raises(SimulationError, match="did not apply its run-time values"), monkeypatch.context() as m:
        m.delenv("LAMINA_FAST_PATH", raising=False)
        simulate_batch(exps)

    # a manifest of another version, of another program build, or none: the normal path, and why
    for stale, why in (({**manifest, "version": standalone.MANIFEST_VERSION + 1}, "manifest version"),
                       ({**manifest, "sources": "0" * 64}, "not the one the manifest describes"),
                       ({**manifest, "code": "0" * 16}, "other lamina code"),
                       ({**manifest, "variables": {}}, "another set of run-time variables"),
                       (None, "no manifest")):
        if stale is None:
            path.unlink()
        else:
            path.write_text(json.dumps(stale))
        be = get_backend("cpp")
        before = be.fast_runs
        with monkeypatch.context() as m, caplog.at_level(logging.DEBUG, logger=standalone.__name__):
            m.delenv("LAMINA_FAST_PATH", raising=False)
            caplog.clear()
            again = simulate_batch(exps)[0]
        assert be.fast_runs == before, why
        assert "normal path (" in caplog.text and why in caplog.text, caplog.text[-300:]
        _same(normal, again)
    # the next time the normal path builds the network (as a new process would), the manifest is back
    be = get_backend("cpp")
    be._key = None  # forget the network in memory
    _run(exps, monkeypatch, fast=False)
    assert json.loads(path.read_text()) == manifest
    _same(normal, _run(exps, monkeypatch, fast=True)[0])


def test_batch_of_three_with_other_seeds_inputs_and_parameters_is_bit_identical(cache_dir, monkeypatch):
    traces = {"record.traces": {"vars": ["v"], "neurons": 2}}
    g_syn = ["prescott.input", {"cell": "prescott.int", "params": {"g_syn": "420 uS/cm**2"}}, "prescott.diff"]
    exps = [_exp(1, **traces), _exp(2, **traces, **{"input.alpha": 45}), _exp(3, g_syn, **traces)]
    normal = _run(exps, monkeypatch, fast=False)
    assert _manifest_path(exps).exists()
    fast = _run(exps, monkeypatch, fast=True)
    for a, b in zip(normal, fast):
        _same(a, b)
        assert a.traces and all(v.shape == (2, 5000) for t in a.traces.values() for v in t.values())
    assert [r.attrs["batch_index"] for r in fast] == [0, 1, 2]
    assert not np.array_equal(fast[0].spikes["L1_int"][0], fast[2].spikes["L1_int"][0])


def test_current_input_and_rate_monitors_are_bit_identical(cache_dir, monkeypatch):
    """A TimedArray stimulus (an OU current, one column per replica) and population-rate monitors."""
    ou = {"input": {"kind": "ou", "tau": "5 ms", "mean": "25 uA/cm**2", "sigma": "12.5 uA/cm**2", "start": "5 ms"},
          "record.spikes": "none"}
    exps = [_exp(8, **ou), _exp(9, **ou)]
    normal = _run(exps, monkeypatch, fast=False)
    fast = _run(exps, monkeypatch, fast=True)
    for a, b in zip(normal, fast):
        _same(a, b)
        assert not a.spikes and a.stimulus.current is not None
    assert any(r.sum() > 0 for r in fast[0].rates.values())
    assert not np.array_equal(fast[0].stimulus.current, fast[1].stimulus.current)
