"""Devices: ``runtime`` (Brian2's numpy target, tiny tests) and ``cpp`` (C++ standalone).

The cpp backend compiles one structure once into a cache directory keyed by
:func:`lamina.network.structure_key` and re-runs the binary with per-run values
(``run_args``) and a per-run seed, so changing weights, beta_w, noise, input or seed
never recompiles.

Seeds: one experiment seed → a numpy Generator for values drawn in Python (per-neuron
parameters, packet times, OU traces) and a 32-bit seed for Brian2's generator (connectivity,
noise). Brian2 has no run_arg for the seed, so the cpp program re-seeds its generators at the
top of main() from the LAMINA_SEED environment variable.
"""
from __future__ import annotations

import atexit
import contextlib
import gc
import io
import os
import shutil
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path

import brian2 as b2
import numpy as np
from brian2.units.fundamentalunits import DIMENSIONLESS, Quantity, get_dimensions, get_unit

from .config import Experiment
from .errors import SimulationError
from .network import Built, build, run_values, structure_key
from .stimulus import Stimulus, realise

SEED_CODE = """
{   // lamina: per-run seed without recompiling (see lamina/backends.py)
    const char* _lamina_seed = getenv("LAMINA_SEED");
    unsigned long _s = _lamina_seed ? strtoul(_lamina_seed, NULL, 10) : 0UL;
    for (size_t _i = 0; _i < brian::_random_generators.size(); _i++)
        brian::_random_generators[_i].seed(_s + 7919UL * _i);
}
"""


def default_cache_dir() -> Path:
    return Path(os.environ.get("LAMINA_CACHE", Path.home() / ".cache" / "lamina"))


@dataclass
class RawRun:
    """What a backend returns: plain arrays, times in ms."""

    spikes: dict[str, tuple[np.ndarray, np.ndarray]]  # layer -> (times_ms float64, node_ids uint64)
    rates: dict[str, np.ndarray]  # layer -> population rate (Hz) per time step
    stimulus: Stimulus
    traces: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)  # layer -> var -> (neuron, t)
    info: dict = field(default_factory=dict)  # backend, structure_key, compiled, timings


def split_seed(seed: int) -> tuple[np.random.Generator, np.random.Generator, int]:
    """One run seed → independent streams for per-neuron parameters, the stimulus, and Brian2's
    generator (connectivity, noise). Separate streams keep the network the same when only the
    input changes (a no-stimulus baseline is the same network as the stimulated run)."""
    params, stim, dev = np.random.SeedSequence(seed).spawn(3)
    return (np.random.default_rng(params), np.random.default_rng(stim),
            int(dev.generate_state(1, dtype=np.uint32)[0]))


def _collect(exp: Experiment, built: Built, stim: Stimulus) -> RawRun:
    spikes = {}
    names = [l.name for l in exp.layers]
    for z, mon in built.spikes.items():
        name = names[z]
        # Copies: Brian2's monitor arrays are views into memory it frees with the network.
        t = np.array(mon.t_[:], dtype=np.float64) * 1e3
        i = np.array(mon.i[:], dtype=np.uint64)
        order = np.lexsort((i, t))  # SONATA "by_time"; ties by node id
        spikes[name] = (t[order], i[order])
    rates = {names[z]: np.array(mon.rate_[:], dtype=np.float64) for z, mon in built.rates.items()}
    traces = {names[z]: {v: np.array(getattr(mon, v + "_"), dtype=np.float64) for v in exp.record.trace_vars}
              for z, mon in built.traces.items()}
    return RawRun(spikes, rates, stim, traces)


def _check_finite(exp: Experiment, built: Built) -> None:
    """A blown-up integration leaves NaN/inf in the state (and silently stops spiking)."""
    for z, g in built.groups.items():
        for var in ("v",) + tuple(v for v in ("w", "I_noise") if v in g.variables):
            values = np.asarray(g.variables[var].get_value())
            if not np.all(np.isfinite(values)):
                bad = int(np.count_nonzero(~np.isfinite(values)))
                raise SimulationError(f"layer {exp.layers[z].name}: {var} became non-finite in {bad} neurons "
                                      f"(numerical blow-up; try a smaller simulation.dt)")


