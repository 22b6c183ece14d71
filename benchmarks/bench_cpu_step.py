"""CPU state update, side by side: neuron-steps/s of Brian2 variants and of a hand-written C loop.

The fig3 Het network's neurons (7 × 1000 Prescott neurons, dt 0.01 ms, 180 ms) as ONE NeuronGroup
stand-in: the card's equations (lamina/data/models/prescott.toml) plus lamina's synaptic gating
variables and I_syn, per-neuron beta_w / sigma_noise / g_syn by layer (Input, Int, Diff, …; Int's
sigma drawn per neuron), every other parameter a constant, a SpikeMonitor, no Synapses (the state
update is what is measured; the fig3 synapses cost little at ~9 synapses per neuron and low rates).

Variants (each a cpp_standalone project compiled in its own process, then all programs run
interleaved, pinned to one core with ``taskset``, ``--reps`` rounds; the median is reported):

=========  =====================================================================================
plain      Brian2 defaults: ``xi``, ``heun``, double, Brian2's flags (``-O3 -ffast-math
           -fno-finite-math-only -march=native``) — a plain one-group Brian2 script
rng        the same with ``lamina_randn`` (lamina/rng.py) in place of ``xi``
euler      ``plain`` with ``method='euler'``
rng-euler  ``rng`` with ``method='euler'``
single     ``plain`` in single precision
plain-vec  ``plain`` with ``-fno-finite-math-only`` dropped (glibc declares libmvec's vector
           exp/log/cos only under ``__FAST_MATH__``, which that flag undefines)
rng-vec    ``rng`` with the same flags
rng-vec-1  ``rng-vec`` in single precision
rng-vec-1c ``rng-vec-1`` with ``-fsingle-precision-constant``: Brian2 writes literals as double
           (``2.0*v``), which promotes single-precision expressions (and their exp) to double
hand       hand-written C: Gaussians (lamina_randn, the same Philox code) drawn in a separate
           vectorisable pass, then the state update, then the threshold; ``-O3 -ffast-math
           -march=native``; the drift step is Euler, as in Brian2's ``heun`` for additive noise
hand-heun  ``hand`` with a true Heun drift (two right-hand-side evaluations)
hand-1     ``hand`` in single precision
hand-fixed-z  ``hand`` with the Gaussian pass done once before the loop (the generator's share)
lamina     lamina itself: ``lamina.simulate`` of sims/fig3.toml's base point (the whole Het
           network: 7 × ``--n-layer`` neurons *with* its synapses and the pulse packet), defaults
           (counter noise, compiled constants), double; the program's own loop time
lamina-1   ``lamina`` with ``simulation.precision = "single"``
lamina-b2  ``lamina`` with ``simulation.noise = "brian2"`` (Brian2's ``xi``, the default before 0.3)
=========  =====================================================================================

For every Brian2 variant the state updater's object file is disassembled: ymm instructions and
calls to libmvec (``_ZGVdN4v_exp`` …) or scalar ``exp`` say whether the loop was vectorised; the
gcc report (``-fopt-info-vec``) of the neuron loop is printed too.

Usage::

    .venv/bin/python benchmarks/bench_cpu_step.py                 # all variants, 3 rounds, core 1
    .venv/bin/python benchmarks/bench_cpu_step.py --reps 5 --core 3 --variants plain rng rng-vec hand
    .venv/bin/python benchmarks/bench_cpu_step.py --duration 20   # quick look

Numbers on a shared 2-core machine are noisy (other processes compete for the core and the
caches); ratios of interleaved runs are more stable than absolute rates.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

BRIAN_FLAGS = ["-w", "-O3", "-ffast-math", "-fno-finite-math-only", "-march=native", "-std=c++11"]
#: Brian2's flags plus the two changes that let gcc vectorise the neuron loop (measured, see
#: docs/benchmarks-cpu.md): ``__FAST_MATH__`` makes glibc declare libmvec's vector exp/log/cos
#: (``-fno-finite-math-only`` undefines it; defining it by hand keeps that flag's NaN semantics),
#: and the loop touches > 10 arrays, whose run-time alias checks exceed gcc's default limit
#: (gcc ignores ``__restrict`` on the generated code's local pointer copies).
VEC_FLAGS = BRIAN_FLAGS + ["-D__FAST_MATH__=1", "--param=vect-max-version-for-alias-checks=200"]
#: name -> (noise, method, precision, flags)
BRIAN_VARIANTS = {
    "plain": ("xi", "heun", "double", "brian"),
    "rng": ("rng", "heun", "double", "brian"),
    "euler": ("xi", "euler", "double", "brian"),
    "rng-euler": ("rng", "euler", "double", "brian"),
    "single": ("xi", "heun", "single", "brian"),
    "plain-vec": ("xi", "heun", "double", "vec"),
    "rng-vec": ("rng", "heun", "double", "vec"),
    "rng-vec-1": ("rng", "heun", "single", "vec"),
    "rng-vec-1c": ("rng", "heun", "single", "vec1c"),
}
HAND_VARIANTS = {"hand": ("euler", "double", True), "hand-heun": ("heun", "double", True),
                 "hand-1": ("euler", "single", True), "hand-fixed-z": ("euler", "double", False)}
LAYERS = ["input", "int", "diff", "int", "diff", "int", "diff"]
#: name -> spec overrides of lamina's own fig3 run (on top of size and duration)
LAMINA_VARIANTS = {"lamina": {}, "lamina-1": {"simulation.precision": "single"},
                   "lamina-b2": {"simulation.noise": "brian2"}}


def card() -> dict:
    """The Prescott card (equations and parameters) from the package data."""
    with open(ROOT / "lamina" / "data" / "models" / "prescott.toml", "rb") as f:
        return tomllib.load(f)


def per_neuron(n_layer: int, seed: int = 1) -> dict[str, "np.ndarray"]:
    """beta_w, sigma_noise, g_syn per neuron, layer by layer as in fig3's Het network (SI units)."""
    import numpy as np

    c = card()
    rng = np.random.default_rng(seed)
    beta, sigma, gsyn = [], [], []
    for name in LAYERS:
        v = c["variants"][name]
        beta.append(np.full(n_layer, _si(v["beta_w"])))
        s = v["sigma_noise"]
        sigma.append(rng.uniform(_si(s["uniform"][0]), _si(s["uniform"][1]), n_layer) if isinstance(s, dict)
                     else np.full(n_layer, _si(s)))
        gsyn.append(np.full(n_layer, _si(v.get("g_syn", c["parameters"]["g_syn"]))))
    return {"beta_w": np.concatenate(beta), "sigma_noise": np.concatenate(sigma), "g_syn": np.concatenate(gsyn)}


