"""The information recipes (lamina.figures.information, lamina.analysis.strength): the strength-MI pipeline against known answers on
synthetic trials, the filter tilt on known filters, condition labels, and one real end-to-end run
of ``lamina figures info_strength`` on a tiny spec."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import chain_spec
from scipy import signal

from lamina.analysis.spectral import gain_tilt
from lamina.analysis.strength import jackknife_half, n_response_bins, strength_mi
from lamina.figures.information import condition_label


def _trials(n_strengths=8, n_seeds=20):
    s = np.repeat(np.arange(n_strengths), n_seeds)
    seeds = np.tile(np.arange(n_seeds), n_strengths)
    return s, seeds


def test_strength_mi_of_a_perfect_and_of_an_unrelated_response():
    s, seeds = _trials()
    rng = np.random.default_rng(0)
    # 20 trials per strength → 5 bins of 32 trials. A response that orders the strengths perfectly
    # fills them as trials 0–31, 32–63, …: strengths 1, 3, 4 and 6 straddle a bin edge (splits
    # 12/8, 4/16, 16/4, 8/12), so MI = H(bin) − H(bin | strength) = log2 5 − (2 h(0.6) + 2 h(0.2)) / 8.
    def h(p):
        return -p * np.log2(p) - (1 - p) * np.log2(1 - p)

    perfect = s + 0.01 * rng.standard_normal(s.size)
    m = strength_mi(s, perfect, seeds, n_null=100)
    assert m["n_bins"] == 5
    assert m["plugin"] == pytest.approx(np.log2(5) - (2 * h(0.6) + 2 * h(0.2)) / 8, abs=1e-9)
    assert m["mi"] == pytest.approx(m["plugin"], abs=0.15)  # QE moves a saturated estimate little
    assert m["p"] < 0.02 and m["null95"] < 0.4
    unrelated = rng.standard_normal(s.size)
    u = strength_mi(s, unrelated, seeds, n_null=100)
    assert u["plugin"] > 0.1  # the plug-in bias: (8 - 1)(5 - 1) / (2 · 160 · ln 2) ≈ 0.13 bits
    assert abs(u["mi"]) < 0.1 and u["p"] > 0.05  # corrected value near 0, inside the null
    assert u["mi"] - u["half"] < 0 < u["mi"] + u["half"] or abs(u["mi"]) < 0.05


def test_strength_mi_codes_dead_trials_as_one_response():
    """Latency: only alive trials are binned; 'no packet' is a response of its own, so a layer
    that fires only for the strong half carries 1 bit even though its latencies are noise."""
    s, seeds = _trials(4, 16)
    rng = np.random.default_rng(1)
    alive = s >= 2
    latency = np.where(alive, rng.normal(10.0, 1.0, s.size), np.nan)
    m = strength_mi(s, latency, seeds, alive=alive, n_null=50)
    assert m["plugin"] == pytest.approx(1.0, abs=0.1)
    assert m["p"] < 0.05


def test_bins_and_jackknife():
    assert n_response_bins(8, 20) == 5 and n_response_bins(8, 40) == 8 and n_response_bins(3, 3) == 2
    assert n_response_bins(4, 16) == 4
    loo = np.array([1.0, 1.0, 1.0])
    assert jackknife_half(loo) == 0.0
    # G = 2: se = sqrt(1/2 · 2 · 0.25) = 0.5, t(0.975, 1) = 12.706
    assert jackknife_half(np.array([0.0, 1.0])) == pytest.approx(12.706 * 0.5, rel=1e-3)


def test_gain_tilt_of_known_filters():
    f = np.linspace(0.5, 200, 400)
    lowpass = 1 / np.sqrt(1 + (f / 2.0) ** 2)  # corner 2 Hz: ~ 1/f across 4–60 Hz
    assert gain_tilt(f, lowpass) == pytest.approx(-1.0, abs=0.05)
    assert gain_tilt(f, f * 0.3) == pytest.approx(1.0, abs=1e-9)
    assert gain_tilt(f, np.full(f.size, 2.0)) == pytest.approx(0.0, abs=1e-9)
    # a derivative filter estimated from data through linear_filter
    from lamina.analysis import linear_filter

    x = np.random.default_rng(2).standard_normal(2**16)
    y = signal.lfilter([1.0, -1.0], [1.0], x)  # first difference: |H| ~ f at low frequency
    lf = linear_filter(x, y, 1e-3, nperseg=512)
    assert gain_tilt(lf.freqs, lf.gain) == pytest.approx(1.0, abs=0.05)


def test_condition_labels():
    nominal = {"cells.int.g_syn": "345 uS/cm**2", "cells.diff.g_syn": "975 uS/cm**2",
               "cells.int.sigma_noise": {"uniform": ["38 uA/cm**2", "53 uA/cm**2"]}}
    assert condition_label(nominal, nominal) == "nominal"
    lower = dict(nominal, **{"cells.int.g_syn": "276 uS/cm**2", "cells.diff.g_syn": "780 uS/cm**2"})
    assert condition_label(lower, nominal) == "g_syn × 0.8"
    noisy = dict(nominal, **{"cells.int.sigma_noise": {"uniform": ["45.6 uA/cm**2", "63.6 uA/cm**2"]}})
    assert condition_label(noisy, nominal) == "sigma_noise × 1.2"


HET4 = ["prescott.input", "prescott.int", "prescott.diff", "prescott.int", "prescott.diff"]


def _write_tiny(sims: Path, name: str, changes: dict) -> None:
    """sims/<name>.toml: a Het chain Input + 4 layers × 200 (the structure of test_paper_claims, so
    packet runs need no extra compile) with ``changes`` (dotted paths, as conftest.chain_spec)."""
    import tomli_w

    spec = chain_spec({"name": name, "simulation.duration": "160 ms", "simulation.seed": 1,
                       "network.layers": HET4, "input.sigma": "1 ms", "input.t0": "100 ms", **changes})
    sims.mkdir(exist_ok=True)
    (sims / f"{name}.toml").write_text(tomli_w.dumps(spec))


@pytest.mark.slow
def test_info_strength_recipe_end_to_end(tmp_path, cache_dir):
    """4 strengths × 8 seeds of a Het chain (the program of test_paper_claims, so no extra
    compile): 2 response bins. The input layer's packet size *is* the strength (it fires on the
    kicks), so it carries the full 1 bit; with every strength ≥ 20 % of the layer the packet is
    alive in every trial and its latency is the packet centre, the same for every strength, so
    ~0 bits (inside the null). (At 10 % the packet can fall below the alive threshold, and
    'no packet' is then information about the strength: see strength_mi.)"""
    from lamina.figures import Context, make_figures
    from lamina.figures.information import strength_table
    from lamina.figures.context import ensure_runs
    from lamina.figures.packets import packet_rows, rows_to_frame

    sims = tmp_path / "sims"
    _write_tiny(sims, "info_strength", {"input.alpha": 80, "sweep": {"input.alpha": [40, 80, 120, 160, 0], "seeds": 8,
                                                                       "seed_mode": "common"}})
    ctx = Context(scale="paper", results=tmp_path / "results", out=tmp_path / "figures", sims=sims, quiet=True)
    made = make_figures(["info_strength"], ctx)["info_strength"]
    assert [p.suffix for p in made] == [".png", ".pdf", ".txt"] and all(p.stat().st_size > 0 for p in made)
    caption = made[2].read_text()
    assert "Het: MI(strength; size) per layer" in caption and "Regenerate: lamina figures info_strength" in caption
    packets = (tmp_path / "figures" / "info_strength_packets.jsonl").read_text().splitlines()
    assert len(packets) == 4 * 8 * 5  # stimulated runs × layers
    df = rows_to_frame(packet_rows(ensure_runs(ctx, "info_strength", "info_strength")))
    assert ctx.simulated == 40 and ctx.reused == 40  # the second pass reuses every run
    table = {r["layer"]: r for r in strength_table(df, ["network"], n_null=100)}
    assert table[0]["size"]["n_bins"] == 2
    assert table[0]["size"]["plugin"] == pytest.approx(1.0, abs=1e-9)
    assert table[0]["size"]["p"] < 0.02
    assert abs(table[0]["latency"]["mi"]) < 0.25 and table[0]["latency"]["p"] > 0.01


@pytest.mark.slow
def test_diff_layers_undo_int_filtering(tmp_path, cache_dir):
    """The distortion claim (docs/results.md §8c) on Input + 4 layers × 200, 1 s of common OU input,
    2 seeds. Per layer, an Int layer low-passes the previous layer's rate (gain falls with
    frequency: tilt < 0) and a Diff layer high-passes it (tilt > 0); so the Het cascade's
    cumulative filter stays near the input's while Int-only's keeps tilting down. Measured at
    N = 1000 (5 seeds): Int −0.18 … −0.22, Diff +0.14 … +0.20 per layer; cumulative at layer 4
    Het −0.16, Int-only −0.79. The thresholds (±0.05, 0.2) leave room for the noisier small
    networks (tiny test runs: Int −0.10 … −0.30, Diff +0.10 … +0.18, cumulative gap 0.5)."""
    from lamina.figures.context import Context, ensure_runs
    from lamina.figures.filters import layer_filters

    sims = tmp_path / "sims"
    _write_tiny(sims, "ou_ffn", {
        "simulation.duration": "1 second",
        "input": {"kind": "ou", "tau": "5 ms", "mean": "25 uA/cm**2", "sigma": "12.5 uA/cm**2", "start": "0 ms"},
        "sweep": {"network.layers": [HET4, ["prescott.input"] + ["prescott.int"] * 4], "seeds": 2,
                  "seed_mode": "common"}})
    ctx = Context(scale="paper", results=tmp_path / "results", out=tmp_path / "figures", sims=sims, quiet=True)
    freqs, cum, step, cells = layer_filters(ensure_runs(ctx, "ou_filters", "ou_ffn"))

    def tilt(h):
        return np.mean([gain_tilt(freqs, np.abs(x)) for x in h])

    het = step["Het"]
    int_tilts = [tilt(het[z]) for z in het if cells["Het"][z] == "int"]
    diff_tilts = [tilt(het[z]) for z in het if cells["Het"][z] == "diff"]
    assert max(int_tilts) < -0.05 and min(diff_tilts) > 0.05, (int_tilts, diff_tilts)
    last = max(cum["Het"])
    assert tilt(cum["Int-only"][last]) < tilt(cum["Het"][last]) - 0.2


def test_cli_help_lists_every_figure_id():
    """The ids in `lamina figures --help` are the registry's (so the help cannot rot)."""
    import subprocess
    import sys

    from lamina.figures import figure_recipes

    out = subprocess.run([sys.executable, "-m", "lamina.cli", "figures", "--help"], capture_output=True, text=True)
    text = " ".join(out.stdout.split())
    assert all(f" {i}" in text for i in figure_recipes()), text
