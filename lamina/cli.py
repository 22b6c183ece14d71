"""Command line: all argument parsing and table printing; the library does the work.

Bad input → one line on stderr naming the field and the value, exit status 2, nothing written;
a failed run → one line, exit status 1.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ._version import __version__
from .errors import BadInput, ConfigError, LaminaError

if TYPE_CHECKING:
    from .config import Experiment

EXIT_BAD_INPUT = 2
EXIT_FAILED = 1


def _err(msg: str) -> None:
    print(f"lamina: error: {msg}", file=sys.stderr)


def _status(msg: str, quiet: bool) -> None:
    if not quiet:
        print(msg, file=sys.stderr, flush=True)


def _load(args) -> "tuple[Experiment, dict]":
    from .config import load_experiment, parse_set

    overrides = dict(parse_set(s) for s in (args.set or []))
    if getattr(args, "backend", None):
        overrides["simulation.backend"] = args.backend
    if getattr(args, "seed", None) is not None:
        overrides["simulation.seed"] = args.seed
    if getattr(args, "precision", None):
        overrides["simulation.precision"] = args.precision
    return load_experiment(args.spec, overrides, scale=getattr(args, "scale", None)), overrides


def cmd_validate(args) -> int:
    """``lamina validate SPEC``: check a spec (and every point of its sweep) without running it.

    Parameters
    ----------
    args : argparse.Namespace
        ``spec``, ``set``, ``json`` (print a JSON object on stdout instead of the text line).

    Returns
    -------
    int
        0; an invalid spec raises :class:`ConfigError` (exit 2; with ``--json`` also a JSON object
        ``{"ok": false, "field", "value", "message"}`` on stdout, see :func:`main`).
    """
    exp, _ = _load(args)
    n = sum(l.size for l in exp.layers)
    n_sweep = None
    if exp.sweep is not None:
        from .sweep.expand import expand_sweep

        n_sweep = len(expand_sweep(exp))
    if getattr(args, "json", False):
        from .store.run import estimate_run_bytes

        _print_json({"ok": True, "command": "validate", "spec": str(args.spec), "name": exp.name,
                     "layers": [{"name": l.name, "cell": l.cell.ref, "size": l.size} for l in exp.layers],
                     "neurons": n, "projections": len(exp.projections),
                     "duration_ms": float(exp.duration) * 1e3, "dt_ms": float(exp.dt) * 1e3,
                     "input": exp.input.kind, "backend": exp.backend, "seed": int(exp.seed),
                     "sweep_runs": n_sweep, "estimated_bytes_per_run": estimate_run_bytes(exp)})
        return 0
    print(f"{args.spec}: OK — {exp.name}: {len(exp.layers)} layers, {n} neurons, "
          f"{len(exp.projections)} projections, {float(exp.duration) * 1e3:g} ms at dt "
          f"{float(exp.dt) * 1e3:g} ms, input {exp.input.kind}, backend {exp.backend}")
    if n_sweep is not None:
        print(f"  sweep: {n_sweep} runs")
    return 0


def cmd_sweep(args) -> int:
    """`lamina sweep`: returns 0 if every run is ok, 1 if any failed."""
    from .store.run import check_disk_space, ensure_writable_dir, estimate_run_bytes
    from .store.sweep_index import INDEX_NAME
    from .sweep import default_workers, expand_sweep, run_sweep

    exp, overrides = _load(args)
    scale = getattr(args, "scale", None)
    if exp.sweep is None:
        raise ConfigError("sweep", None, f"missing [sweep] table in {args.spec} (use `lamina run` for one run)")
    workers = getattr(args, "workers", None)
    scheduler = getattr(args, "scheduler", None)
    if workers is not None and workers < 1:
        raise ConfigError("--workers", workers, "a positive number of worker processes")
    if workers is not None and scheduler:
        raise ConfigError("--workers", workers, "not together with --scheduler (the scheduler's workers run the points)")
    batch = getattr(args, "batch", None)
    if batch is not None and batch < 1:
        raise ConfigError("--batch", batch, "a positive number of runs per batch")
    gpus = getattr(args, "gpus_per_task", None)
    resources = {"GPU": gpus} if gpus else None
    points = expand_sweep(exp)  # validate everything before starting any process
    if workers is None and not scheduler:
        from .backends import resolve

        if resolve(exp) == "cuda":
            workers = 1  # one process drives the GPU, in batches (more GPUs: a Dask scheduler)
    out = Path(args.output) if getattr(args, "output", None) else Path("results") / exp.name
    # Room for one run at least (the largest point); a disk that fills later stops the sweep.
    check_disk_space(out, max(estimate_run_bytes(p.experiment) for p in points) if points else 0)
    ensure_writable_dir(out)
    _default_sigint()
    quiet = bool(getattr(args, "quiet", False))
    log_json = bool(getattr(args, "log_json", False))

    def say(msg: str) -> None:
        if not quiet:
            print(msg, file=sys.stderr, flush=True)

    where = f"scheduler {scheduler}" if scheduler else f"{workers or default_workers()} local worker processes"
    say(f"lamina: sweep {exp.name}: {len(points)} runs → {out} ({where})")
    done = [0]

    def on_result(rec: dict) -> None:
        done[0] += 1
        if log_json:
            line = {"event": "run", "point_id": rec["point_id"], "point": rec["point"], "repeat": rec["repeat"],
                    "values": rec["values"], "seed": rec["seed"], "status": rec["status"],
                    "error": rec.get("error", ""), "wall_time_s": rec.get("wall_time_s"),
                    "file": rec.get("file", ""), "compiled": rec.get("compiled"),
                    "build_time_s": rec.get("build_time_s"), "run_time_s": rec.get("run_time_s"),
                    "task_s": rec.get("task_s"), "loop_s": rec.get("loop_s"), "binary_s": rec.get("binary_s"),
                    "write_s": rec.get("write_s"), "host": rec.get("host"), "pid": rec.get("pid")}
            print(json.dumps(line, default=str), flush=True)

    try:
        summary = run_sweep(exp, out, workers=workers, scheduler=scheduler, progress=not quiet,
                            on_result=on_result, spec_path=args.spec, overrides=overrides, log=say, scale=scale,
                            batch=batch, resources=resources)
    except KeyboardInterrupt:
        print(f"lamina: sweep interrupted after {done[0]} run(s) finished; the index is saved — "
              "run the same command again to complete it", file=sys.stderr, flush=True)
        return 130
    if log_json:
        print(json.dumps({"event": "summary", "out": str(out), "runs": summary.n_runs,
                          "skipped": summary.n_skipped, "ok": summary.n_ok, "failed": summary.n_failed,
                          "wall_s": round(summary.wall_s, 3)}), flush=True)
    if summary.stopped:
        print(f"lamina: error: sweep stopped: a run file could not be written ({summary.stopped}); "
              f"{summary.n_ok}/{summary.n_runs} runs ok, {summary.n_pending} not run — free space in {out} "
              "and run the same command again", file=sys.stderr, flush=True)
        return 1
    say(f"lamina: {summary.n_ok}/{summary.n_runs} runs ok ({summary.n_skipped} already done), "
        f"{summary.n_failed} failed, {summary.wall_s:.1f} s → {out / INDEX_NAME}")
    if summary.failures:
        print(f"lamina: {summary.n_failed} run(s) failed:", file=sys.stderr)
        for f in summary.failures:
            vals = ", ".join(f"{k}={v!r}" for k, v in f["values"].items())
            print(f"  {f['point_id']} (point {f['point']}, repeat {f['repeat']}, seed {f['seed']}; {vals}): "
                  f"{f['error'].splitlines()[0] if f['error'] else ''}", file=sys.stderr)
        # A blow-up or a bad value fails the same way every time (same spec, same seed): say
        # "retry" only when some failure could go away (a killed worker, a full disk …).
        retryable = [f for f in summary.failures if not _deterministic_failure(f.get("error", ""))]
        if retryable:
            print("lamina: run the same command again to retry them", file=sys.stderr)
        else:
            print("lamina: these runs fail the same way on every retry: change the spec as the messages say",
                  file=sys.stderr)
        return 1
    return 0


def _deterministic_failure(error: str) -> bool:
    """A run error that the same spec and seed reproduce (a numerical blow-up, an invalid value)."""
    return any(s in error for s in ("non-finite", "ConfigError", "BadInput"))


def cmd_figures(args) -> int:
    from .figures import NOT_IN_ALL, Context, figure_recipes, make_figures

    recipes = figure_recipes()
    ids = list(args.ids or [])
    if args.all or not ids:
        ids = [i for i in recipes if i not in NOT_IN_ALL]
    unknown = [i for i in ids if i not in recipes]
    if unknown:
        raise ConfigError("figures", unknown[0], f"a figure id ({', '.join(recipes)})")
    if args.scale not in ("small", "paper"):
        raise ConfigError("--scale", args.scale, "small or paper")
    if args.workers is not None and args.workers < 1:
        raise ConfigError("--workers", args.workers, "a positive number of worker processes")
    # One worker process per core unless told otherwise, as `lamina sweep` does.
    workers = args.workers if args.workers is not None else (os.cpu_count() or 1)
    if args.workers is None and getattr(args, "backend", None) == "cuda":
        workers = 1  # one process drives the GPU, in batches
    ctx = Context(scale=args.scale, results=Path(args.results), out=Path(args.output), quiet=bool(args.quiet),
                  workers=workers, backend=getattr(args, "backend", None), precision=getattr(args, "precision", None))
    for d, name in ((ctx.out, "-o/--output"), (ctx.results, "--results")):
        try:
            d.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise ConfigError(name, str(d), f"a writable directory ({e.strerror})") from None
    t0 = time.perf_counter()
    made = make_figures(ids, ctx)
    ctx.log(f"lamina: {len(made)} figure(s) in {time.perf_counter() - t0:.0f} s "
            f"({ctx.simulated} runs simulated, {ctx.reused} reused) → {ctx.out}")
    if args.quiet:
        for paths in made.values():
            print(" ".join(str(p) for p in paths))
    return 0


def _note_compile(quiet: bool) -> None:
    """Say why the first analysis after an install or update pauses."""
    from .analysis import _cache

    if _cache.is_cold() and not quiet:
        print("lamina: compiling the analysis kernels (first use after an install or update, "
              "~30 s; cached afterwards)", file=sys.stderr, flush=True)



def cmd_analyze(args) -> int:
    from .store.results import analyze_file

    target = Path(args.target)
    if target.is_dir():
        files = sorted((target / "runs").glob("*.h5")) if (target / "runs").is_dir() else sorted(target.glob("*.h5"))
        if not files:
            raise ConfigError("target", str(target), "a run file or a directory holding run files (none found)")
    elif target.exists():
        files = [target]
    else:
        raise ConfigError("target", str(target), "an existing run file or sweep directory")
    _note_compile(args.quiet)

    def one(f: Path) -> dict:
        from .errors import InputError
        from .store.run import is_disk_full

        try:
            return analyze_file(f)
        except OSError as e:
            if is_disk_full(e):  # the rewrite failed, the run file itself is untouched
                raise InputError("target", f, "a run file on a file system with room to rewrite it "
                                 "(No space left on device; the file is unchanged)") from None
            raise ConfigError("target", str(f), f"a readable lamina run file ({e})") from None
        except (ValueError, KeyError) as e:
            raise ConfigError("target", str(f), f"a readable lamina run file ({e})") from None

    if target.is_dir():
        from tqdm.auto import tqdm

        for f in tqdm(files, desc="analyze", unit="run", disable=args.quiet):
            one(f)
        if not args.quiet:
            print(f"analyzed {len(files)} runs in {target}")
        return 0
    per_layer = one(target)
    if not args.quiet:
        print(format_analysis(per_layer))
    return 0


def _json_safe(v):
    """A value JSON can carry: numpy scalars as Python numbers, NaN/inf as null."""
    if isinstance(v, dict):
        return {str(k): _json_safe(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_json_safe(x) for x in v]
    if isinstance(v, np.ndarray):
        return _json_safe(v.tolist())
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not np.isfinite(v):
        return None
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    return str(v)


def _print_json(obj: dict) -> None:
    print(json.dumps(_json_safe(obj)), flush=True)


def _default_sigint() -> None:
    """Ctrl-C raises KeyboardInterrupt everywhere in a lamina command. Brian2 installs a handler
    that only asks a running simulation to stop at the end of a time step ("press Ctrl+C
    again"), which a standalone program never hears, so the run would complete."""
    import signal
    import threading

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.default_int_handler)


