"""simulation.constants: card parameters that keep the card's value are literals in the program.

Promised (README, "simulation.constants"): the numbers do not change — the same seed gives the
same spikes with the parameters compiled in or set at run time; a parameter a spec or a sweep
changes stays a run-time value, so sweeping it never compiles a program per value; the compiled
values are part of the program key, so a changed card cannot reuse a stale program.
"""
from __future__ import annotations

import re

import numpy as np
import pytest
from conftest import chain_spec

from lamina.backends import get_backend
from lamina.config import ConfigError, experiment_from_dict
from lamina.network import Layout, compiled_constants, group_equations, shared_parameters
from lamina.simulation import simulate


def _exp(**changes):
    return experiment_from_dict(chain_spec({"simulation.duration": "120 ms", "network.size": 80, "input.alpha": 50,
                                            "input.t0": "70 ms", **changes}))


def test_only_card_values_shared_by_every_neuron_are_compiled():
    exp = _exp()
    shared = shared_parameters([exp])
    compiled = compiled_constants(exp, shared)[0]
    # per-layer values (the variants' beta_w, sigma_noise, g_syn) are per-neuron variables
    assert not {"beta_w", "sigma_noise", "g_syn"} & set(compiled)
    assert {"gL", "gNa", "C", "EL", "t_ref", "tau_decay"} <= set(compiled)
    assert compiled["gL"] == pytest.approx(2e-3 * 1e4)  # 2 mS/cm² in S/m²
    eqs = group_equations(exp, Layout.of(exp), 0, 1, shared[0], frozenset(compiled))
    assert "gL :" not in eqs and "beta_w :" in eqs
    # a value the spec changes is not the card's: stored once, set at run time
    changed = _exp(**{"cells.all": {"gL": "2.2 mS/cm**2"}})
    assert "gL" in shared_parameters([changed])[0]
    assert "gL" not in compiled_constants(changed, shared_parameters([changed]))[0]
    assert compiled_constants(_exp(**{"simulation.constants": "run-time"}), shared) == {}


def test_sweeping_a_card_parameter_reuses_one_program():
    be = get_backend("cpp")
    a, b = (_exp(**{"cells.all": {"gL": v}}) for v in ("2.1 mS/cm**2", "2.3 mS/cm**2"))
    assert be.program_key(a) == be.program_key(b)
    assert be.program_key(a) != be.program_key(_exp())  # the card's value is compiled in there
    assert be.program_key(_exp()) != be.program_key(_exp(**{"simulation.constants": "run-time"}))


def test_bad_constants_value_is_one_line_error():
    with pytest.raises(ConfigError, match="simulation.constants"):
        _exp(**{"simulation.constants": "literal"})


@pytest.mark.parametrize("backend,precision", [("runtime", "double"), ("cpp", "double"), ("cpp", "single")])
def test_compiled_and_run_time_constants_give_the_same_spikes(backend, precision, cache_dir):
    runs = [simulate(_exp(**{"simulation.constants": m, "simulation.seed": 5, "simulation.precision": precision}),
                     backend=backend) for m in ("compiled", "run-time")]
    assert runs[0].attrs["program_key"] != runs[1].attrs["program_key"]
    assert sum(len(runs[0].spikes[k][0]) for k in runs[0].spikes) > 50  # the packet went through
    for k in runs[0].spikes:
        np.testing.assert_array_equal(runs[0].spikes[k][0], runs[1].spikes[k][0])
        np.testing.assert_array_equal(runs[0].spikes[k][1], runs[1].spikes[k][1])


def test_single_precision_literals_are_float(cache_dir):
    """A double literal would promote the single-precision state update to double."""
    be = get_backend("cpp")
    exp = _exp(**{"simulation.precision": "single"})
    be.build_program(exp, 1)
    code = (be.project_dir(exp) / "code_objects" / "cells0_stateupdater_codeobject.cpp").read_text()
    assert "const float gL = 20" in code and "const double gL" not in code
    # every literal of the state update is float (a double one would promote the loop's exp), but
    # only there: a global -fsingle-precision-constant broke Brian2's 53-bit uniform (rand() == 1.0)
    loop = code[code.index("void _run_"):]
    assert not re.findall(r"(?<![\w.])\d+\.\d*(?:[eE][+-]?\d+)?(?![\w.])", loop), loop[:2000]
    assert "1.0f" in loop
    assert "single-precision-constant" not in (be.project_dir(exp) / "makefile").read_text()
