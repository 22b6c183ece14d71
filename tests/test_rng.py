"""The counter-based Gaussian generator ``lamina_randn`` (lamina/rng.py).

* Philox-4x32-10 reproduces Random123's known-answer vectors.
* Statistics of the numpy implementation over 10⁶ draws: mean, variance, tails, normality (KS),
  lag 1–10 autocorrelation along steps, correlation across neighbouring neurons, seeds and streams;
  every threshold is 5 standard errors of the statistic (or the KS critical value at p = 10⁻³), so a
  correct generator fails with probability ~10⁻⁶ per check and the seeds are fixed.
* C is the same algorithm: the support code compiled with g++ (Brian2's flags, and the vectorising
  flags of docs/benchmarks-cpu.md) gives bit-identical Philox words and Gaussians within the
  documented tolerance; a Brian2 runtime (numpy target) group and a tiny ``cpp_standalone``
  network (re-seeded through ``run_args`` without recompiling) draw the numpy numbers, and the
  ``heun`` update with ``lamina_randn(...)/sqrt(dt)`` is the Euler–Maruyama step.
* CUDA: a tiny brian2cuda project with the function compiles with nvcc (no GPU needed) and carries
  the same source.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from lamina.rng import _C_CORE, philox4x32_10, randn_numpy, replace_xi, seed_to_int32, support_code

ROOT = Path(__file__).resolve().parents[1]
BRIAN_FLAGS = ["-O3", "-ffast-math", "-fno-finite-math-only", "-march=native"]
VEC_FLAGS = BRIAN_FLAGS + ["-D__FAST_MATH__=1", "--param=vect-max-version-for-alias-checks=200"]


def _se_bound(n: int) -> float:
    """5 standard errors of a mean of n products of independent N(0, 1) numbers."""
    return 5.0 / np.sqrt(n)


# ---- Philox ---------------------------------------------------------------------------------
@pytest.mark.parametrize("ctr, key, out", [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
     (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
])
def test_philox_known_answers(ctr, key, out):
    assert tuple(int(x) for x in philox4x32_10(ctr, key)) == out


# ---- statistics of the numpy implementation ---------------------------------------------------
@pytest.fixture(scope="module")
def grid() -> np.ndarray:
    """10⁶ draws: 1000 neurons × 1000 steps of one seed and stream (late steps: high word used)."""
    steps = np.arange(1000) + (1 << 32) - 500  # crosses the 32-bit boundary of the step counter
    return randn_numpy(2020, 0, np.arange(1000)[:, None], steps[None, :])


def test_moments_and_tails(grid):
    z = grid.ravel()
    n = z.size
    assert n >= 10**6 and z.dtype == np.float64
    assert abs(z.mean()) < _se_bound(n)
    assert abs(z.var() - 1) < 5 * np.sqrt(2 / n)  # SE of the variance of N(0, 1) samples
    assert abs(stats.skew(z)) < 5 * np.sqrt(6 / n)
    assert abs(stats.kurtosis(z)) < 5 * np.sqrt(24 / n)
    p3 = 2 * stats.norm.sf(3)  # tails: fraction beyond 3 SD
    assert abs(np.mean(np.abs(z) > 3) - p3) < 5 * np.sqrt(p3 * (1 - p3) / n)


def test_normality_ks(grid):
    z = grid.ravel()
    d, p = stats.kstest(z, "norm")
    assert d < 1.95 / np.sqrt(z.size), (d, p)  # Kolmogorov critical value at p = 0.001


@pytest.mark.parametrize("lag", range(1, 11))
def test_no_autocorrelation_along_steps(grid, lag):
    prod = grid[:, :-lag] * grid[:, lag:]
    assert abs(prod.mean()) < _se_bound(prod.size)


def test_neurons_seeds_and_streams_independent(grid):
    n = grid.size
    nb = grid[:-1] * grid[1:]  # neighbouring neuron counters
    assert abs(nb.mean()) < _se_bound(nb.size)
    steps = np.arange(1000)[None, :] + (1 << 32) - 500
    neurons = np.arange(1000)[:, None]
    for other in (randn_numpy(2021, 0, neurons, steps),   # next seed
                  randn_numpy(2020, 1, neurons, steps),   # next stream
                  randn_numpy(2020 + (1 << 31), 0, neurons, steps)):  # seed differing in the top bit
        r = np.corrcoef(grid.ravel(), other.ravel())[0, 1]
        assert abs(r) < _se_bound(n)
        assert not np.array_equal(other, grid)
    # neuron j at step s vs neuron j + 1 at step s - 1 (counter words swapped roles)
    diag = grid[1:, :-1] * grid[:-1, 1:]
    assert abs(diag.mean()) < _se_bound(diag.size)


def test_deterministic_and_int32_seed_bits():
    a = randn_numpy(3_000_000_000, 2, np.arange(50), 7)
    b = randn_numpy(seed_to_int32(3_000_000_000), 2, np.arange(50), 7)  # same bits as an int32
    assert seed_to_int32(3_000_000_000) == 3_000_000_000 - 2**32
    assert np.array_equal(a, b) and np.array_equal(a, randn_numpy(3_000_000_000, 2, np.arange(50), 7))


def test_single_precision_is_the_same_realisation_rounded(grid):
    steps = np.arange(1000)[None, :] + (1 << 32) - 500
    zf = randn_numpy(2020, 0, np.arange(1000)[:, None], steps, np.float32)
    assert zf.dtype == np.float32
    diff = np.abs(zf.astype(np.float64) - grid)
    assert np.median(diff) < 1e-6 and np.quantile(diff, 0.999) < 1e-4  # the top 23 bits of the uniforms
    assert np.abs(zf).max() <= np.sqrt(-2 * np.log(2.0**-23)) + 1e-5
    assert abs(zf.mean()) < _se_bound(zf.size) and abs(zf.astype(np.float64).var() - 1) < 5 * np.sqrt(2 / zf.size)


def test_replace_xi():
    eqs = "dI/dt = -I/tau + sigma*xi*tau**-0.5 : amp\ndx/dt = xi_b*s + xi : 1"
    out = replace_xi(eqs, seed="noise_seed", neuron="noise_index")
    assert "xi" not in out.replace("noise_index", "")
    assert out.count("lamina_randn(noise_seed, 0, noise_index, t_in_timesteps)/sqrt(dt)") == 2
    assert out.count("lamina_randn(noise_seed, 1, noise_index, t_in_timesteps)/sqrt(dt)") == 1


# ---- the C implementation ---------------------------------------------------------------------
_HARNESS = r"""
#include <stdio.h>
%(CODE)s
int main(void) {
    // 4 seeds (one >= 2^31) x 2 streams x 64 neurons x 130 steps around the 32-bit step boundary
    const long long seeds[4] = {0, 1, 2020, 3000000000LL};
    static double zd[4 * 2 * 64 * 130];
    static float zf[4 * 2 * 64 * 130];
    static uint32_t words[4 * 2 * 64 * 130 * 4];
    for (int a = 0; a < 4; a++) for (int b = 0; b < 2; b++) for (int j = 0; j < 64; j++)
        for (int s = 0; s < 130; s++) {
            const long k = ((a * 2 + b) * 64 + j) * 130 + s;
            const long long step = 4294967231LL + s;
            zd[k] = lamina_randn_double(seeds[a], b, j, step);
            zf[k] = lamina_randn_float(seeds[a], b, j, step);
            lamina_philox((uint32_t)seeds[a], b, j, step, &words[4 * k], &words[4 * k + 1], &words[4 * k + 2], &words[4 * k + 3]);
        }
    FILE* f = fopen("out.bin", "wb");
    fwrite(zd, sizeof zd, 1, f); fwrite(zf, sizeof zf, 1, f); fwrite(words, sizeof words, 1, f);
    fclose(f);
    return 0;
}
"""


@pytest.mark.skipif(shutil.which("g++") is None, reason="no C++ compiler")
@pytest.mark.parametrize("flags", [BRIAN_FLAGS, VEC_FLAGS], ids=["brian-flags", "vectorising-flags"])
def test_c_code_matches_numpy(tmp_path, flags):
    (tmp_path / "h.cpp").write_text(_HARNESS % {"CODE": support_code()})
    subprocess.run(["g++", *flags, "-std=c++17", "h.cpp", "-o", "h", "-lm"], cwd=tmp_path, check=True)
    subprocess.run(["./h"], cwd=tmp_path, check=True)
    raw = (tmp_path / "out.bin").read_bytes()
    m = 4 * 2 * 64 * 130
    zd = np.frombuffer(raw, np.float64, m)
    zf = np.frombuffer(raw, np.float32, m, offset=8 * m)
    words = np.frombuffer(raw, np.uint32, 4 * m, offset=12 * m).reshape(m, 4)
    seed = np.array([0, 1, 2020, 3_000_000_000])[:, None, None, None]
    stream = np.arange(2)[None, :, None, None]
    neuron = np.arange(64)[None, None, :, None]
    step = (4294967231 + np.arange(130))[None, None, None, :]
    step_u = step.astype(np.uint64)
    ref_words = philox4x32_10((neuron, step_u & np.uint64(0xFFFFFFFF), step_u >> np.uint64(32), 0), (seed, stream))
    for k in range(4):  # the integer part: bit for bit
        assert np.array_equal(words[:, k], ref_words[k].ravel().astype(np.uint32))
    ref_d = randn_numpy(seed, stream, neuron, step).ravel()
    ref_f = randn_numpy(seed, stream, neuron, step, np.float32).ravel()
    assert np.max(np.abs(zd - ref_d)) < 1e-12  # the documented tolerance of the float part
    assert np.max(np.abs(zf.astype(np.float64) - ref_f)) < 1e-5


_CPP_NET = r"""
import sys
import brian2 as b2, numpy as np
from lamina.rng import lamina_randn, seed_to_int32
b2.set_device("cpp_standalone", build_on_run=False)
b2.prefs.devices.cpp_standalone.openmp_threads = 0
b2.prefs.devices.cpp_standalone.extra_make_args_unix = ["-j2"]
b2.defaultclock.dt = 0.01 * b2.ms
g = b2.NeuronGroup(100, '''dv/dt = -v/tau + lamina_randn(noise_seed, 1, i, t_in_timesteps)/sqrt(dt)*tau**-0.5 : 1
                         z = lamina_randn(noise_seed, 0, i, t_in_timesteps) : 1
                         noise_seed : integer (constant, shared)
                         tau : second (constant, shared)''',
                   method="heun", namespace={"lamina_randn": lamina_randn}, name="g")
