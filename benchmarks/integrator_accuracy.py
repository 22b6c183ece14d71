"""Integrator accuracy for the Prescott cell: Euler vs Heun at dt = 0.01 ms against dt = 0.001 ms.

Single Prescott neurons (the Int and the Diff card, lamina/data/models/prescott.toml; no
synapses), driven by a constant bias current and the card's OU noise current. The noise is
``lamina_randn`` (lamina/rng.py), so every dt integrates the *same* Brownian path: a step of the
coarse grid (dt_c = R·dt_f) uses the sum of the R fine-grid Gaussians it spans divided by sqrt(R),
i.e. exactly the Wiener increment the fine grid accumulates over that interval.

Schemes (all with the same noise increment in every stage):

* ``euler`` — Brian2's ``euler`` (Euler–Maruyama);
* ``heun-brian2`` — Brian2's ``heun``: ``x + dt·f + dW·(g + g̃)/2`` — Euler in the drift; with
  additive noise it is the same scheme as ``euler`` (checked here: identical trajectories);
* ``heun`` — the explicit trapezoid (a true Heun, two evaluations of the right-hand side) as an
  ``ExplicitStateUpdater``;
* ``rk2`` — Brian2's midpoint method (two evaluations).

The reference is ``heun`` at dt_f = 0.001 ms (``euler`` at dt_f is run too: its distance to the
reference bounds the reference's own error). Compared with the reference: spike times (threshold
crossings interpolated linearly inside the step, matched to the nearest reference spike within
1 ms), missed / extra spikes, and the membrane potential on the coarse grid (RMS over the whole
run, and the time until the first deviation larger than 1 mV).

Usage::

    .venv/bin/python benchmarks/integrator_accuracy.py                # 2 cards × 4 biases × 8 noise paths, 500 ms
    .venv/bin/python benchmarks/integrator_accuracy.py --duration 200 --paths 4 --json out.json

One cpp_standalone program holds every group (one clock per dt), so one compile.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

#: bias currents (uA/cm²) per card: noise-driven (Int at 0) to regular firing; the Diff card is
#: silent below ~55 uA/cm² with its weak noise (measured: no spikes at 0, 20, 40)
BIASES = {"int": [0.0, 15.0, 30.0, 40.0], "diff": [50.0, 55.0, 60.0, 70.0]}
SCHEMES_COARSE = ["euler", "heun-brian2", "heun", "rk2"]
SCHEMES_FINE = ["heun", "euler"]


def _noise_term(ratio: int) -> str:
    """Brian2's ``xi`` for a grid whose step spans ``ratio`` fine steps (same Wiener path)."""
    if ratio == 1:
        return "(lamina_randn(noise_seed, 0, i, t_in_timesteps)/sqrt(dt))"
    terms = " + ".join(f"lamina_randn(noise_seed, 0, i, {ratio}*t_in_timesteps + {k})" for k in range(ratio))
    return f"(({terms})/sqrt({ratio})/sqrt(dt))"


