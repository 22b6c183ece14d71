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
from typing import Any, ClassVar, Sequence

import numpy as np
from brian2.units.fundamentalunits import DIMENSIONLESS, Quantity, get_dimensions, get_unit

from ..config import Experiment
from ..errors import SimulationError
from ..network import Built, Layout, Shared, program_signature, run_values, shared_parameters, structure_key
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
    device's generator (connectivity; the noise too with ``simulation.noise = "brian2"``).

    Separate streams keep the network the same when only the input changes (a no-stimulus
    baseline is the same network as the stimulated run).
    """
    params, stim, dev = np.random.SeedSequence(seed).spawn(3)
    return (np.random.default_rng(params), np.random.default_rng(stim),
            int(dev.generate_state(1, dtype=np.uint32)[0]))


def batch_device_seed(device_seeds: Sequence[int]) -> int:
    """The device seed of a batch: a replica's own device seed for a batch of one (so an unbatched
    run is a batch of one, bit for bit), else one derived from all the replicas' seeds in order."""
    if len(device_seeds) == 1:
        return int(device_seeds[0])
    return int(np.random.SeedSequence([int(s) for s in device_seeds]).generate_state(1, dtype=np.uint32)[0])


@dataclass
class Results:
    """The arrays a run leaves behind, as plain numpy arrays: read from Brian2's objects
    (:func:`brian_results`) or, on a program run from its manifest, from the program's files
    (``standalone.CachedProgram``). Either way :func:`split_results` and :func:`check_state`
    turn them into the same :class:`RawRun` objects."""

    spikes: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)  # group -> (t in s, neuron)
    rates: dict[tuple[int, int], np.ndarray] = field(default_factory=dict)  # (layer, replica) -> Hz per step
    traces: dict[int, dict[str, np.ndarray]] = field(default_factory=dict)  # group -> var -> (recorded, time)
    state: dict[int, dict[str, np.ndarray]] = field(default_factory=dict)  # group -> var -> values (blow-ups)


#: the state variables checked for non-finite values after a run ("v" always, the others where present)
CHECKED_STATE = ("v", "w", "I_noise")


def brian_results(exps: Sequence[Experiment], built: Built) -> Results:
    """Copy the monitors' arrays and the checked state out of Brian2's objects (copies: Brian2's
    monitor arrays are views into memory it frees with the network)."""
    out = Results()
    for g, mon in built.spikes.items():
        out.spikes[g] = (np.array(mon.t_[:], dtype=np.float64), np.array(mon.i[:], dtype=np.int64))
    for zr, mon in built.rates.items():
        out.rates[zr] = np.array(mon.rate_[:], dtype=np.float64)
    for g, mon in built.traces.items():
        out.traces[g] = {v: np.array(getattr(mon, v + "_"), dtype=np.float64) for v in exps[0].record.trace_vars}
    for g, grp in built.groups.items():
        out.state[g] = {var: np.asarray(grp.variables[var].get_value()) for var in CHECKED_STATE
                        if var == "v" or var in grp.variables}
    return out


def split_results(exps: Sequence[Experiment], layout: Layout, res: Results,
                  stims: Sequence[Stimulus]) -> list[RawRun]:
    """Split a batch's arrays into one :class:`RawRun` per replica: spikes per layer sorted
    SONATA ``by_time`` (ties by node id, as on every device), node ids within the layer,
    population rates per time step counted from the spikes."""
    exp0 = exps[0]
    dt = float(exp0.dt)
    n_steps = exp0.n_steps
    B = layout.batch
    raws = [RawRun({}, {}, stim) for stim in stims]
    for g, (t, i) in res.spikes.items():
        t = np.asarray(t, dtype=np.float64)
        i = np.asarray(i, dtype=np.int64)
        own = layout.owner(g)[i]
        order = np.lexsort((i, t, own))
        t, i, own = t[order], i[order], own[order]
        cuts = np.searchsorted(own, np.arange(len(exp0.layers) * B + 1))
        for z in layout.layers_of(g):
            for r in range(B):
                a, b = cuts[z * B + r], cuts[z * B + r + 1]
                s = layout.slot(z, r)
                name = exps[r].layers[z].name
                tz = t[a:b]
                raws[r].spikes[name] = (tz * 1e3, (i[a:b] - s.start).astype(np.uint64))
                steps = np.rint(tz / dt).astype(np.int64)
                raws[r].rates[name] = np.bincount(steps, minlength=n_steps)[:n_steps] / (s.size * dt)
    for (z, r), rate in res.rates.items():
        raws[r].rates[exps[r].layers[z].name] = np.asarray(rate, dtype=np.float64)
    n_tr = exp0.record.trace_neurons
    for g, per_var in res.traces.items():
        for v in exp0.record.trace_vars:
            data = np.asarray(per_var[v], dtype=np.float64)  # (recorded neuron, time)
            for k, z in enumerate(layout.layers_of(g)):
                for r in range(B):
                    row = (k * B + r) * n_tr
                    raws[r].traces.setdefault(exps[r].layers[z].name, {})[v] = data[row:row + n_tr]
    return raws


