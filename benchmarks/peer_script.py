"""lamina versus the hand-written Brian2 script on the deep FFN of fig3 (issue 15, part 3).

    .venv/bin/python benchmarks/peer_script.py [--quick] [--seeds 16] [--rounds 3] [--workers 2]
                                               [--batch N] [--no-cold-plain] [--no-numpy] [--json PATH]

The network: sims/fig3.toml's Het point (input → Int → Diff → Int → Diff → Int → Diff, 7 × 1000
Prescott neurons, p = 9/N, pulse packet alpha 400, sigma 5 ms, t0 100 ms; 180 ms, dt 0.01 ms,
Heun). The script: benchmarks/plain_fig3_script.py (Brian2 runtime mode, Brian2's default target
— Cython —, one NeuronGroup per layer, one process per configuration). lamina: ``lamina run`` and
``lamina sweep`` on the cpp backend, with ``simulation.noise = "counter"`` (lamina's counter-based
generator, the default since 0.3) and with Brian2's noise generator (``"brian2"``, same statistics).

Phases, interleaved so that other load on the machine hits both sides alike:

1. Single runs, one at a time. First runs against empty caches: the script with an empty Cython
   cache (it compiles every code object), lamina with an empty program cache (one C++ compile per
   noise kind). Then ``--rounds`` rounds of (script, lamina default, lamina counter) with the
   caches built. Each is one whole process, timed from launch to exit; the simulation time
   inside it is reported too (the script's ``net.run``; lamina's program execution).
2. A sweep of ``--seeds`` seeds at the same point: lamina cold (the batched program compiles),
   then the script's runs ``--workers`` at a time, then lamina again with the cache built.
3. Per-layer packet readout (``lamina.analysis.readout.layer_rows``: window packet size/SD and the
   window-free numbers, spontaneous count subtracted) of every sweep run on both sides; a
   two-sample KS test per layer on packet size and packet SD.

Prints a markdown report (docs/benchmarks-peers.md); ``--json`` also writes every number.
``--quick``: 7 × 200 neurons (alpha 80), 10 seeds, 1 round, no cold script run, no numpy run.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import cpu_name  # noqa: E402
from bench_sweep import Phase  # noqa: E402  (wall, child CPU time, mean load of one phase)

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "plain_fig3_script.py"
FIG3 = ROOT / "sims" / "fig3.toml"
LAMINA = [sys.executable, "-m", "lamina.cli"]
NOISES = ("brian2", "counter")
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}  # one thread per process on both sides


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# Specs and commands


def write_spec(tmp: Path, size: int, alpha: int, noise: str, seeds: int | None) -> Path:
    """fig3.toml's base point at ``size`` (alpha scaled with it), with ``noise`` and, for a sweep,
    a [sweep] table of ``seeds`` repeats only."""
    import tomli_w

    spec = tomllib.loads(FIG3.read_text())
    spec.pop("sweep", None)
    spec.pop("scales", None)
    spec["name"] = f"peer_{noise}"
    spec["network"]["size"] = size
    spec["input"]["alpha"] = alpha
    spec["simulation"]["noise"] = noise  # named either way: the default changed in lamina 0.3
    if seeds:
        spec["sweep"] = {"input.sigma": ["5 ms"], "seeds": seeds}  # a sweep needs one axis: one value
    path = tmp / f"peer_{noise}_{'sweep' if seeds else 'run'}.toml"
    path.write_text(tomli_w.dumps(spec))
    return path


def timed(cmd: list[str], env: dict) -> tuple[float, str]:
    t0 = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    if res.returncode != 0:
        raise SystemExit(f"failed ({res.returncode}): {' '.join(cmd)}\n{res.stderr[-3000:]}")
    return wall, res.stdout


def plain_run(seed: int, out: Path, args: argparse.Namespace, cython_cache: Path, target: str = "auto") -> dict:
    cmd = [sys.executable, str(SCRIPT), "--seed", str(seed), "--alpha", str(args.alpha), "--sigma", "5",
           "--size", str(args.size), "--target", target, "--cython-cache", str(cython_cache), "-o", str(out)]
    wall, stdout = timed(cmd, ENV)
    info = json.loads(stdout.strip().splitlines()[-1])
    return {"wall_s": wall, "sim_s": info["run_s"], "build_s": info["build_s"], "import_s": info["import_s"],
            "target": info["target"], "file": str(out)}


def lamina_run(spec: Path, seed: int, out: Path, cache: Path) -> dict:
    cmd = LAMINA + ["run", str(spec), "--seed", str(seed), "-o", str(out), "--figure", "none", "--json", "-q"]
    wall, stdout = timed(cmd, {**ENV, "LAMINA_CACHE": str(cache)})
    info = json.loads(stdout)
    return {"wall_s": wall, "sim_s": info["run_time_s"], "build_s": info["build_time_s"],
            "compiled": info["compiled"], "file": info["path"]}


def plain_sweep(seeds: list[int], out: Path, args: argparse.Namespace, cython_cache: Path) -> dict:
    """One process per seed, ``--workers`` at a time (how a user keeps both cores busy)."""
    out.mkdir(parents=True)
    with Phase() as ph, ThreadPoolExecutor(args.workers) as pool:
        runs = list(pool.map(lambda s: plain_run(s, out / f"seed{s}.npz", args, cython_cache), seeds))
    return {"wall_s": ph.wall_s, "cpu_s": ph.cpu_s, "load": ph.load, "runs": runs,
            "files": [r["file"] for r in runs]}


def lamina_sweep(spec: Path, out: Path, cache: Path, args: argparse.Namespace) -> dict:
    cmd = LAMINA + ["sweep", str(spec), "--workers", str(args.workers), "--batch", str(args.batch), "-o", str(out),
                    "--quiet"]
    with Phase() as ph:
        timed(cmd, {**ENV, "LAMINA_CACHE": str(cache)})
    files = sorted(str(p) for p in (out / "runs").glob("*.h5"))
    if len(files) != args.seeds:
        raise SystemExit(f"lamina sweep wrote {len(files)} runs, expected {args.seeds}")
    return {"wall_s": ph.wall_s, "cpu_s": ph.cpu_s, "load": ph.load, "files": files,
            "cmd": "lamina " + " ".join(cmd[3:])}


# ---------------------------------------------------------------------------------------------
# Packet readout of both outputs


def plain_rows(path: str) -> list[dict]:
    """lamina's per-layer readout of one script run (.npz)."""
    import numpy as np

    from lamina.analysis.readout import layer_rows

    d = np.load(path)
    names = [f"L{z}_{v}" for z, v in enumerate(d["layers"])]
    layers = [{"name": n, "cell": f"prescott.{v}", "size": int(d["size"])} for n, v in zip(names, d["layers"])]
    spikes = {n: (d[f"t{z}"], d[f"i{z}"]) for z, n in enumerate(names)}
    stimulus = {"kind": "pulse_packet", "t0_ms": float(d["t0_ms"]), "sigma_ms": float(d["sigma_ms"])}
    return layer_rows(layers, spikes, float(d["duration_ms"]), stimulus)


