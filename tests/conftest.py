"""Shared fixtures. C++ builds go to one cache directory per test session (compiled once)."""
from __future__ import annotations

import copy
import os

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("lamina-cache")
    os.environ["LAMINA_CACHE"] = str(d)
    return d


def chain_spec(changes: dict | None = None) -> dict:
    """A small Input → Int → Diff chain with a pulse packet (alpha = 0 gives the baseline)."""
    spec = {
        "name": "small",
        "simulation": {"duration": "300 ms", "dt": "0.01 ms", "method": "heun", "backend": "cpp", "seed": 11},
        "network": {"layers": ["prescott.input", "prescott.int", "prescott.diff"], "size": 200,
                    "connection": {"rule": "feedforward", "p": "9/size"}},
        "input": {"kind": "pulse_packet", "alpha": 100, "sigma": "2 ms", "t0": "150 ms"},
        "record": {"spikes": "all", "rate_bin": "0.5 ms"},
    }
    for path, value in (changes or {}).items():
        node = spec
        *head, last = path.split(".")
        for p in head:
            node = node.setdefault(p, {})
        node[last] = copy.deepcopy(value)
    return spec


def one_line(e: pytest.ExceptionInfo, *needles: str) -> str:
    """The message of a raised error, checked to be one short line that contains ``needles``."""
    msg = str(e.value)
    assert "\n" not in msg and len(msg) < 700, msg
    for n in needles:
        assert n in msg, (n, msg)
    return msg


def built_network(changes: dict, seed: int):
    """(Experiment, Built) of ``chain_spec(changes)`` on Brian2's runtime device (numpy), seeded."""
    import brian2 as b2

    from lamina.config import experiment_from_dict
    from lamina.network import build

    b2.set_device("runtime")
    b2.prefs.codegen.target = "numpy"
    b2.seed(seed)
    exp = experiment_from_dict(chain_spec(changes))
    return exp, build(exp)
