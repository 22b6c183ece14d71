"""Quickstart timing: compile, simulation loop, neuron-steps/s, and the cost of reusing the
compiled program (same process: seed change; new process: code generation + no-op make).

    .venv/bin/python benchmarks/bench_quickstart.py [--repeats 3]

Prints a markdown table for docs/benchmarks.md. Uses a fresh cache directory so the first
run includes the full C++ compile. cpp backend, 1 thread (OpenMP off).
"""
from __future__ import annotations

import argparse
import os
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




def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    cache = tempfile.mkdtemp(prefix="lamina-bench-")
    os.environ["LAMINA_CACHE"] = cache
    from lamina.config import load_experiment
    from lamina.simulation import simulate

    exp = load_experiment(SPEC)
    n_neurons = sum(l.size for l in exp.layers)
    steps = exp.n_steps
    t0 = time.perf_counter()
    first = simulate(exp)
    first_wall = time.perf_counter() - t0
    loops, binaries, walls = [], [], []
    for k in range(args.repeats):
        t0 = time.perf_counter()
        r = simulate(exp.with_seed(exp.seed + k + 1))
        walls.append(time.perf_counter() - t0)
        loops.append(r.attrs["loop_time_s"])  # the simulation loop, timed inside the program
        binaries.append(r.attrs["binary_time_s"])  # the program's whole execution
        assert not r.attrs["compiled"]
    # A second process: regenerates code, finds the compiled binary, runs.
    code = ("import time; t=time.perf_counter(); from lamina.config import load_experiment;"
            "from lamina.simulation import simulate; r=simulate(load_experiment(%r));"
            "print(r.attrs['compiled'], r.attrs['build_time_s'], time.perf_counter()-t)") % str(SPEC)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    loop = statistics.median(loops)
    print(f"machine: {cpu_name()}, {os.cpu_count()} cores; brian2 cpp_standalone, 1 thread")
    print(f"network: {len(exp.layers)} x {exp.layers[0].size} Prescott neurons, {steps} steps "
          f"(dt {float(exp.dt) * 1e3:g} ms, {exp.method}), all spikes recorded\n")
    print("| quantity | value |\n|---|---|")
    print(f"| first run, incl. code generation + C++ compile | {first_wall:.1f} s (build {first.attrs['build_time_s']:.1f} s) |")
    print(f"| simulation loop, timed inside the program (median of {args.repeats}, new seed each) | {loop:.2f} s |")
    print(f"| neuron-steps per second (loop) | {n_neurons * steps / loop / 1e6:.1f} M |")
    print(f"| program execution incl. loading run_args and writing results (median) | {statistics.median(binaries):.2f} s |")
    print(f"| whole run with cached program, same process (median) | {statistics.median(walls):.2f} s |")
    print(f"| per-run overhead, same process (wall − loop) | {statistics.median(walls) - loop:.2f} s |")
    print(f"| new process, cached program: recompiled? / build / total | {out[0]} / {float(out[1]):.1f} s / {float(out[2]):.1f} s |")


if __name__ == "__main__":
    main()
