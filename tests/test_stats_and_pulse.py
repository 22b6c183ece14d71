"""Issue 13 tests against values computed by hand: the Wilson interval, the ±4 ms readout-window
SD ceiling, and the fig2 input current (the authors' `jump` convention vs lamina's `amplitude`)."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from lamina.analysis import WINDOW_SD_CEILING_MS, wilson_interval, window_sd_ceiling
from lamina.config import ConfigError, load_experiment
from lamina.stimulus import (biexp_jump_pulse, biexp_pulse, jump_peak_factor, jump_peak_time,
                             realise)

Z95 = 1.959963984540054
SIMS = Path(__file__).resolve().parent.parent / "sims"


# ---------------------------------------------------------------------------------------------
# Wilson interval


def _wilson_by_hand(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


def test_wilson_closed_form_k2_n5():
    lo, hi = wilson_interval(2, 5)
    want = _wilson_by_hand(2, 5)
    assert (lo, hi) == pytest.approx(want, abs=1e-12)
    # the same numbers written out: p = 0.4, z² = 3.841459; centre 0.45808, half 0.34045
    assert lo == pytest.approx(0.117621, abs=1e-6)
    assert hi == pytest.approx(0.769276, abs=1e-6)


def test_wilson_known_values():
    # k = 0: lo = 0, hi = z²/n / (1 + z²/n) = 0.384146/1.384146 = 0.27753
    lo, hi = wilson_interval(0, 10)
    assert lo == 0.0
    assert hi == pytest.approx((Z95 ** 2 / 10) / (1 + Z95 ** 2 / 10), abs=1e-12)
    assert hi == pytest.approx(0.277533, abs=1e-6)
    # 0 of 5 seeds survive ("dies 5/5"): (0, 0.4345)
    assert wilson_interval(0, 5) == pytest.approx((0.0, 0.434482), abs=1e-6)
    # symmetry k ↔ n - k
    lo, hi = wilson_interval(5, 5)
    assert hi == 1.0 and lo == pytest.approx(1 - 0.434482, abs=1e-6)
    lo3, hi3 = wilson_interval(3, 5)
    lo2, hi2 = wilson_interval(2, 5)
    assert (lo3, hi3) == pytest.approx((1 - hi2, 1 - lo2), abs=1e-12)


def test_wilson_level_arrays_and_errors():
    # 90 %: z = 1.6448536269514722
    z90 = 1.6448536269514722
    assert wilson_interval(7, 20, level=0.90) == pytest.approx(_wilson_by_hand(7, 20, z90), abs=1e-12)
    lo, hi = wilson_interval(np.array([0, 2, 5]), 5)
    assert lo.shape == (3,) and lo[0] == 0.0 and hi[2] == 1.0
    assert (lo[1], hi[1]) == pytest.approx(_wilson_by_hand(2, 5), abs=1e-12)
    assert wilson_interval(0, 0) == (0.0, 1.0)
    for k, n, level in [(6, 5, 0.95), (-1, 5, 0.95), (1, 5, 1.0), (1, 5, 0.0)]:
        with pytest.raises(ValueError):
            wilson_interval(k, n, level=level)


# ---------------------------------------------------------------------------------------------
# Readout window ceiling


def test_window_sd_ceiling():
    assert window_sd_ceiling() == pytest.approx(8 / math.sqrt(12), abs=1e-12)
    assert WINDOW_SD_CEILING_MS == pytest.approx(2.3094, abs=1e-4)
    assert window_sd_ceiling(2.0) == pytest.approx(2 / math.sqrt(3), abs=1e-12)
    # it is the SD of uniform spike times over ±4 ms
    u = np.linspace(-4.0, 4.0, 200_001)
    assert np.std(u) == pytest.approx(WINDOW_SD_CEILING_MS, abs=1e-4)
    with pytest.raises(ValueError):
        window_sd_ceiling(-1.0)


# ---------------------------------------------------------------------------------------------
# fig2 current: jump of the rising variable


def _integrate(jump: float, tau_r: float, tau_d: float, t_end: float, h: float) -> tuple[np.ndarray, np.ndarray]:
    """RK4 of dI/dt = -I/tau_d + y/tau_r, dy/dt = -y/tau_r from I = 0, y = jump (times in ms)."""
    def f(s):
        i, y = s
        return np.array([-i / tau_d + y / tau_r, -y / tau_r])

    n = int(round(t_end / h))
    out = np.empty(n + 1)
    s = np.array([0.0, jump])
    out[0] = 0.0
    for k in range(n):
        k1 = f(s)
        k2 = f(s + h / 2 * k1)
        k3 = f(s + h / 2 * k2)
        k4 = f(s + h * k3)
        s = s + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        out[k + 1] = s[0]
    return np.arange(n + 1) * h, out


def test_jump_closed_form_matches_the_odes():
    t, i_num = _integrate(45.0, 15.0, 50.0, 300.0, 0.01)
    i_cf = biexp_jump_pulse(t, 45.0, 15.0, 50.0)
    assert np.max(np.abs(i_cf - i_num)) < 1e-9
    # the closed form written out, at one time
    t1 = 10.0
    assert biexp_jump_pulse(np.array([t1]), 45.0, 15.0, 50.0)[0] == pytest.approx(
        45 * 50 / 35 * (math.exp(-t1 / 50) - math.exp(-t1 / 15)), rel=1e-12)
    # equal time constants: I = jump * t/tau * exp(-t/tau)
    t, i_num = _integrate(2.0, 5.0, 5.0, 60.0, 0.01)
    assert np.max(np.abs(biexp_jump_pulse(t, 2.0, 5.0, 5.0) - i_num)) < 1e-9
    assert np.all(biexp_jump_pulse(np.array([-5.0, -0.01]), 45.0, 15.0, 50.0) == 0.0)


def test_jump_45_peaks_at_26_9_about_26_ms():
    t = np.arange(0, 200, 0.01)
    i = biexp_jump_pulse(t, 45.0, 15.0, 50.0)
    assert i.max() == pytest.approx(26.9, abs=0.1)
    assert t[np.argmax(i)] == pytest.approx(26.0, abs=1.0)
    # by hand: tp = 15*50/35 ln(50/15) = 25.80 ms; peak = 45*50/35*(0.3^(3/7) - 0.3^(10/7)) = 26.86
    assert jump_peak_time(15.0, 50.0) == pytest.approx(750 / 35 * math.log(50 / 15), rel=1e-12)
    assert 45 * jump_peak_factor(15.0, 50.0) == pytest.approx(45 * 50 / 35 * (0.3 ** (3 / 7) - 0.3 ** (10 / 7)),
                                                              rel=1e-12)
    assert 45 * jump_peak_factor(15.0, 50.0) == pytest.approx(26.861, abs=1e-3)
    # the amplitude convention gives the same trace when given the equivalent peak
    peak = 45 * jump_peak_factor(15.0, 50.0)
    assert np.allclose(biexp_pulse(t, peak, 15.0, 50.0), i, atol=1e-9)
    # and the old fig2 input (peak scaled to 45) was 45 / 26.86 = 1.675× too strong
    assert biexp_pulse(t, 45.0, 15.0, 50.0).max() / i.max() == pytest.approx(1.675, abs=1e-3)


def test_fig2_spec_uses_the_jump():
    exp = load_experiment(SIMS / "fig2.toml", scale="small")
    p = exp.input.params
    assert exp.input.kind == "current_pulse"
    assert float(p["jump"]) == pytest.approx(45e-2)  # 45 uA/cm² in SI (A/m²)
    assert float(p["onset"]) == pytest.approx(200.5e-3)
    assert float(p["amplitude"]) == pytest.approx(26.861e-2, rel=1e-4)  # the equivalent peak
    assert "amplitude" not in exp.spec["input"]  # the resolved spec keeps only what was written
    stim = realise(exp, np.random.default_rng(0))
    cu = float(exp.layer("ORN").cell.card.current_unit)
    cur = stim.current / cu
    t = np.arange(cur.size) * float(exp.dt) * 1e3
    assert cur.max() == pytest.approx(26.9, abs=0.1)
    assert t[np.argmax(cur)] - 200.5 == pytest.approx(26.0, abs=1.0)
    assert np.all(cur[t < 200.5 - 1e-9] == 0.0)


def _with_input(**inp):
    from lamina.config import experiment_from_dict

    spec = {"name": "pulse", "simulation": {"duration": "100 ms", "dt": "0.1 ms"},
            "network": {"layers": [{"cell": "prescott.input", "name": "A", "size": 2}]},
            "input": {"kind": "current_pulse", "onset": "10 ms", "tau_rise": "15 ms", "tau_decay": "50 ms", **inp}}
    return experiment_from_dict(spec)


def test_amplitude_keeps_working_and_exactly_one_is_required():
    exp = _with_input(amplitude="45 uA/cm**2")
    assert "jump" not in exp.input.params
    cu = float(exp.layer("A").cell.card.current_unit)
    cur = realise(exp, np.random.default_rng(0)).current / cu
    assert cur.max() == pytest.approx(45.0, abs=0.05)
    with pytest.raises(ConfigError, match="exactly one"):
        _with_input()
    with pytest.raises(ConfigError, match="exactly one"):
        _with_input(amplitude="45 uA/cm**2", jump="45 uA/cm**2")
    with pytest.raises(ConfigError):
        _with_input(jump="45 ms")
