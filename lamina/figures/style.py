"""Shared plotting helpers for the paper figures (matplotlib Agg only); statistics: lamina.analysis.stats."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

# One colour per cell type, used by every figure.
CELL_COLORS = {
    "input": "0.45", "int": "tab:blue", "int0": "tab:blue", "class1": "tab:cyan", "diff": "tab:red",
    "class2": "tab:purple", "class3": "tab:pink", "mid7": "tab:olive", "mid10": "tab:green",
    "mid12": "tab:brown", "inh": "tab:orange",
}
NETWORK_COLORS = {"Het": "tab:green", "Diff-only": "tab:red", "Int-only": "tab:blue",
                  "Reversed Het": "tab:purple", "All-Diff": "tab:red", "All-Int": "tab:blue",
                  "Reversed": "tab:purple", "β_w −7 mV": "tab:olive", "β_w −10 mV": "tab:brown",
                  "β_w −12 mV": "tab:pink"}


def plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as pyplot

    pyplot.rcParams.update({"font.size": 8, "axes.spines.top": False, "axes.spines.right": False,
                            "axes.titlesize": 8, "legend.fontsize": 7, "figure.dpi": 100})
    return pyplot


def variant(cell_ref: str) -> str:
    """'prescott.int' → 'int'."""
    return cell_ref.split(".", 1)[-1]


def cell_color(cell_ref: str) -> str:
    return CELL_COLORS.get(variant(cell_ref), "k")


def save(fig, out_dir: str | Path, fig_id: str, caption: str) -> list[Path]:
    """Write <fig_id>.png (150 dpi), <fig_id>.pdf and the caption <fig_id>.txt atomically."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for suffix in (".png", ".pdf"):
        final = out_dir / f"{fig_id}{suffix}"
        tmp = out_dir / f".{fig_id}.tmp{suffix}"
        fig.savefig(tmp, dpi=150)
        tmp.replace(final)
        paths.append(final)
    txt = out_dir / f"{fig_id}.txt"
    tmp = out_dir / f".{fig_id}.tmp.txt"
    tmp.write_text(caption.rstrip() + "\n")
    tmp.replace(txt)
    paths.append(txt)
    import matplotlib.pyplot as pyplot

    pyplot.close(fig)
    return paths


def psth(times_ms: np.ndarray, n_neurons: int, t_stop: float, bin_ms: float = 1.0,
         t_start: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Peri-stimulus time histogram as a rate per neuron (Hz): (bin centres ms, rate)."""
    from ..analysis import population_rate

    return population_rate(times_ms, t_start, t_stop, bin_ms, n_neurons=max(1, int(n_neurons)))


def raster(ax, run, layers: Sequence[dict] | None = None, max_neurons: int = 100,
           t_range: tuple[float, float] | None = None, size: float = 0.6) -> None:
    """Stacked raster of the first ``max_neurons`` neurons of each layer, coloured by cell type,
    first layer on top; layer names on the right."""
    layers = list(layers if layers is not None else run.layers)
    offset = 0
    ticks, names = [], []
    for layer in layers:
        n = min(int(layer["size"]), max_neurons)
        t, i = run.spikes.get(layer["name"], (np.empty(0), np.empty(0)))
        keep = i < n
        if t_range is not None:
            keep &= (t >= t_range[0]) & (t <= t_range[1])
        ax.scatter(t[keep], offset + i[keep].astype(float), s=size, color=cell_color(layer["cell"]),
                   linewidths=0, rasterized=True)
        ticks.append(offset + n / 2)
        names.append(variant(layer["cell"]).capitalize())
        offset += n
        ax.axhline(offset, color="0.85", lw=0.4)
    ax.set_ylim(offset, 0)
    ax.set_yticks(ticks)
    ax.set_yticklabels(names, fontsize=6)
    if t_range is not None:
        ax.set_xlim(*t_range)
