"""Run experiments: backend → plain arrays + provenance (one :class:`RunResult` per run).

(Named ``simulation`` so that the public function ``lamina.simulate`` never collides with a module.)
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from .config import Experiment, dumps_toml
from .stimulus import Stimulus


@dataclass
class RunResult:
    name: str
    config_toml: str
    layers: list[dict]  # [{name, cell, size, role}] in network order
    spikes: dict[str, tuple[np.ndarray, np.ndarray]]  # layer -> (times_ms, node_ids)
    rates: dict[str, np.ndarray]  # layer -> Hz per neuron, one value per rate bin (float32)
    rate_dt_ms: float
    duration_ms: float
    stimulus: Stimulus
    traces: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    trace_dt_ms: float = 0.0
    attrs: dict = field(default_factory=dict)  # provenance
    point: dict = field(default_factory=dict)  # swept values, if part of a sweep


def bin_rate(rate_per_step: np.ndarray, steps_per_bin: int) -> np.ndarray:
    """Average a per-time-step population rate into bins (drops an incomplete last bin)."""
    n = len(rate_per_step) // steps_per_bin * steps_per_bin
    return rate_per_step[:n].reshape(-1, steps_per_bin).mean(axis=1).astype(np.float32)


#: seconds between "still compiling" lines on a cold program cache
COMPILE_TICK_S = 20.0


@contextlib.contextmanager
def _compile_notice(backend, exps: Sequence[Experiment], active: bool):
    """On a cold cache, say on stderr what is being compiled and, while it compiles, how long it
    has taken (the compile itself is silent, and takes minutes). Nothing when ``active`` is
    False (``-q``), for backends without a compiled program, or when the program is cached.

    The compile's end is seen from outside: the backend publishes the program as
    ``<project>/main`` as soon as it is built.
    """
    project_dir = getattr(backend, "project_dir", None)
    if not active or project_dir is None:
        yield
        return
    from .network import shared_parameters

    try:
        project = Path(project_dir(exps[0], len(exps), shared_parameters(exps)))
    except Exception:  # noqa: BLE001 — only a notice: the run itself reports real problems
        yield
        return
    if (project / "main").exists():
        yield
        return
    # Brian2 points file descriptors 1 and 2 at a log file while the compiler runs: write the
    # notices to a duplicate of the real stderr taken now.
    try:
        err = os.fdopen(os.dup(sys.stderr.fileno()), "w", buffering=1)
    except (AttributeError, OSError, ValueError):  # no real file behind sys.stderr (captured)
        err = None
    out = err if err is not None else sys.stderr

    def say(msg: str) -> None:
        with contextlib.suppress(OSError, ValueError):
            print(msg, file=out, flush=True)

    n = sum(l.size for l in exps[0].layers) * len(exps)
    say(f"lamina: compiling the {backend.name} program for {exps[0].name} ({n} neurons"
        + (f", batch of {len(exps)}" if len(exps) > 1 else "") + f") into {project} — the first run "
        "of this structure; later runs reuse it")
    stop = threading.Event()
    t0 = time.time()
    done: list[bool] = []

    def compiled() -> bool:
        """Say so once the program is there (its mtime: when the compiler finished)."""
        try:
            took = (project / "main").stat().st_mtime - t0
        except OSError:
            return False
        if not done:
            done.append(True)
            say(f"lamina: compiled in {max(took, 0.0):.0f} s")
        return True

    def tick() -> None:
        next_tick = COMPILE_TICK_S
        while not stop.wait(1.0):
            if compiled():
                return
            el = time.time() - t0
            if el >= next_tick:
                say(f"lamina: still compiling ({el:.0f} s)")
                next_tick += COMPILE_TICK_S

    th = threading.Thread(target=tick, name="lamina-compile-notice", daemon=True)
    th.start()
    try:
        yield
    finally:
        stop.set()
        th.join(timeout=2)
        compiled()  # a run shorter than the tick: still say how long the compile took
        if err is not None:
            err.close()


def simulate(exp: Experiment, backend: str | None = None, point: dict | None = None,
             progress: bool = False) -> RunResult:
    """Simulate ``exp`` on its backend (or ``backend``) and return arrays with provenance.

    A batch of one (:func:`simulate_batch`). ``progress``: let the compiled program print its
    progress (every 10 s of wall time).
    """
    return simulate_batch([exp], backend, [point or {}], progress)[0]


def simulate_batch(exps: Sequence[Experiment], backend: str | None = None,
                   points: Sequence[dict] | None = None, progress: bool = False) -> list[RunResult]:
    """Simulate experiments of one structure together as disconnected replicas of one network
    (one compiled program, one launch) and return one :class:`RunResult` per experiment.

    Each replica keeps its own seed for its per-neuron parameters, its stimulus and (default
    ``simulation.noise = "counter"``) its noise; connectivity, and the noise with ``noise =
    "brian2"``, come from the batch's device seed (recorded as ``device_seed`` with ``batch_size``,
    ``batch_index`` and ``batch_seeds``: running the same experiments in the same order again
    reproduces every replica bit for bit; a batch of one is the unbatched run).
    """
    import brian2

    from ._version import __version__
    from .backends import get_backend, resolve

    name = backend or exps[0].backend
    if name == "auto":
        name = resolve(exps[0], len(exps))
    points = list(points) if points is not None else [{} for _ in exps]
    t0 = time.perf_counter()
    be = get_backend(name)
    with _compile_notice(be, exps, progress):
        raws = be.run_batch(exps, progress=progress)
    wall = time.perf_counter() - t0
    created = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    out = []
    for exp, raw, point in zip(exps, raws, points):
        info = raw.info
        steps = int(round(float(exp.record.rate_bin / exp.dt)))
        layers = [{"name": l.name, "cell": l.cell.ref, "size": l.size, "role": l.role} for l in exp.layers]
        attrs = {
            "lamina_version": __version__, "brian2_version": brian2.__version__, "backend": name,
            "seed": exp.seed, "created": created, "wall_time_s": wall / len(exps),
            "structure_key": info["structure_key"], "program_key": info["program_key"], "compiled": bool(info.get("compiled", False)),
            "build_time_s": info.get("build_s", 0.0), "run_time_s": info.get("run_s", 0.0),
            "loop_time_s": info["loop_s"], "binary_time_s": info["binary_s"], "method": exp.method,
            "dt_ms": float(exp.dt) * 1e3, "batch_size": info["batch_size"], "batch_index": info["batch_index"],
            "batch_seeds": info["batch_seeds"], "device_seed": info["device_seed"],
            "batch_wall_time_s": wall, "precision": info.get("precision", "double"),
            # where a device reports it (cuda): the program's set-up, end-of-run and synapse times
            **{k: float(info[k]) for k in ("program_setup_s", "program_end_s", "synapse_creation_s",
                                           "spike_queue_s") if k in info},
        }
        out.append(RunResult(
            name=exp.name, config_toml=dumps_toml(exp.spec), layers=layers, spikes=raw.spikes,
            rates={k: bin_rate(v, steps) for k, v in raw.rates.items()},
            rate_dt_ms=float(exp.record.rate_bin) * 1e3, duration_ms=float(exp.duration) * 1e3,
            stimulus=raw.stimulus, traces=raw.traces, trace_dt_ms=float(exp.dt) * 1e3,
            attrs=attrs, point=dict(point or {}),
        ))
    return out
