"""`lamina sweep` versus the naive approach (a fresh Brian2 C++ standalone build per point).

    .venv/bin/python benchmarks/bench_sweep.py [--workers 2] [--naive 3] [--no-warm] [--smoke]

Grid: input.alpha {200, 300, 400, 500} × input.sigma {2, 4, 6, 8 ms} = 16 points of the
quickstart network (sims/quickstart.toml: 7 × 1000 Prescott neurons, 180 ms, dt 0.01 ms, Heun).

* ``lamina sweep`` with a fresh, empty cache (``--workers`` local processes): one C++ compile,
  then every point re-runs the compiled program. Timed from launching the command to its exit.
* Again into a new directory with the cache now built (no compile): the steady state.
* The naive approach users write by hand: for each point, a new Python process that builds the
  same network with plain brian2 + ``set_device('cpp_standalone')`` in a fresh directory
  (code generation + full compile + run) and saves the spikes; points one after another.
  ``--naive`` points (spread over the grid) are timed and the mean is extrapolated to all 16.

The phases are interleaved (naive, sweep, naive, sweep, naive) so that other load on the
machine affects both sides alike; each phase reports wall time, CPU time of all its processes
(user + sys of every waited-for descendant: compilers, workers, simulation binaries) and the
mean 1-minute load average while it ran.

Per-point overhead = everything a run costs except the simulation loop itself (the C++ loop time
Brian2 reports in ``last_run_info.txt``, recorded in each run file as ``sweep_loop_s``).
Prints a markdown report for docs/benchmarks-sweep.md. ``--smoke``: 7 × 100 neurons, 40 ms.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import cpu_name  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "sims" / "quickstart.toml"
ALPHAS = [200, 300, 400, 500]
SIGMAS = ["2 ms", "4 ms", "6 ms", "8 ms"]

# The script a user would write: plain brian2, one fresh standalone project per point.
NAIVE_SCRIPT = r'''
import json, sys, time, tomllib
t_start = time.perf_counter()
import numpy as np
import brian2 as b2
from brian2 import (Network, NeuronGroup, Synapses, SpikeGeneratorGroup, SpikeMonitor, PopulationRateMonitor,
                    defaultclock, ms, mV, seed, set_device, device)
from brian2.units.fundamentalunits import get_dimensions, get_unit, DIMENSIONLESS

alpha, sigma_ms, run_seed, outdir, card_path = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
N, DURATION_MS, T0_MS = int(sys.argv[6]), float(sys.argv[7]), float(sys.argv[8])
set_device("cpp_standalone", directory=outdir)  # build + compile + run on run()
seed(run_seed)
rng = np.random.default_rng(run_seed)
defaultclock.dt = 0.01 * ms
LAYERS = ["input", "int", "diff", "int", "diff", "int", "diff"]

card = tomllib.load(open(card_path, "rb"))
UNITS = vars(b2)
def q(v):  # "2 uF/cm**2" -> Quantity, 0.15 -> float
    if isinstance(v, (int, float)):
        return float(v)
    num, _, unit = v.partition(" ")
    return float(num) * eval(unit.replace("^", "**"), UNITS) if unit else float(num)
def unit_str(x):
    d = get_dimensions(x)
    return "1" if d is DIMENSIONLESS else repr(get_unit(d))

params = {k: q(v) for k, v in card["parameters"].items()}
eqs = "\n".join([
    card["equations"],
    "dx_e/dt = -x_e/tau_rise : 1", "dy_e/dt = -y_e/tau_decay + x_e/tau_rise : 1", "y_i = 0 : 1",
    "I_syn = " + card["synaptic_current"] + " : amp/meter**2", "I_ext = I_bias : amp/meter**2",
] + [f"{k} : {unit_str(v)} (constant)" for k, v in params.items()])

groups = []
for z, variant in enumerate(LAYERS):
    g = NeuronGroup(N, eqs, threshold=card["threshold"], refractory=card["refractory"], method="heun",
                    name=f"L{z}_{variant}")
    g.v = -70 * mV
    g.w = 0
    values = dict(params)
    for k, v in card["variants"][variant].items():
        if k == "description":
            continue
        if isinstance(v, dict):  # { uniform = [lo, hi] }: per-neuron values
            lo, hi = (q(x) for x in v["uniform"])
            values[k] = rng.uniform(float(lo), float(hi), N) * get_unit(get_dimensions(lo))
        else:
            values[k] = q(v)
    for k, v in values.items():
        setattr(g, k, v)
    groups.append(g)

syns = []
for a, b in zip(groups, groups[1:]):
    s = Synapses(a, b, on_pre="x_e_post += 1")
    s.connect(p=9.0 / N)
    syns.append(s)

# The pulse packet: alpha input neurons, each kicked once by 70 mV at t ~ N(t0, sigma^2).
ids = np.sort(rng.choice(N, alpha, replace=False))
times = rng.normal(T0_MS, sigma_ms, alpha)
keep = (times >= 0) & (times < DURATION_MS)
packet = SpikeGeneratorGroup(N, ids[keep], times[keep] * ms)
kick = Synapses(packet, groups[0], on_pre="v_post += 70*mV")
kick.connect(j="i")

spikes = [SpikeMonitor(g) for g in groups]
rates = [PopulationRateMonitor(g) for g in groups]
net = Network(groups, syns, packet, kick, spikes, rates)
t_built = time.perf_counter()
net.run(DURATION_MS * ms, namespace={})  # generates code, compiles, runs
t_ran = time.perf_counter()
np.savez_compressed(f"{outdir}/spikes.npz", **{f"t{z}": m.t_[:] for z, m in enumerate(spikes)},
                    **{f"i{z}": m.i[:] for z, m in enumerate(spikes)},
                    **{f"r{z}": m.rate_[:] for z, m in enumerate(rates)})
print(json.dumps({"n_spikes": int(sum(m.num_spikes for m in spikes)),
                  "compile_s": sum(t for t in device.timers["compile"].values() if t),
                  "binary_s": device.timers["run_binary"], "loop_s": device._last_run_time,
                  "build_run_s": t_ran - t_built, "total_in_process_s": time.perf_counter() - t_start}))
'''




def sweep_spec(tmp: Path, size: int, duration_ms: float, t0_ms: float) -> Path:
    text = SPEC.read_text()
    text = text.replace("size = 1000", f"size = {size}").replace('duration = "180 ms"', f'duration = "{duration_ms:g} ms"')
    text = text.replace('t0 = "100 ms"', f't0 = "{t0_ms:g} ms"').replace("alpha = 400", f"alpha = {400 * size // 1000}")
    alphas = [a * size // 1000 for a in ALPHAS]
    text += ('\n[sweep]\n"input.alpha" = ' + json.dumps(alphas) + '\n"input.sigma" = ' + json.dumps(SIGMAS)
             + "\nseeds = 1\n")
    p = tmp / "bench_sweep.toml"
    p.write_text(text.replace('name = "quickstart"', 'name = "bench_sweep"'))
    return p


class Phase:
    """Wall time, CPU time of the child processes (user + sys, all descendants that were waited
    for) and the mean 1-minute load average while it ran (other jobs on the machine show up here)."""

    def __enter__(self):
        import resource
        import threading

        self._ru = resource.getrusage(resource.RUSAGE_CHILDREN)
        self._t0 = time.perf_counter()
        self._loads: list[float] = []
        self._stop = threading.Event()

        def sample():
            while not self._stop.wait(5.0):
                self._loads.append(os.getloadavg()[0])

        self._thread = threading.Thread(target=sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        import resource

        self.wall_s = time.perf_counter() - self._t0
        ru = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.cpu_s = (ru.ru_utime - self._ru.ru_utime) + (ru.ru_stime - self._ru.ru_stime)
        self._stop.set()
        self._thread.join()
        self.load = statistics.mean(self._loads) if self._loads else os.getloadavg()[0]
        return False


def run_lamina_sweep(spec: Path, out: Path, cache: Path, workers: int) -> dict:
    env = {**os.environ, "LAMINA_CACHE": str(cache), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "lamina.cli", "sweep", str(spec), "--workers", str(workers), "-o", str(out),
           "--quiet", "--log-json"]
    with Phase() as ph:
        res = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if res.returncode != 0:
        raise SystemExit(f"lamina sweep failed ({res.returncode}):\n{res.stderr[-3000:]}")
    lines = [json.loads(l) for l in res.stdout.splitlines() if l.startswith("{")]
    runs = [l for l in lines if l["event"] == "run"]
    for k, r in enumerate(runs):
        r["finished"] = k  # arrival order
    import h5py

    for r in runs:  # timings recorded in each run file
        with h5py.File(out / r["file"], "r", locking=False) as f:
            a = dict(f.attrs)
        r["loop_s"] = float(a.get("sweep_loop_s", float("nan")))
        r["binary_s"] = float(a.get("sweep_binary_s", float("nan")))
        r["run_time_s"] = float(a["run_time_s"])
        r["build_time_s"] = float(a["build_time_s"])
    print(f"  {len(runs)} runs in {ph.wall_s:.1f} s (CPU {ph.cpu_s:.0f} s, mean load {ph.load:.1f})",
          file=sys.stderr, flush=True)
    return {"wall_s": ph.wall_s, "cpu_s": ph.cpu_s, "load": ph.load, "runs": runs,
            "cmd": "lamina " + " ".join(cmd[3:])}


def run_naive_point(k: int, point: tuple[int, str, int], tmp: Path, size: int, duration_ms: float,
                    t0_ms: float) -> dict:
    script = tmp / "naive_point.py"
    if not script.exists():
        script.write_text(NAIVE_SCRIPT)
    card = ROOT / "models" / "prescott.toml"
    alpha, sigma, seed = point
    d = Path(tempfile.mkdtemp(prefix=f"naive{k}-", dir=tmp))  # a fresh project directory
    with Phase() as ph:
        res = subprocess.run([sys.executable, str(script), str(alpha), sigma.split()[0], str(seed), str(d), str(card),
                              str(size), str(duration_ms), str(t0_ms)],
                             capture_output=True, text=True, cwd=d, env={**os.environ, "OMP_NUM_THREADS": "1"})
    if res.returncode != 0:
        raise SystemExit(f"naive point failed:\n{res.stderr[-3000:]}")
    info = json.loads(res.stdout.strip().splitlines()[-1])
    info.update(wall_s=ph.wall_s, cpu_s=ph.cpu_s, load=ph.load, alpha=alpha, sigma=sigma)
    print(f"  naive point: alpha {alpha}, sigma {sigma}: {ph.wall_s:.1f} s (compile {info['compile_s']:.1f} s, "
          f"loop {info['loop_s']:.1f} s; CPU {ph.cpu_s:.0f} s, mean load {ph.load:.1f})", file=sys.stderr, flush=True)
    return info


def per_point(runs: list[dict]) -> dict:
    """Overheads per point: worker time for the point (task_s: load spec, draw values, write
    run_args, start the binary, connect, read results, write HDF5) minus the C++ loop."""
    first_in_proc: set[int] = set()
    steady, firsts = [], []
    for r in sorted(runs, key=lambda r: r["finished"]):
        (firsts if r["pid"] not in first_in_proc else steady).append(r)
        first_in_proc.add(r["pid"])
    ov = [r["task_s"] - r["loop_s"] for r in steady]
    return {"loop_median": statistics.median(r["loop_s"] for r in runs),
            "steady_overhead_median": statistics.median(ov) if ov else float("nan"),
            "steady_overhead_max": max(ov) if ov else float("nan"),
            "first_overhead": [r["task_s"] - r["loop_s"] for r in firsts],
            "compiled": sum(bool(r["compiled"]) for r in runs)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--naive", type=int, default=3, help="naive points to time (0: all 16)")
    ap.add_argument("--no-warm", action="store_true", help="skip the second (pre-built cache) sweep")
    ap.add_argument("--smoke", action="store_true", help="a tiny network (7 x 100, 40 ms) to test this script")
    args = ap.parse_args()
    size, duration_ms, t0_ms = (100, 40.0, 20.0) if args.smoke else (1000, 180.0, 100.0)
    tmp = Path(tempfile.mkdtemp(prefix="lamina-bench-sweep-"))
    spec = sweep_spec(tmp, size, duration_ms, t0_ms)
    n = len(ALPHAS) * len(SIGMAS)
    from lamina.config import load_experiment
    from lamina.sweep import expand_sweep

    points = expand_sweep(load_experiment(spec))
    load_before = os.getloadavg()
    t_bench = time.perf_counter()
    k = n if args.naive <= 0 else min(args.naive, n)
    pick = [round(i * (n - 1) / max(k - 1, 1)) for i in range(k)] if k < n else list(range(n))
    todo = [(points[i].values["input.alpha"], points[i].values["input.sigma"], points[i].seed) for i in pick]
    naive: list[dict] = []
    # Interleaved (naive, cold sweep, naive, warm sweep, naive, ...) so that other load on the
    # machine, if any, affects both sides alike.
    print(f"naive point 1/{k} ...", file=sys.stderr, flush=True)
    naive.append(run_naive_point(0, todo[0], tmp, size, duration_ms, t0_ms))
    print(f"lamina sweep, empty cache, {args.workers} workers ...", file=sys.stderr, flush=True)
    cold = run_lamina_sweep(spec, tmp / "cold", tmp / "cache", args.workers)
    if k > 1:
        print(f"naive point 2/{k} ...", file=sys.stderr, flush=True)
        naive.append(run_naive_point(1, todo[1], tmp, size, duration_ms, t0_ms))
    warm = None
    if not args.no_warm:
        print("lamina sweep, cache built ...", file=sys.stderr, flush=True)
        warm = run_lamina_sweep(spec, tmp / "warm", tmp / "cache", args.workers)
    for j in range(2, k):
        print(f"naive point {j + 1}/{k} ...", file=sys.stderr, flush=True)
        naive.append(run_naive_point(j, todo[j], tmp, size, duration_ms, t0_ms))

    naive_mean = statistics.mean(r["wall_s"] for r in naive)
    naive_total = naive_mean * n
    c = per_point(cold["runs"])
    w = per_point(warm["runs"]) if warm else None
    loops = [r["loop_s"] for r in cold["runs"]] + ([r["loop_s"] for r in warm["runs"]] if warm else [])
    print(f"machine: {cpu_name()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}; "
          f"Python {platform.python_version()}; brian2 cpp_standalone, 1 thread per process")
    print(f"grid: input.alpha {[a * size // 1000 for a in ALPHAS]} x input.sigma {SIGMAS} = {n} points, "
          f"quickstart network (7 x {size} neurons, {duration_ms:g} ms, dt 0.01 ms, heun)")
    print(f"command: {cold['cmd']}")
    print(f"load average (1/5/15 min) before: {' '.join(f'{x:.2f}' for x in load_before)}, after: "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; benchmark took {time.perf_counter() - t_bench:.0f} s\n")
    naive_cpu = statistics.mean(r["cpu_s"] for r in naive)
    naive_load = statistics.mean(r["load"] for r in naive)
    print("| | wall time | wall per point | CPU time (all processes) | mean load |\n|---|---|---|---|---|")
    print(f"| `lamina sweep`, {args.workers} workers, empty cache (1 compile) | {cold['wall_s']:.1f} s | "
          f"{cold['wall_s'] / n:.2f} s | {cold['cpu_s']:.0f} s | {cold['load']:.1f} |")
    if warm:
        print(f"| `lamina sweep`, {args.workers} workers, cache built (0 compiles) | {warm['wall_s']:.1f} s | "
              f"{warm['wall_s'] / n:.2f} s | {warm['cpu_s']:.0f} s | {warm['load']:.1f} |")
    est = "all measured" if k == n else f"{k} points timed, mean x {n}"
    print(f"| naive: fresh standalone build per point, sequential ({est}) | {naive_total:.1f} s | "
          f"{naive_mean:.2f} s | {naive_cpu * n:.0f} s | {naive_load:.1f} |")
    print(f"\n**speed-up, empty cache: {naive_total / cold['wall_s']:.1f}x**"
          + (f"; cache built: {naive_total / warm['wall_s']:.1f}x" if warm else "")
          + f" (against an ideal 2-process naive run, {naive_total / 2:.0f} s: "
          f"{naive_total / 2 / cold['wall_s']:.1f}x)")
    print(f"\nCPU time, naive / lamina sweep: {naive_cpu * n / cold['cpu_s']:.1f}x (empty cache)"
          + (f", {naive_cpu * n / warm['cpu_s']:.1f}x (cache built)" if warm else ""))
    print("\n| per point | value |\n|---|---|")
    print(f"| simulation loop (C++, median of {len(loops)}) | {statistics.median(loops):.2f} s |")
    src = w or c
    print(f"| overhead per point in a worker, steady state (task time - loop; median / max) | "
          f"{src['steady_overhead_median']:.2f} s / {src['steady_overhead_max']:.2f} s |")
    print("| overhead of a worker's first point, cache built (code generation, copy, no-op make) | "
          + (", ".join(f"{x:.1f} s" for x in w["first_overhead"]) if w else "-") + " |")
    print("| overhead of a worker's first point, empty cache (incl. the one compile or the wait for it) | "
          + ", ".join(f"{x:.1f} s" for x in c["first_overhead"]) + " |")
    if warm:
        amort = (warm["wall_s"] * args.workers - sum(r["loop_s"] for r in warm["runs"])) / n
        print(f"| whole sweep, cache built: (wall x workers - sum of loops) / points | {amort:.2f} s |")
    amort_c = (cold["wall_s"] * args.workers - sum(r["loop_s"] for r in cold["runs"])) / n
    print(f"| whole sweep, empty cache: (wall x workers - sum of loops) / points | {amort_c:.2f} s |")
    print(f"| runs that compiled (cold / warm) | {c['compiled']} / {w['compiled'] if w else '-'} |")
    print(f"| naive: compile / loop / whole process, mean of {k} | "
          f"{statistics.mean(r['compile_s'] for r in naive):.1f} s / {statistics.mean(r['loop_s'] for r in naive):.2f} s / "
          f"{naive_mean:.1f} s |")
    raw = {"cold": {k2: cold[k2] for k2 in ("wall_s", "cpu_s", "load")},
           "warm": {k2: warm[k2] for k2 in ("wall_s", "cpu_s", "load")} if warm else None, "naive": naive,
           "loops_cold": [round(r["loop_s"], 3) for r in cold["runs"]],
           "task_s_cold": [round(r["task_s"], 3) for r in cold["runs"]]}
    print(f"\nraw: {json.dumps(raw)}")


if __name__ == "__main__":
    main()