def _stim_quantity(exp: Experiment, current: np.ndarray):
    cu = exp.layer(exp.input.layers[0]).cell.card.current_unit
    return current * get_unit(get_dimensions(cu))


def _with_dim(group, var: str, arr: np.ndarray):
    dim = group.variables[var].dim
    return arr if dim is DIMENSIONLESS else Quantity(arr, dim=dim)


class RuntimeBackend:
    """Brian2 runtime mode with the numpy target: no compiler, for tiny networks and tests."""

    name = "runtime"

    def run(self, exp: Experiment, progress: bool = False) -> RawRun:
        param_rng, stim_rng, dev_seed = split_seed(exp.seed)
        b2.set_device("runtime")
        b2.prefs.codegen.target = "numpy"
        b2.seed(dev_seed)
        stim = realise(exp, stim_rng)
        built = build(exp)
        values, current = run_values(exp, built, stim, param_rng)
        for (layer, var), arr in values.items():
            built.groups[layer].variables[var].set_value(arr)
        if current is not None:
            built.stim_array.values[:] = current
        t0 = time.perf_counter()
        built.network.run(exp.duration, namespace={})
        raw = _collect(exp, built, stim)
        _check_finite(exp, built)
        raw.info = {"backend": self.name, "structure_key": structure_key(exp, self.name),
                    "compiled": False, "build_s": 0.0, "run_s": time.perf_counter() - t0}
        return raw