def check_state(exps: Sequence[Experiment], layout: Layout, state: dict[int, dict[str, np.ndarray]]) -> None:
    """A blown-up integration leaves NaN/inf in the state (and silently stops spiking): raise.

    Parameters
    ----------
    exps : sequence of Experiment
        The batch's experiments (replica order).
    layout : Layout
        The batch's layout.
    state : dict
        Per group, the checked state variables after the run (:data:`CHECKED_STATE`).

    Raises
    ------
    SimulationError
        One line: which layer and variable, and the likely cause read from the spec — a cell
        parameter far outside the values its card uses (g_syn, C, phi, ...), a large packet kick,
        a large ``simulation.dt`` — or, when nothing is unusual, a smaller dt. It never suggests a
        plain retry: the same spec and seed blow up the same way every time.
    """
    def magnitude(v) -> float:
        args = getattr(v, "args", None)  # a per-neuron distribution: its largest value
        vals = [abs(float(np.asarray(a))) for a in args] if args is not None else [abs(float(np.asarray(v)))]
        return max(vals) if vals else 0.0

    def shown(x: float, like) -> str:
        """x (SI) in the unit the card writes ``like`` in (Brian prints derived units in SI)."""
        text = str(like).split(" ", 1)
        try:
            num = float(text[0])
        except ValueError:
            num = 0.0
        if len(text) == 2 and num != 0.0:
            return f"{x / (float(np.asarray(like)) / num):.3g} {text[1]}"
        return f"{x:.3g}" + (f" ({text[1]}, SI)" if len(text) == 2 else "")

    def unusual(exp: Experiment) -> list[str]:
        """What in this experiment lies far outside the values the shipped cards and specs use."""
        found: dict[str, list[str]] = {}  # "C = 0.01 uF/(cm^2) (200× below ...)" -> layers
        for layer in exp.layers:
            card = layer.cell.card
            for k, v in layer.cell.params.items():
                refs = [card.parameters[k]] + [var[k] for var in card.variants.values() if k in var]
                nonzero = [(m, r) for m, r in ((magnitude(r), r) for r in refs) if m > 0]
                if not nonzero:
                    continue
                x = magnitude(v)
                big, like_big = max(nonzero, key=lambda t: t[0])
                small, like_small = min(nonzero, key=lambda t: t[0])
                if x > 5 * big:
                    why = f"{k} = {shown(x, like_big)} ({x / big:.0f}× the card's largest, {shown(big, like_big)})"
                elif 0 < x < small / 5 and len(nonzero) == len(refs):  # a parameter the card never sets to 0
                    why = f"{k} = {shown(x, like_small)} ({small / x:.0f}× below the card's smallest, " \
                          f"{shown(small, like_small)})"
                else:
                    continue
                found.setdefault(why, []).append(layer.name)
        out = [f"{why} in {', '.join(names)}" for why, names in found.items()]
        kick = exp.input.params.get("kick") if exp.input.kind == "pulse_packet" else None
        if kick is not None and abs(float(np.asarray(kick))) > 0.15:  # 150 mV; the shipped specs kick 70 mV
            out.append(f"input.kick = {float(np.asarray(kick)) * 1e3:g} mV (the shipped specs use 70 mV)")
        dt_ms = float(exp.dt) * 1e3
        if dt_ms > 0.05:
            out.append(f"simulation.dt = {dt_ms:g} ms (the shipped specs use 0.01 ms)")
        return out

    for g, per_var in state.items():
        for var, values in per_var.items():
            bad = ~np.isfinite(values)
            if np.any(bad):
                first = int(layout.owner(g)[np.flatnonzero(bad)[0]])
                z, r = divmod(first, layout.batch)
                exp = exps[r]
                where = f"layer {exp.layers[z].name}" + (f" of replica {r}" if layout.batch > 1 else "")
                causes = unusual(exp)
                if causes:
                    hint = (f"likely cause, unusual in the spec: {'; '.join(causes[:3])} — change "
                            f"{'it' if len(causes) == 1 else 'them'} (the same spec and seed blow up on every run)")
                else:
                    hint = (f"nothing in the spec is far from the cards' values: try a smaller simulation.dt "
                            f"(now {float(exp.dt) * 1e3:g} ms)" + ("" if exp.method == "heun" else
                                                                   ' or method = "heun"'))
                raise SimulationError(f"{where}: {var} became non-finite in {int(bad.sum())} neurons "
                                      f"(numerical blow-up); {hint}")


