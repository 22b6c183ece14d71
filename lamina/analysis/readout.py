"""Per-layer readout of one run: the numbers ``lamina run`` prints and ``lamina analyze`` stores.

Plain arrays in (layer descriptions, spike times in ms, the stimulus description), plain numbers
out; no HDF5 (``lamina.store`` reads and writes the files).

One name per number, the same in ``/analysis``, in :func:`layer_rows` (the ``lamina run`` table)
and in the figure tables (:func:`lamina.figures.packets.packet_rows`):

========================  ==================================================================
``rate_hz``               mean rate per neuron over the analysed window, Hz
``n_spikes``              spikes in the analysed window
``n_neurons``             layer size
``packet_size``           spikes in the packet window minus the expected background (≥ 0)
``packet_sd_ms``          SD of the spike times in the packet window, ms
``packet_latency_ms``     mean spike time in the packet window, ms after the stimulus onset
``packet_peak_ms``        centre of the histogram's peak bin, ms after the stimulus onset
``packet_n_window``       raw spike count in the packet window
``packet_baseline``       expected background spikes in the window (what was subtracted)
``baseline_rate_hz``      the background rate per neuron that gave ``packet_baseline``, Hz
``packet_size_free``      window-free: spikes above the background per neuron (moments)
``packet_sd_free_ms``     window-free: SD of the baseline-subtracted spike times, ms
``packet_latency_free_ms`` window-free: their centroid, ms after the stimulus onset
``packet_count_raw``      raw spike count in the window-free measure's final window
``packet_free_half_ms``   half-width of that window (centroid ± 3 SD, within 5 … 80 ms), ms
``packet_free_z``         Poisson z-score of the window-free excess (size / √background)
``packet_size_fit``       Gaussian-plus-baseline fit: spikes in the Gaussian per neuron
``packet_sd_fit_ms``      its SD, ms
``packet_latency_fit_ms`` its centre, ms after the stimulus onset
========================  ==================================================================

The window-free numbers (:func:`packet_readout_free`, :func:`lamina.analysis.packets.packet_moments`
and :func:`~lamina.analysis.packets.packet_gaussian_fit`) have no 8/√12 ≈ 2.31 ms SD ceiling; the
paper's readout stays the default (``packet_size``, ``packet_sd_ms``, ...) for comparison.

The stimulus onset (:func:`stimulus_onset_ms`) is the pulse packet's ``t0``; every packet time is
relative to it.
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

#: Packet readout settings (Han, De Schutter & Hong 2020): histogram bins over the packet range and
#: half-width of the window around the peak bin, ms.
PACKET_N_BINS = 200
PACKET_WINDOW_MS = 4.0

#: Settings of the continuous-input (OU) measures, shared by ``lamina analyze`` and the figures.
MI_BIN_MS = 1.0  # rate bin for MI / coherence / filters with continuous inputs
MAX_LAG_MS = 50.0  # longest stimulus → layer lag searched
SKIP_MS = 50.0  # initial transient (network settling from its initial state) left out of OU analyses
# Welch segments: 1.95 Hz resolution (issue 13 asks for <= 2 Hz); a 10 s run gives ~38 half-
# overlapping segments. Shorter runs use a quarter of their length (analysis.spectral._pair).
WELCH_SEGMENT_MS = 512.0
ESTIMATOR_SEED = 0  # KSG jitter and shift-null seed: the numbers are a function of the data alone


def stimulus_onset_ms(stimulus: Mapping) -> float:
    """The time every packet time is measured from.

    Parameters
    ----------
    stimulus : mapping
        The run's stimulus description (``/stimulus`` attributes).

    Returns
    -------
    float
        The pulse packet's centre ``t0_ms``, the OU current's ``start_ms``, else 0 (ms).
    """
    for key in ("t0_ms", "start_ms"):
        if key in stimulus:
            return float(stimulus[key])
    return 0.0


def analysis_start_ms(stimulus: Mapping) -> float:
    """Start of the analysed window, ms: :data:`SKIP_MS` for an OU input (its measures assume a
    stationary response), else 0."""
    return SKIP_MS if stimulus.get("kind") == "ou" else 0.0


def packet_readout(spike_times: np.ndarray, n_neurons: int, t_start_ms: float, t_stop_ms: float, *,
                   onset_ms: float = 0.0, baseline_rate_hz: float | None = None,
                   window_ms: float = PACKET_WINDOW_MS) -> dict[str, float]:
    """The packet numbers of one layer, under the names ``lamina analyze`` stores.

    Parameters
    ----------
    spike_times : array
        Pooled spike times of the layer, ms.
    n_neurons : int
        Layer size.
    t_start_ms, t_stop_ms : float
        Histogram range of :func:`lamina.analysis.pulse_packet` (:data:`PACKET_N_BINS` bins), ms.
    onset_ms : float
        Stimulus onset; ``packet_latency_ms`` and ``packet_peak_ms`` are relative to it, ms.
    baseline_rate_hz : float, optional
        Background rate per neuron whose expected count in the window is subtracted, Hz.
    window_ms : float
        Half-width of the packet window around the peak bin, ms.

    Returns
    -------
    dict
        ``packet_size``, ``packet_sd_ms``, ``packet_latency_ms``, ``packet_peak_ms``,
        ``packet_n_window``, ``packet_baseline``, ``baseline_rate_hz`` (NaN if none), floats.
    """
    from .packets import pulse_packet

    subtract = baseline_rate_hz is not None and np.isfinite(baseline_rate_hz)
    pk = pulse_packet(spike_times, t_start_ms, t_stop_ms, n_bins=PACKET_N_BINS, window=window_ms,
                      baseline_rate=float(baseline_rate_hz) if subtract else None,
                      n_neurons=int(n_neurons) if subtract else None)
    return {"packet_size": float(pk.alpha), "packet_sd_ms": float(pk.sigma),
            "packet_latency_ms": float(pk.latency) - onset_ms, "packet_peak_ms": float(pk.peak_time) - onset_ms,
            "packet_n_window": float(pk.n_window), "packet_baseline": float(pk.baseline),
            "baseline_rate_hz": float(baseline_rate_hz) if subtract else float("nan")}


#: Units of the window-free packet numbers, for ``/analysis`` (merge into
#: ``lamina.store.run.ANALYSIS_META``): name -> (units, method).
FREE_META = {
    "packet_size_free": ("spikes per neuron", "packet_moments: spikes in centroid ± 3 SD minus the expected "
                                              "background, / layer size"),
    "packet_sd_free_ms": ("ms", "packet_moments: SD of the baseline-subtracted spike-time distribution"),
    "packet_latency_free_ms": ("ms", "packet_moments: centroid of the baseline-subtracted spike times, after the "
                                     "stimulus onset"),
    "packet_count_raw": ("spikes", "packet_moments: raw count in the final moments window"),
    "packet_free_half_ms": ("ms", "packet_moments: half-width of the final window"),
    "packet_free_z": ("1", "packet_moments: excess / sqrt(expected background)"),
    "packet_size_fit": ("spikes per neuron", "packet_gaussian_fit: Poisson ML fit of b + A N(mu, s), A / size"),
    "packet_sd_fit_ms": ("ms", "packet_gaussian_fit: s"),
    "packet_latency_fit_ms": ("ms", "packet_gaussian_fit: mu after the stimulus onset"),
}


def packet_readout_free(spike_times: np.ndarray, n_neurons: int, t_start_ms: float, t_stop_ms: float, *,
                        onset_ms: float = 0.0, baseline_rate_hz: float | None = None) -> dict[str, float]:
    """Window-free packet numbers of one layer, under the names ``lamina analyze`` stores.

    Parameters
    ----------
    spike_times : array
        Pooled spike times of the layer, ms.
    n_neurons : int
        Layer size.
    t_start_ms, t_stop_ms : float
        Search range (for a pulse packet: from the end of the pre-stimulus baseline window to the
        end of the run), ms.
    onset_ms : float
        Stimulus onset; the latencies are relative to it, ms.
    baseline_rate_hz : float, optional
        Background rate per neuron subtracted by the moments, Hz (the fit estimates its own).

    Returns
    -------
    dict
        The :data:`FREE_META` names, floats: baseline-subtracted moments
        (:func:`lamina.analysis.packets.packet_moments`) and a Gaussian-plus-baseline fit
        (:func:`lamina.analysis.packets.packet_gaussian_fit`, started from the moments). Sizes are
        per neuron.
    """
    from .packets import packet_gaussian_fit, packet_moments

    subtract = baseline_rate_hz is not None and np.isfinite(baseline_rate_hz)
    n = int(n_neurons)
    m = packet_moments(spike_times, t_start_ms, t_stop_ms, float(baseline_rate_hz) if subtract else None,
                       n if subtract else None)
    f = packet_gaussian_fit(spike_times, t_start_ms, t_stop_ms, centre=m.centroid, sd=m.sd)
    return {"packet_size_free": m.size / n, "packet_sd_free_ms": m.sd, "packet_latency_free_ms": m.centroid - onset_ms,
            "packet_count_raw": float(m.n_raw), "packet_free_half_ms": 0.5 * (m.hi - m.lo), "packet_free_z": m.z,
            "packet_size_fit": f.size / n if f.ok else float("nan"), "packet_sd_fit_ms": f.sd if f.ok else float("nan"),
            "packet_latency_fit_ms": f.centre - onset_ms if f.ok else float("nan")}


def free_search_start_ms(stimulus: Mapping) -> float:
    """Start of the window-free packet search, ms: the end of the pre-stimulus baseline window
    (t0 − 4 sigma − 5 ms, at least 0) for a pulse packet, else 0."""
    if stimulus.get("kind") != "pulse_packet":
        return 0.0
    return max(0.0, float(stimulus["t0_ms"]) - 4 * float(stimulus["sigma_ms"]) - 5.0)


def free_table_columns() -> list[tuple[str, str, str]]:
    """Extra columns for the ``lamina run`` / ``lamina info`` table: the window-free packet numbers.

    Returns
    -------
    list of (key, header, format)
        In the form of ``lamina.cli.format_table``'s ``cols``; :func:`layer_rows` fills these keys
        for pulse-packet inputs. Put them after the window columns (``packet_sd_ms``).
    """
    return [("packet_sd_free_ms", "SD free (ms)", "{:.2f}"),
            ("packet_size_free", "size free (/neuron)", "{:.3f}"),
            ("packet_latency_free_ms", "latency free (ms)", "{:.1f}")]


def rebaseline_packet(numbers: Mapping, n_neurons: int, baseline_rate_hz: float | None,
                      window_ms: float = PACKET_WINDOW_MS) -> dict[str, float]:
    """The same packet with another background subtracted (e.g. the rate of another run).

    The window, its raw count, SD and latency do not depend on the background, so only
    ``packet_size``, ``packet_baseline`` and ``baseline_rate_hz`` change; the arithmetic is
    :func:`lamina.analysis.pulse_packet`'s.

    Parameters
    ----------
    numbers : mapping
        One layer's packet numbers (a layer group of ``RunData.analysis``, or
        :func:`packet_readout`'s output).
    n_neurons : int
        Layer size.
    baseline_rate_hz : float or None
        Background rate per neuron, Hz; None subtracts nothing.
    window_ms : float
        Half-width of the packet window the numbers were read with (``/analysis`` attribute
        ``packet_window_ms``), ms.

    Returns
    -------
    dict
        A copy of the packet entries of ``numbers`` (floats) with the new background.
    """
    from .packets import background_count

    out = {k: float(v) for k, v in numbers.items() if k.startswith("packet_") or k == "baseline_rate_hz"}
    if baseline_rate_hz is None or not np.isfinite(baseline_rate_hz):
        out.update(packet_size=out["packet_n_window"], packet_baseline=0.0, baseline_rate_hz=float("nan"))
        return out
    base = background_count(baseline_rate_hz, n_neurons, window_ms)
    out.update(packet_size=max(0.0, out["packet_n_window"] - base), packet_baseline=base,
               baseline_rate_hz=float(baseline_rate_hz))
    return out


def baseline_window(stimulus: Mapping, duration_ms: float) -> tuple[float, float] | None:
    """A pre-stimulus window for the spontaneous rate, ms.

    Parameters
    ----------
    stimulus : mapping
        The run's stimulus description.
    duration_ms : float
        Run duration, ms.

    Returns
    -------
    tuple of float or None
        (20 ms — after the initial transient —, t0 − 4 sigma − 5 ms) of a pulse packet, if at
        least 20 ms long; else None.
    """
    if stimulus.get("kind") != "pulse_packet":
        return None
    stop = float(stimulus["t0_ms"]) - 4 * float(stimulus["sigma_ms"]) - 5.0
    return (20.0, stop) if stop - 20.0 >= 20.0 else None


def window_rates(layers: list[dict], spikes: dict, t_start: float, t_stop: float) -> dict[str, float]:
    """Mean rate per neuron (Hz) of each layer over [t_start, t_stop) ms.

    Parameters
    ----------
    layers : list of dict
        ``{"name", "size", ...}`` per layer.
    spikes : dict
        layer name -> (spike times in ms, node ids).
    t_start, t_stop : float
        Window, ms.

    Returns
    -------
    dict
        layer name -> rate, Hz per neuron.
    """
    out = {}
    for layer in layers:
        t = spikes.get(layer["name"], (np.empty(0), np.empty(0)))[0]
        out[layer["name"]] = np.count_nonzero((t >= t_start) & (t < t_stop)) / int(layer["size"]) / ((t_stop - t_start) / 1e3)
    return out


def baseline_rates(layers: list[dict], spikes: dict, duration_ms: float, stimulus: Mapping) -> dict[str, float] | None:
    """Spontaneous rate (Hz per neuron) of each layer in :func:`baseline_window`, or None.

    Parameters
    ----------
    layers, spikes
        As :func:`window_rates`.
    duration_ms : float
        Run duration, ms.
    stimulus : mapping
        The run's stimulus description.

    Returns
    -------
    dict or None
        layer name -> rate, Hz per neuron; None without a long enough pre-stimulus window.
    """
    win = baseline_window(stimulus, duration_ms)
    return None if win is None else window_rates(layers, spikes, *win)


def continuous_signals(stimulus: Mapping, spikes: dict, layers: list[dict]) -> tuple[np.ndarray, dict, float]:
    """The input current and the layers' rates on one grid, as the continuous measures use them.

    Parameters
    ----------
    stimulus : mapping
        The run's stimulus description with its ``current`` trace and ``current_dt_ms``.
    spikes : dict
        layer name -> (spike times in ms, node ids).
    layers : list of dict
        ``{"name", "size", ...}`` of the layers wanted.

    Returns
    -------
    stim : array
        Input current block-averaged to :data:`MI_BIN_MS` bins from :func:`analysis_start_ms`.
    rates : dict
        layer name -> population rate per neuron (Hz) in the same bins.
    bin_s : float
        Bin width, s.
    """
    from .rates import binned_stimulus_and_rates

    dt_ms = float(stimulus["current_dt_ms"])
    t0 = analysis_start_ms(stimulus)
    k0 = int(round(t0 / dt_ms))
    stim, rates = binned_stimulus_and_rates(
        np.asarray(stimulus["current"], float)[k0:], dt_ms,
        {l["name"]: spikes.get(l["name"], (np.empty(0), None))[0] for l in layers},
        {l["name"]: int(l["size"]) for l in layers}, MI_BIN_MS, t0)
    return stim, rates, MI_BIN_MS / 1e3


def layer_rows(layers: list[dict], spikes: dict, duration_ms: float, stimulus: Mapping) -> list[dict]:
    """The ``lamina run`` / ``lamina info`` table: one dict per layer.

    Parameters
    ----------
    layers : list of dict
        ``{"name", "cell", "size", ...}`` per layer, in network order.
    spikes : dict
        layer name -> (spike times in ms, node ids).
    duration_ms : float
        Run duration, ms.
    stimulus : mapping
        The run's stimulus description.

    Returns
    -------
    list of dict
        ``layer``, ``cell``, ``n_neurons``, ``n_spikes``, ``rate_hz`` (over the analysed window,
        :func:`analysis_start_ms` … end) and, for pulse-packet inputs, the :func:`packet_readout`
        numbers with the pre-packet spontaneous count subtracted and the window-free
        :func:`packet_readout_free` numbers — what ``lamina analyze`` stores.
    """
    rows = []
    bases = baseline_rates(layers, spikes, duration_ms, stimulus)
    t_start = analysis_start_ms(stimulus)
    for layer in layers:
        name, size = layer["name"], int(layer["size"])
        t = spikes.get(name, (np.empty(0), np.empty(0)))[0]
        n = int(np.count_nonzero((t >= t_start) & (t < duration_ms)))
        row = {"layer": name, "cell": layer["cell"], "n_neurons": size, "n_spikes": n,
               "rate_hz": n / size / ((duration_ms - t_start) / 1e3)}
        if stimulus.get("kind") == "pulse_packet":
            base = None if bases is None else bases[name]
            row.update(packet_readout(t, size, 0.0, duration_ms, onset_ms=stimulus_onset_ms(stimulus),
                                      baseline_rate_hz=base))
            row.update(packet_readout_free(t, size, free_search_start_ms(stimulus), duration_ms,
                                           onset_ms=stimulus_onset_ms(stimulus), baseline_rate_hz=base))
        rows.append(row)
    return rows