def simulate(duration_ms: float, paths: int, dt_fine_ms: float, ratio: int, directory: Path) -> dict:
    """Build and run the one program; return per group spikes and coarse-grid voltage traces."""
    import re

    import brian2 as b2
    from brian2 import ExplicitStateUpdater

    from bench_cpu_step import _constants, _unit, card
    from lamina.rng import lamina_randn

    b2.set_device("cpp_standalone", build_on_run=False)
    b2.prefs.devices.cpp_standalone.openmp_threads = 0
    b2.prefs.devices.cpp_standalone.extra_make_args_unix = ["-j2"]
    true_heun = ExplicitStateUpdater("""
    k = dt*f(x,t)
    x_new = x + 0.5*k + 0.5*dt*f(x + k, t + dt)
    """)
    c = card()
    consts = _constants()
    ns_base = {k: v * _unit(k) for k, v in consts.items() if k not in ("I_bias",)}
    ns_base["lamina_randn"] = lamina_randn
    rows = [(name, bias, p) for name in ("int", "diff") for bias in BIASES[name] for p in range(paths)]
    n = len(rows)
    beta = np.array([{"int": 5e-3, "diff": -19e-3}[r[0]] for r in rows])
    sigma = np.array([{"int": 0.455, "diff": 0.15}[r[0]] for r in rows])  # 45.5 (Int: mid of 38–53) / 15 uA/cm²
    bias = np.array([r[1] for r in rows]) * 1e-2  # uA/cm² → A/m²
    dt_f = dt_fine_ms * b2.ms
    dt_c = ratio * dt_f
    objs, groups, mons = [], {}, {}
    for grid, schemes, dt, r in (("fine", SCHEMES_FINE, dt_f, 1), ("coarse", SCHEMES_COARSE, dt_c, ratio)):
        clock = b2.Clock(dt, name=f"clock_{grid}")
        for scheme in schemes:
            eqs = re.sub(r"\bxi\b", _noise_term(r), c["equations"].strip()) + """
I_syn = 0*amp/meter**2 : amp/meter**2
I_ext = I_bias : amp/meter**2
beta_w : volt (constant)
sigma_noise : amp/meter**2 (constant)
I_bias : amp/meter**2 (constant)
v_prev : volt
noise_seed : integer (constant, shared)
"""
            method = {"euler": "euler", "heun-brian2": "heun", "heun": true_heun, "rk2": "rk2"}[scheme]
            name = f"{grid}_{scheme.replace('-', '_')}"
            g = b2.NeuronGroup(n, eqs, threshold=c["threshold"], refractory=c["refractory"], method=method,
                               namespace=dict(ns_base), clock=clock, name=name)
            g.v = -70 * b2.mV
            g.beta_w = beta * b2.volt
            g.sigma_noise = sigma * b2.amp / b2.meter**2
            g.I_bias = bias * b2.amp / b2.meter**2
            g.noise_seed = 2020
            # v before this step's update: a spike's crossing is interpolated between v_prev and v
            keep = g.run_regularly("v_prev = v", when="before_groups", name=f"{name}_prev")
            sm = b2.SpikeMonitor(g, variables=["v", "v_prev"], name=f"{name}_spikes")
            # v at the grid times of the coarse clock, before the update (the same instants for both dts)
            st = b2.StateMonitor(g, "v", record=True, dt=dt_c, when="start", name=f"{name}_v")
            objs += [g, keep, sm, st]
            groups[(grid, scheme)] = g
            mons[(grid, scheme)] = (sm, st)
    net = b2.Network(*objs)
    net.run(duration_ms * b2.ms, namespace={})
    t0 = time.perf_counter()
    b2.device.build(directory=str(directory), run=True)
    run_s = time.perf_counter() - t0
    out = {"rows": rows, "build_and_run_s": run_s, "groups": {}}
    for key, (sm, st) in mons.items():
        dt_s = float(groups[key].clock.dt)
        t = np.asarray(sm.t_[:])
        vv, vp = np.asarray(sm.v_[:]), np.asarray(sm.v_prev_[:])
        frac = np.clip((consts["v_th"] - vp) / np.where(vv != vp, vv - vp, 1.0), 0.0, 1.0)
        out["groups"][key] = {"i": np.asarray(sm.i[:]), "t": t + frac * dt_s, "t_grid": t,
                              "v": np.asarray(st.v_[:])}
    return out


def _match(ref: np.ndarray, test: np.ndarray, window: float = 1e-3) -> tuple[np.ndarray, int, int]:
    """|Δt| of reference spikes matched one-to-one (greedy, nearest first) to test spikes within
    ``window`` seconds; (errors, missed reference spikes, extra test spikes)."""
    pairs = sorted((abs(a - b), k, m) for k, a in enumerate(ref) for m, b in enumerate(test) if abs(a - b) < window)
    used_r, used_t, err = set(), set(), []
    for d, k, m in pairs:
        if k not in used_r and m not in used_t:
            used_r.add(k)
            used_t.add(m)
            err.append(d)
    return np.array(err), len(ref) - len(used_r), len(test) - len(used_t)