class CppBackend:
    """C++ standalone, compiled once per structure, run many times with run_args."""

    name = "cpp"

    def __init__(self, cache_dir: str | Path | None = None):
        self.cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
        self._key: str | None = None
        self._built: Built | None = None
        self._project: Path | None = None
        self._runs = 0
        self._private_dirs: set[Path] = set()
        from brian2.devices.device import all_devices

        self._device = all_devices["cpp_standalone"]

    @staticmethod
    def _remove_stale_copies(shared: Path) -> None:
        """Private copies of processes on this host that died without cleaning up (SIGKILL)."""
        work, host = shared.with_name(shared.name + ".work"), socket.gethostname()
        for d in work.glob(f"{host}-*") if work.is_dir() else ():
            try:
                pid = int(d.name.rsplit("-", 1)[1])
                os.kill(pid, 0)
            except ProcessLookupError:
                shutil.rmtree(d, ignore_errors=True)
            except (ValueError, PermissionError):
                continue

    def project_dir(self, exp: Experiment) -> Path:
        """The shared, compiled copy of this structure's project."""
        return self.cache_dir / "cpp" / structure_key(exp, self.name)

    def _build(self, exp: Experiment) -> dict:
        """Generate code and make sure a compiled program exists, compiling only if no process
        compiled this structure before. Each process runs in a private copy of the project
        (Brian2 writes run_args files into the project, so processes must not share one)."""
        from filelock import FileLock

        key = structure_key(exp, self.name)
        shared = self.cache_dir / "cpp" / key
        private = self.cache_dir / "cpp" / f"{key}.work" / f"{socket.gethostname()}-{os.getpid()}"
        shared.parent.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        # Brian2 suffixes auto-generated object names (_1, _2 …) while older objects are alive;
        # drop them so generated code, and hence the compiled program, is the same in every process.
        self._built = None
        gc.collect()
        # Always the standalone device itself: a runtime run in between makes it not the current
        # one. Activate, reinit, activate: Brian2's first activation in a process queues a
        # defaultclock assignment that later ones do not, and main.cpp must be the same in a fresh
        # process and after a switch of structure, or the program would be recompiled.
        b2.set_device("cpp_standalone", build_on_run=False)
        self._device.reinit()
        b2.set_device("cpp_standalone", build_on_run=False)
        self._remove_stale_copies(shared)
        b2.prefs.devices.cpp_standalone.openmp_threads = 0  # 2 single-thread runs beat 1×2 threads here
        self._device.insert_code("main", SEED_CODE)
        built = build(exp)
        built.network.run(exp.duration, namespace={}, report="text", report_period=10 * b2.second)
        log = io.StringIO()
        # The lock makes a second process wait for the first compile instead of repeating it.
        with FileLock(str(shared) + ".lock"):
            before = (shared / "main").stat().st_mtime_ns if (shared / "main").exists() else None
            if before is not None and not (private / "main").exists():
                # copy2 keeps mtimes: Brian2 does not rewrite identical generated files, so
                # `make` finds nothing to do in the copy.
                shutil.copytree(shared, private, copy_function=shutil.copy2, dirs_exist_ok=True,
                                ignore=shutil.ignore_patterns("results"))
            private.mkdir(parents=True, exist_ok=True)
            try:
                with contextlib.redirect_stdout(log):
                    self._device.build(directory=str(private), compile=True, run=False, with_output=False)
            except Exception as e:  # compiler errors: keep the message, not Brian's traceback
                raise SimulationError(f"building the C++ program in {private} failed: {e}") from e
            after = (private / "main").stat().st_mtime_ns
            compiled = before is None or after != before
            if compiled:  # publish for other processes: copy, then rename into place
                tmp = shared.with_name(f".{key}.{os.getpid()}.tmp")
                shutil.copytree(private, tmp, copy_function=shutil.copy2, dirs_exist_ok=True,
                                ignore=shutil.ignore_patterns("results"))
                if shared.exists():
                    shutil.rmtree(shared)
                tmp.rename(shared)
        if private not in self._private_dirs:  # the private copy goes when the process ends
            atexit.register(shutil.rmtree, private, True)
            self._private_dirs.add(private)
        self._key, self._built, self._project = key, built, private
        return {"compiled": compiled, "build_s": time.perf_counter() - t0}

    def run(self, exp: Experiment, progress: bool = False) -> RawRun:
        info = {"compiled": False, "build_s": 0.0}
        if structure_key(exp, self.name) != self._key:
            info = self._build(exp)
        built, project = self._built, self._project
        param_rng, stim_rng, dev_seed = split_seed(exp.seed)
        stim = realise(exp, stim_rng)
        values, current = run_values(exp, built, stim, param_rng)
        run_args = {getattr(built.groups[layer], var): _with_dim(built.groups[layer], var, arr)
                    for (layer, var), arr in values.items()}
        if current is not None:
            run_args[built.stim_array] = _stim_quantity(exp, current)
        self._runs += 1
        rel = f"results/{os.getpid()}_{self._runs}"
        os.environ["LAMINA_SEED"] = str(dev_seed)
        t0 = time.perf_counter()
        try:
            self._device.run(directory=str(project), results_directory=rel, with_output=progress,
                          run_args=run_args)
        except RuntimeError as e:
            raise SimulationError(f"the simulation binary failed ({e})") from e
        run_s = time.perf_counter() - t0
        raw = _collect(exp, built, stim)
        _check_finite(exp, built)
        shutil.rmtree(project / rel, ignore_errors=True)
        # run_args arrays are written into static_arrays/ under content hashes; drop ours.
        self._device.delete(code=False, data=False, run_args=True, directory=False, force=True)
        raw.info = {"backend": self.name, "structure_key": self._key, "run_s": run_s,
                    "binary_s": float(self._device.timers.get("run_binary", run_s)),
                    # the simulation loop alone, as timed inside the program
                    "loop_s": float(getattr(self._device, "_last_run_time", None) or run_s), **info}
        return raw


_BACKENDS: dict[str, object] = {}


def get_backend(name: str):
    """One backend instance per process, so the compiled structure stays loaded."""
    if name not in _BACKENDS:
        _BACKENDS[name] = {"cpp": CppBackend, "runtime": RuntimeBackend}[name]()
    return _BACKENDS[name]
