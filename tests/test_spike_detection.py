"""simulation.spike_detection: lamina's rule (refractory while v > v_th and for t_ref after the
crossing: one action potential is one spike) vs the authors' (Han et al.'s code: ``threshold =
v > -10 mV, refractory = 3.3 ms`` alone). Validation, the structure key, and what each rule counts
on one neuron (runtime backend, no compiler)."""
from __future__ import annotations

import numpy as np
import pytest

from lamina.config import experiment_from_dict, load_experiment
from lamina.errors import ConfigError
from lamina.network import spike_rule, structure_key
from lamina.resources import sims_dir


def _one_neuron(rule: str | None, t_ref: str, amplitude: float = 300.0) -> dict:
    sim = {"duration": "60 ms", "dt": "0.01 ms", "backend": "runtime", "seed": 1}
    if rule is not None:
        sim["spike_detection"] = rule
    return {"name": "sd", "simulation": sim,
            "network": {"layers": [{"cell": "prescott.diff", "name": "A", "size": 1}], "connection": {"rule": "none"}},
            "cells": {"all": {"sigma_noise": "0 uA/cm**2", "t_ref": t_ref}},
            "input": {"kind": "step", "layers": ["A"], "onset": "10 ms", "amplitude": f"{amplitude:g} uA/cm**2"},
            "record": {"spikes": "all", "rate_bin": "1 ms", "traces": {"vars": ["v"], "neurons": 1}}}


def test_bad_value_is_one_line_naming_the_field():
    with pytest.raises(ConfigError) as e:
        experiment_from_dict(_one_neuron("brian", "3.3 ms"))
    msg = str(e.value)
    assert "simulation.spike_detection" in msg and "'brian'" in msg and "lamina, authors" in msg
    assert "\n" not in msg
    with pytest.raises(ConfigError):
        experiment_from_dict(_one_neuron(3, "3.3 ms"))


def test_default_is_lamina_and_stays_out_of_the_resolved_spec():
    exp = experiment_from_dict(_one_neuron(None, "3.3 ms"))
    assert "spike_detection" not in exp.spec["simulation"]  # cached runs of older specs stay valid
    card = exp.layers[0].cell.card
    assert spike_rule(exp, card) == (card.threshold, card.refractory) == ("v > v_th", "v > v_th or (t - lastspike) < t_ref")
    authors = experiment_from_dict(_one_neuron("authors", "3.3 ms"))
    assert spike_rule(authors, card) == ("v > v_th", "t_ref")


def test_rule_is_part_of_the_structure_key():
    base = load_experiment(sims_dir() / "fig3.toml")
    lam = load_experiment(sims_dir() / "fig3.toml", {"simulation.spike_detection": "lamina"})
    auth = load_experiment(sims_dir() / "fig3.toml", {"simulation.spike_detection": "authors"})
    assert structure_key(base, "cpp") == structure_key(lam, "cpp")  # explicit default: the same program
    assert structure_key(auth, "cpp") != structure_key(base, "cpp")


def test_cards_without_t_ref_are_refused_for_the_authors_rule(tmp_path, monkeypatch):
    card = (sims_dir().parent / "models" / "lif.toml").read_text()
    assert "t_ref" in card  # the shipped cards all have it; a card without one is refused
    text = card.replace('refractory = "t_ref"', 'refractory = "2 ms"')
    text = "\n".join(line for line in text.splitlines() if not line.startswith("t_ref"))
    text = text.replace('name = "lif"', 'name = "noref"')
    (tmp_path / "noref.toml").write_text(text)
    monkeypatch.setenv("LAMINA_MODEL_PATH", str(tmp_path))
    spec = {"name": "x", "simulation": {"duration": "10 ms", "backend": "runtime", "spike_detection": "authors"},
            "network": {"layers": [{"cell": "noref.quiet", "name": "A", "size": 1}], "connection": {"rule": "none"}}}
    with pytest.raises(ConfigError, match="simulation.spike_detection"):
        experiment_from_dict(spec)
    spec["simulation"]["spike_detection"] = "lamina"
    experiment_from_dict(spec)


def _crossings(v_mV: np.ndarray) -> int:
    """Upward crossings of -10 mV: the number of action potentials."""
    above = v_mV > -10.0
    return int(np.count_nonzero(above[1:] & ~above[:-1]))


def _spikes_and_aps(rule: str, t_ref: str) -> tuple[np.ndarray, int]:
    from lamina.simulation import simulate

    r = simulate(experiment_from_dict(_one_neuron(rule, t_ref)))
    return np.asarray(r.spikes["A"][0]), _crossings(np.asarray(r.traces["A"]["v"][0]) * 1e3)


def test_what_each_rule_counts():
    """Repetitive firing under a strong step (300 µA/cm², APs ~1 ms above -10 mV, ISI ~4.4 ms).
    With t_ref = 3.3 ms both rules count one spike per AP. With t_ref = 0.2 ms, shorter than the
    time an AP spends above -10 mV, lamina still counts one spike per AP; the authors' rule counts
    every AP several times (a new spike each time the 0.2 ms run out while v is still above)."""
    lam, aps = _spikes_and_aps("lamina", "3.3 ms")
    auth, aps2 = _spikes_and_aps("authors", "3.3 ms")
    assert aps == aps2 and aps >= 10
    assert len(lam) == len(auth) == aps
    assert np.array_equal(lam, auth)

    lam, aps = _spikes_and_aps("lamina", "0.2 ms")
    auth, _ = _spikes_and_aps("authors", "0.2 ms")
    assert len(lam) == aps
    assert len(auth) >= 3 * aps
    # the authors' extra spikes are t_ref (0.2 ms, to the step) apart, inside one AP
    assert np.min(np.diff(auth)) == pytest.approx(0.2, abs=0.011)
