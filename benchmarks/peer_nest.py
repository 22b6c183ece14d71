"""lamina versus NEST on one LIF feedforward network (issue 15, part 2).

    .venv/bin/python benchmarks/peer_nest.py [--full] [--layers 10] [--size 10000] [--duration 500]
                                             [--rounds 1] [--no-counter] [--json PATH]
    .venv/bin/python benchmarks/peer_nest.py --sweep 16 [--full] [--workers 2] [--batch 8] [--noise counter]
                                             [--sweep-range 0.9,1.1] [--no-warm] [--nest-serial] [--json PATH]

Needs the optional ``peers`` extra (``pip install -e '.[peers]'``: nest-simulator from PyPI).

The network, written once for each simulator: ``--layers`` layers of ``--size`` leaky
integrate-and-fire neurons with alpha-shaped current synapses (lamina's card models/lif.toml,
variant ``synfire``, read at run time: C_m 100 pF, tau_m 10 ms, E_L = V_reset = -70 mV, V_th -55 mV,
t_ref 1 ms, PSC peak J_syn, tau_syn 0.33 ms, I_bias, noise SD sigma_noise); each neuron of layer z+1 gets exactly 100
distinct inputs from layer z (fixed in-degree); every neuron gets its own Gaussian noise current.
Layer 0 has only the background. dt 0.1 ms in both.

* NEST 3 (``iaf_psc_alpha``, exact integration of the subthreshold dynamics): weight = PSC peak
  in pA, the card's values; background = one ``noise_generator`` (independent noise for each
  target) with std = sigma_noise changing every 0.1 ms; delay 0.1 ms (NEST's minimum: a spike acts in the
  next step, as lamina's delay 0 does).
* lamina (cpp backend, one thread; numerical integration, Brian2's ``heun`` by default): the same
  card; its background is an Ornstein–Uhlenbeck current (tau 0.1 ms, sigma = sigma_noise). At
  dt = tau_noise the discretised OU current has the low-frequency power sigma² · dt of NEST's
  piecewise-constant noise of SD sigma (the membrane, tau_m = 100 dt, sees only that), so both
  have the same membrane noise (checked: rates per layer below).

Timed in one script, interleaved: NEST with 1 thread, NEST with 2 threads, lamina cached (after
one first run that compiles), each in its own process; firing statistics per layer (mean rate
after a 50 ms transient, mean CV of the inter-spike intervals over neurons with ≥ 3 spikes) are
compared. ``--full``: the issue's size, 10 × 10 000 neurons, 1 s. Default 10 × 10 000, 0.5 s
(about 6 minutes on 2 cores).

``--sweep N`` (instead of the above): N evenly spaced values of the background noise SD
(``cells.synfire.sigma_noise`` in lamina, the ``noise_generator``'s std in NEST; ``--sweep-range``
0.9–1.1 × the card's value by default, which moves layer 0 from ~1.2 to ~3.7 Hz and keeps the
low-rate asynchronous regime), one seed per point, on ``--workers`` cores' worth of processes on
each side, each configuration timed as a whole from launch to exit:

* NEST: one process per point (import, create + connect, simulate, write), 1 thread each,
  ``--workers`` at a time — how independent NEST runs are spread over cores; with
  ``--nest-serial`` also one process with ``--workers`` threads running the points one after
  another (``ResetKernel`` between them; about N × a 2-thread run: long at full size).
* lamina: the same N values as one ``lamina sweep`` of a spec with a ``[sweep]`` table
  (``--workers`` processes, cpp, ``simulation.noise = --noise``), with ``--batch 1`` and
  ``--batch B`` (default N / workers), each first against an empty program cache (its one compile
  included), then (unless ``--no-warm``) again with that cache built.

Prints the wall times, the ratios lamina / NEST for each pairing and each point's mean rate of
layer 0 and of the last layer on both sides.
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
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import cpu_name  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CARD = ROOT / "models" / "lif.toml"
VARIANT = "synfire"
IN_DEGREE = 100
DT_MS = 0.1
TRANSIENT_MS = 50.0  # left out of the rates: every neuron starts at rest
SWEEP_SEED = 1001  # NEST's rng seed of the first point (then + 1 per point)
SWEPT = f"cells.{VARIANT}.sigma_noise"  # --sweep: the background noise SD (NEST: the noise_generator's std)
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def card_values() -> dict[str, float]:
    """The synfire variant's values from the LIF card, in NEST's units (mV, ms, pF, pA)."""
    card = tomllib.loads(CARD.read_text())
    raw = {**card["parameters"], **{k: v for k, v in card["variants"][VARIANT].items() if k != "description"}}
    return {k: float(str(v).split()[0]) for k, v in raw.items()}  # every value is in mV, ms, pF or pA


# ---------------------------------------------------------------------------------------------
# NEST, in a process of its own


def nest_params(c: dict[str, float]) -> dict[str, float]:
    if abs(c["tau_rise"] - c["tau_decay"]) > 1e-12:
        raise SystemExit("iaf_psc_alpha needs tau_rise = tau_decay (an alpha PSC)")
    return {"C_m": c["C_m"], "tau_m": c["tau_m"], "E_L": c["EL"], "V_th": c["v_th"], "V_reset": c["v_reset"],
            "t_ref": c["t_ref"], "tau_syn_ex": c["tau_decay"], "tau_syn_in": c["tau_decay"], "I_e": c["I_bias"],
            "V_m": c["EL"]}


def nest_worker(args: argparse.Namespace) -> None:
    """Build and simulate the network in NEST, once per value of ``--sigma`` (default: the card's
    sigma_noise), one after another in this process (``nest.ResetKernel`` between them, rng seed
    ``--seed`` + k for the k-th); write the spikes and the timings of the k-th to ``--out`` (one
    value) or ``--out``/p{k}.npz (several)."""
    t0 = time.perf_counter()
    import warnings

    import nest

    t_import = time.perf_counter()
    warnings.simplefilter("ignore")  # set_verbosity's deprecation notice
    nest.set_verbosity("M_ERROR")
    c = card_values()
    sigmas = [float(x) for x in args.sigma.split(",")] if args.sigma else [c["sigma_noise"]]
    for k, sigma in enumerate(sigmas):
        t_start = time.perf_counter()
        nest.ResetKernel()
        nest.SetKernelStatus({"resolution": DT_MS, "local_num_threads": args.threads, "rng_seed": args.seed + k,
                              "print_time": False})
        layers = [nest.Create("iaf_psc_alpha", args.size, params=nest_params(c)) for _ in range(args.layers)]
        noise = nest.Create("noise_generator", params={"mean": 0.0, "std": sigma, "dt": DT_MS})
        recorders = [nest.Create("spike_recorder") for _ in layers]
        for layer, rec in zip(layers, recorders):
            if not args.quiet_network:  # --diagnose: the same network without its background (no spikes)
                nest.Connect(noise, layer)  # all to all: each target gets its own noise
            nest.Connect(layer, rec)
        for pre, post in zip(layers, layers[1:]):
            nest.Connect(pre, post, {"rule": "fixed_indegree", "indegree": IN_DEGREE, "allow_autapses": False,
                                     "allow_multapses": False},
                         {"synapse_model": "static_synapse", "weight": c["J_syn"], "delay": DT_MS})
        t_built = time.perf_counter()
        nest.Simulate(args.duration)
        t_sim = time.perf_counter()
        out = {}
        for z, (layer, rec) in enumerate(zip(layers, recorders)):
            ev = rec.get("events")
            out[f"t{z}"] = np.asarray(ev["times"], float)
            out[f"i{z}"] = np.asarray(ev["senders"], np.int64) - layer[0].global_id
        timings = {"import_s": (t_import - t0) if k == 0 else 0.0, "build_s": t_built - t_start,
                   "sim_s": t_sim - t_built, "threads": args.threads, "nest": nest.__version__, "sigma_pA": sigma,
                   "seed": args.seed + k}
        path = Path(args.out) if len(sigmas) == 1 else Path(args.out) / f"p{k}.npz"
        np.savez(path, timings=json.dumps(timings), **out)


# ---------------------------------------------------------------------------------------------
# The driver


def nest_cmd(args: argparse.Namespace, threads: int, seed: int, out: Path, sigmas: list[float] | None = None,
             quiet: bool = False) -> list[str]:
    cmd = [sys.executable, __file__, "--nest-worker", "--threads", str(threads), "--seed", str(seed),
           "--layers", str(args.layers), "--size", str(args.size), "--duration", str(args.duration), "--out", str(out)]
    cmd += ["--sigma", ",".join(repr(x) for x in sigmas)] if sigmas else []
    return cmd + (["--quiet-network"] if quiet else [])


def check(res: subprocess.CompletedProcess, what: str) -> None:
    if res.returncode != 0:
        raise SystemExit(f"{what} failed ({res.returncode}):\n{res.stderr[-3000:]}")


def read_nest(path: Path, args: argparse.Namespace) -> dict:
    d = np.load(path)
    info = json.loads(str(d["timings"]))
    spikes = {z: (d[f"t{z}"], d[f"i{z}"]) for z in range(args.layers)}
    return {**info, "stats": firing_stats(spikes, args)}


def run_nest(args: argparse.Namespace, threads: int, seed: int, out: Path, quiet: bool = False,
             sigma: float | None = None) -> dict:
    """One NEST run in a process of its own (import, build, simulate, write), timed from launch to exit."""
    t0 = time.perf_counter()
    res = subprocess.run(nest_cmd(args, threads, seed, out, [sigma] if sigma is not None else None, quiet),
                         capture_output=True, text=True, env=ENV)
    wall = time.perf_counter() - t0
    check(res, "NEST run")
    return {"wall_s": wall, **read_nest(out, args)}


def lamina_spec(tmp: Path, args: argparse.Namespace, noise: str, sigmas: list[float] | None = None) -> Path:
    """The network as a lamina spec; with ``sigmas``, a sweep of the background's sigma_noise over them."""
    import tomli_w

    spec = {"name": f"peer_nest_{noise}" + ("_sweep" if sigmas else ""),
            "simulation": {"duration": f"{args.duration:g} ms", "dt": f"{DT_MS:g} ms", "method": args.method,
                           "backend": getattr(args, "backend", "cpp"), "seed": 1},
            "network": {"layers": [f"lif.{VARIANT}"] * args.layers, "size": args.size,
                        "connection": {"rule": "feedforward", "in_degree": IN_DEGREE}},
            "input": {"kind": "none"}, "record": {"spikes": "all"}}
    spec["simulation"]["noise"] = noise  # named either way: the default changed in lamina 0.3
    if sigmas:
        spec["sweep"] = {SWEPT: [f"{x!r} pA" for x in sigmas]}  # the exact values NEST gets
    path = tmp / f"{spec['name']}.toml"
    path.write_text(tomli_w.dumps(spec))
    return path


