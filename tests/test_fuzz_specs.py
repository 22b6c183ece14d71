"""Fuzz the spec front door (issue 12): mutated shipped specs, random ``--set`` items and broken
files go through ``lamina.config`` in-process. Every case either validates (an Experiment; its
sweep, if any, expands) or raises ConfigError with one short line — never another exception,
never a hang (each case has a 2 s limit). Hypothesis runs derandomized with a bounded number of
examples, so the test is deterministic and takes well under 30 s.
"""
from __future__ import annotations

import contextlib
import signal
import sys
import time
from pathlib import Path

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent))

from lamina import resources  # noqa: E402
from lamina.config import (ConfigError, Experiment, apply_scale, experiment_from_dict,  # noqa: E402
                           load_experiment, parse_set, read_toml)
from lamina.sweep.expand import expand_sweep  # noqa: E402

LIMIT_S = 2.0
# Small and medium shipped specs: every kind of input, inhibition, sweeps with zip and ranges.
SEEDS = ["quickstart", "sweep_demo", "figA3", "fig1", "fig1_fi", "ou_ffn", "figA2_small", "fig4", "figA4"]
SPECS = {name: read_toml(resources.spec_path(name)) for name in SEEDS}
FUZZ = settings(derandomize=True, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.filter_too_much])

WORDS = ["5 ms", "-1 ms", "0 ms", "0.01 ms", "1e-9 ms", "1e12 ms", "180 ms", "2 mV", "345 uS/cm**2",
         "-345 uS/cm**2", "38 uA/cm^2", "5 ms**9**9**9", "1e999 mV", "nan", "inf", "9/size", "size**size**size",
         "-9/size", "0.5", "prescott.int", "prescott.inh", "lif.synfire", "/tmp/x.int", "../models/prescott.int",
         "nosuch.int", "int", "none", "pulse_packet", "ou", "step", "current_pulse", "feedforward", "all", "heun",
         "cpp", "runtime", "double", "single", "v", "w", "nosuch", "Int", "Diff", "L0_input", "", " ", "x" * 300,
         "\x00", "é", "input.alpha", "cells.int.g_syn", "simulation.seed", "independent", "common"]
KEYS = ["kind", "alpha", "sigma", "t0", "layers", "size", "p", "in_degree", "delay", "cell", "params", "name",
        "duration", "dt", "seed", "rule", "traces", "vars", "neurons", "rate_bin", "spikes", "values",
        "uniform", "linspace", "n", "range", "zip", "seeds", "g_syn", "beta_w", "phi", "input.alpha",
        "description", "connection", "inhibition", "sweep", "scales", "small"]

leaf = st.one_of(
    st.sampled_from(WORDS),
    st.text(max_size=20),
    st.integers(),
    st.integers(-3, 3000),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
)
keys = st.one_of(st.sampled_from(KEYS), st.text(max_size=10))
values = st.recursive(leaf, lambda c: st.one_of(st.lists(c, max_size=4),
                                               st.dictionaries(keys, c, max_size=4)), max_leaves=12)


def nested(depth: int, kind: int):
    v: object = 1
    for _ in range(depth):
        v = [v] if kind == 0 else {"a": v}
    return v


deep = st.builds(nested, st.integers(20, 3000), st.integers(0, 1))


def paths(obj, prefix=()):
    """Every (container, key) location in a spec, down to 12 levels."""
    out = []
    if len(prefix) >= 12:
        return out
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.append(prefix + (k,))
            out += paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out.append(prefix + (i,))
            out += paths(v, prefix + (i,))
    return out


def locate(obj, path):
    for k in path[:-1]:
        obj = obj[k]
    return obj, path[-1]


#: specs that test_random_set_items fuzzes at their small scale only: figA3 as published is a 1 080-point sweep whose
#: expansion (every point validated) takes ~1 s, ~2-3 s under hypothesis's tracing: more than the
#: per-case limit that catches hangs, for a reason that is not one
SMALL_ONLY = {"figA3"}


class Slow(Exception):
    pass


@contextlib.contextmanager
def time_limit(seconds: float):
    def on_alarm(signum, frame):
        raise Slow(f"case took more than {seconds} s")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    t0 = time.perf_counter()
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    assert time.perf_counter() - t0 < seconds


def check(fn):
    """fn() returns an Experiment (whose sweep must expand) or raises a one-line ConfigError."""
    with time_limit(LIMIT_S):
        try:
            exp = fn()
            assert isinstance(exp, Experiment)
            if exp.sweep is not None:
                assert expand_sweep(exp)
        except ConfigError as e:
            msg = str(e)
            assert msg and "\n" not in msg and "\r" not in msg and len(msg) <= 700, msg
            assert "Traceback" not in msg


