"""Figures from result files (matplotlib only, Agg backend, one consistent style)."""
from __future__ import annotations

from pathlib import Path

import numpy as np


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 9, "axes.spines.top": False, "axes.spines.right": False})
    return plt


def raster_and_rates(run, out: str | Path, max_neurons: int = 300, smooth_ms: float = 1.0) -> Path:
    """Raster (first ``max_neurons`` of each layer, layers stacked) and per-layer population
    rate. ``run`` is a :class:`lamina.store.RunData`. Writes ``out`` (.png/.pdf by suffix)."""
    plt = _plt()
    layers = run.layers
    fig, (ax_r, ax_p) = plt.subplots(2, 1, figsize=(7, 7), sharex=True,
                                     gridspec_kw={"height_ratios": [3, 2]})
    colors = plt.cm.viridis(np.linspace(0, 0.9, len(layers)))
    offset = 0
    for layer, c in zip(layers, colors):
        n = min(int(layer["size"]), max_neurons)
        t, i = run.spikes.get(layer["name"], (np.empty(0), np.empty(0)))
        keep = i < n
        ax_r.scatter(t[keep], offset + i[keep].astype(float), s=0.5, color=c, linewidths=0)
        ax_r.text(1.01, (offset + n / 2) / 1.0, layer["name"], transform=ax_r.get_yaxis_transform(),
                  va="center", fontsize=7)
        offset += n
        rate = run.rates[layer["name"]].astype(float)
        if smooth_ms > 0:
            w = max(1, int(round(smooth_ms / run.rate_dt_ms)))
            k = np.exp(-0.5 * (np.arange(-4 * w, 4 * w + 1) / w) ** 2)
            rate = np.convolve(rate, k / k.sum(), mode="same")
        tt = (np.arange(len(rate)) + 0.5) * run.rate_dt_ms
        ax_p.plot(tt, rate, color=c, lw=1, label=f'{layer["name"]} ({layer["cell"]})')
    ax_r.set_ylim(offset, 0)
    ax_r.set_ylabel(f"neuron (first {max_neurons} per layer)")
    ax_r.set_title(f'{run.attrs.get("name", "")} — seed {run.attrs.get("seed")}', fontsize=9)
    ax_p.set_xlabel("time (ms)")
    ax_p.set_ylabel(f"population rate (Hz/neuron, {smooth_ms:g} ms Gaussian)")
    ax_p.set_ylim(bottom=0)
    ax_p.legend(fontsize=6, ncol=2, frameon=False)
    fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp{out.suffix}")
    fig.savefig(tmp, dpi=150)
    plt.close(fig)
    tmp.replace(out)
    return out