def run_lamina(args: argparse.Namespace, spec: Path, seed: int, out: Path, cache: Path) -> dict:
    cmd = [sys.executable, "-m", "lamina.cli", "run", str(spec), "--seed", str(seed), "-o", str(out), "--figure", "none",
           "--json", "-q"]
    t0 = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True, env={**ENV, "LAMINA_CACHE": str(cache)})
    wall = time.perf_counter() - t0
    if res.returncode != 0:
        raise SystemExit(f"lamina run failed ({res.returncode}):\n{res.stderr[-3000:]}")
    from lamina.store.run import open_run

    run = open_run(json.loads(res.stdout)["path"])
    a = run.attrs
    spikes = {z: run.spikes[l["name"]] for z, l in enumerate(run.layers)}
    return {"wall_s": wall, "build_s": float(a["build_time_s"]), "program_s": float(a["run_time_s"]),
            "sim_s": float(a["loop_time_s"]), "compiled": bool(a["compiled"]), "stats": firing_stats(spikes, args)}


def firing_stats(spikes: dict[int, tuple[np.ndarray, np.ndarray]], args: argparse.Namespace) -> list[dict]:
    """Per layer: mean rate (Hz, after the transient) and the mean CV of the inter-spike
    intervals over neurons with at least 3 spikes (and how many such neurons)."""
    out = []
    span_s = (args.duration - TRANSIENT_MS) / 1e3
    for z in range(args.layers):
        t, i = (np.asarray(x) for x in spikes[z])
        keep = t >= TRANSIENT_MS
        t, i = t[keep], i[keep].astype(np.int64)
        order = np.lexsort((t, i))
        t, i = t[order], i[order]
        isi, same = np.diff(t), np.diff(i) == 0
        counts = np.bincount(i, minlength=args.size)
        owner = i[1:][same]
        isi = isi[same]
        n_isi = np.bincount(owner, minlength=args.size)
        s1 = np.bincount(owner, isi, minlength=args.size)
        s2 = np.bincount(owner, isi * isi, minlength=args.size)
        ok = counts >= 3
        mean = s1[ok] / n_isi[ok]
        cv = np.sqrt(np.maximum(s2[ok] / n_isi[ok] - mean**2, 0.0)) / mean
        out.append({"rate_hz": len(t) / args.size / span_s, "cv_isi": float(np.mean(cv)) if ok.any() else float("nan"),
                    "n_cv": int(ok.sum())})
    return out


