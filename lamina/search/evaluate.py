"""Evaluate a layer profile: simulate its runs through lamina's own machinery and compute the
objective (bias-corrected MI between the input strength and the last layer's packet response).

A profile's runs are the points of an ordinary sweep spec — the template network with the
profile's hidden layers, ``input.alpha`` over the strengths (and 0: the no-stimulus baseline of
each seed), ``seeds = M`` in ``seed_mode = "common"`` (every strength sees the same networks and
noise seeds, so the MI is about the strength alone). Its run files go to
``<study>/runs/<digest>/runs/<run id>.h5`` (``digest``: of the spec without its seed count, so a
profile evaluated twice — a resumed trial, a pruning stage on the first m of M seeds — finds its
finished runs and simulates only the rest). With a Dask client
(``--workers N > 1`` or ``--scheduler``) :func:`lamina.sweep.run_sweep` runs them (and writes the
directory's ``sweep.h5``); otherwise they run in this process, in batches of one structure through
:func:`lamina.sweep.schedule.run_task` (the sweep workers' own function), ``batch`` at a time.
"""
from __future__ import annotations

import copy
import dataclasses
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from ..errors import SimulationError
from .spec import Profile, SearchSpec

__all__ = ["Evaluation", "Simulator", "RUNTIME_MAX_BATCH"]

#: runtime backend: runs per batch by default (one numpy program per step for the whole batch: 6
#: runs of 3 × 50 neurons took 3.8 s together and 2.8 s alone on a loaded 2-core machine)
RUNTIME_MAX_BATCH = 64


@dataclass
class Evaluation:
    """The objective of one profile on one seed set, and what it rests on."""

    value: float  # bias-corrected MI (bits) of the last layer: the objective
    half: float = float("nan")  # 95 % CI half-width (jackknife over seeds; nan with < 4 seeds)
    per_layer: list[dict] = field(default_factory=list)  # layer 0 … L: mi, half, plugin, null95, p
    seeds: list[int] = field(default_factory=list)  # run seeds (simulation.seed) used
    run_dir: str = ""
    n_runs: int = 0
    n_simulated: int = 0
    layers: list = field(default_factory=list)  # the hidden layers' network.layers entries

    def as_dict(self) -> dict:
        return {"value": self.value, "half": self.half, "per_layer": self.per_layer, "seeds": self.seeds,
                "run_dir": self.run_dir, "n_runs": self.n_runs, "n_simulated": self.n_simulated,
                "layers": self.layers}