def cmd_run(args) -> int:
    """``lamina run SPEC``: simulate one experiment, write its run file, print the per-layer table.

    Parameters
    ----------
    args : argparse.Namespace
        The spec and overrides, ``output``, ``figure``, ``quiet``, ``json``, ``fallback_dir``,
        ``build_only``, ``compute_capability``, ``no_sweep``.

    Returns
    -------
    int
        0. Bad input (including too little free disk space for the estimated result) raises
        :class:`BadInput` before anything runs (exit 2); a run file that cannot be written raises
        :class:`WriteFailed` after keeping the data elsewhere (exit 1); Ctrl-C, exit 130.
    """
    from .analysis.readout import layer_rows
    from .simulation import simulate
    from .store.run import (check_disk_space, ensure_writable_dir, estimate_run_bytes, open_run, remove_stale_tmp,
                            write_run_or_keep)

    exp, overrides = _load(args)
    if exp.sweep is not None and not getattr(args, "no_sweep", False):
        raise ConfigError("sweep", None, f"{args.spec} has a [sweep] table: run it with `lamina sweep {args.spec}`, "
                          "or add --no-sweep to run its base spec once (with any --set values)")
    from .backends import get_backend, resolve

    _default_sigint()  # after Brian2's import (it installs its handler then)
    as_json = bool(getattr(args, "json", False))
    backend = resolve(exp)
    if exp.backend == "auto":
        _status(f"lamina: --backend auto chose {backend} ({sum(l.size for l in exp.layers)} neurons)", args.quiet)
    if getattr(args, "build_only", False):
        if backend == "runtime":
            raise ConfigError("--build-only", True, "a compiled backend (cpp or cuda), not runtime")
        opts = {"build_only": True, "compute_capability": args.compute_capability} if backend == "cuda" else {}
        t0 = time.perf_counter()
        info = get_backend(backend, **opts).build_program(exp)
        _status(f"lamina: {'compiled' if info['compiled'] else 'already compiled'} {info['project']} "
                f"in {time.perf_counter() - t0:.1f} s", args.quiet)
        if as_json:
            _print_json({"ok": True, "command": "run", "build_only": True, "project": info["project"],
                         "compiled": bool(info["compiled"]), "structure_key": get_backend(backend, **opts).key(exp)})
        return 0
    get_backend(backend)  # no brian2cuda / nvcc / GPU: one line, before anything is written
    _check_figure(args.figure)
    out = Path(args.output or Path("results") / exp.name)
    if out.is_dir():
        remove_stale_tmp(out)  # leftovers of killed writers: their space counts as free below
    check_disk_space(out, estimate_run_bytes(exp))  # refuse now rather than lose the simulation later
    out = ensure_writable_dir(out)
    fallback = getattr(args, "fallback_dir", None)
    if fallback:
        ensure_writable_dir(Path(fallback), "--fallback-dir")
    _status(f"lamina: {exp.name}: {sum(l.size for l in exp.layers)} neurons, "
            f"{float(exp.duration) * 1e3:g} ms, backend {backend} (compiles once per structure)", args.quiet)
    t0 = time.perf_counter()
    result = simulate(exp, point=overrides, progress=not args.quiet)
    path = write_run_or_keep(result, out, fallback_dir=fallback)
    a = result.attrs
    _status(f"lamina: done in {time.perf_counter() - t0:.1f} s (build {a['build_time_s']:.1f} s, "
            f"{'compiled' if a['compiled'] else 'cached program'}; simulation {a['run_time_s']:.1f} s) → {path}",
            args.quiet)
    run = open_run(path)
    rows = layer_rows(run.layers, run.spikes, result.duration_ms, run.stimulus)
    fig = None
    if args.figure != "none":
        from .figures.raster import raster_and_rates

        fig = Path(args.figure) if args.figure else path.with_suffix(".png")
    if as_json:
        if fig is not None:
            raster_and_rates(run, fig)
        _print_json({"ok": True, "command": "run", "path": str(path), "name": exp.name, "seed": int(exp.seed),
                     "backend": a.get("backend"), "structure_key": a.get("structure_key"),
                     "compiled": bool(a.get("compiled")), "build_time_s": a.get("build_time_s"),
                     "run_time_s": a.get("run_time_s"), "duration_ms": result.duration_ms,
                     "figure": str(fig) if fig is not None else None, "layers": rows})
        return 0
    print(format_table(rows))
    if fig is not None:
        raster_and_rates(run, fig)
        _status(f"lamina: figure → {fig}", args.quiet)
    return 0


