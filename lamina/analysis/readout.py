"""Per-layer readout of one run: the numbers ``lamina run`` prints and ``lamina analyze`` stores.

Plain arrays in (layer descriptions, spike times in ms, the stimulus description), plain numbers
out; no HDF5 (``lamina.store`` reads and writes the files).
"""
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
    from .packets import pulse_packet

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


MI_BIN_MS = 1.0  # rate bin for MI / coherence with continuous inputs


def analyze_run(layers: list[dict], spikes: dict[str, tuple[np.ndarray, np.ndarray]], duration_ms: float,
                stimulus: dict) -> tuple[dict, dict, dict]:
    """Everything ``lamina analyze`` stores for one run.

    Parameters
    ----------
    layers : list of dict
        ``{"name", "size", ...}`` per layer, in network order.
    spikes : dict
        layer name -> (spike times in ms, node ids).
    duration_ms : float
        Run duration, ms.
    stimulus : dict
        The run's stimulus description (``kind``, packet ``t0_ms`` / ``sigma_ms``, or a
        ``current`` array with ``current_dt_ms``).

    Returns
    -------
    per_layer : dict
        layer -> {number name: value} (see :func:`lamina.analysis.layer_summary`).
    params : dict
        Estimator settings.
    filters : dict
        layer -> {"freq_hz", "gain", "phase_rad"} input → layer linear filter (continuous inputs).
    """
    from .rates import binned_stimulus_and_rates
    from .spectral import linear_filter
    from .summary import layer_summary

    kw: dict = {}
    bases = baseline_rates(layers, spikes, duration_ms, stimulus)
    if bases is not None:
        kw["baseline_rate_hz"] = bases
    current = stimulus.get("current")
    if current is not None:
        kw.update(stimulus=np.asarray(current, float), stimulus_dt_ms=float(stimulus["current_dt_ms"]),
                  mi_bin_ms=MI_BIN_MS)
    times = {l["name"]: spikes[l["name"]][0] for l in layers}
    sizes = {l["name"]: int(l["size"]) for l in layers}
    per_layer, params = layer_summary(times, sizes, duration_ms, **kw)
    filters = {}
    if current is not None:
        s, rates = binned_stimulus_and_rates(current, kw["stimulus_dt_ms"], times, sizes, MI_BIN_MS)
        for name, r in rates.items():
            f = linear_filter(s, r, MI_BIN_MS / 1e3)
            filters[name] = {"freq_hz": f.freqs, "gain": f.gain, "phase_rad": f.phase}
    return per_layer, params, filters
