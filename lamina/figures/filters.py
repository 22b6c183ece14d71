"""ou_filters: per-layer and cumulative linear (Wiener) filters of the OU-driven deep FFNs — does a
Diff layer undo an Int layer's filtering?"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..analysis import readout as _readout
from ..analysis.spectral import TILT_BAND_HZ, gain_tilt
from ..analysis.stats import format_mean_ci
from . import style as plots
from .context import Context, Run, ensure_runs
from .information import BIN_MS, SKIP_MS, _finish, _ou_signals

__all__ = ["layer_filters", "ou_filters"]


FILTER_NPERSEG = int(round(_readout.WELCH_SEGMENT_MS / _readout.MI_BIN_MS))  # lamina analyze's segments


def layer_filters(runs: list[Run], nperseg: int = FILTER_NPERSEG):
    """Transfer functions of OU-driven runs: (freqs, cumulative, per_layer, cells).

    Parameters
    ----------
    runs : list of Run
        Analysed OU-driven runs.
    nperseg : int
        Welch segment length (bins) of the per-layer filters.

    Returns
    -------
    freqs : array
        Hz.
    cumulative : dict
        ``cumulative[network][z]`` lists, per seed, the complex transfer function from the input
        current to layer z's population rate: the filter ``lamina analyze`` stored in
        ``/analysis/<layer>/filter`` (gain and phase; Welch segments of FILTER_NPERSEG bins).
    per_layer : dict
        ``per_layer[network][z]`` (z >= 1): from layer z-1's rate to layer z's, computed here
        (``/analysis`` holds input → layer filters only), same bins and ``nperseg``.
    cells : dict
        ``cells[network]``: the cell variant of each layer.
    """
    from ..analysis import linear_filter

    cum: dict[str, dict[int, list]] = {}
    step: dict[str, dict[int, list]] = {}
    cells: dict[str, list[str]] = {}
    freqs = np.empty(0)
    for r in runs:
        stim, rates, dt = _ou_signals(r)
        names = list(rates)
        cells[r.network] = [plots.variant(l["cell"]) for l in r.chain]
        for z, name in enumerate(names):
            stored = r.data.analysis[name]["filter"]
            freqs = np.asarray(stored["freq_hz"])
            cum.setdefault(r.network, {}).setdefault(z, []).append(
                np.asarray(stored["gain"]) * np.exp(1j * np.asarray(stored["phase_rad"])))
            if z > 0:
                g = linear_filter(rates[names[z - 1]], rates[name], dt, nperseg=nperseg)
                step.setdefault(r.network, {}).setdefault(z, []).append(g.transfer)
    return freqs, cum, step, cells


def ou_filters(ctx: Context) -> list[Path]:
    plt = plots.plt()
    runs = ensure_runs(ctx, "ou_filters", "ou_ffn")
    nets = list(dict.fromkeys(r.network for r in runs))
    nperseg = FILTER_NPERSEG
    freqs, cum, step, cells = layer_filters(runs, nperseg)
    band = (freqs > 0) & (freqs <= 150)
    fig, axes = plt.subplots(len(nets), 4, figsize=(7.5, 1.9 * len(nets) + 0.4), squeeze=False)
    lines = [f"ou_filters — linear (Wiener) filters of the OU-driven deep FFNs (sims/ou_ffn.toml), {BIN_MS:g} ms "
             f"bins, Welch segments of {nperseg} bins, first {SKIP_MS:g} ms dropped; transfer functions averaged "
             "(complex) over seeds. Cumulative: input current → layer z rate (Hz per uA/cm²); per layer: layer z−1 "
             "rate → layer z rate (Hz/Hz). Tilt = slope of log10 gain vs log10 f over "
             f"{TILT_BAND_HZ[0]:g}–{TILT_BAND_HZ[1]:g} Hz: negative = low-pass (integrating), positive = high-pass "
             "(differentiating). Mean ± 95 % CI of the tilt over seeds."]
    for i, net in enumerate(nets):
        zs = sorted(cum[net])
        colors = plt.cm.viridis_r(np.linspace(0.1, 0.95, len(zs)))
        lines.append(f"  {net} ({' → '.join(c.capitalize() for c in cells[net])}):")
        for z in zs:
            h = np.mean(cum[net][z], axis=0)
            axes[i, 0].loglog(freqs[band], np.abs(h[band]), color=colors[z], lw=0.8, label=f"layer {z}")
            axes[i, 1].semilogx(freqs[band], np.unwrap(np.angle(h[band])), color=colors[z], lw=0.8)
            tilts = [gain_tilt(freqs, np.abs(x)) for x in cum[net][z]]
            text = f"    layer {z} ({cells[net][z]}): cumulative tilt {format_mean_ci(tilts, 2)}"
            if z in step.get(net, {}):
                hs = np.mean(step[net][z], axis=0)
                axes[i, 2].loglog(freqs[band], np.abs(hs[band]), color=colors[z], lw=0.8)
                axes[i, 3].semilogx(freqs[band], np.unwrap(np.angle(hs[band])), color=colors[z], lw=0.8)
                text += f"; per-layer tilt {format_mean_ci([gain_tilt(freqs, np.abs(x)) for x in step[net][z]], 2)}"
            lines.append(text)
        axes[i, 0].set_ylabel(f"{net}\ncumulative gain")
        axes[i, 1].set_ylabel("cumulative phase (rad)")
        axes[i, 2].set_ylabel("per-layer gain (Hz/Hz)")
        axes[i, 3].set_ylabel("per-layer phase (rad)")
    for ax in axes[-1]:
        ax.set_xlabel("frequency (Hz)")
    axes[0, 0].legend(frameon=False, fontsize=5)
    return _finish(ctx, fig, "ou_filters", "Per-layer and cumulative filters: does Diff undo Int's filtering?",
                   lines, "ou_ffn")
