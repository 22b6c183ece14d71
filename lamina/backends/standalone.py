"""Standalone devices: generate a program once per structure, run it many times.

:class:`StandaloneBackend` holds the compile-once / run-many recipe shared by every standalone
device: a cache directory keyed by the structure key, a file lock so that one process compiles
while the others wait, a private copy of the project per process (Brian2 writes run_args files
into the project, so processes must not share one), per-run values as ``run_args`` and a per-run
seed without recompiling. A subclass names its Brian2 device, its preferences and its seed code.

Fast path (cpp): a compiled program leaves a manifest next to it (``lamina-manifest.json``); a
later process runs it from there, without building Brian2's objects or generating the code
(:class:`CachedProgram`; what it replicates of Brian2 is in the comment above :data:`MANIFEST`).
Same program, same arguments, same files read back: the results are bit-identical.
``LAMINA_FAST_PATH=0`` turns it off.
"""
from __future__ import annotations

import atexit
import contextlib
import gc
import hashlib
import io
import json
import logging
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Sequence

import brian2 as b2
import numpy as np

from .._version import __version__
from ..config import Experiment
from ..errors import SimulationError
from ..network import (CURRENT_INPUTS, Built, Layout, _run_time_vars, build, compiled_constants,
                       shared_parameters)
from .base import CHECKED_STATE, Backend, Results, default_cache_dir, stimulus_quantity, with_dim

_log = logging.getLogger(__name__)


SOURCES_STAMP = ".lamina-sources"  # digest of the sources the program in a project was compiled from
_SOURCE_SUFFIXES = {".cpp", ".h", ".hpp", ".cu", ".cuh", ".c"}


def _sources_digest(project: Path) -> str:
    """Digest of a project's generated sources and makefile (not its data files or results)."""
    h = hashlib.sha256()
    for f in sorted(project.rglob("*")):
        rel = f.relative_to(project)
        if rel.parts[0] in ("results", "static_arrays") or not f.is_file():
            continue
        if f.suffix in _SOURCE_SUFFIXES or f.name in ("makefile", "Makefile", "win_makefile"):
            h.update(str(rel).encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()


@contextlib.contextmanager
def _stdout_to_stderr(active: bool):
    """The program's progress lines go to stderr (file descriptor level: it is a child process),
    so that stdout holds only what lamina prints there (the per-layer table)."""
    if not active:
        yield
        return
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


@contextlib.contextmanager
def _interrupts_raise():
    """While the program runs, Ctrl-C and SIGTERM raise KeyboardInterrupt in Python.

    Brian2's SIGINT handler only asks a running simulation to stop "at the end of the time step",
    which a standalone binary never hears: the run would complete. With KeyboardInterrupt
    raised instead (Ctrl-C, and SIGTERM: `timeout`, a batch system), ``subprocess.call`` kills the
    binary. Only the main thread can set handlers; elsewhere nothing changes."""
    import signal
    import threading

    def interrupt(signum, frame):
        raise KeyboardInterrupt(signal.Signals(signum).name)

    swap = threading.current_thread() is threading.main_thread()
    old_handlers = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGINT, signal.SIGTERM)} if swap else {}
    try:
        yield
    finally:
        for sig, handler in old_handlers.items():
            signal.signal(sig, handler)


def _run_cmd(run_cmd: str | list[str]) -> list[str]:
    """The command that starts the program (Brian2's ``run_cmd_unix``), behind util-linux's
    setpriv where present: PR_SET_PDEATHSIG makes the program die with the thread that started it
    (a sweep worker stopped or killed mid-run, a SIGKILLed `lamina run`) instead of simulating on,
    orphaned; setpriv execs the program (same pid, same arguments)."""
    cmd = [run_cmd] if isinstance(run_cmd, str) else list(run_cmd)
    setpriv = shutil.which("setpriv") if sys.platform.startswith("linux") else None
    return [setpriv, "--pdeathsig", "KILL", *cmd] if setpriv else cmd


