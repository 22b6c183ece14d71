"""A counter-based Gaussian generator for Brian2 equations: ``lamina_randn(seed, stream, neuron, step)``.

Why
---
Brian2's ``xi`` (and ``randn()``) draw from a *stateful* generator, one call per number: the call
blocks vectorisation of the state-update loop, the seed is compiled state (lamina re-seeds it with
code inserted into ``main()``), and cpp and cuda draw different numbers. ``lamina_randn`` is a pure
function of its four integer arguments (Philox-4x32-10, Salmon et al. 2011, then Box–Muller):

* the same (seed, stream, neuron, step) gives the same number in numpy, C++ and CUDA — the
  integer part (Philox and the bits → uniform conversion) is bit-identical everywhere; the float
  part (``log``, ``sqrt``, ``cos``) differs only by the libraries' rounding (see *Tolerance*);
* no state, so the compiler may vectorise the loop (with vector ``log``/``cos``: libmvec, see
  docs/benchmarks-cpu.md) and the order in which neurons are updated does not matter;
* the seed is an ordinary model variable, set per run through ``run_args``: no recompiling, no
  inserted code, and a neuron's noise does not depend on which batch or group it runs in when
  ``neuron`` is its index within its own replica.

Algorithm (the definition; every implementation follows it)
-----------------------------------------------------------
``key = (seed mod 2**32, stream mod 2**32)``,
``counter = (neuron mod 2**32, step mod 2**32, (step >> 32) mod 2**32, 0)``;
``(x0, x1, x2, x3) = Philox4x32_10(counter, key)`` (Random123's known-answer vectors hold);

* double: ``d1 = bits_as_double(0x3FF0000000000000 | ((x0 << 32 | x1) >> 12))`` in [1, 2),
  ``d2`` likewise from ``(x2, x3)``; ``u1 = 2 - d1`` in (0, 1] (52 bits, never 0, so the largest
  |z| is sqrt(2·52·ln 2) = 8.49), ``s = 2·d2 - 3`` in [-1, 1) (both exact);
* single: ``d1 = bits_as_float(0x3F800000 | (x0 >> 9))``, ``d2`` from ``x2``: the top 23 bits of
  the double's uniforms, so a single-precision run sees the same realisation rounded (largest
  |z| = sqrt(2·23·ln 2) = 5.65; P(|z| > 5.65) = 1.6e-8);
* ``z = sqrt(-2·log(u1)) · cos(π·s)``: one N(0, 1) number. The angle lies in [-π, π), where
  CUDA's fast single-precision ``__cosf`` (brian2cuda compiles with ``-use_fast_math``) is accurate.

Tolerance of the float part (measured by tests/test_rng.py): double, numpy vs C++ (Brian2's
``-O3 -ffast-math``, glibc or libmvec): |Δz| ≤ 1e-12 (typically a few 1e-16); single: |Δz| ≤ 1e-5
(|z| ≤ 5.65). CUDA uses its own ``log``/``cos`` (≤ 2 ulp in double; ``-use_fast_math``
intrinsics in single) and may contract into FMAs: the same bounds are expected but were not
measured (the CUDA code was compiled, not run: no GPU). Single vs double precision of one draw:
median |Δz| ≈ 2e-7, 99.9 % below ~1e-5, up to a few 1e-3 (rarely 0.03) in the far tail (u1 rounded to 23 bits).

How a model uses it
-------------------
Brian2's ``xi`` is white noise with unit ``second**-0.5``: its Euler–Maruyama increment over one
step is ``xi·dt = sqrt(dt)·N(0, 1)``. The exact replacement inside an equation is
``xi  →  lamina_randn(seed, stream, neuron, t_in_timesteps)/sqrt(dt)``, e.g.::

    dI/dt = -I/tau + sigma*sqrt(2/tau)*xi : amp                                  # Brian2
    dI/dt = -I/tau + sigma*sqrt(2/tau)*lamina_randn(noise_seed, 0, i, t_in_timesteps)/sqrt(dt) : amp
    noise_seed : integer (constant, shared)                                       # set per run

The equations are then deterministic in Brian2's eyes (no ``xi``) and ``f`` carries the noise
term, so the update is ``x += dt·f + g·sqrt(dt)·z``: Itô Euler–Maruyama under ``method='euler'``
*and* under ``method='heun'`` — Brian2's ``heun`` is ``x + dt·f(x, t) + dW·(g(x, t) +
g(x + g·dW, t + dt))/2``, Euler in the drift with a Stratonovich correction of the noise, which
vanishes for additive noise (so for additive noise ``xi`` under ``heun`` or ``euler`` and this
replacement are the same scheme; for *multiplicative* noise the replacement is the Itô, not the
Stratonovich, scheme). With a scheme that evaluates ``f`` twice (``rk2``, or a true Heun written as
an ``ExplicitStateUpdater``) every stage sees the same ``z`` — ``t_in_timesteps`` does not advance
between stages, ``t`` would (never key the noise on ``t``) — which is the standard additive-noise
scheme. ``exponential_euler`` treats the term as a forcing constant over the step: first order,
not the SDE's exact scheme. Give ``method`` explicitly: a stateless function whose arguments
do not contain ``t`` counts as constant over a step, so Brian2's automatic choice for a linear
equation would be ``exact``, which integrates the term as such a constant.
:func:`replace_xi` does the substitution on an equation string.

Arguments: ``seed`` — the run's seed, a model variable (``integer (constant, shared)`` for one seed
per group, or ``integer (constant)`` for one per neuron, e.g. one per batch replica); Brian2
integers are int32, so store a uint32 seed through :func:`seed_to_int32` (same bits). ``stream`` —
which noise source (0, 1, …: a distinct integer per ``xi`` of a neuron). ``neuron`` — ``i``, or a
per-neuron ``integer (constant)`` that numbers the neuron within its replica. ``step`` —
``t_in_timesteps`` (int64; the step counter of the group's clock). The function has no units.

The function must be in the group's namespace: ``NeuronGroup(..., namespace={"lamina_randn":
lamina_randn, ...})`` (or call :func:`register_default` once). Implementations: ``numpy``
(runtime, ``codegen.target = "numpy"``; there is no Cython implementation), ``cpp`` (``cpp_standalone``), ``cuda``
(``cuda_standalone``); the C/CUDA code picks float or double from
``prefs.core.default_float_dtype`` when the code is generated.
"""
from __future__ import annotations

