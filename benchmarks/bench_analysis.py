"""Benchmarks of lamina.analysis, printed as a markdown table.

    .venv/bin/python benchmarks/bench_analysis.py [--repeats 5]

Measured side by side in one run (best of --repeats, runs interleaved so that
load from other processes hits both sides alike):

* mi_ksg vs scikit-learn's mutual_info_regression(n_neighbors=3) on the same
  100 000 1-D samples, with numba on 1 thread and on all threads;
* mi_gcmi on 1 000 000 samples, 1 thread;
* mi_batch over 7 layers x 16 sweep points (112 pairs of 10 000 samples);
* first-call time of each public function in a fresh interpreter with an empty
  NUMBA_CACHE_DIR (compile + run) and again with that cache filled (load + run);
* with --stages, the median time of each stage of mi_ksg at n = 100 000, on 1 thread and on
  all threads, timed as ksg_bits runs them.
"""
from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numba
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lamina.analysis import mi_batch, mi_gcmi, mi_ksg  # noqa: E402


def best_time(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def gaussian(n: int, rho: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n)
    return x, rho * x + np.sqrt(1 - rho**2) * rng.standard_normal(n)


def with_threads(n: int, fn: Callable[[], object]) -> Callable[[], object]:
    def run() -> object:
        previous = numba.get_num_threads()
        numba.set_num_threads(n)
        try:
            return fn()
        finally:
            numba.set_num_threads(previous)
    return run


def bench_ksg(repeats: int) -> list[tuple[str, str, str]]:
    from sklearn.feature_selection import mutual_info_regression

    x, y = gaussian(100_000, 0.6, seed=0)
    truth = -0.5 * np.log2(1 - 0.6**2)

    def sk() -> float:
        return mutual_info_regression(x[:, None], y, n_neighbors=3, random_state=0)[0] / np.log(2)

    ours1 = with_threads(1, lambda: mi_ksg(x, y, k=3))
    ours_all = with_threads(numba.config.NUMBA_NUM_THREADS, lambda: mi_ksg(x, y, k=3))
    ours1()  # compile / load the cache outside the timing
    t_sk, t1, t_all = [], [], []
    for _ in range(repeats):  # interleaved
        t_sk.append(best_time(sk, 1))
        t1.append(best_time(ours1, 1))
        t_all.append(best_time(ours_all, 1))
    v_sk, v_ours = sk(), mi_ksg(x, y, k=3)
    rel = abs(v_ours - v_sk) / v_sk
    n_all = numba.config.NUMBA_NUM_THREADS
    return [
        ("mi_ksg, n=100 000, 1 thread", f"{min(t1) * 1e3:.0f} ms",
         f"{min(t_sk) / min(t1):.1f}x faster than scikit-learn"),
        (f"mi_ksg, n=100 000, {n_all} threads", f"{min(t_all) * 1e3:.0f} ms",
         f"{min(t_sk) / min(t_all):.1f}x faster than scikit-learn"),
        ("sklearn mutual_info_regression(n_neighbors=3), same data", f"{min(t_sk) * 1e3:.0f} ms", "reference"),
        ("mi_ksg value vs sklearn value", f"{v_ours:.6f} vs {v_sk:.6f} bits",
         f"relative difference {rel:.1e} (analytic {truth:.4f})"),
    ]


def bench_gcmi(repeats: int) -> list[tuple[str, str, str]]:
    x, y = gaussian(1_000_000, 0.6, seed=1)
    run = with_threads(1, lambda: mi_gcmi(x, y))
    run()
    t = best_time(run, repeats)
    return [("mi_gcmi, n=1 000 000, 1 thread", f"{t * 1e3:.0f} ms",
             f"goal < 500 ms: {'met' if t < 0.5 else 'NOT met'}; value {mi_gcmi(x, y):.4f} bits")]


def bench_batch(repeats: int) -> list[tuple[str, str, str]]:
    rng = np.random.default_rng(2)
    pairs, n = 7 * 16, 10_000
    rho = np.linspace(0, 0.95, pairs)[:, None]
    xs = rng.standard_normal((pairs, n))
    ys = rho * xs + np.sqrt(1 - rho**2) * rng.standard_normal((pairs, n))
    rows = []
    for est, single in (("gcmi", mi_gcmi), ("ksg", mi_ksg)):
        mi_batch(xs[:2], ys[:2], est)
        t_batch = best_time(lambda: mi_batch(xs, ys, est), repeats)
        t_loop = best_time(lambda: [single(a, b) for a, b in zip(xs, ys)], max(1, repeats // 2))
        rows.append((f"mi_batch {est}, 7 layers x 16 points, n=10 000 each, "
                     f"{numba.config.NUMBA_NUM_THREADS} threads",
                     f"{t_batch * 1e3:.0f} ms", f"loop of 112 single calls: {t_loop * 1e3:.0f} ms"))
    return rows


def bench_ksg_stages(repeats: int) -> list[tuple[str, str, str]]:
    from lamina.analysis import ksg
    from lamina.analysis._kdtree import build_forest
    from lamina.analysis._samples import column_argsorts

    x, y = gaussian(100_000, 0.6, seed=0)
    rows = []
    for threads in sorted({1, numba.config.NUMBA_NUM_THREADS}):
        numba.set_num_threads(threads)
        acc: dict[str, list[float]] = {}
        for rep in range(repeats + 1):  # the first round loads the kernels
            t = [time.perf_counter()]
            rng = np.random.default_rng(0)
            xp = ksg.prepare_ksg(x[:, None], 0, ksg.KSG_NOISE, rng)
            yp = ksg.prepare_ksg(y[:, None], 0, ksg.KSG_NOISE, rng)
            t.append(time.perf_counter())
            joint = np.ascontiguousarray(np.concatenate((xp[None], yp[None]), axis=2))
            orders = column_argsorts(joint)
            t.append(time.perf_counter())
            build_forest(joint, orders)
            t.append(time.perf_counter())
            eps = ksg._kth_distances(joint, orders, 3)  # builds the tree again, then queries
            t.append(time.perf_counter())
            psi = ksg._psi_table(x.size)
            ksg._marginal_psi_sums(xp[None], orders[:, :1], eps, psi)
            ksg._marginal_psi_sums(yp[None], orders[:, 1:], eps, psi)
            t.append(time.perf_counter())
            if rep:
                for i, name in enumerate(("standardise + jitter", "column argsorts", "tree build",
                                          "tree build + k-NN query", "1-D marginal counts (both)")):
                    acc.setdefault(name, []).append(t[i + 1] - t[i])
        rows += [(f"mi_ksg stage, n=100 000, {threads} thread(s): {name}", f"{np.median(v) * 1e3:.1f} ms",
                  f"median of {repeats}") for name, v in acc.items()]
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    return rows


# Each snippet makes the first call of one public function (small inputs).
FIRST_CALLS = {
    "mi_ksg": "mi_ksg(x, y)",
    "mi_gcmi": "mi_gcmi(x, y)",
    "mi_discrete (qe)": "mi_discrete((x > 0).astype(int), (y > 0).astype(int))",
    "mi_batch (gcmi)": "mi_batch(np.stack([x, y]), np.stack([y, x]), 'gcmi')",
    "mi_batch (ksg)": "mi_batch(np.stack([x, y]), np.stack([y, x]), 'ksg')",
    "lagged_mi (gcmi)": "lagged_mi(x, y, np.arange(5))",
    "mi_shuffle_null (gcmi)": "mi_shuffle_null('gcmi', x, y, n=10)",
    "population_rate": "population_rate(np.abs(x) * 100, 0.0, 500.0, 1.0, smooth=2.0)",
    "pulse_packet": "pulse_packet(np.abs(x) * 100, 0.0, 500.0)",
    "info_rate_coherence": "info_rate_coherence(x, y, 1e-3)",
    "layer_summary (with stimulus)": (
        "layer_summary([np.abs(x) * 100], [10], 500.0, stimulus=y[:500], stimulus_dt_ms=1.0, max_lag_ms=5)"),
}
PRELUDE = (
    "import time, numpy as np; t0 = time.perf_counter(); "
    "from lamina.analysis import *; t_import = time.perf_counter() - t0; "
    "rng = np.random.default_rng(0); x = rng.standard_normal(2000); y = x + rng.standard_normal(2000); "
)


def first_call(snippet: str, cache_dir: str) -> tuple[float, float]:
    """(seconds of the first call, seconds of an identical second call) in a fresh interpreter."""
    code = PRELUDE + (
        f"t0 = time.perf_counter(); {snippet}; t1 = time.perf_counter(); "
        f"{snippet}; t2 = time.perf_counter(); print(t1 - t0, t2 - t1)"
    )
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    first, second = map(float, out.stdout.split())
    return first, second


def bench_first_calls() -> list[tuple[str, str, str]]:
    rows = []
    for name, snippet in FIRST_CALLS.items():
        with tempfile.TemporaryDirectory() as cache:
            cold, warm_run = first_call(snippet, cache)  # empty cache: compiles
            cached, _ = first_call(snippet, cache)  # fresh interpreter, cache filled
        rows.append((f"first call {name}", f"{cold:.2f} s",
                     f"with filled cache {cached:.2f} s; second call {warm_run * 1e3:.1f} ms"))
    return rows


def machine() -> str:
    try:
        model = next(line.split(":", 1)[1].strip() for line in
                     subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines()
                     if line.startswith("Model name"))
    except (OSError, StopIteration):
        model = platform.processor() or "unknown"
    return (f"{os.cpu_count()}-core {platform.machine()}, {model}; Python {platform.python_version()}, "
            f"numpy {np.__version__}, numba {numba.__version__} ({numba.config.THREADING_LAYER} layer requested)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--skip-first-calls", action="store_true")
    parser.add_argument("--stages", action="store_true", help="also time the stages of mi_ksg")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    rows = bench_ksg(args.repeats) + bench_gcmi(args.repeats) + bench_batch(args.repeats)
    if args.stages:
        rows += bench_ksg_stages(max(args.repeats, 11))
    if not args.skip_first_calls:
        rows += bench_first_calls()
    print(f"Machine: {machine()}; numba threading layer used: {numba.threading_layer()}")
    print(f"Load average (1 min) before / after: {load_before:.2f} / {os.getloadavg()[0]:.2f}\n")
    print("| benchmark | time | notes |")
    print("|---|---|---|")
    for name, value, note in rows:
        print(f"| {name} | {value} | {note} |")


if __name__ == "__main__":
    main()