# ---------------------------------------------------------------------------------------------
# A cached program run from its manifest, without Brian2's objects or code generation (issue 15)
#
# What Brian2 2.10.1's cpp_standalone does on ``device.run(run_args=...)`` (device.py, and the
# generated objects.cpp/main.cpp), and what lamina needs of it:
#
# * run_args become command-line arguments ``<group>.<var>=<value>`` after
#   ``--results_dir <absolute dir>/``, in the dict's order. A value is cast to the variable's
#   dtype (``np.asarray(value, dtype=var.dtype)``; a Quantity's numbers are its SI values). One
#   element (a shared variable) goes on the command line as ``repr(value.item())``, read back with
#   atof/atoi (exact); more go to a raw file written by ``value.tofile`` (C order) under
#   ``static_arrays/init_<group>_<var>_<md5>.dat``, passed by that relative path. The program tells
#   a value from a file by the first character (a digit or '-') and opens the file name as given,
#   so an absolute path works too. A TimedArray is ``<name>.values=...`` the same way (float64,
#   shape (n_steps, batch)). A file of the wrong size is only reported on stderr ("Error reading")
#   and the program exits 0 with the old values: the fast path fails the run on such a line.
# * The program runs in the project directory (it reads the static arrays of the build, e.g. the
#   connectivity ranges, from ``static_arrays/``), started by prefs ``run_cmd_unix`` ("./main")
#   with prefs ``run_environment_variables`` ({"LD_BIND_NOW": "1"}) and the device's own (none
#   on Linux) in its environment; lamina adds ``$LAMINA_SEED`` (read by ``seed_code``) and setpriv.
# * At its end it writes every array raw, in the variable's dtype, to ``<results_dir>/<array
#   name>_<crc32 of that name>`` (``Device.get_array_filename``): a dynamic array (spike monitor
#   t float64 and i int32, population-rate monitor rate) as its length, a 2-d one (state monitor)
#   row by row as (time step, recorded neuron); and ``last_run_info.txt``, "<loop s> <fraction>".
# * lamina reads back the spike monitors' t and i (or the rate monitors' rate), the state
#   monitors' variables, and v (w, I_noise where present) to check for blow-ups; its timings are
#   run_s (around the run), binary_s (Brian2's timers["run_binary"], around the subprocess) and
#   loop_s (last_run_info.txt).
# * Everything a run computes in Python needs no Brian2 object: the seeds (split_seed,
#   batch_device_seed, noise_seed), the stimulus (stimulus.realise), the per-neuron draws and
#   run-time values (network.run_values: numpy generators and the Layout's index arithmetic), the
#   shared and compiled parameter sets. Connectivity is drawn inside the program from the device
#   generator ($LAMINA_SEED). What does need Brian2's objects, once per program, is the names,
#   dtypes and sizes of the run-time variables and the file names of the arrays read back: that is
#   the manifest, written next to the compiled program when it is built (or first run).
# * Imports: lamina.config parses quantities with Brian2's units, so ``import brian2`` stays in
#   every process (``-X importtime``: 0.85 s of the 1.6 s of imports of a cached ``lamina run``,
#   2-core VM at load 3); the fast path saves building the network, generating the code, Brian2's
#   compiler flag probes (``get_compiler_and_args``: eight g++ runs per process), the sources
#   digest, the private copy of the project and Brian2's reads after the run (fig3's network,
#   7 x 1000 neurons: a cached ``lamina run`` 6.0 s -> 3.7 s of wall time, medians of 6).
#
# Any mismatch (no manifest, another version, another program or sources digest, a variable set
# that differs) takes the normal path, and says why in a debug log line; LAMINA_FAST_PATH=0
# turns the fast path off.

MANIFEST = "lamina-manifest.json"
MANIFEST_VERSION = 1
_MANIFEST_KEYS = {"version", "backend", "program_key", "sources", "code", "batch", "groups", "run_cmd", "env", "variables",
                  "timed_array", "spikes", "rates", "traces", "state"}
#: program output that means a run-time value was not applied (the program still exits 0)
_NOT_APPLIED = ("Error reading", "Could not read", "Error writing")


_CODE_DIGEST: str | None = None