def compare(res: dict, duration_ms: float) -> list[dict]:
    """Error of every scheme (and of the fine Euler) against the fine-grid reference, per card."""
    rows = res["rows"]
    ref = res["groups"][("fine", "heun")]
    out = []
    for key in [("coarse", s) for s in SCHEMES_COARSE] + [("fine", "euler")]:
        g = res["groups"][key]
        for card_name in ("int", "diff"):
            idx = [k for k, r in enumerate(rows) if r[0] == card_name]
            errs, missed, extra, n_ref = [], 0, 0, 0
            rms, diverge = [], []
            for k in idx:
                a, b = ref["t"][ref["i"] == k], g["t"][g["i"] == k]
                e, mi, ex = _match(np.sort(a), np.sort(b))
                errs.append(e)
                missed, extra, n_ref = missed + mi, extra + ex, n_ref + len(a)
                dv = g["v"][k] - ref["v"][k]
                rms.append(np.sqrt(np.mean(dv**2)))
                big = np.flatnonzero(np.abs(dv) > 1e-3)
                diverge.append((big[0] if big.size else len(dv)) * duration_ms / len(dv))
            e = np.concatenate(errs) * 1e3 if errs else np.array([])
            out.append({"grid": key[0], "scheme": key[1], "card": card_name, "ref_spikes": n_ref,
                        "rate_hz": n_ref / (len(idx) * duration_ms * 1e-3),
                        "matched": int(e.size), "missed": missed, "extra": extra,
                        "dt_mean_ms": float(e.mean()) if e.size else float("nan"),
                        "dt_p95_ms": float(np.quantile(e, 0.95)) if e.size else float("nan"),
                        "dt_max_ms": float(e.max()) if e.size else float("nan"),
                        "v_rms_mv": float(np.median(rms) * 1e3), "first_1mv_ms": float(np.median(diverge))})
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=float, default=500.0, help="ms")
    ap.add_argument("--paths", type=int, default=8, help="noise realisations per card and bias")
    ap.add_argument("--dt-fine", type=float, default=0.001, help="ms (the reference)")
    ap.add_argument("--ratio", type=int, default=10, help="coarse dt = ratio × fine dt")
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--json", type=Path, default=None)
    a = ap.parse_args(argv)
    work = a.workdir or Path(tempfile.mkdtemp(prefix="integrator_accuracy_"))
    res = simulate(a.duration, a.paths, a.dt_fine, a.ratio, work / "proj")
    table = compare(res, a.duration)
    same = {c: bool(np.array_equal(res["groups"][("coarse", "euler")]["v"], res["groups"][("coarse", "heun-brian2")]["v"]))
            for c in ("all",)}
    print(f"# {len(res['rows'])} neurons per scheme, {a.duration:g} ms, dt {a.dt_fine * a.ratio:g} ms vs reference "
          f"heun at {a.dt_fine:g} ms; build + run {res['build_and_run_s']:.0f} s; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"# Brian2 'heun' and 'euler' coarse traces identical: {same['all']}")
    print("\n| grid | scheme | card | ref spikes (rate) | matched / missed / extra | mean abs dt_spike (ms) | p95 | max | "
          "v RMS (mV, median) | first abs dv > 1 mV (ms, median) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in table:
        print(f"| {r['grid']} | {r['scheme']} | {r['card']} | {r['ref_spikes']} ({r['rate_hz']:.1f} Hz) | "
              f"{r['matched']} / {r['missed']} / {r['extra']} | {r['dt_mean_ms']:.4f} | {r['dt_p95_ms']:.4f} | "
              f"{r['dt_max_ms']:.3f} | {r['v_rms_mv']:.3f} | {r['first_1mv_ms']:.1f} |")
    per_bias = {}
    ref = res["groups"][("fine", "heun")]
    for k, (cn, b, p) in enumerate(res["rows"]):
        per_bias.setdefault((cn, b), []).append(int(np.sum(ref["i"] == k)))
    print("\n# reference spikes per neuron by (card, bias uA/cm²): " +
          "; ".join(f"{cn} {b:g}: {np.mean(v):.1f}" for (cn, b), v in per_bias.items()))
    if a.json:
        a.json.write_text(json.dumps({"table": table, "identical_brian2_heun_euler": same["all"]}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
