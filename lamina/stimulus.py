"""Realise the input of an experiment as plain arrays (pure numpy, no Brian2).

The realised stimulus is both what the simulator injects (as run-time values, so a new
alpha/sigma/OU trace never recompiles) and what is stored under /stimulus in the result.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # a type only: config imports this module to validate pulse inputs
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
        # Two conventions (exactly one is given in the spec; config adds the equivalent peak as
        # `amplitude` when `jump` is given): `jump` = step of the rising variable (the authors'
        # code), `amplitude` = peak of the current.
        if "jump" in p:
            stim.current = biexp_jump_pulse(t - float(p["onset"]), float(p["jump"]),
                                            float(p["tau_rise"]), float(p["tau_decay"]))
            stim.attrs["jump_si"] = float(p["jump"])
        else:
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
    """Difference of exponentials starting at t = 0, scaled so that its peak equals amplitude.

    The `amplitude` convention of input kind ``current_pulse``; :func:`biexp_jump_pulse` is the
    same shape scaled by the jump of the rising variable instead (``amplitude = jump *
    jump_peak_factor(tau_rise, tau_decay)`` gives the identical trace).
    """
    if np.isclose(tau_rise, tau_decay):
        shape = np.where(t >= 0, t / tau_decay * np.exp(1 - t / tau_decay), 0.0)
        return amplitude * shape
    tp = tau_rise * tau_decay / (tau_decay - tau_rise) * np.log(tau_decay / tau_rise)
    peak = np.exp(-tp / tau_decay) - np.exp(-tp / tau_rise)
    tt = np.maximum(t, 0.0)
    return np.where(t >= 0, amplitude * (np.exp(-tt / tau_decay) - np.exp(-tt / tau_rise)) / peak, 0.0)


def biexp_jump_pulse(t: np.ndarray, jump: float, tau_rise: float, tau_decay: float) -> np.ndarray:
    """Current of the two-variable linear system whose rising variable jumps by ``jump`` at t = 0.

    The authors' input (FrostHan/HetFFN; paper-spec §4, fig2)::

        dI/dt = -I/tau_decay + y/tau_rise,    dy/dt = -y/tau_rise,    y(0+) = jump, I(0) = 0

    With ``y(t) = jump * exp(-t/tau_rise)`` the solution with ``I(0) = 0`` is::

        I(t) = jump * tau_decay / (tau_decay - tau_rise) * (exp(-t/tau_decay) - exp(-t/tau_rise))

    (insert ``I = A (exp(-t/tau_decay) - exp(-t/tau_rise))``: the exp(-t/tau_decay) terms cancel
    and the exp(-t/tau_rise) terms give ``A (1/tau_rise - 1/tau_decay) = jump/tau_rise``), and
    ``I = jump * (t/tau) * exp(-t/tau)`` in the limit ``tau_rise = tau_decay = tau``. The peak is
    ``jump * jump_peak_factor(tau_rise, tau_decay)``: 26.87 for a jump of 45 with rise 15 ms and
    decay 50 ms, at 25.8 ms after onset. Zero for t < 0.
    """
    tt = np.maximum(np.asarray(t, dtype=float), 0.0)
    if np.isclose(tau_rise, tau_decay):
        tau = 0.5 * (tau_rise + tau_decay)
        shape = tt / tau * np.exp(-tt / tau)
    else:
        shape = tau_decay / (tau_decay - tau_rise) * (np.exp(-tt / tau_decay) - np.exp(-tt / tau_rise))
    return np.where(np.asarray(t) >= 0, jump * shape, 0.0)


def jump_peak_time(tau_rise: float, tau_decay: float) -> float:
    """Time after onset of the peak of :func:`biexp_jump_pulse` (and :func:`biexp_pulse`):
    ``tau_rise * tau_decay / (tau_decay - tau_rise) * ln(tau_decay / tau_rise)`` (``tau`` if equal)."""
    if np.isclose(tau_rise, tau_decay):
        return float(0.5 * (tau_rise + tau_decay))
    return float(tau_rise * tau_decay / (tau_decay - tau_rise) * np.log(tau_decay / tau_rise))


def jump_peak_factor(tau_rise: float, tau_decay: float) -> float:
    """Peak current per unit jump of the rising variable (see :func:`biexp_jump_pulse`):
    ``tau_decay/(tau_decay - tau_rise) * (exp(-tp/tau_decay) - exp(-tp/tau_rise))`` at the peak time
    ``tp`` (``1/e`` if the time constants are equal). 0.597 for rise 15 ms, decay 50 ms."""
    tp = jump_peak_time(tau_rise, tau_decay)
    return float(biexp_jump_pulse(np.array([tp]), 1.0, tau_rise, tau_decay)[0])