def _si(text: str) -> float:
    import numpy as np

    from lamina.quantities import parse_quantity

    if isinstance(text, (int, float)):
        return float(text)
    return float(np.asarray(parse_quantity(text, "card")))  # "2 uF/cm**2" -> SI number


def _constants() -> dict[str, float]:
    """Every card parameter not varied per neuron, in SI units."""
    p = card()["parameters"]
    return {k: _si(v) for k, v in p.items() if k not in ("beta_w", "sigma_noise", "g_syn")}


# ---- Brian2 variants ------------------------------------------------------------------------
def build_brian(name: str, directory: Path, n_layer: int, duration_ms: float) -> None:
    """Generate and compile one Brian2 variant (run in a fresh process: one device per process)."""
    import brian2 as b2
    import numpy as np

    from lamina.rng import lamina_randn, replace_xi

    noise, method, precision, flags = BRIAN_VARIANTS[name]
    b2.set_device("cpp_standalone", build_on_run=False)
    b2.prefs.devices.cpp_standalone.openmp_threads = 0
    b2.prefs.devices.cpp_standalone.extra_make_args_unix = ["-j2"]
    b2.prefs.core.default_float_dtype = np.float32 if precision == "single" else np.float64
    b2.prefs.codegen.cpp.extra_compile_args_gcc = list({"brian": BRIAN_FLAGS, "vec": VEC_FLAGS,
                                                         "vec1c": VEC_FLAGS + ["-fsingle-precision-constant"]}[flags])
    b2.defaultclock.dt = 0.01 * b2.ms
    c = card()
    eqs = c["equations"].strip() + """
dx_e/dt = -x_e/tau_rise : 1
dy_e/dt = -y_e/tau_decay + x_e/tau_rise : 1
y_i = 0 : 1
I_syn = g_syn*y_e*(E_exc - v) + g_inh*y_i*(E_inh - v) : amp/meter**2
I_ext = I_bias : amp/meter**2
beta_w : volt (constant)
sigma_noise : amp/meter**2 (constant)
g_syn : siemens/meter**2 (constant)
"""
    namespace = {k: v * _unit(k) for k, v in _constants().items()}
    if noise == "rng":
        eqs = replace_xi(eqs, seed="noise_seed") + "\nnoise_seed : integer (constant, shared)\n"
        namespace["lamina_randn"] = lamina_randn
    g = b2.NeuronGroup(len(LAYERS) * n_layer, eqs, threshold=c["threshold"], refractory=c["refractory"],
                       method=method, namespace=namespace, name="cells")
    g.v = -70 * b2.mV
    vals = per_neuron(n_layer)
    g.beta_w = vals["beta_w"] * b2.volt
    g.sigma_noise = vals["sigma_noise"] * b2.amp / b2.meter**2
    g.g_syn = vals["g_syn"] * b2.siemens / b2.meter**2
    if noise == "rng":
        g.noise_seed = 12345
    mon = b2.SpikeMonitor(g, name="spikes")
    net = b2.Network(g, mon)
    net.run(duration_ms * b2.ms, namespace={})
    b2.device.build(directory=str(directory), run=False, compile=True)