g.tau = 1 * b2.ms
mon = b2.StateMonitor(g, ["z", "v"], record=True, name="mon")
b2.run(50 * b2.defaultclock.dt)
b2.device.build(directory=sys.argv[1], run=False)
for s in (7, 3000000000):
    b2.device.run(directory=sys.argv[1], results_directory=f"results_{s}", run_args={g.noise_seed: seed_to_int32(s)})
    np.save(f"{sys.argv[1]}/z_{s}.npy", np.asarray(mon.z[:]))
    np.save(f"{sys.argv[1]}/v_{s}.npy", np.asarray(mon.v[:]))

"""


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("g++") is None, reason="no C++ compiler")
def test_cpp_standalone_matches_numpy_and_reseeds_by_run_args(tmp_path):
    proj = tmp_path / "proj"
    # a process of its own: the standalone device is global state of the Brian2 process
    subprocess.run([sys.executable, "-c", _CPP_NET, str(proj)], check=True, cwd=ROOT,
                   env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True)
    neurons, steps = np.arange(100)[:, None], np.arange(50)[None, :]
    dt, tau = 1e-5, 1e-3
    zs = {}
    for s in (7, 3_000_000_000):
        z = np.load(proj / f"z_{s}.npy")
        assert z.shape == (100, 50)
        assert np.max(np.abs(z - randn_numpy(s, 0, neurons, steps))) < 1e-12
        # heun with the noise inside f is the Euler–Maruyama step (Brian2's heun is Euler in the drift)
        v = np.load(proj / f"v_{s}.npy")
        zv = randn_numpy(s, 1, neurons, steps)
        ref = np.zeros((100, 50))
        for k in range(49):
            ref[:, k + 1] = ref[:, k] - dt * ref[:, k] / tau + np.sqrt(dt / tau) * zv[:, k]
        assert np.max(np.abs(v - ref)) < 1e-12
        zs[s] = z
    assert not np.allclose(zs[7], zs[3_000_000_000])  # run_args re-seeded the one compiled program


def test_runtime_numpy_target_matches():
    import brian2 as b2

    from lamina.rng import lamina_randn

    b2.set_device("runtime")
    old = b2.prefs.codegen.target
    b2.prefs.codegen.target = "numpy"
    try:
        net = b2.Network()
        g = b2.NeuronGroup(30, """z = lamina_randn(noise_seed, 0, i, t_in_timesteps) : 1
                                 noise_seed : integer (constant, shared)""",
                           namespace={"lamina_randn": lamina_randn}, dt=0.1 * b2.ms)
        g.noise_seed = seed_to_int32(4_000_000_000)
        mon = b2.StateMonitor(g, "z", record=True, dt=0.1 * b2.ms)
        net.add(g, mon)
        net.run(1 * b2.ms, namespace={})
        ref = randn_numpy(4_000_000_000, 0, np.arange(30)[:, None], np.arange(10)[None, :])
        assert np.array_equal(np.asarray(mon.z[:]), ref)
    finally:
        b2.prefs.codegen.target = old


# ---- CUDA ---------------------------------------------------------------------------------------
_CUDA_NET = r"""
import sys
import brian2 as b2, numpy as np
import brian2cuda  # noqa: F401
from lamina.rng import lamina_randn
b2.set_device("cuda_standalone", build_on_run=False)
p = b2.prefs
cb = p.devices.cuda_standalone.cuda_backend
cb.detect_gpus = False
cb.gpu_id = 0
cb.compute_capability = 9.0
cb.extra_compile_args_nvcc += ["-std=c++17"]
p.codegen.cpp.extra_compile_args_gcc = [a for a in p.codegen.cpp.extra_compile_args_gcc
                                        if not a.startswith(("-std=", "-march=", "-mtune="))] + ["-std=c++17"]