def cmd_info(args) -> int:
    """``lamina info FILE``: a human summary of a run file or of a sweep index.

    Parameters
    ----------
    args : argparse.Namespace
        ``result``: a run file, a sweep index (``sweep.h5``, root attribute ``kind`` =
        ``"lamina-sweep"``) or a sweep directory holding one.

    Returns
    -------
    int
        0. An unreadable or foreign file raises :class:`ConfigError` (exit 2, one line).
    """
    import h5py

    from .analysis.readout import layer_rows
    from .store.run import open_run
    from .store.sweep_index import INDEX_NAME, RUNS_DIR

    def _info_sweep(path: Path) -> int:
        """Print the summary of a sweep index (``sweep.h5``)."""
        from .store.sweep_index import open_sweep

        try:
            sw = open_sweep(path)
            a, cols = sw.attrs, sw.columns()
        except (OSError, ValueError, KeyError) as e:
            raise ConfigError("result", str(path),
                              f"a readable lamina sweep index ({' '.join(str(e).split())[:200]})") from None
        n = int(a.get("n_runs", 0))
        state = "complete" if a.get("complete") else "incomplete"
        print(f"{sw.index_path}")
        print(f"  sweep {a.get('name')}  {n} runs ({state}): ok {a.get('n_ok', 0)}  failed {a.get('n_failed', 0)}  "
              f"pending {a.get('n_pending', 0)}  updated {a.get('updated', '')}")
        print(f"  lamina {a.get('lamina_version', '')}  spec {a.get('spec_path') or '(not recorded)'}"
              + (f"  scale {a['scale']}" if a.get("scale") else "")
              + f"  base seed {a.get('base_seed', '')}  seeds {a.get('seeds', 1)} ({a.get('seed_mode', '')})")
        if a.get("overrides"):
            print(f"  overrides {a['overrides']}")
        units = a.get("units") or {}
        for p in sw.paths:
            vals = list(dict.fromkeys(cols[p].tolist())) if p in cols else []
            shown = ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in vals[:8])
            more = f", … ({len(vals)} values)" if len(vals) > 8 else ""
            unit = f" {units[p]}" if units.get(p) else ""
            print(f"  swept {p}: {shown}{more}{unit}")
        files = [f for f in cols.get("file", []) if f]
        if files:
            dirs = sorted({str((sw.directory / f).parent) for f in files})
            print(f"  runs in {', '.join(dirs)}  ({len(files)} result files; "
                  f"e.g. `lamina info {sw.directory / files[0]}`)")
        else:
            print(f"  runs in {sw.directory / RUNS_DIR}  (no result files yet)")
        failed = [(pid, err) for pid, st, err in zip(cols.get("point_id", []), cols.get("status", []),
                                                      cols.get("error", [])) if st == "failed"]
        for pid, err in failed[:5]:
            print(f"  failed {pid}: {' '.join(str(err).split())[:160]}")
        if len(failed) > 5:
            print(f"  … and {len(failed) - 5} more failed runs")
        return 0

    target = Path(args.result)
    if target.is_dir():
        if (target / INDEX_NAME).is_file():
            return _info_sweep(target / INDEX_NAME)
        raise ConfigError("result", args.result, f"a run file, a sweep index or a sweep directory (no {INDEX_NAME} here)")
    if not target.exists():
        raise ConfigError("result", args.result, "an existing run file or sweep index (no such file)")
    try:
        with h5py.File(target, "r", locking=False) as f:
            kind = f.attrs.get("kind", "")
        if (kind.decode() if isinstance(kind, bytes) else str(kind)) == "lamina-sweep":
            return _info_sweep(target)
        run = open_run(target)
    except (OSError, ValueError, KeyError) as e:
        why = " ".join(str(e).split())[:200]  # HDF5 messages span lines; the CLI promises one
        raise ConfigError("result", args.result, f"a readable lamina result file ({why})") from None
    a = run.attrs
    print(f"{run.path}")
    print(f"  name {a.get('name')}  seed {a.get('seed')}  backend {a.get('backend')}  "
          f"created {a.get('created')}  wall time {a.get('wall_time_s', 0):.1f} s")
    print(f"  lamina {a.get('lamina_version')}  brian2 {a.get('brian2_version')}  "
          f"structure {a.get('structure_key')}  method {a.get('method')}  dt {a.get('dt_ms')} ms")
    if run.point:
        print(f"  overrides {run.point}")
    print(f"  input {run.stimulus.get('kind')}"
          + "".join(f"  {k}={run.stimulus[k]}" for k in ("alpha", "sigma_ms", "t0_ms") if k in run.stimulus))
    print(format_table(layer_rows(run.layers, run.spikes, float(a.get("duration_ms", 0)), run.stimulus)))
    return 0


