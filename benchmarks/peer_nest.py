"""lamina versus NEST on one LIF feedforward network (issue 15, part 2).

    .venv/bin/python benchmarks/peer_nest.py [--full] [--layers 10] [--size 10000] [--duration 500]
                                             [--rounds 1] [--no-counter] [--json PATH]

Needs the optional ``peers`` extra (``pip install -e '.[peers]'``: nest-simulator from PyPI).

The network, written once for each simulator: ``--layers`` layers of ``--size`` leaky
integrate-and-fire neurons with alpha-shaped current synapses (lamina's card models/lif.toml,
variant ``synfire``: C_m 100 pF, tau_m 10 ms, E_L = V_reset = -70 mV, V_th -55 mV, t_ref 1 ms,
PSC peak J = 28 pA, tau_syn 0.33 ms, I_bias 130 pA); each neuron of layer z+1 gets exactly 100
distinct inputs from layer z (fixed in-degree); every neuron gets its own Gaussian noise current.
Layer 0 has only the background. dt 0.1 ms in both.

* NEST 3 (``iaf_psc_alpha``, exact integration of the subthreshold dynamics): weight = PSC peak
  in pA, the card's values; background = one ``noise_generator`` (independent noise for each
  target) with std 250 pA changing every 0.1 ms; delay 0.1 ms (NEST's minimum: a spike acts in the
  next step, as lamina's delay 0 does).
* lamina (cpp backend, one thread; numerical integration, Brian2's ``heun`` by default): the same
  card; its background is an Ornstein–Uhlenbeck current (tau 0.1 ms, sigma 250 pA). At
  dt = tau_noise the discretised OU current has the low-frequency power sigma² · dt of NEST's
  piecewise-constant noise of SD sigma (the membrane, tau_m = 100 dt, sees only that), so both
  have the same membrane noise (checked: rates per layer below).

Timed in one script, interleaved: NEST with 1 thread, NEST with 2 threads, lamina cached (after
one first run that compiles), each in its own process; firing statistics per layer (mean rate
after a 50 ms transient, mean CV of the inter-spike intervals over neurons with ≥ 3 spikes) are
compared. ``--full``: the issue's size, 10 × 10 000 neurons, 1 s. Default 10 × 10 000, 0.5 s
(about 6 minutes on 2 cores).
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
    """Build and simulate the network in NEST; write the spikes and the timings to ``args.out``."""
    t0 = time.perf_counter()
    import warnings

    import nest

    t_import = time.perf_counter()
    warnings.simplefilter("ignore")  # set_verbosity's deprecation notice
    nest.set_verbosity("M_ERROR")
    nest.ResetKernel()
    nest.SetKernelStatus({"resolution": DT_MS, "local_num_threads": args.threads, "rng_seed": args.seed,
                          "print_time": False})
    c = card_values()
    layers = [nest.Create("iaf_psc_alpha", args.size, params=nest_params(c)) for _ in range(args.layers)]
    noise = nest.Create("noise_generator", params={"mean": 0.0, "std": c["sigma_noise"], "dt": DT_MS})
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
    timings = {"import_s": t_import - t0, "build_s": t_built - t_import, "sim_s": t_sim - t_built,
               "threads": args.threads, "nest": nest.__version__}
    np.savez(args.out, timings=json.dumps(timings), **out)


# ---------------------------------------------------------------------------------------------
# The driver


def run_nest(args: argparse.Namespace, threads: int, seed: int, out: Path, quiet: bool = False) -> dict:
    cmd = [sys.executable, __file__, "--nest-worker", "--threads", str(threads), "--seed", str(seed),
           "--layers", str(args.layers), "--size", str(args.size), "--duration", str(args.duration), "--out", str(out)]
    cmd += ["--quiet-network"] if quiet else []
    t0 = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True, env=ENV)
    wall = time.perf_counter() - t0
    if res.returncode != 0:
        raise SystemExit(f"NEST run failed ({res.returncode}):\n{res.stderr[-3000:]}")
    d = np.load(out)
    info = json.loads(str(d["timings"]))
    spikes = {z: (d[f"t{z}"], d[f"i{z}"]) for z in range(args.layers)}
    return {"wall_s": wall, **info, "stats": firing_stats(spikes, args)}


def lamina_spec(tmp: Path, args: argparse.Namespace, noise: str) -> Path:
    import tomli_w

    spec = {"name": f"peer_nest_{noise}",
            "simulation": {"duration": f"{args.duration:g} ms", "dt": f"{DT_MS:g} ms", "method": args.method,
                           "backend": "cpp", "seed": 1},
            "network": {"layers": [f"lif.{VARIANT}"] * args.layers, "size": args.size,
                        "connection": {"rule": "feedforward", "in_degree": IN_DEGREE}},
            "input": {"kind": "none"}, "record": {"spikes": "all"}}
    spec["simulation"]["noise"] = noise  # named either way: the default changed in lamina 0.3
    path = tmp / f"peer_nest_{noise}.toml"
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
    # internal: one NEST run in this process
    ap.add_argument("--nest-worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    ap.add_argument("--seed", type=int, default=1, help=argparse.SUPPRESS)
    ap.add_argument("--out", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--quiet-network", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.nest_worker:
        nest_worker(args)
        return
    if args.full:
        args.layers, args.size, args.duration = 10, 10_000, 1000.0
    tmp = Path(tempfile.mkdtemp(prefix="lamina-peer-nest-"))
    cache = tmp / "lamina-cache"  # empty: the first lamina run compiles
    noises = ["brian2"] + (["counter"] if args.counter else [])
    specs = {n: lamina_spec(tmp, args, n) for n in noises}
    r: dict = {"versions": versions(), "load_before": " ".join(f"{x:.2f}" for x in os.getloadavg()), "runs": {}}
    runs = r["runs"]
    t0 = time.perf_counter()
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
    r["took_s"] = time.perf_counter() - t0
    r["load_after"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    report(r, args)
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), **r}, indent=1, default=str))
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