def versions() -> dict:
    from importlib.metadata import version  # not `import nest` here: it prints its banner on stdout

    import brian2

    from lamina._version import __version__

    gcc = subprocess.run(["g++", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    return {"python": platform.python_version(), "nest-simulator": version("nest-simulator"), "brian2": brian2.__version__,
            "numpy": np.__version__, "g++": gcc, "lamina": __version__}


def med(xs: list[float]) -> float:
    return statistics.median(xs)


def report(r: dict, args: argparse.Namespace) -> None:
    print(f"machine: {cpu_name()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}")
    print("versions: " + ", ".join(f"{k} {v}" for k, v in r["versions"].items()))
    print(f"network: {args.layers} × {args.size} LIF (lif.{VARIANT}), fixed in-degree {IN_DEGREE}, alpha PSCs, "
          f"noise background, {args.duration:g} ms, dt {DT_MS} ms; lamina method {args.method}")
    c = card_values()
    print("card values (models/lif.toml, synfire): " + ", ".join(
        f"{k} {c[k]:g}" for k in ("C_m", "tau_m", "EL", "v_th", "v_reset", "t_ref", "J_syn", "tau_decay", "I_bias",
                                  "sigma_noise", "tau_noise")) + " (pF, ms, mV, pA)")
    print(f"load average before: {r['load_before']}, after: {r['load_after']}; benchmark took {r['took_s']:.0f} s\n")
    print("| | whole process | set-up (create + connect / codegen + compile) | simulation |\n|---|---|---|---|")
    runs = r["runs"]
    rows = [("NEST, 1 thread", runs["nest1"]), ("NEST, 2 threads", runs["nest2"]),
            ("lamina cpp, brian2 noise, first run (compiles)", [runs["lamina_cold_brian2"]]),
            ("lamina cpp, brian2 noise, cached", runs["lamina_brian2"])]
    if "lamina_counter" in runs:
        rows += [("lamina cpp, counter noise, first run (compiles)", [runs["lamina_cold_counter"]]),
                 ("lamina cpp, counter noise, cached", runs["lamina_counter"])]
    for label, rs in rows:
        print(f"| {label} (median of {len(rs)}) | {med([x['wall_s'] for x in rs]):.1f} s | "
              f"{med([x['build_s'] for x in rs]):.1f} s | {med([x['sim_s'] for x in rs]):.1f} s |")
    print("\n(lamina's simulation column is the C++ loop; its program run, synapse creation and result "
          "writing included: " + ", ".join(f"{n} {med([x['program_s'] for x in runs['lamina_' + n]]):.1f} s"
                                           for n in ("brian2", "counter") if "lamina_" + n in runs) + ")\n")
    for n in ("brian2", "counter"):
        if f"lamina_{n}" not in runs:
            continue
        lw, ls = med([x["wall_s"] for x in runs[f"lamina_{n}"]]), med([x["sim_s"] for x in runs[f"lamina_{n}"]])
        for k, label in (("nest1", "1 thread"), ("nest2", "2 threads")):
            nw, ns = med([x["wall_s"] for x in runs[k]]), med([x["sim_s"] for x in runs[k]])
            print(f"- lamina ({n} noise, cached) / NEST {label}: whole process **{lw / nw:.2f}**, "
                  f"simulation {ls / ns:.2f}")
    if "nest1_quiet" in runs:
        q, full = runs["nest1_quiet"][0], med([x["sim_s"] for x in runs["nest1"]])
        print(f"- NEST, 1 thread, the same network without the noise generator (no spikes): simulation "
              f"{q['sim_s']:.1f} s: the background ({args.layers * args.size} noise current events per step, and "
              f"the spikes they cause) costs {full - q['sim_s']:.1f} of NEST's {full:.1f} s")
    print("\n| layer | NEST rate (Hz) | lamina rate (Hz) | rate lamina/NEST | NEST CV ISI | lamina CV ISI |"
          "\n|---|---|---|---|---|---|")
    nest_s = runs["nest1"][0]["stats"]
    lam_s = runs["lamina_brian2"][0]["stats"]
    for z, (a, b) in enumerate(zip(nest_s, lam_s)):
        print(f"| {z} | {a['rate_hz']:.2f} | {b['rate_hz']:.2f} | {b['rate_hz'] / a['rate_hz']:.3f} | "
              f"{a['cv_isi']:.3f} (n={a['n_cv']}) | {b['cv_isi']:.3f} (n={b['n_cv']}) |")
    worst = max(abs(b["rate_hz"] / a["rate_hz"] - 1) for a, b in zip(nest_s, lam_s))
    print(f"\nlargest rate difference (lamina brian2 noise vs NEST 1 thread): {100 * worst:.1f} % (goal ≤ 10 %)")
    for label, key in (("NEST 2 threads", "nest2"), ("lamina counter noise", "lamina_counter")):
        if key in runs:
            other = runs[key][0]["stats"]
            w = max(abs(b["rate_hz"] / a["rate_hz"] - 1) for a, b in zip(nest_s, other))
            print(f"largest rate difference, {label} vs NEST 1 thread: {100 * w:.1f} %")


# ---------------------------------------------------------------------------------------------
# --sweep N: N values of the background's sigma, both simulators, timed side by side


def sweep_values(args: argparse.Namespace) -> list[float]:
    """``--sweep`` evenly spaced values of sigma_noise (pA) over ``--sweep-range`` × the card's value."""
    lo, hi = (float(x) for x in args.sweep_range.split(","))
    sigma = card_values()["sigma_noise"]
    return [round(float(x), 3) for x in np.linspace(lo * sigma, hi * sigma, args.sweep)]


def nest_sweep_pool(args: argparse.Namespace, sigmas: list[float], out: Path) -> dict:
    """One NEST process (1 thread) per point, ``--workers`` at a time: how independent NEST runs are
    spread over cores. Each process imports NEST, builds the network, simulates, writes its spikes."""
    from concurrent.futures import ThreadPoolExecutor

    from bench_sweep import Phase

    out.mkdir(parents=True)

    def one(k: int) -> dict:
        return run_nest(args, 1, SWEEP_SEED + k, out / f"p{k}.npz", sigma=sigmas[k])

    with Phase() as ph, ThreadPoolExecutor(args.workers) as pool:
        runs = list(pool.map(one, range(len(sigmas))))
    return {"wall_s": ph.wall_s, "cpu_s": ph.cpu_s, "load": ph.load, "runs": runs}


def nest_sweep_serial(args: argparse.Namespace, sigmas: list[float], out: Path) -> dict:
    """One NEST process with ``--workers`` threads running the points one after another
    (``ResetKernel`` + build + simulate for each)."""
    from bench_sweep import Phase

    out.mkdir(parents=True)
    with Phase() as ph:
        res = subprocess.run(nest_cmd(args, args.workers, SWEEP_SEED, out, sigmas), capture_output=True, text=True,
                             env=ENV)
    check(res, "NEST serial sweep")
    runs = [read_nest(out / f"p{k}.npz", args) for k in range(len(sigmas))]
    return {"wall_s": ph.wall_s, "cpu_s": ph.cpu_s, "load": ph.load, "runs": runs}


def lamina_sweep(args: argparse.Namespace, spec: Path, batch: int, out: Path, cache: Path) -> dict:
    """``lamina sweep SPEC --workers W --batch B`` as a user types it, timed from launch to exit;
    then every run file's firing statistics, in the order of the sweep's points."""
    from bench_sweep import Phase

    from lamina.store.run import open_run
    from lamina.sweep import open_sweep

    cmd = [sys.executable, "-m", "lamina.cli", "sweep", str(spec), "--workers", str(args.workers), "--batch",
           str(batch), "-o", str(out), "--quiet"]
    with Phase() as ph:
        res = subprocess.run(cmd, capture_output=True, text=True, env={**ENV, "LAMINA_CACHE": str(cache)})
    check(res, f"lamina sweep --batch {batch}")
    df = open_sweep(out).to_dataframe(analysis=False).sort_values("point")
    if list(df["status"]) != ["ok"] * args.sweep:
        raise SystemExit(f"lamina sweep --batch {batch}: statuses {list(df['status'])}")
    runs = []
    for _, row in df.iterrows():
        run = open_run(out / row["file"])
        a = run.attrs
        spikes = {z: run.spikes[l["name"]] for z, l in enumerate(run.layers)}
        runs.append({"sigma_pA": float(row[SWEPT]), "seed": int(row["seed"]), "wall_s": float(row["wall_time_s"]),
                     "compiled": bool(a.get("compiled", False)), "loop_s": float(a.get("loop_time_s", "nan")),
                     "n_spikes": int(sum(len(s[0]) for s in spikes.values())), "stats": firing_stats(spikes, args)})
    return {"wall_s": ph.wall_s, "cpu_s": ph.cpu_s, "load": ph.load, "batch": batch,
            "cmd": "lamina " + " ".join(cmd[3:]), "compiled_any": any(r["compiled"] for r in runs), "runs": runs}


def sweep_mode(args: argparse.Namespace, tmp: Path) -> dict:
    sigmas = sweep_values(args)
    spec = lamina_spec(tmp, args, args.noise, sigmas)
    batches = [1] + ([args.batch] if args.batch > 1 else [])
    caches = {b: tmp / f"lamina-cache-b{b}" for b in batches}  # each empty: the first pass compiles
    ph: dict = {"sigmas_pA": sigmas, "spec": spec.read_text(), "batches": batches}
    for b in batches:
        log(f"lamina sweep, {args.sweep} points, --batch {b}, empty program cache ...")
        ph[f"lamina_cold_b{b}"] = lamina_sweep(args, spec, b, tmp / f"lam_cold_b{b}", caches[b])
    log(f"NEST, {args.sweep} points, {args.workers} processes × 1 thread ...")
    ph["nest_pool"] = nest_sweep_pool(args, sigmas, tmp / "nest_pool")
    if args.nest_serial:
        log(f"NEST, {args.sweep} points, 1 process × {args.workers} threads, one after another ...")
        ph["nest_serial"] = nest_sweep_serial(args, sigmas, tmp / "nest_serial")
    if args.warm:
        for b in batches:
            log(f"lamina sweep, {args.sweep} points, --batch {b}, program cached ...")
            ph[f"lamina_warm_b{b}"] = lamina_sweep(args, spec, b, tmp / f"lam_warm_b{b}", caches[b])
    return ph


def sweep_report(r: dict, args: argparse.Namespace) -> None:
    sw = r["sweep"]
    sigmas = sw["sigmas_pA"]
    last = args.layers - 1
    print(f"machine: {cpu_name()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}")
    print("versions: " + ", ".join(f"{k} {v}" for k, v in r["versions"].items()))
    print(f"network: {args.layers} × {args.size} LIF (lif.{VARIANT}), fixed in-degree {IN_DEGREE}, alpha PSCs, "
          f"noise background, {args.duration:g} ms, dt {DT_MS} ms; lamina method {args.method}, {args.noise} noise")
    print(f"sweep: {args.sweep} values of the background SD ({SWEPT} / the noise_generator's std), "
          f"{sigmas[0]:g}–{sigmas[-1]:g} pA (card {card_values()['sigma_noise']:g} pA); one seed per point, "
          f"{args.workers} cores' worth of workers on each side")
    print(f"load average before: {r['load_before']}, after: {r['load_after']}; benchmark took {r['took_s']:.0f} s\n")
    nest_rows = [("nest_pool", f"NEST: {args.sweep} processes × 1 thread, {args.workers} at a time")]
    if "nest_serial" in sw:
        nest_rows.append(("nest_serial", f"NEST: 1 process × {args.workers} threads, points one after another"))
    lam_rows = []
    for state, what in (("cold", "empty program cache (compiles)"), ("warm", "program cached")):
        for b in sw["batches"]:
            if f"lamina_{state}_b{b}" in sw:
                lam_rows.append((f"lamina_{state}_b{b}",
                                 f"`lamina sweep --workers {args.workers} --batch {b}`, {what}"))
    print("| | wall | CPU (all processes) | mean load |\n|---|---|---|---|")
    for key, label in nest_rows + lam_rows:
        x = sw[key]
        print(f"| {label} | {x['wall_s']:.1f} s | {x['cpu_s']:.0f} s | {x['load']:.1f} |")
    print()
    nb = [x["build_s"] for x in sw["nest_pool"]["runs"]]
    ns = [x["sim_s"] for x in sw["nest_pool"]["runs"]]
    print(f"(NEST per process: import {med([x['import_s'] for x in sw['nest_pool']['runs']]):.1f} s, "
          f"create + connect {med(nb):.1f} s, simulate {med(ns):.1f} s (medians); lamina's C++ loop per point: "
          + ", ".join(f"{key.split('_', 1)[1]} {med([x['loop_s'] for x in sw[key]['runs']]):.2f} s"
                      for key, _ in lam_rows) + ")\n")
    print("| ratio lamina / NEST (wall) | " + " | ".join(label.split(":")[1].strip() for _, label in nest_rows)
          + " |\n|---|" + "---|" * len(nest_rows))
    for key, label in lam_rows:
        print(f"| {label} | " + " | ".join(f"**{sw[key]['wall_s'] / sw[n]['wall_s']:.3f}**" for n, _ in nest_rows)
              + " |")
    cold, warm = [k for k, _ in lam_rows if "_cold_" in k], [k for k, _ in lam_rows if "_warm_" in k]
    print("\ncompiled in the cold passes: " + ", ".join(f"{k}: {sw[k]['compiled_any']}" for k in cold)
          + ("; in the warm passes: " + ", ".join(f"{k}: {sw[k]['compiled_any']}" for k in warm) if warm else ""))
    for k in warm:  # same spec, same seeds, same --batch: the same spikes
        c = sw[k.replace("_warm_", "_cold_")]
        same = [a["n_spikes"] == b["n_spikes"] for a, b in zip(c["runs"], sw[k]["runs"])]
        print(f"{k} vs its cold pass: spike counts equal at {sum(same)}/{len(same)} points")
    lam_keys = [k for k in cold]  # one realisation per batch size (the warm passes repeat them)
    print(f"\nPer point: mean rate (Hz, after {TRANSIENT_MS:g} ms) of layer 0 and layer {last} "
          f"(NEST = the {args.workers}-process runs)\n")
    head = ["NEST"] + [f"lamina b{sw[k]['batch']}" for k in lam_keys]
    print("| point | sigma (pA) | " + " | ".join(f"L0 {h}" for h in head) + " | "
          + " | ".join(f"L{last} {h}" for h in head) + " |\n|---|---|" + "---|" * (2 * len(head)))
    for p, sigma in enumerate(sigmas):
        cells = [sw["nest_pool"]["runs"][p]] + [sw[k]["runs"][p] for k in lam_keys]
        for c in cells[1:]:
            assert abs(c["sigma_pA"] - sigma) < 1e-6 * sigma, (c["sigma_pA"], sigma)
        print(f"| {p} | {sigma:g} | " + " | ".join(f"{c['stats'][0]['rate_hz']:.2f}" for c in cells) + " | "
              + " | ".join(f"{c['stats'][last]['rate_hz']:.2f}" for c in cells) + " |")
    print()
    for k in lam_keys:
        for z in (0, last):
            ratio = np.array([b["stats"][z]["rate_hz"] / a["stats"][z]["rate_hz"]
                              for a, b in zip(sw["nest_pool"]["runs"], sw[k]["runs"])])
            print(f"- lamina b{sw[k]['batch']} / NEST, layer {z}: rate ratio mean {ratio.mean():.3f}, "
                  f"range {ratio.min():.3f}–{ratio.max():.3f}")
    nl0 = [x["stats"][0]["rate_hz"] for x in sw["nest_pool"]["runs"]]
    print(f"- NEST layer 0 rate over the sweep: {nl0[0]:.2f} → {nl0[-1]:.2f} Hz (both sides follow the swept sigma)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--full", action="store_true", help="10 × 10 000 neurons, 1 s (the issue's size)")
    ap.add_argument("--layers", type=int, default=10)
    ap.add_argument("--size", type=int, default=10_000)
    ap.add_argument("--duration", type=float, default=500.0, help="ms (default 500)")
    ap.add_argument("--rounds", type=int, default=1, help="timed runs per configuration (default 1)")
    ap.add_argument("--method", default="heun", choices=["heun", "euler"], help="lamina's integration method")
    ap.add_argument("--no-counter", dest="counter", action="store_false",
                    help="skip lamina with simulation.noise = counter")
    ap.add_argument("--diagnose", action="store_true",
                    help="also time NEST (1 thread) without the noise generator: where NEST's time goes")
    ap.add_argument("--json", default=None, help="also write every number to this file")
    ap.add_argument("--backend", default="cpp", choices=["cpp", "cuda"], help="lamina's backend (default cpp)")
    ap.add_argument("--write-specs", default=None, metavar="DIR",
                    help="only write lamina's single-run spec and its --sweep N spec (--noise) to DIR, and exit")
    sw = ap.add_argument_group("sweep mode (--sweep N: instead of the single-run comparison)")
    sw.add_argument("--sweep", type=int, default=0, metavar="N",
                    help="time an N-point sweep of the background noise SD on both sides (default: off)")
    sw.add_argument("--sweep-range", default="0.9,1.1", metavar="LO,HI",
                    help="swept sigma_noise from LO to HI times the card's value, N evenly spaced (default 0.9,1.1)")
    sw.add_argument("--workers", type=int, default=2,
                    help="NEST processes at a time / lamina sweep --workers / NEST threads of the serial run (default 2)")
    sw.add_argument("--batch", type=int, default=None,
                    help="lamina sweep --batch of the batched passes (default N / workers; --batch 1 is always run)")
    sw.add_argument("--noise", default="counter", choices=["counter", "brian2"],
                    help="lamina's simulation.noise in the sweep (default counter, lamina's default)")
    sw.add_argument("--no-warm", dest="warm", action="store_false",
                    help="skip the second lamina passes with the program cache built")
    sw.add_argument("--nest-serial", action="store_true",
                    help="also NEST in 1 process × WORKERS threads running the N points one after another "
                         "(about N × a 2-thread run: long at full size)")
    # internal: one NEST run in this process
    ap.add_argument("--nest-worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    ap.add_argument("--seed", type=int, default=1, help=argparse.SUPPRESS)
    ap.add_argument("--out", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--quiet-network", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--sigma", default=None, help=argparse.SUPPRESS)  # comma-separated noise SDs (pA)
    args = ap.parse_args()
    if args.nest_worker:
        nest_worker(args)
        return
    if args.full:
        args.layers, args.size, args.duration = 10, 10_000, 1000.0
    if args.write_specs:  # the lamina side alone, e.g. for the GPU machine (benchmarks/gpu_session.sh peers)
        d = Path(args.write_specs)
        d.mkdir(parents=True, exist_ok=True)
        print(lamina_spec(d, args, args.noise), lamina_spec(d, args, args.noise, sweep_values(args)))
        return
    tmp = Path(tempfile.mkdtemp(prefix="lamina-peer-nest-"))
    r: dict = {"versions": versions(), "load_before": _load()}
    t0 = time.perf_counter()
    if args.sweep:
        if args.sweep < 2 or args.workers < 1:
            raise SystemExit("--sweep needs N ≥ 2 points and --workers ≥ 1")
        args.batch = args.batch or max(1, args.sweep // args.workers)
        r["sweep"] = sweep_mode(args, tmp)
        _finish(r, args, tmp, t0, sweep_report)
        return
    cache = tmp / "lamina-cache"  # empty: the first lamina run compiles
    noises = ["brian2"] + (["counter"] if args.counter else [])
    specs = {n: lamina_spec(tmp, args, n) for n in noises}
    runs = r["runs"] = {}
    for n in noises:
        log(f"lamina, {n} noise, first run (compiles) ...")
        runs[f"lamina_cold_{n}"] = run_lamina(args, specs[n], 100, tmp / f"lam_{n}", cache)
    for k in range(args.rounds):  # interleaved: machine load hits every configuration alike
        for threads in (1, 2):
            log(f"round {k + 1}/{args.rounds}: NEST, {threads} thread(s) ...")
            runs.setdefault(f"nest{threads}", []).append(run_nest(args, threads, 1 + k, tmp / f"nest{threads}_{k}.npz"))
        for n in noises:
            log(f"round {k + 1}/{args.rounds}: lamina, {n} noise, cached ...")
            runs.setdefault(f"lamina_{n}", []).append(run_lamina(args, specs[n], 1 + k, tmp / f"lam_{n}", cache))
    if args.diagnose:
        log("NEST, 1 thread, without the noise generator ...")
        runs["nest1_quiet"] = [run_nest(args, 1, 1, tmp / "nest1_quiet.npz", quiet=True)]
    _finish(r, args, tmp, t0, report)


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _finish(r: dict, args, tmp: Path, t0: float, print_report) -> None:
    """Wall time and load after, the printed report, the JSON file, the temporary directory gone."""
    r["took_s"] = time.perf_counter() - t0
    r["load_after"] = _load()
    print_report(r, args)
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), **r}, indent=1, default=str))
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
