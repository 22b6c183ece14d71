"""A layer's own ``connection`` (``network.layers[z].connection``): the feedforward projection
from layer z-1 into layer z with its own p or in-degree (the authors' fig3 runs with p = 40/N from
the input layer only). Config checks are milliseconds; the in-degree tests build (not run) small
networks on Brian2's runtime device (numpy, no compiler)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from conftest import built_network, chain_spec, one_line
from lamina import resources
from lamina.config import ConfigError, experiment_from_dict, load_experiment, parse_set
from lamina.network import projection_pairs, structure_key

INPUT, INT, DIFF = "prescott.input", "prescott.int", "prescott.diff"


def _layers(conn1=None, conn2=None, first=None):
    def entry(cell, conn):
        return cell if conn is None else {"cell": cell, "connection": conn}
    return [entry(INPUT, first), entry(INT, conn1), entry(DIFF, conn2)]


def _exp(layers, **changes):
    return experiment_from_dict(chain_spec({"network.layers": layers, **changes}))


# ---------------------------------------------------------------------------------------------
# Config: what is accepted, what it resolves to


def test_layer_p_overrides_only_the_projection_into_that_layer():
    exp = _exp(_layers({"p": "40/size"}))  # 200 neurons per layer
    assert [(p.pre, p.post, p.rule) for p in exp.projections] == [("L0_input", "L1_int", "p"), ("L1_int", "L2_diff", "p")]
    assert exp.projections[0].value == pytest.approx(40 / 200)
    assert exp.projections[1].value == pytest.approx(9 / 200)  # network.connection's 9/size


def test_size_in_a_layer_p_is_the_source_layer_size():
    layers = [{"cell": INPUT, "size": 100}, {"cell": INT, "size": 400, "connection": {"p": "40/size"}}, DIFF]
    exp = _exp(layers)
    assert exp.projections[0].value == pytest.approx(40 / 100)  # source (input) layer: 100, not 400
    # as in network.connection: "9/size" into layer 2 counts layer 1's 400 neurons
    assert exp.projections[1].value == pytest.approx(9 / 400)


def test_layer_in_degree_and_number_and_delay():
    exp = _exp(_layers({"in_degree": 40}, {"p": 0.02}),
               **{"network.connection": {"rule": "feedforward", "in_degree": 7, "delay": "1 ms"}})
    (a, b) = exp.projections
    assert (a.rule, a.value, b.rule, b.value) == ("in_degree", 40.0, "p", 0.02)
    # the delay stays network.connection's
    assert float(a.delay) == float(b.delay) == pytest.approx(1e-3)


def test_resolved_spec_keeps_the_layer_table_and_reloads_the_same():
    exp = _exp(_layers({"p": "40/size"}))
    assert exp.spec["network"]["layers"][1] == {"cell": INT, "connection": {"p": "40/size"}}
    again = experiment_from_dict(exp.spec)
    assert again.projections == exp.projections


def test_set_on_the_command_line():
    path = resources.spec_path("quickstart")
    exp = load_experiment(path, dict([parse_set(
        'network.layers=["prescott.input", {cell="prescott.int", connection={p="40/size"}}, "prescott.diff"]')]))
    size = exp.layers[0].size
    assert exp.projections[0].value == pytest.approx(40 / size)
    assert exp.projections[1].value == pytest.approx(9 / size)


@pytest.mark.parametrize("layers,changes,field", [
    (_layers(first={"p": "40/size"}), {}, "network.layers[0].connection"),
    (_layers({"p": "40/sz"}), {}, "network.layers[1].connection.p"),
    (_layers({"p": 1.5}), {}, "network.layers[1].connection.p"),
    (_layers({"p": "-1/size"}), {}, "network.layers[1].connection.p"),
    (_layers({"p": "nan"}), {}, "network.layers[1].connection.p"),
    (_layers({"p": True}), {}, "network.layers[1].connection.p"),
    (_layers(None, {"in_degree": 201}), {}, "network.layers[2].connection.in_degree"),
    (_layers({"in_degree": -1}), {}, "network.layers[1].connection.in_degree"),
    (_layers({"in_degree": 2.5}), {}, "network.layers[1].connection.in_degree"),
    (_layers({"p": 0.1, "in_degree": 4}), {}, "network.layers[1].connection"),
    (_layers({}), {}, "network.layers[1].connection"),
    (_layers("40/size"), {}, "network.layers[1].connection"),
    (_layers({"rule": "feedforward", "p": 0.1}), {}, "network.layers[1].connection.rule"),
    (_layers({"delay": "1 ms"}), {}, "network.layers[1].connection.delay"),
    (_layers({"p": "40/size"}), {"network.connection": {"rule": "none"}}, "network.layers[1].connection"),
    # with feedforward inhibition the path E(z-1) -> I(z) -> E(z) would keep the inhibition's p
    (_layers(None, {"in_degree": 40}), {"network.inhibition": {"cell": "prescott.inh", "size": 50, "p": 0.05}},
     "network.layers[2].connection"),
])
def test_rejected(layers, changes, field):
    with pytest.raises(ConfigError) as e:
        _exp(layers, **changes)
    assert e.value.field == field
    one_line(e, field)


# ---------------------------------------------------------------------------------------------
# Structure key: a different p is a different program; the same projections the same one


def test_structure_key_follows_the_projections():
    plain = _exp(_layers())
    same = _exp(_layers({"p": "9/size"}))  # the same projection as network.connection gives
    p40, p20 = _exp(_layers({"p": "40/size"})), _exp(_layers({"p": "20/size"}))
    into2 = _exp(_layers(None, {"p": "40/size"}))
    keys = {name: structure_key(e, "cpp") for name, e in
            [("plain", plain), ("same", same), ("p40", p40), ("p20", p20), ("into2", into2)]}
    assert keys["plain"] == keys["same"]
    assert len({keys["plain"], keys["p40"], keys["p20"], keys["into2"]}) == 4
    assert structure_key(_exp(_layers({"p": "40/size"})), "cpp") == keys["p40"]  # reproducible


# ---------------------------------------------------------------------------------------------
# Built networks: the in-degree of each projection


def _built(spec_changes):
    return built_network(spec_changes, seed=7)


def test_mean_in_degree_per_projection():
    n = 400
    exp, built = _built({"network.size": n, "network.layers": _layers({"p": "40/size"}), "input.alpha": 10})
    assert [p.value for p in exp.projections] == [pytest.approx(40 / n), pytest.approx(9 / n)]
    # both projections share one Synapses object (one card, one group), each pre layer its own p
    assert len(built.synapses) == 1
    for k, k_mean in enumerate((40, 9)):
        i, j = projection_pairs(built, exp, k)
        indeg = np.bincount(j, minlength=n)
        assert indeg.size == n
        p = k_mean / n
        # each neuron's in-degree ~ Binomial(n, p), SD sqrt(n p (1-p)); the mean over the layer's n
        # neurons has SD sqrt(n p (1-p)) / sqrt(n) (0.30 for 40/400, 0.148 for 9/400); 5 SD either side.
        sd_mean = math.sqrt(n * p * (1 - p)) / math.sqrt(n)
        assert abs(indeg.mean() - k_mean) < 5 * sd_mean, (k, indeg.mean(), sd_mean)
        var = n * p * (1 - p)
        # the sample variance of n binomials has SD ≈ var * sqrt(2 / (n - 1)) (normal approximation)
        assert abs(indeg.var(ddof=1) - var) < 5 * var * math.sqrt(2 / (n - 1)), (k, indeg.var(ddof=1), var)
    # synapses only inside the projections (z -> z+1)
    n_syn = sum(len(s.i[:]) for s, _, _ in built.synapses)
    assert n_syn == sum(len(projection_pairs(built, exp, k)[0]) for k in range(len(exp.projections)))


def test_layer_in_degree_is_exact_next_to_p():
    n = 400
    exp, built = _built({"network.size": n, "network.layers": _layers({"in_degree": 40}), "input.alpha": 10})
    i, j = projection_pairs(built, exp, 0)
    assert np.all(np.bincount(j, minlength=n) == 40)
    assert len(set(zip(i.tolist(), j.tolist()))) == len(i)  # no pre twice for one post
    _, j2 = projection_pairs(built, exp, 1)
    p = 9 / n
    assert abs(np.bincount(j2, minlength=n).mean() - 9) < 5 * math.sqrt(p * (1 - p))


# ---------------------------------------------------------------------------------------------
# The shipped spec: sims/fig3_extra.toml


@pytest.mark.parametrize("scale,size,alphas", [(None, 1000, {500, 60, 0}), ("small", 200, {100, 12, 0})])
def test_fig3_extra_spec(scale, size, alphas):
    from lamina.sweep.expand import expand_sweep

    exp = load_experiment(resources.spec_path("fig3_extra"), scale=scale)
    points = expand_sweep(exp)
    assert len(points) == 5 * (10 if scale is None else 3)
    conds = set()
    for p in points:
        e = p.experiment
        assert [l.size for l in e.layers] == [size] * 7
        assert [round(x.value * size, 9) for x in e.projections] == [40, 9, 9, 9, 9, 9]  # mean in-degrees
        body = {l.cell.variant for l in e.layers[1:]}
        assert len(body) == 1
        conds.add((body.pop(), float(e.input.params["sigma"]) * 1e3, e.input.params["alpha"]))
    assert {a for _, _, a in conds} == alphas
    stim = {(v, s) for v, s, a in conds if a > 0}
    assert stim == {("diff", 15.0), ("int", 15.0), ("int", 1.0)}
    assert {v for v, _, a in conds if a == 0} == {"diff", "int"}  # each network's no-stimulus run
    # one structure: Diff-only and Int-only differ only in run-time values
    assert len({structure_key(p.experiment, "cpp") for p in points}) == 1