def lamina_rows(path: str) -> list[dict]:
    from lamina.analysis.readout import layer_rows
    from lamina.store.run import open_run

    run = open_run(path)
    return layer_rows(run.layers, run.spikes, float(run.attrs.get("duration_ms", 180.0)), run.stimulus)


STATS = (("packet_size", "packet size (spikes)"), ("packet_sd_ms", "packet SD (ms)"),
         ("packet_size_free", "size, window-free (/neuron)"), ("packet_sd_free_ms", "SD, window-free (ms)"))


def compare(plain: list[list[dict]], lamina: list[list[dict]]) -> list[dict]:
    """Per layer and statistic: mean ± SD on each side and the two-sample KS p-value."""
    import numpy as np
    from scipy.stats import ks_2samp

    out = []
    for z in range(len(plain[0])):
        for key, label in STATS:
            a = np.array([rows[z][key] for rows in plain], float)
            b = np.array([rows[z][key] for rows in lamina], float)
            a, b = a[np.isfinite(a)], b[np.isfinite(b)]
            p = float(ks_2samp(a, b).pvalue) if len(a) > 1 and len(b) > 1 else float("nan")
            out.append({"layer": plain[0][z]["layer"], "stat": key, "label": label, "plain_mean": float(np.mean(a)),
                        "plain_sd": float(np.std(a, ddof=1)), "lamina_mean": float(np.mean(b)),
                        "lamina_sd": float(np.std(b, ddof=1)), "n_plain": len(a), "n_lamina": len(b), "ks_p": p})
    return out


# ---------------------------------------------------------------------------------------------
# Report


