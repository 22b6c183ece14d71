"""The run recipe every backend shares, and what a backend returns.

A backend turns one :class:`~lamina.config.Experiment` into a :class:`RawRun` (plain arrays).
The recipe is the same everywhere and lives in :meth:`Backend.run`: split the seed, draw the
stimulus, get a network for the structure (built or reused), compute the run-time values, execute,
collect, check. Subclasses say only how a network is *prepared* and *executed* on their device.

Seeds: one experiment seed → a numpy Generator for values drawn in Python (per-neuron
parameters, packet times, OU traces) and a 32-bit seed for the device's generator (connectivity,
noise).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from brian2.units.fundamentalunits import DIMENSIONLESS, Quantity, get_dimensions, get_unit

from ..config import Experiment
from ..errors import SimulationError
from ..network import Built, run_values, structure_key
from ..stimulus import Stimulus, realise


def default_cache_dir() -> Path:
    """Where compiled programs are cached: ``$LAMINA_CACHE``, else ``~/.cache/lamina``."""
    return Path(os.environ.get("LAMINA_CACHE", Path.home() / ".cache" / "lamina"))


@dataclass
class RawRun:
    """What a backend returns: plain arrays, times in ms."""

    spikes: dict[str, tuple[np.ndarray, np.ndarray]]  # layer -> (times_ms float64, node_ids uint64)
    rates: dict[str, np.ndarray]  # layer -> population rate (Hz) per time step
    stimulus: Stimulus
    traces: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)  # layer -> var -> (neuron, t)
    info: dict[str, Any] = field(default_factory=dict)  # backend, structure_key, compiled, timings


def split_seed(seed: int) -> tuple[np.random.Generator, np.random.Generator, int]:
    """One run seed → independent streams for per-neuron parameters, the stimulus, and the
    device's generator (connectivity, noise).

    Separate streams keep the network the same when only the input changes (a no-stimulus
    baseline is the same network as the stimulated run).
    """
    params, stim, dev = np.random.SeedSequence(seed).spawn(3)
    return (np.random.default_rng(params), np.random.default_rng(stim),
            int(dev.generate_state(1, dtype=np.uint32)[0]))


def collect(exp: Experiment, built: Built, stim: Stimulus) -> RawRun:
    """Copy the monitors' arrays out of Brian2 (spikes sorted SONATA ``by_time``, ties by id)."""
    spikes = {}
    names = [l.name for l in exp.layers]
    for z, mon in built.spikes.items():
        # Copies: Brian2's monitor arrays are views into memory it frees with the network.
        t = np.array(mon.t_[:], dtype=np.float64) * 1e3
        i = np.array(mon.i[:], dtype=np.uint64)
        order = np.lexsort((i, t))
        spikes[names[z]] = (t[order], i[order])
    rates = {names[z]: np.array(mon.rate_[:], dtype=np.float64) for z, mon in built.rates.items()}
    traces = {names[z]: {v: np.array(getattr(mon, v + "_"), dtype=np.float64) for v in exp.record.trace_vars}
              for z, mon in built.traces.items()}
    return RawRun(spikes, rates, stim, traces)


def check_finite(exp: Experiment, built: Built) -> None:
    """A blown-up integration leaves NaN/inf in the state (and silently stops spiking)."""
    for z, g in built.groups.items():
        for var in ("v",) + tuple(v for v in ("w", "I_noise") if v in g.variables):
            values = np.asarray(g.variables[var].get_value())
            if not np.all(np.isfinite(values)):
                bad = int(np.count_nonzero(~np.isfinite(values)))
                raise SimulationError(f"layer {exp.layers[z].name}: {var} became non-finite in {bad} neurons "
                                      f"(numerical blow-up; try a smaller simulation.dt)")


def stimulus_quantity(exp: Experiment, current: np.ndarray) -> Quantity:
    """The stimulus current (SI numbers) as a Brian2 quantity in the input layer's current unit."""
    cu = exp.layer(exp.input.layers[0]).cell.card.current_unit
    return current * get_unit(get_dimensions(cu))


def with_dim(group: Any, var: str, arr: np.ndarray) -> np.ndarray | Quantity:
    """``arr`` (SI numbers) with the dimension of ``group.var``, as run_args want it."""
    dim = group.variables[var].dim
    return arr if dim is DIMENSIONLESS else Quantity(arr, dim=dim)


class Backend:
    """A device that simulates experiments. Subclasses implement :meth:`prepare` and
    :meth:`execute`; :meth:`run` is the one recipe all of them follow."""

    name: ClassVar[str] = ""

    def key(self, exp: Experiment) -> str:
        """The structure key of ``exp`` on this backend (what decides a recompile)."""
        return structure_key(exp, self.name)

    def prepare(self, exp: Experiment, device_seed: int) -> tuple[Built, dict[str, Any]]:
        """A network for ``exp``'s structure, built or reused, and build info
        (``compiled``: bool, ``build_s``: seconds)."""
        raise NotImplementedError

    def execute(self, exp: Experiment, built: Built, values: dict[tuple[int, str], np.ndarray],
                current: np.ndarray | None, device_seed: int, progress: bool) -> dict[str, float]:
        """Simulate with these run-time values; returns timings (``run_s`` and, where the device
        knows them, ``loop_s``: the simulation loop alone, ``binary_s``: the program)."""
        raise NotImplementedError

    def finish(self, built: Built) -> None:
        """Clean up after a run's results were collected (nothing by default)."""

    def run(self, exp: Experiment, progress: bool = False) -> RawRun:
        """Simulate ``exp``; ``progress`` lets the device print its progress reports."""
        param_rng, stim_rng, dev_seed = split_seed(exp.seed)
        stim = realise(exp, stim_rng)
        built, info = self.prepare(exp, dev_seed)
        values, current = run_values(exp, built, stim, param_rng)
        timing = self.execute(exp, built, values, current, dev_seed, progress)
        raw = collect(exp, built, stim)
        check_finite(exp, built)
        self.finish(built)
        raw.info = {"backend": self.name, "structure_key": self.key(exp), **info, **timing}
        raw.info.setdefault("loop_s", raw.info["run_s"])
        raw.info.setdefault("binary_s", raw.info["run_s"])
        return raw
