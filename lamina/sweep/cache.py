"""Find-or-simulate: the results cache that sweeps and figures share.

:class:`Results` / :func:`ensure_runs` give every run of a spec at a scale, reused from a results
directory when a file with the same resolved spec (seed included) and the same compiled model
exists, simulated otherwise (missing sweep points through :func:`lamina.sweep.run_sweep` on
worker processes, or here in batches), each analysed once so that figures read ``/analysis``.
"""
from __future__ import annotations

import json
import sys
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..config import Experiment, load_experiment
from ..resources import sims_dir
from ..store.results import analyze_file, simulate_and_write, simulate_and_write_batch
from ..store.run import RunData, open_run, read_header

__all__ = ["Point", "Run", "Results", "ensure_runs", "expand", "scan", "spec_key"]


def spec_key(spec: dict) -> str:
    """The reuse key of a resolved spec: :func:`lamina.sweep.expand.run_id` of it without a
    [sweep] table (a plain ``lamina run`` of a spec keeps its sweep table; the runs of a sweep do not)."""
    from .expand import run_id

    return run_id({k: v for k, v in spec.items() if k != "sweep"})


@dataclass
class Point:
    """One run of a spec: the sweep values it stands for and its validated experiment."""

    values: dict
    seed: int
    run_id: str
    experiment: Experiment
    structure_key: str = ""


@dataclass
class Run:
    """A finished run, with what figure recipes need about it."""

    point: Point
    data: RunData
    network: str = ""

    @property
    def values(self) -> dict:
        return self.point.values

    @property
    def seed(self) -> int:
        return self.point.seed

    @property
    def exp(self) -> Experiment:
        return self.point.experiment

    @property
    def duration_ms(self) -> float:
        return float(self.exp.duration) * 1e3

    @property
    def pair_key(self) -> tuple[str, int, str]:
        """Network, seed and every non-input sweep value (e.g. a g_syn condition): a stimulated
        run and its no-stimulus baseline share this key, runs of other conditions do not."""
        rest = {k: v for k, v in self.values.items() if not k.startswith("input.") and k != "network.layers"}
        return self.network, self.seed, json.dumps(rest, sort_keys=True, default=str)

    def input_param(self, key: str, unit: float = 1e-3) -> float:
        """An input parameter as a plain number (times in ms by default; alpha as is)."""
        v = self.exp.input.params[key]
        return float(v) if key == "alpha" else float(v) / unit

    @property
    def chain(self) -> list[dict]:
        """The excitatory chain's layers (feedforward-inhibition groups left out)."""
        return [l for l in self.data.layers if l.get("role", "exc") == "exc"]


def expand(exp: Experiment) -> list[Point]:
    """The runs of an experiment: its sweep's points × seeds, or the experiment itself."""
    if exp.sweep is None:
        return [Point({}, exp.seed, spec_key(exp.spec), exp)]
    from .expand import expand_sweep

    return [Point(p.values, p.seed, spec_key(p.spec), p.experiment) for p in expand_sweep(exp)]


def scan(results: Path) -> dict[tuple[str, str], Path]:
    """Every lamina run file under ``results``, keyed by (digest of its resolved spec, structure
    key of the program that ran it): a result is reused only if the compiled model is unchanged
    too (cell-card equations, lamina and Brian2 versions, backend)."""
    index: dict[tuple[str, str], Path] = {}
    if not results.is_dir():
        return index
    for path in sorted(results.rglob("*.h5")):
        if path.name.startswith(".") or path.name == "sweep.h5":
            continue
        h = read_header(path)
        if h is None:
            continue
        try:
            spec = tomllib.loads(h["spec"])
        except tomllib.TOMLDecodeError:
            continue
        index.setdefault((spec_key(spec), str(h.get("structure_key", ""))), path)
    return index


def _short(values: dict) -> str:
    return " ".join(f"{k.rsplit('.', 1)[-1]}={v}" for k, v in values.items() if k != "network.layers")


