"""Human-readable per-layer summaries of a run (used by `lamina run` and `lamina info`)."""
from __future__ import annotations

import numpy as np


def baseline_window(stimulus: dict, duration_ms: float) -> tuple[float, float] | None:
    """A pre-stimulus window for the spontaneous rate: from 20 ms (initial transient) to
    t0 − 4 sigma − 5 ms of the pulse packet, if at least 20 ms long."""
    if stimulus.get("kind") != "pulse_packet":
        return None
    stop = float(stimulus["t0_ms"]) - 4 * float(stimulus["sigma_ms"]) - 5.0
    return (20.0, stop) if stop - 20.0 >= 20.0 else None


def window_rates(layers: list[dict], spikes: dict, t_start: float, t_stop: float) -> dict[str, float]:
    """Mean rate per neuron (Hz) of each layer over [t_start, t_stop) ms."""
    out = {}
    for layer in layers:
        t = spikes.get(layer["name"], (np.empty(0), np.empty(0)))[0]
        out[layer["name"]] = np.count_nonzero((t >= t_start) & (t < t_stop)) / int(layer["size"]) / ((t_stop - t_start) / 1e3)
    return out


def baseline_rates(layers: list[dict], spikes: dict, duration_ms: float, stimulus: dict) -> dict[str, float] | None:
    """Spontaneous rate (Hz per neuron) of each layer in :func:`baseline_window`, or None."""
    win = baseline_window(stimulus, duration_ms)
    return None if win is None else window_rates(layers, spikes, *win)


def layer_rows(layers: list[dict], spikes: dict, duration_ms: float, stimulus: dict) -> list[dict]:
    """One dict per layer: spikes, mean rate and, for packet inputs, packet size and SD with the
    spontaneous count (measured before the packet) subtracted."""
    from .analysis import pulse_packet

    rows = []
    bases = baseline_rates(layers, spikes, duration_ms, stimulus)
    for layer in layers:
        name, size = layer["name"], int(layer["size"])
        t = spikes.get(name, (np.empty(0), np.empty(0)))[0]
        row = {"layer": name, "cell": layer["cell"], "neurons": size, "spikes": int(len(t)),
               "rate_hz": len(t) / size / (duration_ms / 1e3)}
        if stimulus.get("kind") == "pulse_packet":
            base = None if bases is None else bases[name]
            pp = pulse_packet(t, 0.0, duration_ms, baseline_rate=base, n_neurons=size if base is not None else None)
            row.update(packet_alpha=float(pp.alpha), packet_sigma_ms=float(pp.sigma),
                       latency_ms=float(pp.latency), baseline_hz=base if base is not None else float("nan"))
        rows.append(row)
    return rows


def format_table(rows: list[dict]) -> str:
    cols = [("layer", "layer", "{}"), ("cell", "cell type", "{}"), ("neurons", "neurons", "{:d}"),
            ("spikes", "spikes", "{:d}"), ("rate_hz", "rate (Hz)", "{:.2f}"),
            ("packet_alpha", "packet size", "{:.0f}"), ("packet_sigma_ms", "packet SD (ms)", "{:.2f}"),
            ("latency_ms", "latency (ms)", "{:.1f}")]
    cols = [c for c in cols if any(c[0] in r for r in rows)]
    cells = [[h for _, h, _ in cols]] + [[f.format(r[k]) if k in r else "" for k, _, f in cols] for r in rows]
    widths = [max(len(row[j]) for row in cells) for j in range(len(cols))]
    lines = ["  ".join(c.rjust(w) if j > 1 else c.ljust(w) for j, (c, w) in enumerate(zip(row, widths)))
             for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
