"""Run one experiment: backend → plain arrays + provenance (a :class:`RunResult`).

(Named ``simulation`` so that the public function ``lamina.simulate`` never collides with a module.)
"""
from __future__ import annotations

import datetime as _dt
import time
from dataclasses import dataclass, field

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


def simulate(exp: Experiment, backend: str | None = None, point: dict | None = None,
             progress: bool = False) -> RunResult:
    """Simulate ``exp`` on its backend (or ``backend``) and return arrays with provenance.
    ``progress``: let the compiled program print its progress (every 10 s of wall time)."""
    import brian2

    from ._version import __version__
    from .backends import get_backend

    name = backend or exp.backend
    t0 = time.perf_counter()
    raw = get_backend(name).run(exp, progress=progress)
    wall = time.perf_counter() - t0
    steps = int(round(float(exp.record.rate_bin / exp.dt)))
    layers = [{"name": l.name, "cell": l.cell.ref, "size": l.size, "role": l.role} for l in exp.layers]
    attrs = {
        "lamina_version": __version__, "brian2_version": brian2.__version__, "backend": name,
        "seed": exp.seed, "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "wall_time_s": wall, "structure_key": raw.info["structure_key"],
        "compiled": bool(raw.info.get("compiled", False)), "build_time_s": raw.info.get("build_s", 0.0),
        "run_time_s": raw.info.get("run_s", 0.0), "loop_time_s": raw.info.get("loop_s", raw.info.get("run_s", 0.0)),
        "binary_time_s": raw.info.get("binary_s", raw.info.get("run_s", 0.0)), "method": exp.method, "dt_ms": float(exp.dt) * 1e3,
    }
    return RunResult(
        name=exp.name, config_toml=dumps_toml(exp.spec), layers=layers, spikes=raw.spikes,
        rates={k: bin_rate(v, steps) for k, v in raw.rates.items()},
        rate_dt_ms=float(exp.record.rate_bin) * 1e3, duration_ms=float(exp.duration) * 1e3,
        stimulus=raw.stimulus, traces=raw.traces, trace_dt_ms=float(exp.dt) * 1e3,
        attrs=attrs, point=dict(point or {}),
    )