def stimulus_quantity(exp: Experiment, current: np.ndarray) -> Quantity:
    """The stimulus current (SI numbers) as a Brian2 quantity in the input layer's current unit."""
    cu = exp.layer(exp.input.layers[0]).cell.card.current_unit
    return current * get_unit(get_dimensions(cu))


def with_dim(group: Any, var: str, arr: np.ndarray) -> np.ndarray | Quantity:
    """``arr`` (SI numbers) with the dimension of ``group.var``, as run_args want it."""
    dim = group.variables[var].dim
    return arr if dim is DIMENSIONLESS else Quantity(arr, dim=dim)


class Backend:
    """A device that simulates batches of experiments of one structure. Subclasses implement
    :meth:`prepare` and :meth:`execute`; :meth:`run_batch` is the one recipe all of them follow,
    and :meth:`run` is a batch of one."""

    name: ClassVar[str] = ""

    def key_extra(self) -> tuple:
        """What this backend adds to the structure key (device, precision, GPU ...)."""
        return ()

    def key(self, exp: Experiment) -> str:
        """The structure key of ``exp`` on this backend: the identity of the compiled *model*
        (the same for a run made alone or in a batch)."""
        return structure_key(exp, self.name, 1, (exp.precision, *self.key_extra()))

    def program_key(self, exp: Experiment, batch: int = 1, shared: Shared | None = None) -> str:
        """The key of the program for ``batch`` replicas of ``exp`` with ``shared`` parameters
        (default: those of ``exp`` alone): what decides a recompile."""
        shared = shared_parameters([exp] * batch) if shared is None else shared
        return structure_key(exp, self.name, batch, (exp.precision, *self.key_extra(), program_signature(exp, shared)))

    def prepare(self, exp: Experiment, batch: int, device_seed: int,
                shared: Shared | None = None) -> tuple[Built, dict[str, Any]]:
        """A network of ``batch`` replicas of ``exp``'s structure with ``shared`` parameters,
        built or reused, and build info (``compiled``: bool, ``build_s``: seconds)."""
        raise NotImplementedError

    def execute(self, exp: Experiment, built: Built, values: dict[tuple[int, str], np.ndarray],
                current: np.ndarray | None, device_seed: int, progress: bool) -> dict[str, float]:
        """Simulate with these run-time values; returns timings (``run_s`` and, where the device
        knows them, ``loop_s``: the simulation loop alone, ``binary_s``: the program)."""
        raise NotImplementedError

    def results(self, exps: Sequence[Experiment], built: Built) -> Results:
        """The arrays the run left (monitors and checked state); from Brian2's objects by default."""
        return brian_results(exps, built)

    def finish(self, built: Built) -> None:
        """Clean up after a run's results were collected (nothing by default)."""

    def run(self, exp: Experiment, progress: bool = False) -> RawRun:
        """Simulate ``exp`` alone (a batch of one)."""
        return self.run_batch([exp], progress)[0]

    def run_batch(self, exps: Sequence[Experiment], progress: bool = False) -> list[RawRun]:
        """Simulate experiments of one structure together, as disconnected replicas of one network.

        Replica ``r`` draws its per-neuron parameters, its stimulus and (default
        ``simulation.noise = "counter"``) its noise from its own seed (``exps[r].seed``);
        connectivity, and the noise with ``noise = "brian2"``, come from the device generator,
        seeded by :func:`batch_device_seed` of all replicas' seeds — for a batch of one, the run's own.
        """
        if not exps:
            return []
        keys = {self.key(e) for e in exps}
        if len(keys) != 1:
            raise ValueError("a batch holds experiments of one structure only")
        splits = [split_seed(e.seed) for e in exps]
        stims = [realise(e, stim_rng) for e, (_, stim_rng, _) in zip(exps, splits)]
        dev_seed = batch_device_seed([d for _, _, d in splits])
        shared = shared_parameters(exps)
        built, info = self.prepare(exps[0], len(exps), dev_seed, shared)
        values, current = run_values(exps, built, stims, [p for p, _, _ in splits])
        timing = self.execute(exps[0], built, values, current, dev_seed, progress)
        res = self.results(exps, built)
        raws = split_results(exps, built.layout, res, stims)
        check_state(exps, built.layout, res.state)
        self.finish(built)
        common = {"backend": self.name, "structure_key": keys.pop(),
                  "program_key": self.program_key(exps[0], len(exps), shared), **info,
                  "loop_s": timing["run_s"], "binary_s": timing["run_s"], **timing,
                  "batch_size": len(exps), "device_seed": dev_seed, "batch_seeds": [int(e.seed) for e in exps],
                  "precision": exps[0].precision}
        for r, raw in enumerate(raws):
            raw.info = {**common, "batch_index": r}
        return raws