def cmd_export(args) -> int:
    """``lamina export RUN.h5 --to neo|csv [-o OUT]``: a run's spikes for other tools.

    Parameters
    ----------
    args : argparse.Namespace
        ``run``, ``to``, ``output``, ``by`` (neo: one SpikeTrain per ``neuron`` or per ``layer``).

    Returns
    -------
    int
        0; bad input (not a run file, unknown format, existing output, neo missing) raises
        :class:`BadInput` (one line, exit 2, nothing written).
    """
    from .store.export import export_run

    if args.by not in ("neuron", "layer"):
        raise ConfigError("--by", args.by, "neuron or layer")
    path = export_run(args.run, args.to, args.output, by=args.by)
    _status(f"lamina: {args.to} → {path}", args.quiet)
    if args.quiet:
        print(path)
    return 0


def _written(raw) -> str:
    """A card value as written in the TOML (a distribution table compactly)."""
    if isinstance(raw, dict) and len(raw) == 1:
        (kind, vals), = raw.items()
        vals = vals if isinstance(vals, list) else [vals]
        return f"{kind}[{', '.join(map(str, vals))}]"
    return str(raw)


def cmd_list(args) -> int:
    """``lamina list [cells|specs|figures]``: what is there to run.

    Parameters
    ----------
    args : argparse.Namespace
        ``what``: ``cells`` (each cell card with its variants and the parameters each variant
        sets), ``specs`` (shipped specs, one line each: their ``description``), ``figures``
        (figure ids); default all three.

    Returns
    -------
    int
        0; an unknown ``what`` raises :class:`ConfigError` (exit 2).
    """
    import tomllib

    what = args.what or "all"
    if what not in ("cells", "specs", "figures", "all"):
        raise ConfigError("list", what, "cells, specs or figures")
    sections = ["cells", "specs", "figures"] if what == "all" else [what]
    for k, sec in enumerate(sections):
        if len(sections) > 1:
            print(("" if k == 0 else "\n") + f"{sec}:")
        if sec == "cells":
            from .cells import available_cards, load_card

            for name in available_cards():
                card = load_card(name)
                try:
                    raw = tomllib.loads(Path(card.path).read_text("utf-8"))
                except (OSError, ValueError):
                    raw = {}
                print(f"{name}  {card.title}  ({card.path})")
                defaults = raw.get("parameters", {})
                keys = [p for p in ("C", "phi", "beta_w", "sigma_noise", "g_syn", "t_ref", "tau_m", "v_th")
                        if p in defaults]
                if keys:
                    print("  defaults: " + ", ".join(f"{p}={_written(defaults[p])}" for p in keys))
                for var, params in raw.get("variants", {}).items():
                    desc = params.get("description", card.descriptions.get(var, ""))
                    sets = ", ".join(f"{p}={_written(v)}" for p, v in params.items() if p != "description")
                    print(f"  {name}.{var:<8} {sets}" + (f"  — {desc}" if desc else ""))
        elif sec == "specs":
            from .resources import available_specs, spec_path

            for name in available_specs():
                try:
                    desc = tomllib.loads(spec_path(name).read_text("utf-8")).get("description", "")
                except (OSError, ValueError):
                    desc = "(unreadable)"
                print(f"  {name:<22} {desc or '(no description)'}")
        else:
            from .figures import figure_recipes

            for fid, fn in figure_recipes().items():
                doc = (fn.__doc__ or "").strip().splitlines()
                print(f"  {fid:<14} {FIGURE_NOTES.get(fid) or (doc[0] if doc else '')}")
    return 0


