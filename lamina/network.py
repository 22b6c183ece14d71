"""Experiment → Brian2 objects (one NeuronGroup per layer, synapses, input, monitors).

Knows no device. Everything a sweep may vary is a model variable set at run time
(:func:`run_values`); everything else is *structure* and goes into :func:`structure_key`,
which decides when a compiled program can be reused.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import brian2 as b2
import numpy as np
from brian2.units.fundamentalunits import DIMENSIONLESS, get_dimensions, get_unit

from .config import Experiment, LayerSpec
from .quantities import param_values
from .stimulus import Stimulus

SYNAPSE_EQS = """
dx_e/dt = -x_e/tau_rise : 1
dy_e/dt = -y_e/tau_decay + x_e/tau_rise : 1
"""
SYNAPSE_INH_EQS = """
dx_i/dt = -x_i/tau_rise : 1
dy_i/dt = -y_i/tau_decay + x_i/tau_rise : 1
"""


def _unit_str(q: Any) -> str:
    dim = get_dimensions(q)
    return "1" if dim is DIMENSIONLESS else repr(get_unit(dim))


def _index(exp: Experiment) -> dict[str, int]:
    # Brian2 objects are named by layer position, not by the user's layer names or cell
    # variants: Het, Diff-only and Int-only chains of the same sizes then share one program.
    return {l.name: z for z, l in enumerate(exp.layers)}


@dataclass
class Built:
    network: b2.Network
    # All keyed by layer position: a compiled program is reused by experiments of the same
    # structure whose layers have other names.
    groups: dict[int, b2.NeuronGroup]
    spikes: dict[int, b2.SpikeMonitor] = field(default_factory=dict)
    rates: dict[int, b2.PopulationRateMonitor] = field(default_factory=dict)
    traces: dict[int, b2.StateMonitor] = field(default_factory=dict)
    stim_array: b2.TimedArray | None = None


def _receives_inhibition(exp: Experiment, layer: str) -> bool:
    return any(p.post == layer and p.kind == "inh" for p in exp.projections)


def layer_equations(exp: Experiment, layer: LayerSpec) -> str:
    card = layer.cell.card
    cu = _unit_str(card.current_unit)
    stim = layer.name in exp.input.layers
    lines = [card.equations.strip(), SYNAPSE_EQS.strip(),
             SYNAPSE_INH_EQS.strip() if _receives_inhibition(exp, layer.name) else "y_i = 0 : 1",
             f"I_syn = {card.synaptic_current} : {cu}"]
    if stim and exp.input.kind in ("ou", "step", "current_pulse"):
        lines += [f"I_ext = I_bias + stim_gain*I_stim(t) : {cu}", "stim_gain : 1 (constant)"]
    else:
        lines.append(f"I_ext = I_bias : {cu}")
    if stim and exp.input.kind == "pulse_packet":
        lines += ["kick_step : integer (constant)", "kick_v : volt (constant)"]
    lines += [f"{k} : {_unit_str(v)} (constant)" for k, v in card.parameters.items()]
    return "\n".join(lines)


def structure_key(exp: Experiment, backend: str) -> str:
    """Hash of everything that is compiled into the program (not the run-time values)."""
    from ._version import __version__

    index = _index(exp)
    parts = {
        "lamina": __version__, "brian2": b2.__version__, "backend": backend,
        "dt": float(exp.dt), "n_steps": exp.n_steps, "method": exp.method,
        "layers": [(l.size, l.name in exp.input.layers, layer_equations(exp, l), l.cell.card.threshold,
                    l.cell.card.reset, l.cell.card.refractory,
                    sorted((k, float(v)) for k, v in l.cell.card.initial.items())) for l in exp.layers],
        "projections": [(index[p.pre], index[p.post], p.kind, p.rule, p.value, float(p.delay)) for p in exp.projections],
        "input": exp.input.kind,
        "record": (exp.record.spikes, exp.record.trace_vars, exp.record.trace_neurons),
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def build(exp: Experiment) -> Built:
    """Create the Brian2 objects for ``exp`` (in the currently active device)."""
    clock = b2.Clock(exp.dt, name="lamina_clock")  # one clock: the standalone loop stays simple
    stim_array = None
    if exp.input.kind in ("ou", "step", "current_pulse"):
        cu = exp.layer(exp.input.layers[0]).cell.card.current_unit
        stim_array = b2.TimedArray(np.zeros(exp.n_steps) * get_unit(get_dimensions(cu)), dt=exp.dt, name="I_stim")
    groups: dict[int, b2.NeuronGroup] = {}
    index = _index(exp)
    for z, layer in enumerate(exp.layers):
        card = layer.cell.card
        g = b2.NeuronGroup(
            layer.size, layer_equations(exp, layer), threshold=card.threshold, reset=card.reset,
            refractory=card.refractory or False, method=exp.method,
            clock=clock, name=f"layer{z}", namespace={"I_stim": stim_array} if stim_array else {},
        )
        for var, value in card.initial.items():
            setattr(g, var, value)
        if layer.name in exp.input.layers and exp.input.kind == "pulse_packet":
            # The "voltage kick" of the pulse packet: one step, per-neuron time set at run time.
            g.run_regularly("v = v + kick_v*int(t_in_timesteps == kick_step)", when="start",
                            name=f"{g.name}_kick")
        groups[z] = g
    objects: list[Any] = list(groups.values())
    for proj in exp.projections:
        s = b2.Synapses(groups[index[proj.pre]], groups[index[proj.post]], on_pre=f"x_{proj.kind[0]}_post += 1",
                        delay=proj.delay if float(proj.delay) > 0 else None, clock=clock,
                        name=f"syn{index[proj.pre]}to{index[proj.post]}")
        if proj.rule == "p":
            s.connect(p=proj.value)
        else:
            s.connect(i=f"k for k in sample(N_pre, size={int(proj.value)})")
        objects.append(s)
    built = Built(b2.Network(), groups, stim_array=stim_array)
    for z, g in groups.items():
        if exp.record.spikes:
            built.spikes[z] = b2.SpikeMonitor(g, record=True, name=f"spikes{z}")
        built.rates[z] = b2.PopulationRateMonitor(g, name=f"rate{z}")
        if exp.record.trace_vars:
            built.traces[z] = b2.StateMonitor(g, list(exp.record.trace_vars),
                                                 record=range(exp.record.trace_neurons), clock=clock,
                                                 name=f"trace{z}")
    built.network.add(objects, *built.spikes.values(), *built.rates.values(), *built.traces.values())
    return built


def run_values(exp: Experiment, built: Built, stim: Stimulus,
               rng: np.random.Generator) -> tuple[dict[tuple[int, str], np.ndarray], np.ndarray | None]:
    """Per-neuron values of all run-time variables, and the stimulus TimedArray values (SI).

    Returned as {(layer position, variable): array}; backends turn them into run_args or assignments.
    Drawn in a fixed order from ``rng`` so the same seed gives the same values.
    """
    values: dict[tuple[str, str], np.ndarray] = {}
    for z, layer in enumerate(exp.layers):
        for k in layer.cell.card.parameters:
            values[(z, k)] = param_values(layer.cell.params[k], layer.size, rng,
                                                   f"{layer.name}.{k}")
        if layer.name in exp.input.layers:
            if exp.input.kind == "pulse_packet":
                values[(z, "kick_step")] = stim.kick_step[layer.name]
                values[(z, "kick_v")] = np.full(layer.size, float(exp.input.params["kick"]))
            elif exp.input.kind != "none":
                values[(z, "stim_gain")] = np.ones(layer.size)
    return values, stim.current