import re

import numpy as np
from . import _brian  # noqa: F401  (first: Brian2 without pylab)
from brian2.core.functions import DEFAULT_FUNCTIONS, Function
from brian2.core.preferences import prefs

__all__ = ["lamina_randn", "randn_numpy", "philox4x32_10", "support_code", "replace_xi", "seed_to_int32",
           "register_default", "PHILOX_M", "PHILOX_W"]

#: Philox-4x32 multipliers and Weyl key increments (Salmon et al. 2011; Random123).
PHILOX_M = (0xD2511F53, 0xCD9E8D57)
PHILOX_W = (0x9E3779B9, 0xBB67AE85)
_MASK32 = np.uint64(0xFFFFFFFF)


def philox4x32_10(counter: tuple, key: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Philox-4x32-10 on arrays (numpy reference implementation).

    Parameters
    ----------
    counter : tuple of 4 array_like of int
        The four 32-bit counter words (taken mod 2**32), broadcast against each other.
    key : tuple of 2 array_like of int
        The two 32-bit key words (taken mod 2**32).

    Returns
    -------
    tuple of 4 numpy.ndarray of numpy.uint64
        The four output words (values < 2**32), broadcast shape.
    """
    # Words live in uint64 so that the 32×32 → 64-bit products are exact.
    c0, c1, c2, c3 = (np.asarray(c).astype(np.int64).astype(np.uint64) & _MASK32 for c in counter)
    k0, k1 = (np.asarray(k).astype(np.int64).astype(np.uint64) & _MASK32 for k in key)
    m0, m1 = np.uint64(PHILOX_M[0]), np.uint64(PHILOX_M[1])
    w0, w1 = np.uint64(PHILOX_W[0]), np.uint64(PHILOX_W[1])
    for r in range(10):
        if r:
            k0, k1 = (k0 + w0) & _MASK32, (k1 + w1) & _MASK32
        p0, p1 = m0 * c0, m1 * c2
        c0, c1, c2, c3 = ((p1 >> np.uint64(32)) ^ c1 ^ k0, p1 & _MASK32,
                          (p0 >> np.uint64(32)) ^ c3 ^ k1, p0 & _MASK32)
    shape = np.broadcast_shapes(*(np.shape(x) for x in (c0, c1, c2, c3, k0, k1)))
    return tuple(np.broadcast_to(x, shape) for x in (c0, c1, c2, c3))  # type: ignore[return-value]


def randn_numpy(seed, stream, neuron, step, dtype: type | np.dtype = np.float64) -> np.ndarray:
    """``lamina_randn`` in numpy: N(0, 1) numbers for (seed, stream, neuron, step), broadcast.

    Parameters
    ----------
    seed, stream, neuron : array_like of int
        Taken mod 2**32 (negative int32 seeds are the same bits as their uint32).
    step : array_like of int
        The time step (int64; its high word is part of the counter).
    dtype : numpy.float64 or numpy.float32
        Double or single precision variant (the C/CUDA code's ``double``/``float``).

    Returns
    -------
    numpy.ndarray
        Standard normal numbers of the broadcast shape, in ``dtype``.
    """
    step = np.asarray(step).astype(np.int64).astype(np.uint64)
    x0, x1, x2, x3 = philox4x32_10((neuron, step & _MASK32, step >> np.uint64(32), 0), (seed, stream))
    if np.dtype(dtype) == np.float32:
        d1 = ((x0 >> np.uint64(9)) | np.uint64(0x3F800000)).astype(np.uint32).view(np.float32)
        d2 = ((x2 >> np.uint64(9)) | np.uint64(0x3F800000)).astype(np.uint32).view(np.float32)
        u1, s = np.float32(2.0) - d1, np.float32(2.0) * d2 - np.float32(3.0)
        return np.sqrt(np.float32(-2.0) * np.log(u1)) * np.cos(np.float32(np.pi) * s)
    exp_one = np.uint64(0x3FF0000000000000)
    d1 = ((((x0 << np.uint64(32)) | x1) >> np.uint64(12)) | exp_one).view(np.float64)
    d2 = ((((x2 << np.uint64(32)) | x3) >> np.uint64(12)) | exp_one).view(np.float64)
    u1, s = 2.0 - d1, 2.0 * d2 - 3.0
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(np.pi * s)


# ---- C / CUDA -------------------------------------------------------------------------------
# One source for C++ and CUDA (LAMINA_FN adds __host__ __device__ under nvcc: brian2cuda runs
# some code objects on the host). The ten rounds are written out so that gcc need not unroll a
# loop before it can vectorise the neuron loop around the inlined call; a guard lets several
# code objects / functions include it in one file.
_C_CORE = r"""
#ifndef LAMINA_PHILOX_DEFINED
#define LAMINA_PHILOX_DEFINED
#include <stdint.h>
#include <string.h>
#include <math.h>
#if defined(__CUDACC__)
#define LAMINA_FN __host__ __device__ static inline
#else
#define LAMINA_FN static inline
#endif
#define LAMINA_PHILOX_ROUND(K0, K1) {                                         \
    const uint64_t _p0 = (uint64_t)0xD2511F53u * (uint64_t)_c0;               \
    const uint64_t _p1 = (uint64_t)0xCD9E8D57u * (uint64_t)_c2;               \
    _c0 = (uint32_t)(_p1 >> 32) ^ _c1 ^ (K0); _c1 = (uint32_t)_p1;            \
    _c2 = (uint32_t)(_p0 >> 32) ^ _c3 ^ (K1); _c3 = (uint32_t)_p0; }
// Philox-4x32-10 of counter (neuron, step_lo, step_hi, 0) under key (seed, stream).
LAMINA_FN void lamina_philox(const uint32_t seed, const uint32_t stream, const uint32_t neuron,
                             const uint64_t step, uint32_t* x0, uint32_t* x1, uint32_t* x2, uint32_t* x3) {
    uint32_t _c0 = neuron, _c1 = (uint32_t)step, _c2 = (uint32_t)(step >> 32), _c3 = 0u;
    LAMINA_PHILOX_ROUND(seed, stream)
    LAMINA_PHILOX_ROUND(seed + 0x9E3779B9u, stream + 0xBB67AE85u)
    LAMINA_PHILOX_ROUND(seed + 0x3C6EF372u, stream + 0x76CF5D0Au)
    LAMINA_PHILOX_ROUND(seed + 0xDAA66D2Bu, stream + 0x32370B8Fu)
    LAMINA_PHILOX_ROUND(seed + 0x78DDE6E4u, stream + 0xED9EBA14u)
    LAMINA_PHILOX_ROUND(seed + 0x1715609Du, stream + 0xA9066899u)
    LAMINA_PHILOX_ROUND(seed + 0xB54CDA56u, stream + 0x646E171Eu)
    LAMINA_PHILOX_ROUND(seed + 0x5384540Fu, stream + 0x1FD5C5A3u)
    LAMINA_PHILOX_ROUND(seed + 0xF1BBCDC8u, stream + 0xDB3D7428u)
    LAMINA_PHILOX_ROUND(seed + 0x8FF34781u, stream + 0x96A522ADu)
    *x0 = _c0; *x1 = _c1; *x2 = _c2; *x3 = _c3;
}
// Box–Muller on the bits, double: uniforms through the exponent-of-one trick (exact, vectorisable;
// AVX2 has no 64-bit integer → double conversion).
LAMINA_FN double lamina_randn_double(const int64_t seed, const int64_t stream, const int64_t neuron,
                                     const int64_t step) {
    uint32_t x0, x1, x2, x3;
    lamina_philox((uint32_t)seed, (uint32_t)stream, (uint32_t)neuron, (uint64_t)step, &x0, &x1, &x2, &x3);
    const uint64_t b1 = ((((uint64_t)x0 << 32) | x1) >> 12) | 0x3FF0000000000000ull;
    const uint64_t b2 = ((((uint64_t)x2 << 32) | x3) >> 12) | 0x3FF0000000000000ull;
    double d1, d2;
    memcpy(&d1, &b1, sizeof d1);
    memcpy(&d2, &b2, sizeof d2);
    const double u1 = 2.0 - d1;        // (0, 1]
    const double s = 2.0 * d2 - 3.0;   // [-1, 1)
    return sqrt(-2.0 * log(u1)) * cos(3.141592653589793 * s);
}
// Single precision: the top 23 bits of the same uniforms.
LAMINA_FN float lamina_randn_float(const int64_t seed, const int64_t stream, const int64_t neuron,
                                   const int64_t step) {
    uint32_t x0, x1, x2, x3;
    lamina_philox((uint32_t)seed, (uint32_t)stream, (uint32_t)neuron, (uint64_t)step, &x0, &x1, &x2, &x3);
    const uint32_t b1 = (x0 >> 9) | 0x3F800000u, b2 = (x2 >> 9) | 0x3F800000u;
    float d1, d2;
    memcpy(&d1, &b1, sizeof d1);
    memcpy(&d2, &b2, sizeof d2);
    const float u1 = 2.0f - d1, s = 2.0f * d2 - 3.0f;
    return sqrtf(-2.0f * logf(u1)) * cosf(3.14159265f * s);
}
#endif
"""


def _float_type(dtype: type | np.dtype | None = None) -> str:
    dtype = prefs.core.default_float_dtype if dtype is None else dtype
    return "float" if np.dtype(dtype) == np.float32 else "double"


def support_code(dtype: type | np.dtype | None = None) -> str:
    """The C/CUDA source of ``lamina_randn`` for ``dtype`` (default: Brian2's float preference).

    Parameters
    ----------
    dtype : numpy.float32 or numpy.float64, optional
        Precision of the returned number; default ``prefs.core.default_float_dtype``.

    Returns
    -------
    str
        C99/C++/CUDA code defining ``lamina_randn(seed, stream, neuron, step)`` (and its helpers
        ``lamina_philox``, ``lamina_randn_double``, ``lamina_randn_float``), usable in a
        hand-written program as well.
    """
    ft = _float_type(dtype)
    # lamina_randn is a macro: one source holds both precisions, so two code objects of different
    # precision can never clash; the name Brian2 writes into the generated code is lamina_randn.
    return _C_CORE + f"#undef lamina_randn\n#define lamina_randn lamina_randn_{ft}\n"


def _lamina_randn(seed, stream, neuron, step):
    """numpy implementation for Brian2's runtime target (precision from Brian2's preference)."""
    return randn_numpy(seed, stream, neuron, step, prefs.core.default_float_dtype)


lamina_randn = Function(
    _lamina_randn,
    arg_units=[1, 1, 1, 1],
    arg_names=["seed", "stream", "neuron", "step"],
    return_unit=1,
    arg_types=["integer", "integer", "integer", "integer"],
    return_type="float",
    # stateless: a pure function. Brian2 then allows several calls in one expression (a sum of
    # draws, as benchmarks/integrator_accuracy.py uses; a stateful function is refused there)
    # and hoists a call out of the neuron loop only if every argument is scalar (``i`` is not).
    # auto_vectorise=False: no hidden ``_vectorisation_idx`` argument; the neuron is explicit.
    stateless=True,
    auto_vectorise=False,
)
lamina_randn.implementations.add_implementation("numpy", code=_lamina_randn)
# Dynamic: the precision is read from the preferences when the code is generated (after the
# backend has set them), not when this module is imported.
for _target in ("cpp", "cuda"):
    lamina_randn.implementations.add_dynamic_implementation(
        _target, code=lambda owner: {"support_code": support_code()}, namespace=lambda owner: {},
        name="lamina_randn")


def replace_xi(equations: str, seed: str = "noise_seed", neuron: str = "i", stream: int = 0) -> str:
    """Replace Brian2's ``xi`` (and ``xi_<name>``) in an equation string by ``lamina_randn``.

    Parameters
    ----------
    equations : str
        Brian2 equations; each distinct ``xi``/``xi_*`` name gets its own stream.
    seed : str
        The model variable holding the seed (declare it, e.g. ``noise_seed : integer (constant, shared)``).
    neuron : str
        The per-neuron counter (``i`` or a per-neuron integer variable).
    stream : int
        The stream of the first noise name; further names get ``stream + 1``, … in order of
        first appearance.

    Returns
    -------
    str
        The equations with ``xi`` → ``(lamina_randn(seed, stream, neuron, t_in_timesteps)/sqrt(dt))``,
        which is the same SDE scheme under ``euler`` and ``heun`` (see the module docstring).
    """
    names: list[str] = []
    for m in re.finditer(r"\bxi(?:_\w+)?\b", equations):
        if m.group(0) not in names:
            names.append(m.group(0))
    for k, name in enumerate(names):
        term = f"(lamina_randn({seed}, {stream + k}, {neuron}, t_in_timesteps)/sqrt(dt))"
        equations = re.sub(rf"\b{name}\b", term, equations)
    return equations


def seed_to_int32(seed: int) -> int:
    """A seed in [0, 2**32) (or any int, taken mod 2**32) as the int32 with the same bits: Brian2's
    ``integer`` variables are int32, and the generated code reads them back as uint32.

    Parameters
    ----------
    seed : int
        The seed.

    Returns
    -------
    int
        The value in [-2**31, 2**31) to store in an ``integer`` model variable.
    """
    s = int(seed) & 0xFFFFFFFF
    return s - (1 << 32) if s >= 1 << 31 else s


def register_default() -> None:
    """Make ``lamina_randn`` known in every Brian2 namespace (adds it to ``DEFAULT_FUNCTIONS``)."""
    DEFAULT_FUNCTIONS["lamina_randn"] = lamina_randn