def code_digest() -> str:
    """Digest of lamina's modules that shape the generated code. The program key holds lamina's
    version, not its code: the normal path regenerates the code and recompiles when it changed,
    the fast path cannot see that, so a manifest written by other code sends runs to the normal
    path (which rewrites it)."""
    global _CODE_DIGEST
    if _CODE_DIGEST is None:
        root = Path(__file__).resolve().parent.parent
        h = hashlib.sha256()
        for f in sorted([*root.glob("*.py"), *(root / "backends").glob("*.py")]):
            h.update(f.name.encode() + b"\0" + f.read_bytes())
        _CODE_DIGEST = h.hexdigest()[:16]
    return _CODE_DIGEST


def fast_path_enabled() -> bool:
    """False if ``$LAMINA_FAST_PATH`` is ``0`` (or ``false``/``no``/``off``)."""
    return os.environ.get("LAMINA_FAST_PATH", "1").strip().lower() not in ("0", "false", "no", "off")


@dataclass
class CachedProgram(Built):
    """A compiled program run from its manifest: a :class:`Built` without Brian2 objects (its
    ``groups`` map group numbers to None), enough for :func:`lamina.network.run_values`."""

    key: str = ""
    project: Path = Path()
    manifest: dict = field(default_factory=dict)
    results_dir: Path | None = None  # of the latest run


def _expected_variables(exp: Experiment, layout: Layout, compiled: dict[int, frozenset[str]]) -> set[str]:
    """The run-time variables :func:`lamina.network.run_values` sets, as manifest keys "g:var"."""
    return {f"{g}:{v}" for g in range(len(layout.cards)) for v in _run_time_vars(exp, layout, g)
            if v not in compiled.get(g, ())}


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


