"""Realise the input of an experiment as plain arrays (pure numpy, no Brian2).

The realised stimulus is both what the simulator injects (as run-time values, so a new
alpha/sigma/OU trace never recompiles) and what is stored under /stimulus in the result.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .config import Experiment

NO_KICK = -1  # kick_step of neurons outside the packet


@dataclass
class Stimulus:
    kind: str
    # pulse packet: per target layer, neuron ids, intended times (ms) and the per-neuron step index
    packet_ids: dict[str, np.ndarray] = field(default_factory=dict)
    packet_times_ms: dict[str, np.ndarray] = field(default_factory=dict)
    kick_step: dict[str, np.ndarray] = field(default_factory=dict)
    # current kinds: one trace common to all target neurons, in the card's SI current unit
    current: np.ndarray | None = None
    current_dt_ms: float = 0.0
    attrs: dict = field(default_factory=dict)


def realise(exp: Experiment, rng: np.random.Generator) -> Stimulus:
    inp, p = exp.input, exp.input.params
    dt = float(exp.dt)
    n = exp.n_steps
    stim = Stimulus(inp.kind, attrs={"kind": inp.kind, "layers": list(inp.layers)})
    if inp.kind == "pulse_packet":
        alpha, sigma, t0 = p["alpha"], float(p["sigma"]), float(p["t0"])
        for name in inp.layers:
            size = exp.layer(name).size
            ids = np.sort(rng.choice(size, size=alpha, replace=False)).astype(np.uint64)
            times = rng.normal(t0, sigma, size=alpha)
            steps = np.round(times / dt).astype(np.int64)
            kick = np.full(size, NO_KICK, dtype=np.int32)
            inside = (steps >= 0) & (steps < n)  # kicks outside the run never happen
            kick[ids[inside].astype(np.int64)] = steps[inside]
            stim.packet_ids[name], stim.packet_times_ms[name] = ids, times * 1e3
            stim.kick_step[name] = kick
        stim.attrs.update(alpha=alpha, sigma_ms=sigma * 1e3, t0_ms=t0 * 1e3, kick_mV=float(p["kick"]) * 1e3)
        return stim
    if inp.kind == "none":
        return stim
    t = np.arange(n) * dt
    if inp.kind == "ou":
        stim.current = ou_trace(n, dt, float(p["tau"]), float(p["mean"]), float(p["sigma"]), rng)
        stim.current[t < float(p["start"])] = 0.0
        stim.attrs.update(tau_ms=float(p["tau"]) * 1e3, start_ms=float(p["start"]) * 1e3)
    elif inp.kind == "step":
        off = float(p.get("offset", exp.duration))
        stim.current = np.where((t >= float(p["onset"])) & (t < off), float(p["amplitude"]), 0.0)
    elif inp.kind == "current_pulse":
        stim.current = biexp_pulse(t - float(p["onset"]), float(p["amplitude"]),
                                   float(p["tau_rise"]), float(p["tau_decay"]))
    stim.current_dt_ms = dt * 1e3
    cu = exp.layer(inp.layers[0]).cell.card.current_unit
    stim.attrs["current_unit"] = str(cu)
    stim.attrs["si_per_unit"] = float(cu)
    return stim


def ou_trace(n: int, dt: float, tau: float, mean: float, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Exact discretisation of dI/dt = (mean - I)/tau + sigma*xi/sqrt(tau) (stationary SD sigma/√2),
    started from its stationary distribution."""
    a = np.exp(-dt / tau)
    sd = sigma / np.sqrt(2.0)
    noise = rng.standard_normal(n) * sd * np.sqrt(1.0 - a * a)
    x = np.empty(n)
    x[0] = rng.standard_normal() * sd
    # First-order linear recursion; scipy's lfilter does it in C.
    from scipy.signal import lfilter

    x[1:] = lfilter([1.0], [1.0, -a], noise[1:], zi=[a * x[0]])[0]
    return x + mean


def biexp_pulse(t: np.ndarray, amplitude: float, tau_rise: float, tau_decay: float) -> np.ndarray:
    """Difference of exponentials starting at t = 0, scaled so that its peak equals amplitude."""
    if np.isclose(tau_rise, tau_decay):
        shape = np.where(t >= 0, t / tau_decay * np.exp(1 - t / tau_decay), 0.0)
        return amplitude * shape
    tp = tau_rise * tau_decay / (tau_decay - tau_rise) * np.log(tau_decay / tau_rise)
    peak = np.exp(-tp / tau_decay) - np.exp(-tp / tau_rise)
    tt = np.maximum(t, 0.0)
    return np.where(t >= 0, amplitude * (np.exp(-tt / tau_decay) - np.exp(-tt / tau_rise)) / peak, 0.0)