@dataclass
class Results:
    """A results directory used as a cache of runs, at one scale."""

    scale: str = "small"
    results: Path = Path("results")
    quiet: bool = False
    workers: int | None = None
    backend: str | None = None  # run every spec on this backend (e.g. "cuda"), else the spec's own
    precision: str | None = None
    sims: Path = field(default_factory=sims_dir)
    _index: dict[tuple[str, str], Path] | None = field(default=None, repr=False)
    simulated: int = 0
    reused: int = 0

    def log(self, msg: str) -> None:
        if not self.quiet:
            print(msg, file=sys.stderr, flush=True)

    def spec(self, name: str) -> Path:
        return self.sims / f"{name}.toml"

    def results_dir(self, exp: Experiment) -> Path:
        return self.results / (exp.name if self.scale == "paper" else f"{exp.name}_{self.scale}")


def _pinned_to_runtime(path: Path) -> bool:
    """Whether a spec says ``backend = "runtime"``: single neurons (fig1), for which compiling a
    program (cpp: seconds, cuda: a minute per structure) costs more than the runs; ``--backend``
    leaves such specs on runtime."""
    try:
        return tomllib.loads(path.read_text()).get("simulation", {}).get("backend") == "runtime"
    except (OSError, tomllib.TOMLDecodeError):
        return False  # load_experiment reports it


def ensure_runs(ctx: Results, label: str, spec_name: str, network_label: Callable[[list[str]], str],
                overrides: dict | None = None) -> list[Run]:
    """Load (or simulate) every run of ``sims/<spec_name>.toml`` at ``ctx.scale``, each analysed
    (``/analysis`` filled once, then read back); one progress line per run, prefixed ``label``.
    ``network_label`` names a network from its excitatory chain's cell refs."""
    from ..backends import structure_key

    forced = {k: v for k, v in (("simulation.backend", ctx.backend), ("simulation.precision", ctx.precision)) if v}
    if _pinned_to_runtime(ctx.spec(spec_name)):
        forced.pop("simulation.backend", None)
    exp = load_experiment(ctx.spec(spec_name), {**forced, **(overrides or {})},
                          scale=None if ctx.scale == "paper" else ctx.scale)
    points = expand(exp)
    if ctx._index is None:
        ctx._index = scan(ctx.results)
    runs_dir = ctx.results_dir(exp) / "runs"
    skeys: dict[str, str] = {}  # structure keys: one per structure, cheap to compute but not free
    for p in points:
        e = p.experiment
        # Everything structure_key depends on (it also hashes the equations, which follow from the
        # layers' cell cards, and the versions, which are fixed in a process).
        sig = json.dumps([e.backend, e.precision, e.spec["network"], e.spec["record"], float(e.duration), float(e.dt),
                          e.method, e.input.kind, list(e.input.layers),
                          [e.spec["simulation"].get(k) for k in ("spike_detection", "noise", "constants")]],
                         sort_keys=True, default=str)
        if sig not in skeys:
            skeys[sig] = structure_key(e)
        p.structure_key = skeys[sig]
    missing = [p for p in points if (p.run_id, p.structure_key) not in ctx._index]
    if missing and ctx.workers and ctx.workers > 1 and exp.sweep is not None and not overrides:
        _run_with_sweep(ctx, exp, forced, len(missing))
        missing = [p for p in points if (p.run_id, p.structure_key) not in ctx._index]
    if missing:  # in this process, in batches where the backend gains from them (cuda)
        from .schedule import batch_sizes

        # sized over all the structure's runs, not only the missing: a resumed figure runs the same program
        sizes = batch_sizes(points, {p.run_id: p.structure_key for p in points})
        _simulate_batches(ctx, missing, runs_dir, label, spec_name, sizes)
    _analyze_in_parallel(ctx, [ctx._index.get((p.run_id, p.structure_key)) for p in points])
    runs = []
    for k, p in enumerate(points, 1):
        cells = [l.cell.ref for l in p.experiment.layers if l.role == "exc"]
        net = network_label(cells) if p.experiment.projections else "single neurons"
        desc = f"{label} [{k}/{len(points)}] {spec_name}: {net} {_short(p.values)} seed {p.seed}".rstrip()
        path = ctx._index.get((p.run_id, p.structure_key))
        if path is None:
            path = _simulate(ctx, p, runs_dir, desc)
        else:
            ctx.reused += 1
            ctx.log(f"lamina: {desc}: reused {path}")
        data = open_run(path)
        if not data.analysis:  # one code path computes a number: figures read /analysis
            analyze_file(path)
            data = open_run(path)
        runs.append(Run(p, data, net))
    return runs


#: fewer runs than this without /analysis are analysed in this process (a pool costs its start-up)
PARALLEL_ANALYSIS_MIN = 16