def _unit(name: str):
    import brian2 as b2

    u = {"C": b2.farad / b2.meter**2, "gNa": b2.siemens / b2.meter**2, "gK": b2.siemens / b2.meter**2,
         "gL": b2.siemens / b2.meter**2, "g_inh": b2.siemens / b2.meter**2, "I_bias": b2.amp / b2.meter**2,
         "tau_w0": b2.second, "tau_noise": b2.second, "tau_rise": b2.second, "tau_decay": b2.second,
         "t_ref": b2.second, "phi": 1}
    return u.get(name, b2.volt)


def vectorisation(directory: Path) -> dict[str, object]:
    """What the compiler made of the state updater: gcc's vectorisation report of the neuron loop
    and the disassembly's ymm instructions / vector-math calls / scalar-math calls."""
    src = next((directory / "code_objects").glob("*stateupdater*.cpp"))
    obj = src.with_suffix(".o")
    text = subprocess.run(["objdump", "-dr", "--no-show-raw-insn", str(obj)], capture_output=True, text=True).stdout
    # calls to other objects appear as relocations in an object file
    calls = [c for c in re.findall(r"R_X86_64_PLT32\s+([^\s+-]+)", text)
             if not c.startswith(("_ZNSt8ios_base", "__cxa_"))]
    ymm = len(re.findall(r"%ymm", text))
    # rebuild the one file with the makefile's flags plus the vectoriser's report
    mk = (directory / "makefile").read_text()
    opt = re.search(r"^OPTIMISATIONS = (.*)$", mk, re.M).group(1)
    cmd = f"g++ -c -Wno-write-strings {opt} -I. -fopt-info-vec-optimized -fopt-info-vec-missed {src.relative_to(directory)} -o /dev/null"
    rep = subprocess.run(cmd, shell=True, cwd=directory, capture_output=True, text=True).stderr
    loop_line = _neuron_loop_line(src)
    lines = [l for l in rep.splitlines() if f":{loop_line}:" in l and ("optimized" in l or "not vectorized" in l)]
    return {"ymm_instructions": ymm, "vector_math_calls": sorted({c for c in calls if c.startswith("_ZGV")}),
            "scalar_calls": sorted({c for c in calls if not c.startswith("_ZGV")}),
            "loop_report": lines[:3], "vectorised": any("loop vectorized" in l for l in lines)}


def _neuron_loop_line(src: Path) -> int:
    for k, line in enumerate(src.read_text().splitlines(), 1):
        if re.match(r"\s*for\s*\(\s*int\s+_idx\s*=\s*0\s*;", line):
            return k
    return -1