@settings(FUZZ, max_examples=150)
@given(name=st.sampled_from(SEEDS), data=st.data())
def test_mutated_shipped_specs(name, data):
    spec = apply_scale(SPECS[name], data.draw(st.sampled_from([None, "small"]))) \
        if "small" in SPECS[name].get("scales", {}) else dict(SPECS[name])
    import copy
    spec = copy.deepcopy(spec)
    for _ in range(data.draw(st.integers(1, 4))):
        where = paths(spec)
        action = data.draw(st.sampled_from(["delete", "replace", "replace", "deep", "add"]))
        if not where:
            break
        node, key = locate(spec, data.draw(st.sampled_from(where)))
        if action == "delete":
            del node[key]
        elif action == "replace":
            node[key] = data.draw(values)
        elif action == "deep":
            node[key] = data.draw(deep)
        elif isinstance(node, dict):
            node[data.draw(keys)] = data.draw(values)
        else:
            node.append(data.draw(values))
    check(lambda: experiment_from_dict(spec))


SET_PATHS = ["input.alpha", "input.sigma", "input.layers", "input.kind", "input..alpha", ".x", "network.size",
             "network.connection.p", "network.layers", "simulation.dt", "simulation.duration", "simulation.seed",
             "record.traces", "record.rate_bin", "cells.int.g_syn", "cells.all.phi", "cells.int.beta_w",
             'cells."int".g_syn', "name", "description", "sweep", "network.inhibition", "scales.small"]
SET_VALUES = ['"size**size**size"', '"5 ms**9**9**9"', "[]", "nan", "-inf", "1e400", "{vars=[\"nosuch\"]}",
              "{values=[\"1 mV\"]}", '"1e-9 ms"', '"1e12 ms"', "99999999999999999999", "[" * 3000, "'",
              '"/tmp/x.int"', "{uniform=[1,2]}", "5 ms", "-1", "0", "true", '["prescott.int"]']


@settings(FUZZ, max_examples=60)
@given(path=st.one_of(st.sampled_from(SET_PATHS), st.text(max_size=15)),
       value=st.one_of(st.sampled_from(SET_VALUES), st.text(max_size=30)),
       spec=st.sampled_from(["quickstart", "sweep_demo", "figA3"]))
def test_random_set_items(path, value, spec):
    def run():
        overrides = dict([parse_set(f"{path}={value}")])
        return load_experiment(resources.spec_path(spec), overrides, scale="small" if spec in SMALL_ONLY else None)
    check(run)


@settings(FUZZ, max_examples=40)
@given(data=st.one_of(
    st.binary(max_size=300),
    st.text(max_size=200).map(lambda t: t.encode("utf-16")),
    st.text(max_size=200).map(lambda t: t.encode("latin-1", "replace")),
    st.tuples(st.sampled_from(SEEDS), st.integers(0, 10_000), st.binary(min_size=1, max_size=8)).map(
        lambda a: (lambda b: b[:a[1] % (len(b) + 1)] + a[2] + b[a[1] % (len(b) + 1):])(
            resources.spec_path(a[0]).read_bytes())),
))
def test_broken_files(tmp_path_factory, data):
    p = tmp_path_factory.mktemp("fuzz") / "spec.toml"
    p.write_bytes(data)
    check(lambda: load_experiment(p))


@settings(FUZZ, max_examples=30)
@given(name=st.sampled_from(SEEDS), data=st.data())
def test_mutated_specs_through_files(tmp_path_factory, name, data):
    """The TOML round trip: a mutated spec written as a file and loaded (with its scales)."""
    import copy
    spec = copy.deepcopy(SPECS[name])
    where = paths(spec)
    node, key = locate(spec, data.draw(st.sampled_from(where)))
    node[key] = data.draw(values)
    try:
        text = tomli_w.dumps(spec)
    except (TypeError, ValueError):
        return  # not representable in TOML (nan keys, huge ints): the dict fuzz covers those
    p = tmp_path_factory.mktemp("fuzz") / "spec.toml"
    p.write_text(text)
    scale = data.draw(st.sampled_from([None, "small", "paper"]))
    check(lambda: load_experiment(p, scale=scale))


def test_fuzz_is_not_vacuous():
    """The seeds themselves validate (so the mutations start from valid specs)."""
    for name, spec in SPECS.items():
        assert isinstance(experiment_from_dict(spec), Experiment), name


if __name__ == "__main__":
    pytest.main([__file__, "-q"])
