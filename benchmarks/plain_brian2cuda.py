"""The Het deep FFN written by hand as a user would in plain Brian2 / brian2cuda: ONE NeuronGroup
of 13·N Prescott neurons (a per-neuron layer index and per-neuron beta_w / g_syn / noise), one
Synapses object (layer z → z + 1, p = 9/N), a pulse packet into layer 0, one
SpikeMonitor; Heun, dt 0.01 ms, 180 ms. The packet is that of bench_gpu.het_spec (α = 0.4 N kicks
of 70 mV around 100 ms, σ 1 ms), so both programs simulate the same network and activity. The reference lamina's cuda backend is measured against
(benchmarks/bench_gpu.py), not part of lamina.

    python benchmarks/plain_brian2cuda.py --n 1000 --device cuda_standalone --dir /tmp/plain1000 [--single]

Prints one JSON line: n, neurons, steps, spikes, loop_s (simulation loop, timed inside the program),
run_s (the program), setup_s (Python: network construction + code generation + compile), compiled.
"""
from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

EQS = """
dv/dt = (-gL*(v - EL) - gNa*m_inf*(v - ENa) - gK*w*(v - EK) + I_syn + I_noise)/C : volt
dw/dt = phi*(w_inf - w)/tau_w : 1
dI_noise/dt = -I_noise/tau_noise + sigma_noise*xi*tau_noise**-0.5 : amp/meter**2
m_inf = 1/(1 + exp(-2*(v - beta_m)/gamma_m)) : 1
w_inf = 1/(1 + exp(-2*(v - beta_w)/gamma_w)) : 1
tau_w = 2*tau_w0/(exp((v - beta_w)/(2*gamma_w)) + exp(-(v - beta_w)/(2*gamma_w))) : second
dx_e/dt = -x_e/tau_rise : 1
dy_e/dt = -y_e/tau_decay + x_e/tau_rise : 1
I_syn = g_syn*y_e*(E_exc - v) : amp/meter**2
beta_w : volt (constant)
g_syn : siemens/meter**2 (constant)
sigma_noise : amp/meter**2 (constant)
layer : integer (constant)
kick_step : integer (constant)
post_lo : integer (constant)
post_hi : integer (constant)
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1000, help="neurons per layer")
    ap.add_argument("--layers", type=int, default=13)
    ap.add_argument("--duration-ms", type=float, default=180.0)
    ap.add_argument("--device", default="cuda_standalone", choices=["cuda_standalone", "cpp_standalone"])
    ap.add_argument("--dir", required=True)
    ap.add_argument("--single", action="store_true", help="single precision")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--alpha", type=int, default=None, help="packet size (default 0.4 N, as bench_gpu.het_spec)")
    ap.add_argument("--sigma-ms", type=float, default=1.0, help="packet SD (as bench_gpu.het_spec)")
    ap.add_argument("--build-only", action="store_true", help="generate and compile, do not run")
    a = ap.parse_args()
    t0 = time.perf_counter()
    import brian2 as b2

    if a.device == "cuda_standalone":
        import brian2cuda  # noqa: F401

        cb = b2.prefs.devices.cuda_standalone.cuda_backend
        cb.extra_compile_args_nvcc += ["-std=c++17"]
        b2.prefs.codegen.cpp.extra_compile_args_gcc = [x for x in b2.prefs.codegen.cpp.extra_compile_args_gcc
                                                       if not x.startswith("-std=")] + ["-std=c++17"]
    b2.prefs.devices.cpp_standalone.extra_make_args_unix = [f"-j{os.cpu_count()}"]
    if a.single:
        b2.prefs.core.default_float_dtype = np.float32
    b2.set_device(a.device, directory=a.dir, build_on_run=False)
    b2.defaultclock.dt = 0.01 * b2.ms
    n, L = a.n, a.layers
    rng = np.random.default_rng(a.seed)

    def rng_u(size):  # Int: sigma_noise uniform in [38, 53] uA/cm²
        return rng.uniform(38.0, 53.0, size)
    ns = dict(gL=2 * b2.msiemens / b2.cm**2, EL=-70 * b2.mV, gNa=20 * b2.msiemens / b2.cm**2, ENa=50 * b2.mV,
              gK=20 * b2.msiemens / b2.cm**2, EK=-100 * b2.mV, C=2 * b2.uF / b2.cm**2, phi=0.15,
              beta_m=-1.2 * b2.mV, gamma_m=18 * b2.mV, gamma_w=10 * b2.mV, tau_w0=1 * b2.ms,
              tau_noise=1 * b2.ms, E_exc=0 * b2.mV, tau_rise=0.5 * b2.ms, tau_decay=4 * b2.ms,
              v_th=-10 * b2.mV, t_ref=3.3 * b2.ms, n_layer=n, p_conn=9.0 / n)
    g = b2.NeuronGroup(L * n, EQS, threshold="v > v_th", refractory="v > v_th or (t - lastspike) < t_ref",
                       method="heun", namespace=ns, name="ffn")
    layer = np.repeat(np.arange(L), n)
    diff = (layer % 2 == 0) & (layer > 0)  # Het: input, Int, Diff, Int, ... (prescott.toml's variants)
    inp = layer == 0
    g.layer = layer
    g.v = -70 * b2.mV
    g.beta_w = np.select([inp, diff], [-23.0, -19.0], 5.0) * 1e-3 * b2.volt
    g.g_syn = np.select([inp, diff], [0.0, 975.0], 345.0) * 1e-2 * b2.siemens / b2.meter**2  # uS/cm² → S/m²
    sigma = np.select([inp, diff], [38.0, 15.0], 0.0) + (~inp & ~diff) * rng_u(L * n)
    g.sigma_noise = sigma * 1e-2 * b2.amp / b2.meter**2
    kick = np.full(L * n, -1)
    alpha = int(0.4 * n) if a.alpha is None else a.alpha
    ids = rng.choice(n, alpha, replace=False)
    kick[ids] = np.round(rng.normal(100.0, a.sigma_ms, alpha) / 0.01).astype(int)
    g.kick_step = kick
    g.post_lo = np.where(layer < L - 1, (layer + 1) * n, 0)  # the next layer (none for the last)
    g.post_hi = np.where(layer < L - 1, (layer + 2) * n, 0)
    g[:n].run_regularly("v = v + 70*mV*int(t_in_timesteps == kick_step)", when="start")
    s = b2.Synapses(g, g, on_pre="x_e_post += 1", namespace=ns)
    s.connect(j="k for k in sample(post_lo_pre, post_hi_pre, p=p_conn)")
    mon = b2.SpikeMonitor(g)
    b2.run(a.duration_ms * b2.ms)
    b2.device.build(directory=a.dir, compile=True, run=False)
    setup = time.perf_counter() - t0
    if a.build_only:
        print(json.dumps({"script": "plain", "built": a.dir, "setup_s": setup}), flush=True)
        return
    t1 = time.perf_counter()
    b2.device.run(directory=a.dir, results_directory="results", with_output=False)
    run_s = time.perf_counter() - t1
    loop_s = float(getattr(b2.device, "_last_run_time", None) or run_s)
    steps = int(round(a.duration_ms / 0.01))
    print(json.dumps({"script": "plain", "device": a.device, "single": a.single, "n": n, "neurons": L * n,
                      "steps": steps, "spikes": int(mon.num_spikes), "loop_s": loop_s, "run_s": run_s,
                      "setup_s": setup, "neuron_steps_per_s": L * n * steps / loop_s}), flush=True)


if __name__ == "__main__":
    main()