# ---- the hand-written loop --------------------------------------------------------------------
HAND_C = r"""
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
%(RNG)s
typedef %(REAL)s real;
#define EXP %(EXP)s
int main(int argc, char** argv) {
    const int n = %(N)d, n_steps = %(STEPS)d;
    const real dt = %(DT)r;
    real *v = (real*)aligned_alloc(64, n * sizeof(real) + 64), *w = (real*)aligned_alloc(64, n * sizeof(real) + 64);
    real *I = (real*)aligned_alloc(64, n * sizeof(real) + 64), *xe = (real*)aligned_alloc(64, n * sizeof(real) + 64);
    real *ye = (real*)aligned_alloc(64, n * sizeof(real) + 64), *z = (real*)aligned_alloc(64, n * sizeof(real) + 64);
    real *bw = (real*)malloc(n * sizeof(real)), *sg = (real*)malloc(n * sizeof(real)), *gs = (real*)malloc(n * sizeof(real));
    double *last = (double*)malloc(n * sizeof(double));
    char *nr = (char*)malloc(n);
    FILE* f = fopen(argv[1], "rb");
    double tmp;
    for (int i = 0; i < n; i++) { if (fread(&tmp, 8, 1, f) != 1) return 2; bw[i] = tmp; }
    for (int i = 0; i < n; i++) { if (fread(&tmp, 8, 1, f) != 1) return 2; sg[i] = tmp; }
    for (int i = 0; i < n; i++) { if (fread(&tmp, 8, 1, f) != 1) return 2; gs[i] = tmp; }
    fclose(f);
    for (int i = 0; i < n; i++) { v[i] = -0.07; w[i] = 0; I[i] = 0; xe[i] = 0; ye[i] = 0; last[i] = -1e9; }
    const real C = %(C)r, gNa = %(gNa)r, gK = %(gK)r, gL = %(gL)r, ENa = %(ENa)r, EK = %(EK)r, EL = %(EL)r;
    const real phi = %(phi)r, beta_m = %(beta_m)r, gamma_m = %(gamma_m)r, gamma_w = %(gamma_w)r;
    const real tau_w0 = %(tau_w0)r, tau_noise = %(tau_noise)r, v_th = %(v_th)r, E_exc = %(E_exc)r;
    const real tau_rise = %(tau_rise)r, tau_decay = %(tau_decay)r, I_bias = %(I_bias)r;
    const double t_ref = %(t_ref)r;
    const real noise_scale = (real)(1.0 / sqrt((double)tau_noise * (double)dt));  // xi -> z/sqrt(dt)
    long spikes = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int s = 0; s < n_steps; s++) {
        const double t = s * (double)dt;
        // pass 1: the Gaussian numbers, a loop of its own (vectorises: lamina_randn is pure)
        if (%(RNG_EVERY_STEP)d || s == 0)
            for (int i = 0; i < n; i++) z[i] = lamina_randn(12345, 0, i, s);
        // pass 2: the state update, the card's expressions as Brian2 generates them
        for (int i = 0; i < n; i++) {
            const real vv = v[i], ww = w[i], II = I[i], x = xe[i], y = ye[i], b = bw[i];
            nr[i] = !(vv > v_th || (t - last[i]) < t_ref);
#define RHS(VV, WW, II_, X, Y, DV, DW, DI, DX, DY) { \
            const real m_inf = 1 / (1 + EXP(-2 * (VV - beta_m) / gamma_m)); \
            const real w_inf = 1 / (1 + EXP(-2 * (VV - b) / gamma_w)); \
            const real tau_w = 2 * tau_w0 / (EXP((VV - b) / (2 * gamma_w)) + EXP(-(VV - b) / (2 * gamma_w))); \
            const real I_syn = gs[i] * Y * (E_exc - VV); \
            DV = (-gL * (VV - EL) - gNa * m_inf * (VV - ENa) - gK * WW * (VV - EK) + I_syn + II_ + I_bias) / C; \
            DW = phi * (w_inf - WW) / tau_w; DI = -II_ / tau_noise; DX = -X / tau_rise; DY = -Y / tau_decay + X / tau_rise; }
            real dv, dw, dI, dx, dy;
            RHS(vv, ww, II, x, y, dv, dw, dI, dx, dy)
            const real noise = sg[i] * noise_scale * z[i];
#if %(HEUN)d
            // true Heun (explicit trapezoid) for the drift; the same z in both stages
            const real v1 = vv + dt * dv, w1 = ww + dt * dw, I1 = II + dt * (dI + noise), x1 = x + dt * dx, y1 = y + dt * dy;
            real dv1, dw1, dI1, dx1, dy1;
            RHS(v1, w1, I1, x1, y1, dv1, dw1, dI1, dx1, dy1)
            v[i] = vv + dt / 2 * (dv + dv1); w[i] = ww + dt / 2 * (dw + dw1);
            I[i] = II + dt / 2 * (dI + dI1) + dt * noise; xe[i] = x + dt / 2 * (dx + dx1); ye[i] = y + dt / 2 * (dy + dy1);
#else
            v[i] = vv + dt * dv; w[i] = ww + dt * dw; I[i] = II + dt * (dI + noise); xe[i] = x + dt * dx; ye[i] = y + dt * dy;
#endif
        }
        // pass 3: threshold; Brian2 evaluates the refractory condition (v > v_th or t - lastspike
        // < t_ref) with the state *before* the update (nr, pass 2) and the threshold after it
        for (int i = 0; i < n; i++) {
            if (v[i] > v_th && nr[i]) { last[i] = t; spikes++; }
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("%%.6f %%ld\n", (t1.tv_sec - t0.tv_sec) + 1e-9 * (t1.tv_nsec - t0.tv_nsec), spikes);
    return 0;
}
"""


