"""Standalone devices: generate a program once per structure, run it many times.

:class:`StandaloneBackend` holds the compile-once / run-many recipe shared by every standalone
device: a cache directory keyed by the structure key, a file lock so that one process compiles
while the others wait, a private copy of the project per process (Brian2 writes run_args files
into the project, so processes must not share one), per-run values as ``run_args`` and a per-run
seed without recompiling. A subclass names its Brian2 device, its preferences and its seed code.
"""
from __future__ import annotations

import atexit
import contextlib
import gc
import hashlib
import io
import os
import re
import shutil
import socket
import sys
import time
from pathlib import Path
from typing import Any, ClassVar

import brian2 as b2
import numpy as np

from ..config import Experiment
from ..errors import SimulationError
from ..network import Built, build
from .base import Backend, default_cache_dir, stimulus_quantity, with_dim


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


class StandaloneBackend(Backend):
    """The shared recipe of standalone devices (see the module docstring)."""

    device_name: ClassVar[str] = ""
    #: C++ inserted at the top of main(): re-seeds the device's generators from $LAMINA_SEED.
    seed_code: ClassVar[str] = ""

    def __init__(self, cache_dir: str | Path | None = None):
        self.cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
        self._key: str | None = None
        self._built: Built | None = None
        self._project: Path | None = None
        self._runs = 0
        self._private_dirs: set[Path] = set()
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
        if self.program_key(exp, batch, shared) == self._key and self._built is not None:
            return self._built, {"compiled": False, "build_s": 0.0}
        return self._built_for(exp, batch, shared)

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
        self._runs += 1
        rel = f"results/{os.getpid()}_{self._runs}"
        self._results = self._project / rel
        os.environ["LAMINA_SEED"] = str(device_seed)
        t0 = time.perf_counter()
        # Brian2's SIGINT handler only asks a running simulation to stop "at the end of the time
        # step", which a standalone binary never hears: the run would complete. While the binary
        # runs, Ctrl-C (and SIGTERM: `timeout`, a batch system) raises KeyboardInterrupt instead;
        # subprocess.call (inside device.run) then kills the binary.
        import signal
        import threading

        def interrupt(signum, frame):
            raise KeyboardInterrupt(signal.Signals(signum).name)

        swap = threading.current_thread() is threading.main_thread()
        old_handlers = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGINT, signal.SIGTERM)} if swap else {}
        # The program dies with the thread that started it (a sweep worker stopped or killed
        # mid-run, a SIGKILLed `lamina run`) instead of simulating on, orphaned: util-linux's
        # setpriv sets PR_SET_PDEATHSIG and execs the program (same pid, same arguments).
        prefs = b2.prefs.devices.cpp_standalone
        run_cmd = prefs.run_cmd_unix
        setpriv = shutil.which("setpriv") if sys.platform.startswith("linux") else None
        if setpriv:
            prefs.run_cmd_unix = [setpriv, "--pdeathsig", "KILL", *([run_cmd] if isinstance(run_cmd, str) else run_cmd)]
        try:
            with _stdout_to_stderr(progress):
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
            for sig, handler in old_handlers.items():
                signal.signal(sig, handler)
        run_s = time.perf_counter() - t0
        return {"run_s": run_s, "binary_s": float(self._device.timers.get("run_binary", run_s)),
                # the simulation loop alone, as timed inside the program
                "loop_s": float(getattr(self._device, "_last_run_time", None) or run_s)}

    def finish(self, built: Built) -> None:
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