def _finite(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


class Simulator:
    """Evaluates profiles of one search by simulation.

    Parameters
    ----------
    spec : SearchSpec
    out : Path
        The study directory.
    workers : int, optional
        Local Dask worker processes (more than 1: a LocalCluster kept for the whole study).
    scheduler : str, optional
        Address of a running Dask scheduler.
    backend : str, optional
        Run every run on this backend instead of the spec's.
    batch : int, optional
        Runs per batch (default: every run of a profile on runtime, up to 64; the sweep default
        per backend otherwise: cuda ~1.6 million neurons per batch, cpp 1).
    log : callable
        Progress lines.
    """

    def __init__(self, spec: SearchSpec, out: Path, *, workers: int | None = None, scheduler: str | None = None,
                 backend: str | None = None, batch: int | None = None,
                 log: Callable[[str], None] = lambda m: print(m, file=sys.stderr, flush=True)):
        self.spec, self.out, self.backend, self.batch, self.log = spec, Path(out), backend, batch, log
        self.workers, self.scheduler = workers, scheduler
        self._client = None
        self._cluster = None
        self._g_table: dict[float, float] | None = None

    # -- executor

    def _get_client(self):
        if self._client is None and (self.scheduler or (self.workers or 1) > 1):
            from ..sweep.schedule import start_client

            self._client, self._cluster = start_client(self.workers, self.scheduler, quiet=True)
        return self._client

    def close(self) -> None:
        """Stop the local Dask cluster, if one was started."""
        if self._client is not None:
            from ..sweep.schedule import shutdown_client

            shutdown_client(self._client, self._cluster)
            self._client = self._cluster = None

    # -- specs

    def g_table(self) -> dict[float, float] | None:
        """The EPSP calibration (``g_syn = "epsp"``), measured once per study; None otherwise."""
        if self.spec.g_syn != "epsp":
            return None
        if self._g_table is None:
            from .layers import epsp_table

            self._g_table = epsp_table(self.spec, self.out, backend=self.backend, log=self.log)
        return self._g_table

    def hidden(self, target: Profile | str) -> list:
        """network.layers entries of the hidden layers: a searched profile or a reference's name."""
        from .layers import hidden_layers, reference_layers

        if isinstance(target, str):
            return reference_layers(self.spec, target)
        return hidden_layers(self.spec, target, self.g_table())

    def sweep_spec(self, hidden: list, seed_base: int, n_seeds: int) -> dict:
        """The sweep spec of one profile on one seed set."""
        d = copy.deepcopy(self.spec.base)
        d["network"]["layers"] = [d["network"]["layers"][0]] + copy.deepcopy(hidden)
        sim = d.setdefault("simulation", {})
        sim["seed"] = int(seed_base)
        if self.backend:
            sim["backend"] = self.backend
        alphas = list(self.spec.strengths) + ([0] if self.spec.baseline else [])
        d["sweep"] = {"input.alpha": alphas, "seeds": int(n_seeds), "seed_mode": "common"}
        return d

    def run_seeds(self, seed_base: int, n_seeds: int) -> list[int]:
        """The simulation seeds a seed set gives its runs (the same for every profile)."""
        from ..grid import derive_seed

        return [derive_seed(int(seed_base), {}, r) for r in range(int(n_seeds))]

    # -- evaluation

    def __call__(self, target: Profile | str, *, seed_base: int, n_seeds: int, n_null: int = 0) -> Evaluation:
        """Simulate (or reuse) the runs of ``target`` on a seed set and compute the objective."""
        from ..config import experiment_from_dict
        from ..grid import run_id
        from ..sweep.expand import expand_sweep

        hidden = self.hidden(target)
        spec = self.sweep_spec(hidden, seed_base, n_seeds)
        exp = experiment_from_dict(spec)
        points = expand_sweep(exp)
        # keyed without the seed count: common seeds derive from (base seed, repeat), so the first
        # m seeds of M are the same runs (same run ids) and a pruning stage's runs are reused
        trial_dir = self.out / "runs" / run_id({**spec, "sweep": {k: v for k, v in spec["sweep"].items() if k != "seeds"}})
        n_sim = self._simulate(exp, points, trial_dir)
        ev = self._objective(points, trial_dir, n_null, label=target if isinstance(target, str) else "searched")
        ev.seeds = sorted({p.seed for p in points})
        ev.run_dir, ev.n_runs, ev.n_simulated, ev.layers = str(trial_dir), len(points), n_sim, hidden
        return ev

    def _batch_size(self, exp, n: int) -> int:
        from ..backends import resolve
        from ..sweep.schedule import default_batch, even_batch

        if self.batch:
            return int(self.batch)
        if resolve(exp, 1) == "runtime":
            return max(1, min(n, RUNTIME_MAX_BATCH))
        # a trial's n runs in equal batches near the backend's size: no padded replicas (cuda's
        # ~1.6 M neurons would pad a 90-run trial of 13 x 1000 to 123)
        return even_batch(n, default_batch(exp))

    def _simulate(self, exp, points, trial_dir: Path) -> int:
        """Simulate the points without a finished run file; returns how many were simulated."""
        from ..store.run import read_run_status
        from ..store.sweep_index import RUNS_DIR

        runs_dir = trial_dir / RUNS_DIR
        pending = [p for p in points
                   if not ((runs_dir / p.filename).exists() and read_run_status(runs_dir / p.filename, p.seed)[0] == "ok")]
        if not pending:
            return 0
        batch = self._batch_size(exp, len(pending))
        self.log(f"lamina: {len(pending)} runs to simulate ({len(points) - len(pending)} reused, batches of {batch}) "
                 f"→ {trial_dir}")
        client = self._get_client()
        if client is not None:
            from ..sweep.schedule import run_sweep

            summary = run_sweep(exp, trial_dir, client=client, progress=False, batch=batch, log=lambda m: None)
            if summary.n_failed:
                raise SimulationError(f"{summary.n_failed} runs of {trial_dir} failed: "
                                      f"{summary.failures[0]['error'][:300]}")
            return len(pending)
        from ..sweep.schedule import run_task

        runs_dir.mkdir(parents=True, exist_ok=True)
        done = 0
        for start in range(0, len(pending), batch):
            chunk = pending[start:start + batch]
            pad = batch - len(chunk) if batch > 1 and self._pads(exp) else 0
            pts = [{"spec": p.experiment.spec, "values": p.values, "run_id": p.run_id, "point": p.index,
                    "repeat": p.repeat, "seed": p.seed, "runs_dir": str(runs_dir.resolve()), "sweep": exp.name,
                    "filename": p.filename} for p in chunk]
            recs = run_task({"points": pts, "pad": pad})
            bad = [r for r in recs if r["status"] != "ok"]
            if bad:
                raise SimulationError(f"{len(bad)} runs of {trial_dir} failed: {bad[0].get('error', '')[:300]}")
            done += len(chunk)
        return done

    @staticmethod
    def _pads(exp) -> bool:
        """Pad a short last batch to the batch size where a compiled program has one (not runtime)."""
        from ..backends import resolve

        return resolve(exp, 1) != "runtime"

    def _objective(self, points, trial_dir: Path, n_null: int, label: str) -> Evaluation:
        from ..analysis.strength import strength_mi, strength_mi_joint
        from ..figures.packets import packet_rows
        from ..store.run import has_analysis, open_run
        from ..store.sweep_index import RUNS_DIR
        from ..sweep.cache import Point, Run

        runs = []
        for p in points:
            path = trial_dir / RUNS_DIR / p.filename
            data = open_run(path)
            if not has_analysis(path):
                data = dataclasses.replace(data, analysis=packet_analysis(data))
            runs.append(Run(Point(p.values, p.seed, p.run_id, p.experiment), data, label))
        rows = packet_rows(runs)
        per_layer = []
        layers = sorted({r["layer"] for r in rows})
        for z in layers:
            d = [r for r in rows if r["layer"] == z]
            s = np.array([r["input_alpha"] for r in d])
            g = np.array([r["seed"] for r in d])
            size = np.array([r["packet_size_frac"] for r in d], dtype=float)
            lat = np.array([r["packet_latency_ms"] for r in d], dtype=float)
            alive = np.array([r["alive"] for r in d], dtype=bool)
            resp = self.spec.response
            if resp == "size":
                m = strength_mi(s, size, g, n_null=n_null)
            elif resp == "latency":
                m = strength_mi(s, lat, g, alive=alive, n_null=n_null)
            else:
                m = strength_mi_joint(s, size, np.where(alive, lat, np.nan), g, alive=alive, n_null=n_null)
            per_layer.append({"layer": int(z), "mi": float(m["mi"]), "half": _finite(m["half"]),
                              "plugin": float(m["plugin"]), "null95": _finite(m["null95"]), "p": _finite(m["p"]),
                              "alive_frac": float(alive.mean()), "size_mean": float(np.mean(size)),
                              "qe_ok": bool(m["qe_ok"]),
                              # leave-one-seed-out values (sorted seeds): paired differences between
                              # profiles evaluated on the same seeds
                              "loo": [_finite(x) for x in np.asarray(m["loo"], dtype=float)]})
        last = per_layer[-1]
        # A profile whose last layer carries nothing has MI ~ 0 (never nan: the sampler needs a number).
        value = last["mi"] if np.isfinite(last["mi"]) else 0.0
        return Evaluation(value=float(value), half=float(last["half"]) if last["half"] is not None else float("nan"),
                          per_layer=per_layer)


def packet_analysis(data) -> dict:
    """The packet numbers of ``lamina analyze`` for one run, without the window-free fits (a
    Gaussian fit per layer, 5× the cost of the rest: the search needs only the windowed readout).

    The same call as :func:`lamina.analysis.summary.analyze_run` for a pulse packet, with
    ``packet_free=False``; the result has the shape of ``RunData.analysis`` (layer -> numbers,
    plus the estimator settings), in memory only: run files are not changed (``lamina analyze``
    fills their ``/analysis`` where wanted).
    """
    from ..analysis.readout import (ESTIMATOR_SEED, PACKET_WINDOW_MS, analysis_start_ms, baseline_rates,
                                    stimulus_onset_ms)
    from ..analysis.summary import layer_summary

    duration = float(data.attrs["duration_ms"])
    stim = data.stimulus
    t_start = analysis_start_ms(stim)
    kw: dict = {"onset_ms": stimulus_onset_ms(stim), "packet_window_ms": PACKET_WINDOW_MS,
                "packet_range_ms": (0.0, duration), "seed": ESTIMATOR_SEED, "packet_free": False}
    bases = baseline_rates(data.layers, data.spikes, duration, stim)
    if bases is not None:
        kw["baseline_rate_hz"] = bases
    times = {l["name"]: data.spikes[l["name"]][0] for l in data.layers}
    sizes = {l["name"]: int(l["size"]) for l in data.layers}
    per_layer, params = layer_summary(times, sizes, duration - t_start, t_start_ms=t_start, **kw)
    return {**params, **per_layer}


def dumps(obj) -> str:
    """JSON of evaluation records (nan → null)."""
    return json.dumps(obj, indent=1, default=lambda o: None if isinstance(o, float) and not np.isfinite(o) else str(o))