def _analyze_in_parallel(ctx: Results, paths: list[Path | None]) -> None:
    """Analyse the run files that lack ``/analysis`` in worker processes (the analysis is CPU work
    that a GPU sweep leaves to this process: 1 260 runs one after another took minutes).
    ``ctx.workers`` processes, or every core when the runs come from the GPU."""
    import os
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    from ..store.run import has_analysis

    todo = [p for p in paths if p is not None and not has_analysis(p)]
    # cuda: --workers counts processes sharing the GPU, which have finished by now: every core
    n = (os.cpu_count() or 1) if ctx.backend == "cuda" else ctx.workers if ctx.workers and ctx.workers > 1 else 1
    if len(todo) < PARALLEL_ANALYSIS_MIN or n <= 1:
        return  # ensure_runs analyses them one by one
    t0 = time.perf_counter()
    # spawn: the parent may hold a CUDA context and Brian2's device state, which must not be forked
    with ProcessPoolExecutor(min(n, len(todo)), mp_context=get_context("spawn")) as pool:
        list(pool.map(analyze_file, todo, chunksize=max(1, len(todo) // (4 * n))))
    ctx.log(f"lamina: analysed {len(todo)} runs in {n} processes in {time.perf_counter() - t0:.1f} s")


def _file_name(runs_dir: Path, p: Point) -> str:
    """``<run id>.h5``, or ``<run id>_<structure key>.h5`` when the former holds the result of an
    older program (kept, next to the new one)."""
    name = f"{p.run_id}.h5"
    return f"{p.run_id}_{p.structure_key}.h5" if (runs_dir / name).exists() else name


def _simulate(ctx: Results, p: Point, runs_dir: Path, desc: str) -> Path:
    t0 = time.perf_counter()
    path, a = simulate_and_write(p.experiment, runs_dir, _file_name(runs_dir, p), point=p.values)
    ctx._index[(p.run_id, a["structure_key"])] = path
    ctx.simulated += 1
    how = "compiled + simulated" if a.get("compiled") else "simulated"
    ctx.log(f"lamina: {desc}: {how} in {time.perf_counter() - t0:.1f} s → {path}")
    return path


def _simulate_batches(ctx: Results, missing: list[Point], runs_dir: Path, label: str, spec_name: str,
                      sizes: dict[str, int]) -> None:
    """Simulate missing points of one structure together, ``sizes[structure key]`` at a time
    (:func:`lamina.sweep.schedule.batch_sizes`; 1 on cpp: then this is one run after another, each
    logged by the caller). A last, shorter batch is padded so that one program serves the
    structure."""
    by_key: dict[str, list[Point]] = {}
    for p in missing:
        by_key.setdefault(p.structure_key, []).append(p)
    for key, pts in by_key.items():
        size = sizes[key]
        if size <= 1:
            continue  # the caller's loop simulates them one by one
        for start in range(0, len(pts), size):
            chunk = pts[start:start + size]
            t0 = time.perf_counter()
            written = simulate_and_write_batch([p.experiment for p in chunk], runs_dir,
                                               [_file_name(runs_dir, p) for p in chunk],
                                               points=[p.values for p in chunk], pad=size - len(chunk))
            for p, (path, a) in zip(chunk, written):
                ctx._index[(p.run_id, a["structure_key"])] = path
            ctx.simulated += len(chunk)
            ctx.log(f"lamina: {label} {spec_name}: a batch of {len(chunk)} runs simulated in "
                    f"{time.perf_counter() - t0:.1f} s")


def _run_with_sweep(ctx: Results, exp: Experiment, forced: dict, n_missing: int) -> None:
    """Missing points of a sweep in ``ctx.workers`` processes (lamina.sweep), then re-index."""
    from .schedule import run_sweep

    ctx.log(f"lamina: {exp.name}: {n_missing} runs to simulate with {ctx.workers} worker processes")
    summary = run_sweep(exp, ctx.results_dir(exp), workers=ctx.workers, progress=not ctx.quiet,
                        spec_path=str(ctx.spec(exp.name)), overrides=forced,
                        scale=None if ctx.scale == "paper" else ctx.scale)
    if summary.n_failed:
        ctx.log(f"lamina: {exp.name}: {summary.n_failed} runs failed; they are simulated here instead")
    ctx._index = scan(ctx.results)