def build_hand(name: str, directory: Path, n_layer: int, duration_ms: float) -> tuple[Path, Path]:
    """Write, compile (``-O3 -ffast-math -march=native``) the hand-written loop and its input file."""
    import numpy as np

    from lamina.rng import support_code

    method, precision, every_step = HAND_VARIANTS[name]
    directory.mkdir(parents=True, exist_ok=True)
    single = precision == "single"
    consts = {k: (float(np.float32(v)) if single else v) for k, v in _constants().items()}
    src = HAND_C % {"RNG": support_code(np.float32 if single else np.float64), "REAL": "float" if single else "double",
                    "EXP": "expf" if single else "exp", "N": len(LAYERS) * n_layer,
                    "STEPS": int(round(duration_ms / 0.01)), "DT": 1e-5, "HEUN": int(method == "heun"),
                    "RNG_EVERY_STEP": int(every_step), **consts}
    (directory / "hand.cpp").write_text(src)
    exe = directory / "hand"
    subprocess.run(["g++", "-O3", "-ffast-math", "-march=native", "-std=c++17", "hand.cpp", "-o", "hand", "-lm"],
                   cwd=directory, check=True)
    vals = per_neuron(n_layer)
    data = directory / "params.bin"
    np.concatenate([vals["beta_w"], vals["sigma_noise"], vals["g_syn"]]).astype(np.float64).tofile(data)
    return exe, data