#: one line per figure id for `lamina list figures` (the recipes live in lamina/figures/)
FIGURE_NOTES = {
    "fig1": "single Int and Diff neurons: voltage traces to a current step, f-I curves, threshold vs ramp",
    "fig2": "fly pathway ORN → PN → LHN: PSTHs to a current pulse, Het vs homogeneous / reversed",
    "fig3": "deep Het / Diff-only / Int-only FFNs: rasters and rates for one pulse packet",
    "fig3_packets": "fig3's packet size, SD and latency per layer (tables in the caption)",
    "fig4": "13-layer FFNs: packet size and latency vs depth for graded input alpha",
    "figA2": "(alpha, sigma) propagation maps of Het / Diff-only / Int-only FFNs",
    "figA3": "(alpha, sigma) maps with feedforward inhibition",
    "figA5": "intermediate homogeneous and reversed-order controls vs Het",
    "info_strength": "MI between packet strength and each layer's response, 7 network types",
    "sensitivity": "info_strength under ±20 % g_syn and noise",
    "ou_ffn": "deep FFNs driven by a common OU current: MI and information rate per layer",
    "figA4": "fly pathway with an OU input: information in PN and LHN rates",
    "ou_filters": "per-layer and cumulative input → layer linear filters (OU input)",
    "synfire": "synfire chain of Diesmann et al. 1999: (a, σ) state space, survival, separatrix",
    "rate_propagation": "rate propagation through noisy LIF layers (van Rossum et al. 2002): noise sweep",
    "profile_search": "layer-profile search (lamina search): objective over trials, best β_w profiles vs Het (not in --all)",
}