def versions() -> dict:
    import brian2
    import Cython
    import numpy

    from lamina._version import __version__

    gcc = subprocess.run(["g++", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    return {"python": platform.python_version(), "brian2": brian2.__version__, "numpy": numpy.__version__,
            "cython": Cython.__version__, "g++": gcc, "lamina": __version__}


def med(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def report(r: dict, args: argparse.Namespace) -> None:
    v, single = r["versions"], r["single"]
    print(f"machine: {cpu_name()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}")
    print("versions: " + ", ".join(f"{k} {x}" for k, x in v.items()))
    print(f"network: 7 × {args.size} Prescott neurons (Het), alpha {args.alpha}, sigma 5 ms, 180 ms, dt 0.01 ms, heun")
    print(f"load average before: {r['load_before']}, after: {r['load_after']}; benchmark took {r['took_s']:.0f} s\n")
    print("### Single run (one whole process each, launch to exit)\n")
    print("| | wall | simulation inside | build / set-up inside |\n|---|---|---|---|")
    rows = []
    if single.get("plain_cold"):
        rows.append(("script, empty Cython cache (first run ever)", [single["plain_cold"]]))
    rows += [(f"lamina run, {n} noise, empty cache (compiles)", [single[f"lamina_cold_{n}"]]) for n in NOISES]
    rows.append((f"script, Cython cache built (median of {args.rounds})", single["plain"]))
    rows += [(f"lamina run, {n} noise, cache built (median of {args.rounds})", single[f"lamina_{n}"]) for n in NOISES]
    if single.get("plain_numpy"):
        rows.append(("script with the numpy target (no compiler), 1 run", [single["plain_numpy"]]))
    for label, rs in rows:
        print(f"| {label} | {med([x['wall_s'] for x in rs]):.1f} s | {med([x['sim_s'] for x in rs]):.2f} s | "
              f"{med([x['build_s'] for x in rs]):.2f} s |")
    pw = med([x["wall_s"] for x in single["plain"]])
    ps = med([x["sim_s"] for x in single["plain"]])
    print()
    for n in NOISES:
        lw = med([x["wall_s"] for x in single[f"lamina_{n}"]])
        ls = med([x["sim_s"] for x in single[f"lamina_{n}"]])
        line = f"- {n} noise: cached, whole process **{pw / lw:.2f}×**, simulation alone {ps / ls:.2f}×"
        if single.get("plain_cold"):
            line += f"; first runs (empty caches) {single['plain_cold']['wall_s'] / single[f'lamina_cold_{n}']['wall_s']:.1f}×"
        print(line + " (script / lamina)")
    print(f"\n### Sweep of {args.seeds} seeds, {args.workers} processes at a time\n")
    print("| | wall | CPU (all processes) | mean load |\n|---|---|---|---|")
    sw = r["sweep"]
    print(f"| script: {args.seeds} processes, {args.workers} at a time | {sw['plain']['wall_s']:.1f} s | "
          f"{sw['plain']['cpu_s']:.0f} s | {sw['plain']['load']:.1f} |")
    for n in NOISES:
        for state in ("cold", "warm"):
            s = sw[f"lamina_{state}_{n}"]
            what = "empty cache (compiles the batch)" if state == "cold" else "cache built"
            print(f"| `lamina sweep --workers {args.workers} --batch {args.batch}`, {n} noise, {what} | "
                  f"{s['wall_s']:.1f} s | {s['cpu_s']:.0f} s | {s['load']:.1f} |")
    print()
    for n in NOISES:
        c, w = sw[f"lamina_cold_{n}"]["wall_s"], sw[f"lamina_warm_{n}"]["wall_s"]
        print(f"- {n} noise: **{sw['plain']['wall_s'] / c:.2f}×** (lamina compiling), "
              f"{sw['plain']['wall_s'] / w:.2f}× (cache built) (script / lamina)")
    for n in NOISES:
        comp = r["compare"][n]
        print(f"\n### Packet readout, {args.seeds} script runs vs {args.seeds} lamina runs ({n} noise)\n")
        print("| layer | statistic | script mean ± SD | lamina mean ± SD | KS p |\n|---|---|---|---|---|")
        for c in comp:
            print(f"| {c['layer']} | {c['label']} | {c['plain_mean']:.3g} ± {c['plain_sd']:.2g} | "
                  f"{c['lamina_mean']:.3g} ± {c['lamina_sd']:.2g} | {c['ks_p']:.3f} |")
        main = [c for c in comp if c["stat"] in ("packet_size", "packet_sd_ms") and c["ks_p"] == c["ks_p"]]
        low = [c for c in main if c["ks_p"] < 0.05]
        print(f"\npacket size and SD: {len(main)} KS tests, {len(low)} with p < 0.05 "
              f"(expected by chance: {0.05 * len(main):.1f}); smallest p {min(c['ks_p'] for c in main):.3f} "
              f"(Bonferroni threshold {0.05 / len(main):.4f})")


# ---------------------------------------------------------------------------------------------


def single_runs(args: argparse.Namespace, tmp: Path, specs: dict, cache: Path, cython: Path) -> dict:
    out: dict = {}
    if args.cold_plain:
        log("script, empty Cython cache ...")
        out["plain_cold"] = plain_run(1001, tmp / "single" / "cold.npz", args, cython)
    for n in NOISES:
        log(f"lamina run, {n} noise, empty cache ...")
        out[f"lamina_cold_{n}"] = lamina_run(specs[n], 1001, tmp / "single" / f"lam_{n}", cache)
    if not args.cold_plain:  # the script's Cython cache must be built before its timed runs
        plain_run(1000, tmp / "single" / "warmup.npz", args, cython)
    out["plain"], out["lamina_brian2"], out["lamina_counter"] = [], [], []
    for k in range(args.rounds):
        seed = 1002 + k
        log(f"round {k + 1}/{args.rounds}: script, lamina brian2, lamina counter ...")
        out["plain"].append(plain_run(seed, tmp / "single" / f"plain{seed}.npz", args, cython))
        for n in NOISES:
            out[f"lamina_{n}"].append(lamina_run(specs[n], seed, tmp / "single" / f"lam_{n}", cache))
    if args.numpy:
        log("script with the numpy target ...")
        out["plain_numpy"] = plain_run(1100, tmp / "single" / "numpy.npz", args, cython, target="numpy")
    return out


def sweeps(args: argparse.Namespace, tmp: Path, sweep_specs: dict, cache: Path, cython: Path) -> dict:
    out: dict = {}
    for n in NOISES:
        log(f"lamina sweep, {n} noise, batch {args.batch} not yet compiled ...")
        out[f"lamina_cold_{n}"] = lamina_sweep(sweep_specs[n], tmp / f"sweep_cold_{n}", cache, args)
    log(f"script: {args.seeds} runs, {args.workers} at a time ...")
    out["plain"] = plain_sweep(list(range(1, args.seeds + 1)), tmp / "sweep_plain", args, cython)
    for n in NOISES:
        log(f"lamina sweep, {n} noise, cache built ...")
        out[f"lamina_warm_{n}"] = lamina_sweep(sweep_specs[n], tmp / f"sweep_warm_{n}", cache, args)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="7 × 200 neurons, 10 seeds, 1 round, no cold or numpy run")
    ap.add_argument("--size", type=int, default=1000, help="neurons per layer (alpha = 0.4 × size)")
    ap.add_argument("--seeds", type=int, default=16, help="sweep size (default 16)")
    ap.add_argument("--rounds", type=int, default=3, help="cached single runs per side (default 3)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--batch", type=int, default=None, help="lamina sweep --batch (default seeds / workers)")
    ap.add_argument("--no-cold-plain", dest="cold_plain", action="store_false",
                    help="skip the script's first run against an empty Cython cache (~1–2 min)")
    ap.add_argument("--no-numpy", dest="numpy", action="store_false",
                    help="skip the one run of the script with Brian2's numpy target (~1–2 min)")
    ap.add_argument("--json", default=None, help="also write every number to this file")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = ap.parse_args()
    if args.quick:
        args.size, args.seeds, args.rounds, args.cold_plain, args.numpy = 200, 10, 1, False, False
    args.alpha = int(round(0.4 * args.size))
    args.batch = args.batch or max(1, args.seeds // args.workers)
    tmp = Path(tempfile.mkdtemp(prefix="lamina-peer-script-"))
    (tmp / "single").mkdir()
    cache, cython = tmp / "lamina-cache", tmp / "cython-cache"  # both empty: first runs compile
    specs = {n: write_spec(tmp, args.size, args.alpha, n, None) for n in NOISES}
    sweep_specs = {n: write_spec(tmp, args.size, args.alpha, n, args.seeds) for n in NOISES}
    r: dict = {"versions": versions(), "load_before": " ".join(f"{x:.2f}" for x in os.getloadavg())}
    t0 = time.perf_counter()
    r["single"] = single_runs(args, tmp, specs, cache, cython)
    r["sweep"] = sweeps(args, tmp, sweep_specs, cache, cython)
    log("packet readout ...")
    plain = [plain_rows(f) for f in r["sweep"]["plain"]["files"]]
    r["compare"] = {n: compare(plain, [lamina_rows(f) for f in r["sweep"][f"lamina_warm_{n}"]["files"]])
                    for n in NOISES}
    r["took_s"] = time.perf_counter() - t0
    r["load_after"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    report(r, args)
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), **r}, indent=1, default=str))
    if not args.keep:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
