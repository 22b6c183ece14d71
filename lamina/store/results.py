"""Simulate-and-write and analyse-in-place: how run files come to be.

* :func:`simulate_and_write_batch` / :func:`simulate_and_write` — the one place runs are simulated
  and written as run files (``lamina sweep`` workers and ``lamina figures`` both call it);
* :func:`analyze_file` — ``lamina analyze`` of one run file: numbers from
  :func:`lamina.analysis.summary.analyze_run`, stored by :func:`lamina.store.run.write_analysis`.

This is the package's one upward import: the store calls the analysis to fill ``/analysis``.
The find-or-simulate cache of sweeps and figures is :mod:`lamina.sweep.cache`.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from ..config import Experiment
from .run import open_run, write_analysis, write_run

__all__ = ["analyze_file", "simulate_and_write", "simulate_and_write_batch"]


def simulate_and_write(exp: Experiment, runs_dir: str | Path, filename: str, *, point: dict | None = None,
                       attrs: dict[str, Any] | None = None) -> tuple[Path, dict[str, Any]]:
    """Simulate ``exp``, add ``attrs`` to its provenance and write it as ``runs_dir/filename``
    (atomically; a numbered suffix rather than overwrite). Returns (path, root attributes)."""
    return simulate_and_write_batch([exp], runs_dir, [filename], points=[point or {}], attrs=[attrs or {}])[0]


def simulate_and_write_batch(exps: list[Experiment], runs_dir: str | Path, filenames: list[str | None], *,
                             points: list[dict] | None = None, attrs: list[dict] | None = None,
                             pad: int = 0) -> list[tuple[Path, dict[str, Any]]]:
    """Simulate experiments of one structure as one batch and write each replica whose filename
    is not None as its own run file (the others pad the batch to a compiled size and are dropped).
    ``pad`` more replicas, copies of the last experiment, are simulated and dropped: they keep a
    short last batch in its structure's one compiled program. Returns (path, root attributes) per
    written replica, in order."""
    from ..simulation import simulate_batch

    exps = list(exps) + [exps[-1]] * pad
    filenames = list(filenames) + [None] * pad
    points = None if points is None else list(points) + [{}] * pad
    attrs = None if attrs is None else list(attrs) + [{}] * pad
    results = simulate_batch(exps, points=points)
    out = []
    for k, (result, name) in enumerate(zip(results, filenames)):
        if name is None:
            continue
        result.attrs.update((attrs or [{}] * len(exps))[k] or {})
        t0 = time.perf_counter()
        path = write_run(result, runs_dir, name)
        out.append((path, {**result.attrs, "write_s": time.perf_counter() - t0}))
    return out


def analyze_file(path: str | Path) -> dict[str, dict[str, float]]:
    """Analyse one run file and store the numbers in its ``/analysis`` group (idempotent);
    returns the per-layer numbers."""
    from ..analysis.readout import FREE_META
    from ..analysis.summary import analyze_run
    from ..analysis.transfer import TRANSFER_META

    run = open_run(path)
    per_layer, params, filters = analyze_run(run.layers, run.spikes, float(run.attrs["duration_ms"]), run.stimulus)
    write_analysis(path, per_layer, params, filters, meta={**FREE_META, **TRANSFER_META})
    return per_layer
