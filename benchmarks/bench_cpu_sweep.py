"""A real sweep on all the CPU cores of one host, cpp backend, unbatched and batched (issue 11).

    python benchmarks/bench_cpu_sweep.py --out OUT [--spec info_strength] [--scale paper]
        [--seeds 2] [--workers 16] [--batches 1,8]

Runs ``lamina sweep SPEC --scale SCALE --set sweep.seeds=SEEDS --workers W --batch B`` once per
batch size into a fresh directory with an empty program cache, timed from launch to exit, and
reads every run file back: the compile time (runs that compiled, or waited for the compile) and the
loop time of every run. Prints one JSON line per batch size and a markdown table with the throughput
(neuron-steps/s over the whole host and per worker) and the projected wall time of the whole
sweep (all of its seeds): the time after the compile scaled by the number of runs, plus the
compile. The batch sizes run one after another, so they do not share cores.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import cpu_name  # noqa: E402


def one_sweep(spec: str, scale: str, seeds: int, workers: int, batch: int, out: Path) -> dict:
    from lamina import load_experiment, open_run, open_sweep
    from lamina.resources import spec_path

    target = out / f"sweep_b{batch}"
    if target.exists() or (out / f"cache_b{batch}").exists():  # a resumed sweep or a warm cache times nothing
        raise SystemExit(f"{target} or its cache exists: give a new --out")
    env = {**os.environ, "LAMINA_CACHE": str(out / f"cache_b{batch}"), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "lamina", "sweep", str(spec_path(spec)), "--scale", scale,
           "--set", f"sweep.seeds={seeds}", "--workers", str(workers), "--batch", str(batch), "-o", str(target)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode:
        raise SystemExit(f"sweep failed ({proc.returncode}): {proc.stderr[-2000:]}")
    sweep = open_sweep(target)
    cols = sweep.columns()
    ok = cols["status"] == "ok"
    attrs = [open_run(sweep.directory / f).attrs for f in cols["file"][ok]]
    compiled = [float(x["build_time_s"]) for x in attrs if x["compiled"]]
    loops = sorted(float(x["loop_time_s"]) for x in attrs)
    exp = load_experiment(spec_path(spec), scale=scale)
    neurons = sum(l.size for l in exp.layers)
    full = exp.sweep.get("seeds", 1) if isinstance(exp.sweep, dict) else 1
    runs = int(ok.sum())
    compile_s = max(compiled, default=0.0)  # workers wait on one compile (a lock), then reuse it
    steps = neurons * exp.n_steps * runs
    return {"batch": batch, "workers": workers, "runs": runs, "failed": int((~ok).sum()), "wall_s": wall,
            "compile_s": compile_s, "runs_flagged_compiled": len(compiled),
            "loop_s_median": loops[runs // 2] if runs else 0.0,
            "neuron_steps_per_s": steps / wall, "per_worker": steps / wall / workers,
            "neuron_steps_per_s_after_compile": steps / max(wall - compile_s, 1e-9),
            "projected_full_s": (wall - compile_s) * full / seeds + compile_s, "full_runs": runs * full // seeds,
            "neurons": neurons, "steps": exp.n_steps}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--spec", default="info_strength")
    ap.add_argument("--scale", default="paper")
    ap.add_argument("--seeds", type=int, default=2, help="seeds of the sweep to run (the projection scales up)")
    ap.add_argument("--workers", type=int, default=os.cpu_count())
    ap.add_argument("--batches", default="1,8")
    a = ap.parse_args(argv)
    a.out.mkdir(parents=True, exist_ok=True)
    print(f"# {cpu_name()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}; "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}", flush=True)
    rows = []
    for b in (int(x) for x in a.batches.split(",")):
        r = one_sweep(a.spec, a.scale, a.seeds, a.workers, b, a.out)
        print(json.dumps(r), flush=True)
        rows.append(r)
    print(f"\n| batch | runs | wall (s) | compile (s) | neuron-steps/s (host) | per worker | "
          f"after compile | projected {rows[0]['full_runs']} runs (s) |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['batch']} | {r['runs']} | {r['wall_s']:.1f} | {r['compile_s']:.1f} | "
              f"{r['neuron_steps_per_s']:.3g} | {r['per_worker']:.3g} | {r['neuron_steps_per_s_after_compile']:.3g} | "
              f"{r['projected_full_s']:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
