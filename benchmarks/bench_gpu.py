"""The whole GPU measurement in one command (issue: GPU backend and batched runs).

    python benchmarks/bench_gpu.py --out DIR [--phases build,check,scale,sweep,cpu] [--sizes 1000,10000,100000]

Phases (each appends JSON lines to DIR/bench_gpu.jsonl and prints a summary):

* ``build``  — compile every program the other phases need, in parallel processes (nvcc, no GPU needed);
* ``check``  — correctness on the GPU: a batch of 20 seeds on cuda vs the same 20 seeds on cpp
  (per-layer spontaneous rate and packet size, two-sample KS), the same batch twice bit for bit,
  single vs double precision (KS), run-time arrays applied (spikes in every layer);
* ``scale``  — the Het deep FFN (13 layers, p = 9/N, packet, 180 ms, dt 0.01 ms, Heun) at each N:
  lamina cuda (double, single), the plain one-group brian2cuda script (benchmarks/plain_brian2cuda.py),
  lamina cpp on one core (shortened run); neuron-steps/s in the loop and wall time without compile;
* ``sweep``  — ``sims/info_strength.toml --scale paper`` (1 260 runs of 13 × 1000) on the GPU, batched;
* ``cpu``    — cpp batching on one core (B = 1, 4, 16, 32) and a 16-core cpp subset of the sweep;
* ``figures`` — ``lamina figures ID --scale paper --backend cuda`` per figure id (``--figures``).

Times are wall-clock seconds on the machine it runs on; ratios are computed from numbers measured
in the same invocation.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
GPU = "cuda"  # --gpu-backend cpp: a plumbing run of this script on a machine without a GPU
CPP_BASELINE = True  # --no-cpp: leave out the one-core cpp runs of the scale phase
#: --scale-variants: the lamina cuda programs of the scale phase, "precision/constants"
SCALE_VARIANTS = [("double", "compiled"), ("single", "compiled"), ("double", "run-time"), ("single", "run-time")]
HET13 = ["prescott.input"] + ["prescott.int", "prescott.diff"] * 6


#: the scale phase compares lamina with the plain brian2cuda script, which draws Brian2's xi: the
#: same generator (runs 1-6 used it; it was lamina's default before 0.3)
SCALE_NOISE = "brian2"


def het_spec(n: int, backend: str, precision: str = "double", duration_ms: float = 180.0, seed: int = 7,
             constants: str = "compiled", noise: str = SCALE_NOISE) -> dict:
    return {
        "name": f"het13_{n}",
        "simulation": {"duration": f"{duration_ms:g} ms", "dt": "0.01 ms", "method": "heun", "backend": backend,
                       "seed": seed, "precision": precision, "constants": constants, "noise": noise},
        "network": {"layers": HET13, "size": n, "connection": {"rule": "feedforward", "p": "9/size"}},
        "input": {"kind": "pulse_packet", "alpha": int(0.4 * n), "sigma": "1 ms", "t0": f"{min(100.0, duration_ms / 2):g} ms"},
        "record": {"spikes": "all", "rate_bin": "0.5 ms"},
    }


def small_spec(seed: int, backend: str, precision: str = "double", noise: str = "brian2") -> dict:
    return {
        "name": "check", "simulation": {"duration": "150 ms", "dt": "0.01 ms", "method": "heun", "backend": backend,
                                        "seed": seed, "precision": precision, "noise": noise},
        "network": {"layers": ["prescott.input", "prescott.int", "prescott.diff", "prescott.int", "prescott.diff"],
                    "size": 200, "connection": {"rule": "feedforward", "p": "9/size"}},
        "input": {"kind": "pulse_packet", "alpha": 80, "sigma": "2 ms", "t0": "100 ms"},
        "record": {"spikes": "all", "rate_bin": "0.5 ms"},
    }


def log(out: Path, rec: dict) -> None:
    rec = {"time": time.strftime("%H:%M:%S"), **rec}
    print(json.dumps(rec, default=float), flush=True)
    with open(out / "bench_gpu.jsonl", "a") as f:
        f.write(json.dumps(rec, default=float) + "\n")


def _cpp_ms(n: int) -> float:
    """lamina cpp on one core runs shortened at large N (its neuron-steps/s do not depend on it)."""
    return 180.0 if n <= 1000 else 18.0 if n <= 10000 else 1.8


def _build_one(args: tuple) -> dict:
    spec, batch = args
    if os.environ.get("LAMINA_BENCH_GPU", "cuda") != "cuda" and "plain" in spec:
        return {"name": "plain", "skipped": True}
    if "plain" in spec:  # the plain brian2cuda script builds itself
        t0 = time.perf_counter()
        p = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "plain_brian2cuda.py"), *spec["plain"],
                            "--build-only"], capture_output=True, text=True)
        return {"name": " ".join(spec["plain"]), "rc": p.returncode, "build_s": time.perf_counter() - t0,
                "stderr": p.stderr[-500:] if p.returncode else ""}
    from lamina.backends import get_backend
    from lamina.config import experiment_from_dict

    if spec.pop("_unpatched", False):  # in a process of its own: the backend instance is per process
        p = subprocess.run([sys.executable, "-c", "import json, sys; sys.path.insert(0, %r); import bench_gpu as b; "
                            "print(json.dumps(b._build_one((json.loads(sys.argv[1]), %d))))" % (str(ROOT / "benchmarks"), batch),
                            json.dumps(spec)], capture_output=True, text=True, env={**os.environ, "LAMINA_CUDA_PATCH": "0"})
        lines = [l for l in p.stdout.splitlines() if l.startswith("{")]
        return {**(json.loads(lines[-1]) if lines else {"error": p.stderr[-2000:]}), "unpatched": True}
    exp = experiment_from_dict(spec)
    opts = {"build_only": True} if exp.backend == "cuda" else {}
    t0 = time.perf_counter()
    try:
        info = get_backend(exp.backend, **opts).build_program(exp, batch)
    except Exception as e:  # noqa: BLE001 — reported, not raised (results cross a process boundary)
        return {"name": spec["name"], "backend": exp.backend, "batch": batch, "error": f"{type(e).__name__}: {e}"[:3000]}
    return {"name": spec["name"], "backend": exp.backend, "precision": exp.precision, "batch": batch,
            "compiled": info["compiled"], "build_s": time.perf_counter() - t0}


def programs(sizes: list[int], phases: set[str], sweep_batch: int) -> list[tuple[dict, int]]:
    out = []
    if "check" in phases:
        out += [(small_spec(1, GPU), 20), (small_spec(1, GPU, "single"), 20), (small_spec(1, "cpp"), 20),
                (small_spec(1, GPU, noise="counter"), 20), (small_spec(1, "cpp", noise="counter"), 20)]
        if GPU == "cuda":  # brian2cuda's code as generated: the set-up/read-out patches must change no spike
            out.append(({**small_spec(1, GPU), "_unpatched": True}, 20))
    if "scale" in phases:
        for n in sizes:
            out += [(het_spec(n, GPU, precision, constants=constants), 1) for precision, constants in SCALE_VARIANTS]
            out += [({"plain": _plain_args(n, False)}, 1), ({"plain": _plain_args(n, True)}, 1)]
            if CPP_BASELINE:
                out.append((het_spec(n, "cpp", duration_ms=_cpp_ms(n)), 1))
            if n <= 1000:
                out.append((het_spec(n, "cpp", "single", duration_ms=_cpp_ms(n)), 1))
    if "sweep" in phases:
        from lamina.config import load_experiment
        from lamina.sweep import expand_sweep

        exp = load_experiment(ROOT / "sims" / "info_strength.toml", {"simulation.backend": GPU})
        out.append((expand_sweep(exp)[0].spec, sweep_batch))
    if "cpu" in phases:
        for b in (1, 4, 16, 32):
            out.append((het_spec(1000, "cpp", duration_ms=9.0), b))
    return out


PLAIN_DIR = Path(os.environ.get("LAMINA_CACHE", "/tmp")) / "plain"


def _plain_args(n: int, single: bool) -> list[str]:
    return ["--n", str(n), "--dir", str(PLAIN_DIR / f"plain_{n}_{int(single)}")] + (["--single"] if single else [])


def phase_build(out: Path, progs: list[tuple[dict, int]], jobs: int) -> None:
    import brian2  # noqa: F401 — imported here first: it installs a signal handler, main thread only

    t0 = time.perf_counter()
    # one process per program (Brian2's device is global); nvcc/make parallelise inside each
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        for rec in pool.map(_build_one, progs):
            log(out, {"phase": "build", **rec})
    log(out, {"phase": "build", "total_s": time.perf_counter() - t0, "programs": len(progs)})


def _stats(result) -> np.ndarray:
    from lamina.analysis import pulse_packet

    vals = []
    for layer in result.layers:
        t, n = result.spikes[layer["name"]][0], layer["size"]
        vals.append(np.count_nonzero((t >= 20) & (t < 90)) / n / 0.07)
        vals.append(pulse_packet(t, 0.0, result.duration_ms).alpha / n)
    return np.array(vals)


def phase_check(out: Path) -> None:
    from scipy.stats import ks_2samp

    from lamina.config import experiment_from_dict
    from lamina.simulation import simulate_batch

    seeds = list(range(300, 320))
    res = {}
    # simulation.noise = "counter" (lamina_randn) on both devices beside Brian2's generators
    for backend, precision, noise in ((GPU, "double", "brian2"), (GPU, "single", "brian2"), ("cpp", "double", "brian2"),
                                      (GPU, "counter", "counter"), ("cpp", "counter", "counter")):
        t0 = time.perf_counter()
        rs = simulate_batch([experiment_from_dict(small_spec(s, backend, "double" if noise == "counter" else precision,
                                                             noise)) for s in seeds])
        res[(backend, precision)] = rs
        log(out, {"phase": "check", "backend": backend, "precision": precision, "batch": len(seeds),
                  "wall_s": time.perf_counter() - t0, "loop_s": rs[0].attrs["loop_time_s"],
                  "spikes_per_layer": [int(np.mean([len(r.spikes[l["name"]][0]) for r in rs])) for l in rs[0].layers]})
    again = simulate_batch([experiment_from_dict(small_spec(s, GPU)) for s in seeds])
    same = all(np.array_equal(a.spikes[k][0], b.spikes[k][0]) and np.array_equal(a.spikes[k][1], b.spikes[k][1])
               for a, b in zip(res[(GPU, "double")], again) for k in a.spikes)
    differ = any(not np.array_equal(res[(GPU, "double")][0].spikes[k][0], res[(GPU, "double")][1].spikes[k][0])
                 for k in res[(GPU, "double")][0].spikes)
    # the same seeds through brian2cuda's code as generated (LAMINA_CUDA_PATCH=0, its own program)
    patched_same = None
    if GPU == "cuda":
        code = ("import json, sys; sys.path.insert(0, %r); import bench_gpu as b, numpy as np; "
                "from lamina.config import experiment_from_dict; from lamina.simulation import simulate_batch; "
                "rs = simulate_batch([experiment_from_dict(b.small_spec(s, 'cuda')) for s in range(300, 320)]); "
                "np.savez(sys.argv[1], **{f'{k}_{n}_{c}': r.spikes[n][c] for k, r in enumerate(rs) for n in r.spikes for c in (0, 1)})"
                % str(ROOT / "benchmarks"))
        f = out / "unpatched.npz"
        p = subprocess.run([sys.executable, "-c", code, str(f)], capture_output=True, text=True,
                           env={**os.environ, "LAMINA_CUDA_PATCH": "0"})
        if p.returncode == 0:
            z = np.load(f)
            patched_same = all(np.array_equal(z[f"{k}_{n}_{c}"], r.spikes[n][c])
                               for k, r in enumerate(res[(GPU, "double")]) for n in r.spikes for c in (0, 1))
            f.unlink()
        else:
            patched_same = "error: " + p.stderr[-1500:]
    st = {k: np.array([_stats(r) for r in v]) for k, v in res.items()}
    ks_cpp = [float(ks_2samp(st[(GPU, "double")][:, c], st[("cpp", "double")][:, c]).pvalue) for c in range(st[("cpp", "double")].shape[1])]
    ks_single = [float(ks_2samp(st[(GPU, "double")][:, c], st[(GPU, "single")][:, c]).pvalue) for c in range(st[("cpp", "double")].shape[1])]
    cols = range(st[("cpp", "double")].shape[1])
    ks_counter = {"cuda_counter_vs_cpp_counter": [float(ks_2samp(st[(GPU, "counter")][:, c], st[("cpp", "counter")][:, c]).pvalue) for c in cols],
                  "cuda_counter_vs_cuda_brian2": [float(ks_2samp(st[(GPU, "counter")][:, c], st[(GPU, "double")][:, c]).pvalue) for c in cols]}
    log(out, {"phase": "check", "ks_p_counter_noise": ks_counter, **{f"min_p_{k}": min(v) for k, v in ks_counter.items()},
              "mean_cuda_counter": st[(GPU, "counter")].mean(0).tolist(), "mean_cpp_counter": st[("cpp", "counter")].mean(0).tolist()})
    log(out, {"phase": "check", "same_batch_bit_identical": same, "replicas_differ": differ,
              "patched_equals_unpatched_bit_for_bit": patched_same,
              "ks_p_cuda_vs_cpp": ks_cpp, "ks_p_single_vs_double": ks_single,
              "min_p_cuda_vs_cpp": min(ks_cpp), "min_p_single_vs_double": min(ks_single),
              "stat_names": [f"{l['name']}.{s}" for l in res[("cpp", "double")][0].layers for s in ("spont_hz", "packet_frac")],
              "mean_cuda": st[(GPU, "double")].mean(0).tolist(), "mean_cpp": st[("cpp", "double")].mean(0).tolist(),
              "mean_single": st[(GPU, "single")].mean(0).tolist()})


def _lamina_run(spec: dict, repeats: int = 2) -> dict:
    from lamina.config import experiment_from_dict
    from lamina.simulation import simulate

    exp = experiment_from_dict(spec)
    best = None
    for k in range(repeats):
        t0 = time.perf_counter()
        r = simulate(exp.with_seed(exp.seed + k))
        wall = time.perf_counter() - t0
        a = r.attrs
        rec = {"wall_s": wall, "loop_s": a["loop_time_s"], "run_s": a["run_time_s"], "build_s": a["build_time_s"],
               "compiled": a["compiled"], "spikes": int(sum(len(t) for t, _ in r.spikes.values())),
               # the program's own account (cuda): set-up before the loop, end-of-run writes
               **{k: a[k] for k in ("program_setup_s", "program_end_s", "synapse_creation_s", "spike_queue_s") if k in a}}
        if not rec["compiled"] and (best is None or rec["loop_s"] < best["loop_s"]):
            best = rec
    return best or rec


def phase_scale(out: Path, sizes: list[int]) -> None:
    for n in sizes:
        row = {"phase": "scale", "n": n, "neurons": 13 * n}
        # simulation.constants: the card's values compiled in (default) and as run-time variables
        for precision, constants in SCALE_VARIANTS:
            rec = _lamina_run(het_spec(n, GPU, precision, constants=constants))
            tag = f"lamina_cuda_{precision}" + ("" if constants == "compiled" else "_runtime_constants")
            row[tag] = {**rec, "neuron_steps_per_s": 13 * n * 18000 / rec["loop_s"]}
        dur = _cpp_ms(n)
        if CPP_BASELINE:
            rec = _lamina_run(het_spec(n, "cpp", duration_ms=dur), repeats=1 if n > 1000 else 2)
            row["lamina_cpp_1core"] = {**rec, "duration_ms": dur, "neuron_steps_per_s": 13 * n * dur * 100 / rec["loop_s"]}
        if n <= 1000 and CPP_BASELINE:
            rec = _lamina_run(het_spec(n, "cpp", "single", duration_ms=dur))
            row["lamina_cpp_1core_single"] = {**rec, "neuron_steps_per_s": 13 * n * dur * 100 / rec["loop_s"]}
        for single in (False, True) if GPU == "cuda" else ():
            cmd = [sys.executable, str(ROOT / "benchmarks" / "plain_brian2cuda.py"), *_plain_args(n, single)]
            p = subprocess.run(cmd, capture_output=True, text=True)
            lines = [l for l in p.stdout.splitlines() if l.startswith("{")]
            row[f"plain_cuda_{'single' if single else 'double'}"] = (json.loads(lines[-1]) if lines
                                                                      else {"error": p.stderr[-2000:]})
        d, s = row["lamina_cuda_double"], row["lamina_cuda_single"]
        pd_, ps_ = row.get("plain_cuda_double", {}), row.get("plain_cuda_single", {})
        c = row.get("lamina_cpp_1core", {"neuron_steps_per_s": float("nan")})
        for precision in ("double", "single"):
            if f"lamina_cuda_{precision}_runtime_constants" not in row:
                continue
            row[f"compiled_over_runtime_constants_{precision}"] = (
                row[f"lamina_cuda_{precision}"]["neuron_steps_per_s"]
                / row[f"lamina_cuda_{precision}_runtime_constants"]["neuron_steps_per_s"])
        if "neuron_steps_per_s" in pd_:
            row["lamina_over_plain_double"] = d["neuron_steps_per_s"] / pd_["neuron_steps_per_s"]
            row["lamina_single_over_plain_double"] = s["neuron_steps_per_s"] / pd_["neuron_steps_per_s"]
        if "neuron_steps_per_s" in ps_:
            row["lamina_single_over_plain_single"] = s["neuron_steps_per_s"] / ps_["neuron_steps_per_s"]
        row["cuda_over_cpp_1core"] = d["neuron_steps_per_s"] / c["neuron_steps_per_s"]
        log(out, row)


def phase_sweep(out: Path, batch: int, workers: int = 1, seeds: int | None = None, res: Path | None = None) -> None:
    from lamina.config import load_experiment

    sweep_exp = load_experiment(ROOT / "sims" / "info_strength.toml")
    steps = sweep_exp.n_steps
    neurons = sum(l.size for l in sweep_exp.layers)
    res = res or out / "info_strength_gpu"  # RESULTS/info_strength: `lamina figures info_strength --results RESULTS` reuses it
    cmd = [sys.executable, "-m", "lamina.cli", "sweep", str(ROOT / "sims" / "info_strength.toml"), "--scale", "paper",
           "--backend", GPU, "--batch", str(batch), "--workers", str(workers), "-o", str(res), "-q", "--log-json"]
    if seeds:  # a part of the sweep: the first `seeds` of its 20 seeds
        cmd += ["--set", f"sweep.seeds={seeds}"]
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    runs = [json.loads(l) for l in p.stdout.splitlines() if l.startswith('{"event": "run"')]
    ok = sum(r["status"] == "ok" for r in runs)
    loop = sorted({(r.get("loop_s") or 0.0) for r in runs})
    batches = {}
    for f in sorted((res / "runs").glob("*.h5"))[:2000]:
        from lamina.store.run import read_header

        h = read_header(f) or {}
        batches.setdefault(h.get("device_seed"), (h.get("batch_wall_time_s"), h.get("binary_time_s"), h.get("loop_time_s"),
                                                   h.get("build_time_s")))
    log(out, {"phase": "sweep", "batch": batch, "seeds": seeds or 20, "runs": len(runs), "ok": ok, "wall_s": wall,
              "rc": p.returncode, "per_batch_wall_binary_loop_build_s": list(batches.values()),
              "loop_s_per_batch": loop[-5:], "workers": workers, "steps": steps, "neuron_steps_per_s": len(runs) * neurons * steps / max(wall, 1e-9),
              "mean_write_s": float(np.mean([r["write_s"] for r in runs if "write_s" in r])) if any("write_s" in r for r in runs) else None,
              "stderr_tail": p.stderr[-1500:]})


def phase_figures(out: Path, ids: list[str], workers: int) -> None:
    """``lamina figures IDS --scale paper --backend cuda`` one figure at a time (wall time each);
    results and figures under OUT (results reused by a later call if OUT's results are carried)."""
    ids = ids or ["--all"]
    for fig in ids:
        cmd = [sys.executable, "-m", "lamina.cli", "figures", fig, "--scale", "paper", "--backend", GPU,
               "--workers", str(workers), "--results", str(out / "results"), "-o", str(out / "figures")]
        t0 = time.perf_counter()
        p = subprocess.run(cmd, capture_output=True, text=True)
        log(out, {"phase": "figures", "figure": fig, "rc": p.returncode, "wall_s": time.perf_counter() - t0,
                  "log_tail": (p.stderr + p.stdout)[-1200:]})


def phase_cpu(out: Path) -> None:
    from lamina.config import experiment_from_dict
    from lamina.simulation import simulate_batch

    for b in (1, 4, 16, 32):
        exps = [experiment_from_dict(het_spec(1000, "cpp", duration_ms=9.0, seed=50 + k)) for k in range(b)]
        t0 = time.perf_counter()  # compiled by the build phase; loop_s is timed inside the program
        rs = simulate_batch(exps)
        log(out, {"phase": "cpu", "batch": b, "wall_s": time.perf_counter() - t0, "loop_s": rs[0].attrs["loop_time_s"],
                  "neuron_steps_per_s_per_core": b * 13000 * 900 / rs[0].attrs["loop_time_s"]})


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--phases", default="build,check,scale,sweep,cpu")
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--sweep-batch", type=int, default=126)
    ap.add_argument("--jobs", type=int, default=6, help="programs compiled at once in the build phase")
    ap.add_argument("--gpu-backend", default="cuda", help="cpp: test this script's plumbing without a GPU")
    ap.add_argument("--no-cpp", action="store_true", help="scale phase without the one-core cpp runs")
    ap.add_argument("--sweep-seeds", type=int, default=None, help="sweep phase on the first N of the 20 seeds")
    ap.add_argument("--sweep-workers", type=int, default=1, help="worker processes sharing the GPU in the sweep phase")
    ap.add_argument("--sweep-out", type=Path, default=None, help="sweep phase: its results directory (default OUT/info_strength_gpu)")
    ap.add_argument("--figures", default="", help="figures phase: these ids at --scale paper (default: all)")
    ap.add_argument("--figure-workers", type=int, default=4, help="figures phase: worker processes")
    ap.add_argument("--build-only", action="store_true", help="compile the programs of --phases, run none of them")
    ap.add_argument("--scale-variants", default="double/compiled,single/compiled,double/run-time,single/run-time",
                    help="scale phase: the lamina cuda programs, precision/constants (the first two are required)")
    a = ap.parse_args()
    global GPU, CPP_BASELINE, SCALE_VARIANTS
    SCALE_VARIANTS = [tuple(v.split("/")) for v in a.scale_variants.split(",")]
    GPU = a.gpu_backend
    CPP_BASELINE = not a.no_cpp
    os.environ["LAMINA_BENCH_GPU"] = GPU
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    phases = set(a.phases.split(","))
    sizes = [int(x) for x in a.sizes.split(",") if x]
    try:
        smi = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
                             capture_output=True, text=True).stdout.strip()
        nvcc = subprocess.run(["nvcc", "--version"], capture_output=True, text=True).stdout.strip().splitlines()[-1]
    except OSError:
        smi, nvcc = "", ""
    log(out, {"phase": "machine", "gpu": smi, "nvcc": nvcc, "cpus": os.cpu_count(), "python": sys.version.split()[0]})
    if "build" in phases or a.build_only:
        phase_build(out, programs(sizes, phases, a.sweep_batch), a.jobs)
    if a.build_only:
        return
    if "check" in phases:
        phase_check(out)
    if "scale" in phases:
        phase_scale(out, sizes)
    if "sweep" in phases:
        phase_sweep(out, a.sweep_batch, workers=a.sweep_workers, seeds=a.sweep_seeds, res=a.sweep_out)
    if "figures" in phases:
        phase_figures(out, [f for f in a.figures.split(",") if f], a.figure_workers)
    if "cpu" in phases:
        phase_cpu(out)


if __name__ == "__main__":
    main()