p.devices.cpp_standalone.extra_make_args_unix = ["-j2"]
try:  # toolkits without curand.h: the nvidia-curand wheel's, as the cuda backend does
    from lamina.backends.cuda import _curand_from_wheel
    _curand_from_wheel(p)
except ImportError:
    pass
if sys.argv[2] == "single":
    p.core.default_float_dtype = np.float32
b2.defaultclock.dt = 0.01 * b2.ms
g = b2.NeuronGroup(100, '''dv/dt = -v/tau + lamina_randn(noise_seed, 1, i, t_in_timesteps)/sqrt(dt)*tau**-0.5 : 1
                         z = lamina_randn(noise_seed, 0, i, t_in_timesteps) : 1
                         noise_seed : integer (constant, shared)
                         tau : second (constant, shared)''',
                   method="heun", namespace={"lamina_randn": lamina_randn}, name="g")
g.tau = 1 * b2.ms
mon = b2.StateMonitor(g, ["z", "v"], record=True, name="mon")
b2.run(50 * b2.defaultclock.dt)
b2.device.build(directory=sys.argv[1], compile=False, run=False)
"""


def _nvcc() -> str | None:
    cuda = os.environ.get("CUDA_PATH") or os.environ.get("CUDA_HOME")
    if cuda and (Path(cuda) / "bin" / "nvcc").exists():
        return str(Path(cuda) / "bin" / "nvcc")
    return shutil.which("nvcc")


@pytest.mark.slow
@pytest.mark.skipif(_nvcc() is None, reason="nvcc not found (CUDA toolkit not installed)")
def test_cuda_implementation_compiles_with_the_same_source(tmp_path):
    pytest.importorskip("brian2cuda", reason="brian2cuda not installed (pip install -e '.[cuda]')")
    proj = tmp_path / "cuda"
    r = subprocess.run([sys.executable, "-c", _CUDA_NET, str(proj), "double"], cwd=ROOT,
                       env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    # compile the code object that holds the function with the project's own nvcc rule (the whole
    # program is linked in test_cuda.py; one object keeps this test at a minute on 2 cores)
    cu = next((proj / "code_objects").glob("g_stateupdater_codeobject*.cu"))
    obj = cu.with_suffix(".o").relative_to(proj)
    m = subprocess.run(["make", str(obj)], cwd=proj, capture_output=True, text=True)
    assert m.returncode == 0 and (proj / obj).exists(), (m.stdout + m.stderr)[-3000:]
    src = cu.read_text()
    # the same algorithm: the one C source of lamina/rng.py, compiled as __host__ __device__ code
    core = textwrap.dedent(_C_CORE).strip().splitlines()
    body = [l.strip() for l in src.splitlines()]
    start = body.index(core[0].strip())
    assert body[start:start + len(core)] == [l.strip() for l in core]
    assert "#define lamina_randn lamina_randn_double" in src
    assert "lamina_randn(noise_seed, 1, i, t_in_timesteps)" in src