_FIGURE_SUFFIXES = {".png", ".pdf", ".svg", ".jpg", ".jpeg", ".eps", ".ps", ".tif", ".tiff", ".webp"}


def _check_figure(path: str) -> None:
    """``--figure`` must be a path matplotlib can write to, before anything runs."""
    if path in ("", "none"):
        return
    p = Path(path)
    if p.suffix.lower() not in _FIGURE_SUFFIXES:
        raise ConfigError("--figure", path, f"a figure file ending in one of {', '.join(sorted(_FIGURE_SUFFIXES))}, "
                          "or none")
    for parent in p.parents:
        if parent.exists():
            if not parent.is_dir():
                raise ConfigError("--figure", path, f"a path in a directory ({parent} is a file)")
            break


def format_table(rows: list[dict]) -> str:
    """The ``lamina run`` / ``lamina info`` table of :func:`lamina.analysis.readout.layer_rows`.

    Parameters
    ----------
    rows : list of dict
        One dict per layer (``layer``, ``cell``, ``n_neurons``, ``n_spikes``, ``rate_hz`` and, for
        packet inputs, ``packet_size``, ``packet_sd_ms``, ``packet_latency_ms``).

    Returns
    -------
    str
        The table; the latency column is ms after the stimulus onset t0.
    """
    from .analysis.readout import free_table_columns

    cols = [("layer", "layer", "{}"), ("cell", "cell type", "{}"), ("n_neurons", "neurons", "{:d}"),
            ("n_spikes", "spikes", "{:d}"), ("rate_hz", "rate (Hz)", "{:.2f}"),
            ("packet_size", "packet size", "{:.0f}"), ("packet_sd_ms", "packet SD (ms)", "{:.2f}"),
            *free_table_columns()[:1],  # the window-free width next to the window's
            ("packet_latency_ms", "latency after t0 (ms)", "{:.1f}")]
    cols = [c for c in cols if any(c[0] in r for r in rows)]
    cells = [[h for _, h, _ in cols]] + [[f.format(r[k]) if k in r else "" for k, _, f in cols] for r in rows]
    widths = [max(len(row[j]) for row in cells) for j in range(len(cols))]
    lines = ["  ".join(c.rjust(w) if j > 1 else c.ljust(w) for j, (c, w) in enumerate(zip(row, widths)))
             for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    if any("packet_size" in r for r in rows):  # what the packet columns are
        lines.append("packet size / SD / latency: the paper's readout — spikes within ±4 ms of the PSTH peak, "
                     "the expected background subtracted (its SD cannot exceed 8/√12 ≈ 2.31 ms); "
                     "SD free: baseline-subtracted spike-time SD without a window")
    return "\n".join(lines)


def format_analysis(per_layer: dict) -> str:
    """The ``lamina analyze`` table of one run.

    Parameters
    ----------
    per_layer : dict
        layer -> {name: value}, the numbers stored under ``/analysis`` (names: ``ANALYSIS_META``).

    Returns
    -------
    str
        One row per layer, the columns that are finite for some layer.
    """
    cols = [("rate_hz", "rate (Hz)", "{:.2f}"), ("packet_size", "packet size", "{:.0f}"),
            ("packet_sd_ms", "packet SD (ms)", "{:.2f}"), ("packet_latency_ms", "latency after t0 (ms)", "{:.1f}"),
            ("mi_gcmi_bits", "MI gcmi (bit)", "{:.3f}"), ("mi_ksg_bits", "MI ksg (bit)", "{:.3f}"),
            ("best_lag_ms", "lag (ms)", "{:.0f}"), ("info_rate_bits_s", "info rate (bit/s)", "{:.1f}")]
    cols = [c for c in cols if any(np.isfinite(v.get(c[0], np.nan)) for v in per_layer.values())]
    rows = [["layer"] + [h for _, h, _ in cols]]
    rows += [[str(k)] + [f.format(v[c]) for c, _, f in cols] for k, v in per_layer.items()]
    w = [max(len(r[j]) for r in rows) for j in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w[j]) if j == 0 else c.rjust(w[j]) for j, c in enumerate(r)) for r in rows]
    lines.insert(1, "  ".join("-" * x for x in w))
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lamina", description="Deep spiking FFNs with heterogeneous layers.")
    p.add_argument("--version", action="version", version=f"lamina {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    def spec_args(sp):
        sp.add_argument("spec", help="experiment spec (TOML)")
        sp.add_argument("--set", action="append", metavar="KEY=VALUE",
                        help="override a spec value, e.g. --set input.alpha=600 --set input.sigma='5 ms'")
        sp.add_argument("--backend", choices=["cpp", "runtime", "cuda", "auto"],
                        help="override simulation.backend (auto: cuda where a GPU is present and the network is large)")
        sp.add_argument("--precision", choices=["double", "single"], help="override simulation.precision")
        sp.add_argument("--seed", type=int, help="override simulation.seed")
        sp.add_argument("--scale", help="apply the spec's [scales.<name>] overrides, e.g. small (paper = as written)")

    r = sub.add_parser("run", help="simulate one experiment and write its HDF5 result")
    spec_args(r)
    r.add_argument("-o", "--output", help="output directory (default results/<name>)")
    r.add_argument("--figure", default="", help="figure path (default next to the result; 'none' to skip)")
    r.add_argument("-q", "--quiet", action="store_true", help="only print the summary table (no progress)")
    r.add_argument("--json", action="store_true",
                   help="print a JSON summary on stdout (output path, seed, structure key, per-layer rows) "
                        "instead of the table; errors too")
    r.add_argument("--fallback-dir", metavar="DIR", default=None,
                   help="if the run file cannot be written into -o (a full disk), write it here "
                        "(default $LAMINA_FALLBACK_DIR; without either the arrays are kept as a .npz)")
    r.add_argument("--no-sweep", action="store_true",
                   help="run the base spec of a sweep spec once (with --set values), ignoring its [sweep] table")
    r.add_argument("--build-only", action="store_true",
                   help="generate and compile the program (cuda: without a GPU), run nothing, write nothing")
    r.add_argument("--compute-capability", type=float, default=None,
                   help="cuda: the GPU's compute capability to compile for (default: 9.0, H100/H200)")
    r.set_defaults(func=cmd_run)
    v = sub.add_parser("validate", help="check a spec without running it")
    spec_args(v)
    v.add_argument("--json", action="store_true", help="print the result as a JSON object on stdout")
    v.set_defaults(func=cmd_validate)
    sw = sub.add_parser("sweep", help="run every point of a sweep spec (compile once per structure)")
    spec_args(sw)
    sw.add_argument("-o", "--output", help="sweep directory (default results/<name>)")
    sw.add_argument("--workers", type=int, default=None, help="local worker processes (default: cores)")
    sw.add_argument("--scheduler", help="address of a running Dask scheduler, e.g. tcp://host:8786")
    sw.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    sw.add_argument("--log-json", action="store_true", help="one JSON line per finished point on stdout")
    sw.add_argument("--batch", type=int, default=None,
                    help="runs of one structure simulated together in one program (default: [sweep] batch, "
                         "else per backend: cuda ~1.6 million neurons per batch, cpp 1)")
    sw.add_argument("--gpus-per-task", type=float, default=None, metavar="N",
                    help="with --scheduler: Dask worker resource GPU each batch needs (workers started with "
                         "--resources GPU=1 and their own CUDA_VISIBLE_DEVICES)")
    sw.set_defaults(func=cmd_sweep)
    an = sub.add_parser("analyze", help="per-layer analysis of a run file or sweep directory")
    an.add_argument("target", help="result .h5 file or sweep directory")
    an.add_argument("-q", "--quiet", action="store_true", help="no table")
    an.set_defaults(func=cmd_analyze)
    fg = sub.add_parser("figures", help="regenerate paper figures (runs or reuses the needed results)")
    # Written out (importing lamina.figures here would import Brian2 for every command);
    # tests/test_paper_info.py checks it against the registry.
    fg.add_argument("ids", nargs="*", help="figure ids (default: --all): fig1 fig2 fig3 fig3_packets fig4 figA2 "
                    "figA3 figA5 info_strength sensitivity ou_ffn figA4 ou_filters synfire rate_propagation; "
                    "profile_search only by name")
    fg.add_argument("--all", action="store_true", help="every figure")
    fg.add_argument("--scale", default="small", help="small (2 cores, minutes) or paper (published sizes)")
    fg.add_argument("-o", "--output", default="figures", help="figure directory (default figures/)")
    fg.add_argument("--results", default="results", help="where results are read or written")
    fg.add_argument("--workers", type=int, default=None,
                    help="local worker processes for a figure's missing sweep runs (default: cores; 1: in-process)")
    fg.add_argument("--backend", choices=["cpp", "runtime", "cuda", "auto"],
                    help="run every missing run on this backend (cuda: in batches), else each spec's own; "
                         "specs that pin the runtime backend (fig1's single neurons) stay on it")
    fg.add_argument("--precision", choices=["double", "single"], help="override simulation.precision")
    fg.add_argument("-q", "--quiet", action="store_true")
    fg.set_defaults(func=cmd_figures)
    i = sub.add_parser("info", help="human summary of a result file")
    i.add_argument("result")
    i.set_defaults(func=cmd_info)
    ex = sub.add_parser("export", help="write a run's spikes as Neo objects (Elephant) or CSV")
    ex.add_argument("run", help="a lamina run file (.h5)")
    ex.add_argument("--to", required=True, metavar="FORMAT",
                    help="neo (a pickled neo.Block: neo.io.PickleIO(path).read_block()) or csv "
                         "(one row per spike: layer, neuron, t_ms)")
    ex.add_argument("-o", "--output", help="the file to write (default next to the run: .neo.pkl / .csv); "
                    "never overwritten")
    ex.add_argument("--by", default="neuron", help="neo: one SpikeTrain per neuron (default) or per layer")
    ex.add_argument("-q", "--quiet", action="store_true", help="print only the path written")
    ex.set_defaults(func=cmd_export)
    ls = sub.add_parser("list", help="cell cards and their variants, shipped specs, figure ids")
    ls.add_argument("what", nargs="?", default=None, help="cells, specs or figures (default: all three)")
    ls.set_defaults(func=cmd_list)
    from .search.cli import add_parser as add_search_parser  # `lamina search` (issue 14): lamina.search owns it

    add_search_parser(sub)
    return p


def _json_error(args, e: BaseException, status: str) -> None:
    """With ``--json``, errors are a JSON object on stdout too (the one line stays on stderr)."""
    if not getattr(args, "json", False):
        return
    obj = {"ok": False, "command": args.command, "status": status, "message": str(e),
           "field": getattr(e, "field", None), "value": getattr(e, "value", None)}
    if getattr(e, "kept", None) is not None:
        obj["kept"] = str(e.kept)
    with contextlib.suppress(Exception):
        _print_json(obj)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except BadInput as e:
        _err(str(e))
        _json_error(args, e, "bad_input")
        return EXIT_BAD_INPUT
    except LaminaError as e:
        _err(str(e))
        _json_error(args, e, "failed")
        return EXIT_FAILED
    except KeyboardInterrupt:
        # Partial files are gone by now: the binary's results dir (the backend), the hidden
        # temporary run file (write_run), the private program copy (atexit).
        print("lamina: interrupted; nothing was written", file=sys.stderr, flush=True)
        return 130
    except BrokenPipeError:  # `lamina info ... | head`
        return 0
    except Exception as e:  # noqa: BLE001 — lamina reports its own errors, not Brian2's excepthook
        if os.environ.get("LAMINA_DEBUG"):
            raise
        _err(f"internal error: {type(e).__name__}: {str(e)[:200]} (set LAMINA_DEBUG=1 for the traceback; "
             "please report it)")
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