class StandaloneBackend(Backend):
    """The shared recipe of standalone devices (see the module docstring)."""

    device_name: ClassVar[str] = ""
    #: C++ inserted at the top of main(): re-seeds the device's generators from $LAMINA_SEED.
    seed_code: ClassVar[str] = ""
    #: whether a cached program may run from its manifest (:class:`CachedProgram`), skipping Brian2
    fast_path: ClassVar[bool] = False

    def __init__(self, cache_dir: str | Path | None = None):
        self.cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
        self._key: str | None = None
        self._built: Built | None = None
        self._project: Path | None = None
        self._runs = 0
        self._private_dirs: set[Path] = set()
        self.fast_runs = 0  # runs made from a manifest (without Brian2's objects) by this instance
        from brian2.devices.device import all_devices

        self._device = all_devices[self.device_name]

    def configure(self, exp: Experiment, batch: int) -> None:
        """Set this device's Brian2 preferences for ``batch`` replicas of ``exp`` (before every build)."""
        b2.prefs.core.default_float_dtype = np.float32 if exp.precision == "single" else np.float64

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

    def project_dir(self, exp: Experiment, batch: int = 1, shared=None) -> Path:
        """The shared, compiled copy of this program's project."""
        return self.cache_dir / self.name / self.program_key(exp, batch, shared)

    def prepare(self, exp: Experiment, batch: int, device_seed: int, shared=None) -> tuple[Built, dict[str, Any]]:
        t0 = time.perf_counter()
        key = self.program_key(exp, batch, shared)
        cached = self._from_manifest(exp, batch, shared, key)
        if cached is not None:
            return cached, {"compiled": False, "build_s": time.perf_counter() - t0, "fast_path": True}
        if key == self._key and self._built is not None:
            return self._built, {"compiled": False, "build_s": 0.0, "fast_path": False}
        built, info = self._built_for(exp, batch, shared)
        return built, {**info, "fast_path": False}

    # -- the fast path: a cached program run from its manifest ----------------------------------

    def _from_manifest(self, exp: Experiment, batch: int, shared, key: str) -> CachedProgram | None:
        """The compiled program of ``key`` as a :class:`CachedProgram`, or None (with a debug line
        saying why) when anything is not covered: then the normal path builds the network."""
        if not self.fast_path:
            return None
        project = self.cache_dir / self.name / key
        if not fast_path_enabled():
            _log.debug("lamina: %s: normal path (LAMINA_FAST_PATH=%s)", key, os.environ.get("LAMINA_FAST_PATH"))
            return None
        try:
            manifest = json.loads((project / MANIFEST).read_text())
        except FileNotFoundError:
            _log.debug("lamina: %s: normal path (no manifest in %s)", key, project)
            return None
        except (OSError, ValueError) as e:
            _log.debug("lamina: %s: normal path (unreadable manifest: %s)", key, e)
            return None
        shared = shared_parameters([exp] * batch) if shared is None else shared
        layout = Layout.of(exp, batch)
        compiled = {g: frozenset(c) for g, c in compiled_constants(exp, shared).items()}
        why = self._not_covered(manifest, exp, layout, compiled, key, project)
        if why:
            _log.debug("lamina: %s: normal path (%s)", key, why)
            return None
        return CachedProgram(None, layout, {g: None for g in range(len(layout.cards))}, shared=shared,
                             compiled=compiled, key=key, project=project, manifest=manifest)

    def _not_covered(self, m: dict, exp: Experiment, layout: Layout, compiled: dict[int, frozenset[str]],
                     key: str, project: Path) -> str:
        """Why manifest ``m`` cannot run this batch ("" if it can)."""
        if not isinstance(m, dict) or m.get("version") != MANIFEST_VERSION:
            return f"manifest version {m.get('version') if isinstance(m, dict) else None!r}, not {MANIFEST_VERSION}"
        missing = _MANIFEST_KEYS - set(m)
        if missing:
            return f"manifest without {', '.join(sorted(missing))}"
        if m.get("code") != code_digest():
            return "manifest written by other lamina code"
        if m.get("program_key") != key or m.get("backend") != self.name:
            return f"manifest of program {m.get('program_key')} on {m.get('backend')}"
        if m.get("batch") != layout.batch or m.get("groups") != len(layout.cards):
            return f"manifest of a batch of {m.get('batch')} in {m.get('groups')} groups"
        try:
            stamp = (project / SOURCES_STAMP).read_text()
        except OSError:
            stamp = None
        if stamp != m.get("sources") or not os.access(project / "main", os.X_OK):
            return "the program in the project is not the one the manifest describes"
        if set(m.get("variables", {})) != _expected_variables(exp, layout, compiled):
            return "another set of run-time variables"
        ta = m.get("timed_array")
        if (exp.input.kind in CURRENT_INPUTS) != (ta is not None) or (ta and ta["shape"] != [exp.n_steps, layout.batch]):
            return "another stimulus array"
        groups = {str(g) for g in range(len(layout.cards))}
        if exp.record.spikes and set(m["spikes"]) != groups:
            return "spike monitors not covered"
        if not exp.record.spikes and len(m.get("rates", [])) != len(exp.layers) * layout.batch:
            return "rate monitors not covered"
        if exp.record.trace_vars and any(set(m.get("traces", {}).get(g, {})) != set(exp.record.trace_vars)
                                         for g in groups):
            return "state monitors not covered"
        if set(m["state"]) != groups:
            return "checked state not covered"
        return ""

    def _manifest_of(self, exp: Experiment, built: Built, key: str, digest: str) -> dict:
        """What running this program needs of Brian2's objects (after code generation)."""
        d = self._device

        def out(var) -> list:  # a file the program writes at its end, and its dtype
            return [d.get_array_filename(var), np.dtype(var.dtype).name]

        variables = {}
        for g, grp in built.groups.items():
            for var in _run_time_vars(exp, built.layout, g):
                if var in built.compiled.get(g, ()):
                    continue
                view = getattr(grp, var)
                variables[f"{g}:{var}"] = {"name": f"{view.group_name}.{view.name}", "dtype": np.dtype(view.dtype).name,
                                           "size": int(view.variable.size), "dynamic": bool(view.variable.dynamic)}
        ta = built.stim_array
        prefs = b2.prefs.devices.cpp_standalone
        run_cmd = prefs.run_cmd_unix
        return {
            "version": MANIFEST_VERSION, "backend": self.name, "program_key": key, "sources": digest, "code": code_digest(),
            "lamina": __version__, "brian2": b2.__version__, "batch": built.layout.batch,
            "groups": len(built.layout.cards),
            "run_cmd": [run_cmd] if isinstance(run_cmd, str) else list(run_cmd),
            "env": {**prefs.run_environment_variables, **getattr(d, "run_environment_variables", {})},
            "variables": variables,
            "timed_array": None if ta is None else {"name": f"{ta.name}.values", "dtype": ta.values.dtype.name,
                                                   "shape": list(ta.values.shape)},
            "spikes": {str(g): {"t": out(mon.variables["t"]), "i": out(mon.variables["i"])}
                       for g, mon in built.spikes.items()},
            "rates": [[z, r, *out(mon.variables["rate"])] for (z, r), mon in built.rates.items()],
            "traces": {str(g): {v: [*out(mon.variables[v]), len(built.trace_index[g])] for v in exp.record.trace_vars}
                       for g, mon in built.traces.items()},
            "state": {str(g): {var: out(grp.variables[var]) for var in CHECKED_STATE
                               if var == "v" or var in grp.variables} for g, grp in built.groups.items()},
        }

    def _execute_cached(self, exp: Experiment, prog: CachedProgram, values: dict[tuple[int, str], np.ndarray],
                        current: np.ndarray | None, device_seed: int, progress: bool) -> dict[str, float]:
        """Run a cached program with these run-time values, as ``device.run(run_args=...)`` would
        (see the comment above :data:`MANIFEST`), without Brian2."""
        m = prog.manifest
        self._runs += 1
        self._remove_stale_copies(prog.project)
        private = prog.project.with_name(f"{prog.key}.work") / f"{socket.gethostname()}-{os.getpid()}"
        results = private / "results" / f"{os.getpid()}_{self._runs}"
        if private not in self._private_dirs:  # the private directory goes when the process ends
            atexit.register(shutil.rmtree, private, True)
            self._private_dirs.add(private)
        shutil.rmtree(results, ignore_errors=True)
        results.mkdir(parents=True)
        prog.results_dir = results
        t0 = time.perf_counter()
        args = ["--results_dir", os.path.join(str(results), "")]

        def arg(name: str, value: np.ndarray, shape_ok: bool) -> None:
            if value.ndim == 0 or value.size == 1:  # on the command line
                args.append(f"{name}={value.item()!r}")
            elif not shape_ok:
                raise SimulationError(f"run-time value {name} has shape {value.shape}, the program "
                                      f"{prog.key} another (LAMINA_FAST_PATH=0 takes the normal path)")
            else:
                f = results / f"init_{name}.dat"
                value.tofile(f)
                args.append(f"{name}={f}")

        for (g, var), arr in values.items():
            spec = m["variables"].get(f"{g}:{var}")
            if spec is None:
                raise SimulationError(f"run-time value {var} of group {g} is not in the manifest of program "
                                      f"{prog.key} (LAMINA_FAST_PATH=0 takes the normal path)")
            value = np.asarray(arr, dtype=spec["dtype"])
            arg(spec["name"], value, value.ndim == 1 and (spec["dynamic"] or value.size == spec["size"]))
        if current is not None:
            ta = m["timed_array"]
            value = np.asarray(stimulus_quantity(exp, current), dtype=ta["dtype"])
            arg(ta["name"], value, list(value.shape) == ta["shape"])
        env = {**os.environ, **m["env"], "LAMINA_SEED": str(device_seed)}
        err_path = results / "stderr.txt"
        try:
            with _interrupts_raise(), _stdout_to_stderr(progress), open(err_path, "w") as err:
                out = None if progress else open(results / "stdout.txt", "w")
                try:
                    start = time.time()
                    status = subprocess.call(_run_cmd(m["run_cmd"]) + args, cwd=prog.project, env=env,
                                             stdout=out, stderr=err)
                    binary_s = time.time() - start
                finally:
                    if out is not None:
                        out.close()
        except KeyboardInterrupt:
            shutil.rmtree(results, ignore_errors=True)  # the binary's partial results
            raise
        except OSError as e:
            raise SimulationError(f"the simulation binary could not be started ({e})") from e
        err_text = err_path.read_text(errors="replace")
        if status:
            with contextlib.suppress(OSError):
                sys.stderr.write((results / "stdout.txt").read_text(errors="replace")[-5000:])
            sys.stderr.write(err_text[-5000:])
            raise SimulationError(f"the simulation binary failed (exit status {status}; project directory "
                                  f"{prog.project})")
        out_text = "" if progress else (results / "stdout.txt").read_text(errors="replace")
        bad = [l for l in (err_text + "\n" + out_text).splitlines() if l.lstrip().startswith(_NOT_APPLIED)]
        if bad:
            raise SimulationError(f"the program did not apply its run-time values ({bad[0].strip()[:200]})")
        if err_text:
            sys.stderr.write(err_text)
        run_s = time.perf_counter() - t0
        try:
            loop_s = float((results / "last_run_info.txt").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            loop_s = run_s
        self.fast_runs += 1
        return {"run_s": run_s, "binary_s": binary_s, "loop_s": loop_s or run_s}

    def _results_cached(self, exps: Sequence[Experiment], prog: CachedProgram) -> Results:
        """The arrays a cached program's run wrote (as Brian2 would read them back)."""
        m, d = prog.manifest, prog.results_dir

        def read(spec: list) -> np.ndarray:
            try:
                return np.fromfile(d / spec[0], dtype=spec[1])
            except OSError as e:
                raise SimulationError(f"the program left no {spec[0]} in {d} ({e})") from e

        res = Results()
        for g, spec in m["spikes"].items():
            res.spikes[int(g)] = (read(spec["t"]).astype(np.float64), read(spec["i"]).astype(np.int64))
        for z, r, *spec in m["rates"]:
            res.rates[(z, r)] = read(spec).astype(np.float64)
        for g, per_var in m["traces"].items():  # written as (time step, recorded neuron)
            res.traces[int(g)] = {v: read(spec[:2]).reshape(-1, spec[2]).T.astype(np.float64)
                                  for v, spec in per_var.items()}
        for g, per_var in m["state"].items():
            res.state[int(g)] = {var: read(spec) for var, spec in per_var.items()}
        return res

    def results(self, exps: Sequence[Experiment], built: Built) -> Results:
        if isinstance(built, CachedProgram):
            return self._results_cached(exps, built)
        return super().results(exps, built)

    def _built_for(self, exp: Experiment, batch: int, shared=None) -> tuple[Built, dict[str, Any]]:
        """Generate code and make sure a compiled program exists, compiling only if no process
        compiled this structure before."""
        from filelock import FileLock

        key = self.program_key(exp, batch, shared)
        project = self.cache_dir / self.name / key  # = project_dir(exp, batch, shared)
        private = project.with_name(f"{key}.work") / f"{socket.gethostname()}-{os.getpid()}"
        project.parent.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        # Brian2 suffixes auto-generated object names (_1, _2 …) while older objects are alive;
        # drop them so generated code, and hence the compiled program, is the same in every process.
        self._built = None
        gc.collect()
        # Always the standalone device itself: a runtime run in between makes it not the current
        # one. Activate, reinit, activate: Brian2's first activation in a process queues a
        # defaultclock assignment that later ones do not, and main.cpp must be the same in a fresh
        # process and after a switch of structure, or the program would be recompiled.
        b2.set_device(self.device_name, build_on_run=False)
        self._device.reinit()
        gc.collect()  # reinit drops the device's references to the old network: free it before naming new objects
        b2.set_device(self.device_name, build_on_run=False)
        self._remove_stale_copies(project)
        self.configure(exp, batch)
        if self.seed_code:
            self._device.insert_code("main", self.seed_code)
        built = build(exp, batch, shared)
        built.network.run(exp.duration, namespace={}, report="text", report_period=10 * b2.second)
        log = io.StringIO()
        # The lock makes a second process wait for the first compile instead of repeating it.
        with FileLock(str(project) + ".lock"):
            if (project / "main").exists() and not (private / "main").exists():
                shutil.copytree(project, private, copy_function=shutil.copy2, dirs_exist_ok=True,
                                ignore=shutil.ignore_patterns("results"))
            private.mkdir(parents=True, exist_ok=True)
            try:
                with contextlib.redirect_stdout(log):
                    self._device.build(directory=str(private), compile=False, run=False, with_output=False)
                    self.patch_sources(private)
                    # Compile only if the generated sources differ from those the program was built
                    # from (a content digest, not make's mtimes: a project copied to another host
                    # keeps its program).
                    digest = _sources_digest(private)
                    stamp = private / SOURCES_STAMP
                    compiled = not ((private / "main").exists() and stamp.exists() and stamp.read_text() == digest)
                    if compiled:
                        from brian2.codegen.cpp_prefs import get_compiler_and_args

                        self._device.compile_source(str(private), get_compiler_and_args()[0], False, False)
                        stamp.write_text(digest)
            except Exception as e:  # compiler errors: keep the message, not Brian's traceback
                raise SimulationError(f"building the {self.name} program in {private} failed: {e}") from e
            manifest = None
            if self.fast_path:  # later processes run this program from its manifest
                try:
                    manifest = json.dumps(self._manifest_of(exp, built, key, digest), indent=1)
                except Exception as e:  # noqa: BLE001 — no manifest only means no fast path
                    _log.debug("lamina: %s: no manifest written (%s: %s)", key, type(e).__name__, e)
            if compiled and manifest is not None:
                _write_atomic(private / MANIFEST, manifest)  # published with the program
            elif manifest is not None:  # a program compiled before manifests, or by another version
                with contextlib.suppress(OSError):
                    if (project / SOURCES_STAMP).read_text() == digest and (
                            not (project / MANIFEST).exists() or (project / MANIFEST).read_text() != manifest):
                        _write_atomic(project / MANIFEST, manifest)
            if compiled:  # publish for other processes: copy, then rename into place
                tmp = project.with_name(f".{key}.{os.getpid()}.tmp")
                shutil.copytree(private, tmp, copy_function=shutil.copy2, dirs_exist_ok=True,
                                ignore=shutil.ignore_patterns("results"))
                if project.exists():
                    shutil.rmtree(project)
                tmp.rename(project)
        if private not in self._private_dirs:  # the private copy goes when the process ends
            atexit.register(shutil.rmtree, private, True)
            self._private_dirs.add(private)
        self._key, self._built, self._project = key, built, private
        return built, {"compiled": compiled, "build_s": time.perf_counter() - t0}

    def patch_sources(self, project: Path) -> None:
        """Change the generated sources in ``project`` before they are compiled (none by default)."""

    def build_program(self, exp: Experiment, batch: int = 1) -> dict[str, Any]:
        """Generate and compile the program for ``batch`` replicas of ``exp`` without running it."""
        _, info = self._built_for(exp, batch)
        return {"project": str(self.cache_dir / self.name / self._key), **info}

    def run_args(self, exp: Experiment, built: Built, values: dict[tuple[int, str], np.ndarray],
                 current: np.ndarray | None) -> dict[Any, Any]:
        """Brian2 ``run_args`` for these run-time values."""
        args: dict[Any, Any] = {getattr(built.groups[g], var): with_dim(built.groups[g], var, arr)
                                for (g, var), arr in values.items()}
        if current is not None:
            args[built.stim_array] = stimulus_quantity(exp, current)
        return args

    def execute(self, exp: Experiment, built: Built, values: dict[tuple[int, str], np.ndarray],
                current: np.ndarray | None, device_seed: int, progress: bool) -> dict[str, float]:
        if isinstance(built, CachedProgram):
            return self._execute_cached(exp, built, values, current, device_seed, progress)
        self._runs += 1
        rel = f"results/{os.getpid()}_{self._runs}"
        self._results = self._project / rel
        os.environ["LAMINA_SEED"] = str(device_seed)
        t0 = time.perf_counter()
        prefs = b2.prefs.devices.cpp_standalone
        run_cmd = prefs.run_cmd_unix
        prefs.run_cmd_unix = _run_cmd(run_cmd)  # setpriv: the program dies with its parent
        try:
            with _interrupts_raise(), _stdout_to_stderr(progress):
                self._device.run(directory=str(self._project), results_directory=rel, with_output=progress,
                                 run_args=self.run_args(exp, built, values, current))
        except KeyboardInterrupt:
            b2.Network._globally_running = False  # left set by the interrupted device.run
            shutil.rmtree(self._results, ignore_errors=True)  # the binary's partial results
            with contextlib.suppress(Exception):
                self._device.delete(code=False, data=False, run_args=True, directory=False, force=True)
            raise
        except RuntimeError as e:
            raise SimulationError(f"the simulation binary failed ({e})") from e
        finally:
            prefs.run_cmd_unix = run_cmd
        run_s = time.perf_counter() - t0
        return {"run_s": run_s, "binary_s": float(self._device.timers.get("run_binary", run_s)),
                # the simulation loop alone, as timed inside the program
                "loop_s": float(getattr(self._device, "_last_run_time", None) or run_s)}

    def finish(self, built: Built) -> None:
        if isinstance(built, CachedProgram):
            if built.results_dir is not None:  # the run_args files are in it too
                shutil.rmtree(built.results_dir, ignore_errors=True)
            return
        shutil.rmtree(self._results, ignore_errors=True)
        # run_args arrays are written into static_arrays/ under content hashes; drop ours.
        self._device.delete(code=False, data=False, run_args=True, directory=False, force=True)


#: gcc flags that let the counter-noise state update vectorise (part of the program via the noise mode)
VECTORISE_FLAGS = ("-D__FAST_MATH__=1", "--param=vect-max-version-for-alias-checks=200")
#: single precision: Brian2 writes literals as ``2.0``, which promotes float expressions (an ``exp``
#: per neuron-step) to double. Not gcc's ``-fsingle-precision-constant``: it applies to every file,
#: Brian2's own random generator included, whose 53-bit uniform then rounds to 1.0 (an out-of-range
#: synapse index). Only the state updaters' run functions get float literals (:func:`float_literals`).
_FLOAT_LITERAL = re.compile(r"(?<![\w.])((?:\d+\.\d*|\.\d+)(?:[eE][+-]?\d+)?|\d+[eE][+-]?\d+)(?![\w.])")


def float_literals(source: str) -> str:
    """``source`` with the floating-point literals of its ``_run_*`` function suffixed ``f``
    (the support code before it, e.g. the double branch of the counter generator, is kept)."""
    at = source.find("void _run_")
    if at < 0:
        return source
    return source[:at] + _FLOAT_LITERAL.sub(r"\1f", source[at:])


class CppBackend(StandaloneBackend):
    """C++ standalone (``cpp_standalone``), one thread per process."""

    name = "cpp"
    device_name = "cpp_standalone"
    fast_path = True
    seed_code = """
{   // lamina: per-run seed without recompiling (see lamina/backends/standalone.py)
    const char* _lamina_seed = getenv("LAMINA_SEED");
    unsigned long _s = _lamina_seed ? strtoul(_lamina_seed, NULL, 10) : 0UL;
    for (size_t _i = 0; _i < brian::_random_generators.size(); _i++)
        brian::_random_generators[_i].seed(_s + 7919UL * _i);
}
"""

    def configure(self, exp: Experiment, batch: int) -> None:
        super().configure(exp, batch)
        b2.prefs.devices.cpp_standalone.openmp_threads = 0  # 2 single-thread runs beat 1×2 threads here
        # With the counter-based noise the state update can vectorise, given libmvec's declarations
        # (Brian2's -fno-finite-math-only undefines __FAST_MATH__) and more alias checks than gcc's
        # default 10 (docs/benchmarks-cpu.md). Set per build: preferences are global in a process.
        from ..network import counter_noise

        gcc = [a for a in b2.prefs.codegen.cpp.extra_compile_args_gcc if a not in VECTORISE_FLAGS]
        b2.prefs.codegen.cpp.extra_compile_args_gcc = gcc + (list(VECTORISE_FLAGS) if counter_noise(exp) else [])

    def patch_sources(self, project: Path) -> None:
        if b2.prefs.core.default_float_dtype == np.float32:  # single precision (set by configure)
            for f in sorted((project / "code_objects").glob("*_stateupdater_codeobject.cpp")):
                f.write_text(float_literals(f.read_text()))