# ---- running -----------------------------------------------------------------------------------
def run_brian(directory: Path, core: int) -> tuple[float, float]:
    """(loop seconds as timed inside the program, wall seconds) of one pinned run."""
    res = directory / "results"
    shutil.rmtree(res, ignore_errors=True)
    res.mkdir()  # the program writes into it but does not create it
    t0 = time.perf_counter()
    subprocess.run(["taskset", "-c", str(core), "./main"], cwd=directory, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    loop = float((res / "last_run_info.txt").read_text().split()[0])
    return loop, wall


def run_hand(exe: Path, data: Path, core: int) -> tuple[float, float]:
    t0 = time.perf_counter()
    out = subprocess.run(["taskset", "-c", str(core), str(exe), str(data)], check=True, capture_output=True,
                         text=True).stdout
    return float(out.split()[0]), time.perf_counter() - t0


_LAMINA_RUN = """
import json, sys
import lamina
ov = json.loads(sys.argv[1])
r = lamina.simulate(lamina.load_experiment(sys.argv[2], overrides=ov))
print(r.attrs["loop_time_s"], r.attrs["wall_time_s"], r.attrs["compiled"])
"""


def run_lamina(name: str, directory: Path, n_layer: int, duration_ms: float, core: int | None) -> tuple[float, float]:
    """(loop seconds timed inside lamina's program, wall seconds of lamina.simulate) of one run of
    lamina's fig3 base point; pinned to ``core`` (None: unpinned, for the first run that compiles)."""
    from lamina.resources import spec_path

    ov = {"network.size": n_layer, "simulation.duration": f"{duration_ms} ms", **LAMINA_VARIANTS[name]}
    env = {**os.environ, "LAMINA_CACHE": str(directory / "lamina-cache"), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-c", _LAMINA_RUN, json.dumps(ov), str(spec_path("fig3"))]
    if core is not None:
        cmd = ["taskset", "-c", str(core)] + cmd
    out = subprocess.run(cmd, cwd=ROOT, env=env, check=True, capture_output=True, text=True).stdout.split()
    return float(out[-3]), float(out[-2])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n-layer", type=int, default=1000)
    ap.add_argument("--duration", type=float, default=180.0, help="ms")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--core", type=int, default=1, help="CPU to pin every run to (taskset -c)")
    ap.add_argument("--variants", nargs="*", default=list(BRIAN_VARIANTS) + list(HAND_VARIANTS) + list(LAMINA_VARIANTS))
    ap.add_argument("--workdir", type=Path, default=None, help="keep the projects here (default: a temp dir)")
    ap.add_argument("--json", type=Path, default=None, help="write the numbers here")
    ap.add_argument("--_build", nargs=2, metavar=("VARIANT", "DIR"), help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a._build:  # child process: one Brian2 device per process
        build_brian(a._build[0], Path(a._build[1]), a.n_layer, a.duration)
        return 0
    from _machine import cpu_name

    work = a.workdir or Path(tempfile.mkdtemp(prefix="bench_cpu_step_"))
    work.mkdir(parents=True, exist_ok=True)
    n = len(LAYERS) * a.n_layer
    steps = int(round(a.duration / 0.01))
    print(f"# {cpu_name()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}; {n} neurons x {steps} steps; "
          f"pinned to core {a.core}; {a.reps} rounds; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    runners, vec = {}, {}
    for name in a.variants:
        d = work / name
        t0 = time.perf_counter()
        if name in BRIAN_VARIANTS:
            if not (d / "main").exists():
                subprocess.run([sys.executable, __file__, "--n-layer", str(a.n_layer), "--duration", str(a.duration),
                                "--_build", name, str(d)], check=True, stdout=subprocess.DEVNULL)
            vec[name] = vectorisation(d)
            runners[name] = (lambda d=d: run_brian(d, a.core))
        elif name in LAMINA_VARIANTS:
            d.mkdir(parents=True, exist_ok=True)
            run_lamina(name, d, a.n_layer, a.duration, None)  # compiles (or finds) lamina's program
            runners[name] = (lambda name=name, d=d: run_lamina(name, d, a.n_layer, a.duration, a.core))
        else:
            exe, data = build_hand(name, d, a.n_layer, a.duration)
            runners[name] = (lambda exe=exe, data=data: run_hand(exe, data, a.core))
        print(f"# {name} ready (built or reused, vectorisation checked) in {time.perf_counter() - t0:.1f} s", flush=True)
    loops: dict[str, list[float]] = {k: [] for k in runners}
    for r in range(a.reps):  # interleaved, so that a load change hits all variants alike
        for name, fn in runners.items():
            loops[name].append(fn()[0])
        print(f"# round {r + 1}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in loops.items()), flush=True)
    rate = {k: n * steps / statistics.median(v) for k, v in loops.items()}
    ref = rate.get("plain")
    lim = rate.get("hand")
    print(f"\n| variant | loop s (median of {a.reps}) | M neuron-steps/s | / plain | / hand | vectorised (ymm, vector math) |")
    print("|---|---|---|---|---|---|")
    for k in runners:
        vinfo = vec.get(k)
        vtxt = (f"{'yes' if vinfo['vectorised'] else 'no'} ({vinfo['ymm_instructions']} ymm; "
                f"{', '.join(vinfo['vector_math_calls']) or 'no libmvec'})") if vinfo else (
            "(lamina: the whole network)" if k in LAMINA_VARIANTS else "(hand: see -fopt-info)")
        print(f"| {k} | {statistics.median(loops[k]):.2f} | {rate[k] / 1e6:.1f} | "
              f"{rate[k] / ref:.2f} | " if ref else f"| {k} | {statistics.median(loops[k]):.2f} | {rate[k] / 1e6:.1f} | - | ",
              end="")
        print(f"{rate[k] / lim:.2f} | {vtxt} |" if lim else f"- | {vtxt} |")
    print()
    for k, vinfo in vec.items():
        print(f"# {k}: scalar calls {vinfo['scalar_calls']}; gcc: {' / '.join(l.split(': ', 1)[-1] for l in vinfo['loop_report']) or 'no report line'}")
    print(f"# load average after: {os.getloadavg()[0]:.2f}")
    if a.json:
        a.json.write_text(json.dumps({"loops_s": loops, "rate": rate, "vectorisation": vec, "neurons": n,
                                      "steps": steps}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
