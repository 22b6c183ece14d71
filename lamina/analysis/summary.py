"""Per-layer summary numbers of one run, for ``lamina analyze`` and HDF5 attributes."""
from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from typing import Any, TypeVar

import numpy as np
from numpy.typing import ArrayLike

from .batch import mi_batch
from .ksg import KSG_NOISE
from .rates import binned_stimulus_and_rates
from .packets import FREE_FIT_BIN_MS, FREE_MAX_HALF_MS, FREE_MIN_HALF_MS, FREE_N_SD
from .readout import (ESTIMATOR_SEED, MAX_LAG_MS, MI_BIN_MS, PACKET_N_BINS, PACKET_WINDOW_MS, WELCH_SEGMENT_MS,
                      analysis_start_ms, baseline_rates, continuous_signals, free_search_start_ms, packet_readout,
                      packet_readout_free, stimulus_onset_ms)
from .spectral import DEFAULT_NPERSEG, info_rate_coherence, info_rate_shift_null

T = TypeVar("T")
Scalar = float | int | str | bool

NAN = float("nan")


def _per_layer(value: Mapping[Hashable, T] | Sequence[T] | T | None, keys: list[Hashable], name: str) -> dict:
    """Broadcast a per-layer argument (mapping, sequence, scalar or None) to {key: value}."""
    if value is None or np.isscalar(value):
        return {key: value for key in keys}
    if isinstance(value, Mapping):
        missing = [key for key in keys if key not in value]
        if missing:
            raise ValueError(f"{name} lacks layers {missing}")
        return {key: value[key] for key in keys}
    values = list(value)  # type: ignore[arg-type]
    if len(values) != len(keys):
        raise ValueError(f"{name} has {len(values)} entries for {len(keys)} layers")
    return dict(zip(keys, values))


# Circularly shifted surrogates whose mean information rate is subtracted (the estimator's bias).
N_SHIFTS = 20


def layer_summary(
    spike_times: Mapping[Hashable, ArrayLike] | Sequence[ArrayLike],
    n_neurons: Mapping[Hashable, int] | Sequence[int],
    duration_ms: float,
    *,
    t_start_ms: float = 0.0,
    onset_ms: float = 0.0,
    packet_window_ms: float | None = 4.0,
    packet_range_ms: tuple[float, float] | None = None,
    packet_free: bool = True,
    free_search_ms: tuple[float, float] | None = None,
    baseline_rate_hz: Mapping[Hashable, float] | Sequence[float] | float | None = None,
    stimulus: ArrayLike | None = None,
    stimulus_dt_ms: float | None = None,
    mi_bin_ms: float | None = None,
    max_lag_ms: float = 50.0,
    ksg_k: int = 3,
    nperseg: int = DEFAULT_NPERSEG,
    seed: int = 0,
    transfer: bool = False,
) -> tuple[dict[Hashable, dict[str, float]], dict[str, Scalar]]:
    """Summary numbers for every layer of a run (a pure function of its arguments).

    Per layer (keys of ``spike_times`` if it is a mapping, else 0..L-1):

    * ``n_neurons``, ``n_spikes``, ``rate_hz``: mean rate per neuron over
      [t_start_ms, t_start_ms + duration_ms).
    * ``packet_size`` (spikes), ``packet_sd_ms``, ``packet_latency_ms`` and
      ``packet_peak_ms`` (ms after ``onset_ms``), ``packet_n_window``,
      ``packet_baseline`` (spikes), ``baseline_rate_hz``:
      :func:`lamina.analysis.readout.packet_readout` (``pulse_packet``, 200 bins) over
      ``packet_range_ms`` (default: the analysed window) with a +-packet_window_ms window,
      minus the expected background ``baseline_rate_hz`` (Hz per neuron; per layer or one
      value) if given. Skipped when packet_window_ms is None. Keep the range short enough that
      its 200 bins are no wider than the window (see ``pulse_packet``).
    * With ``packet_free`` (and the packet readout on): the window-free numbers of
      :func:`lamina.analysis.readout.packet_readout_free` (``packet_size_free`` per neuron,
      ``packet_sd_free_ms``, ``packet_latency_free_ms``, ``packet_count_raw``,
      ``packet_free_half_ms``, ``packet_free_z``, ``packet_size_fit``, ``packet_sd_fit_ms``,
      ``packet_latency_fit_ms``) searched over ``free_search_ms`` (default the packet range),
      with the same background.
    * With a ``stimulus`` trace (sample i covers t_start_ms + i * stimulus_dt_ms):
      the layer's rate per neuron (Hz) is binned at ``mi_bin_ms`` (default
      stimulus_dt_ms; must be a multiple of it, the stimulus is then block-averaged),
      ``best_lag_ms`` is the lag in [0, max_lag_ms] (stimulus leading) that
      maximises the Gaussian-copula MI, ``mi_gcmi_bits`` and ``mi_ksg_bits`` are
      GCMI and KSG(k=ksg_k) at that lag (all lags use the same n - max_lag
      samples), ``info_rate_bits_s`` is the coherence information rate over
      0..Nyquist minus its bias, the mean rate of N_SHIFTS circularly shifted
      responses (``info_rate_shift_null``; raw value and null mean are kept as
      ``info_rate_raw_bits_s`` and ``info_rate_null_bits_s``). Without a stimulus these are NaN.
    * With a ``stimulus`` and ``transfer`` (the layers a chain, in order): ``transfer_te_bits``,
      the transfer entropy from the previous layer's rate (layer 0: from the stimulus) into
      this layer's, :func:`lamina.analysis.transfer.transfer_entropy_scan` (KSG k =
      ``TE_K``, target history 1 bin, source lags 1 … ``TE_MAX_LAG_MS``, maximised over lags,
      minus the mean of ``TE_N_SHIFTS`` circularly shifted, equally maximised surrogates;
      ``transfer_te_raw_bits``, ``transfer_te_null_bits``, ``transfer_te_lag_ms`` kept too).

    All layers' lag scans, and all KSG estimates, run as single ``mi_batch`` calls.

    Parameters
    ----------
    spike_times : mapping or sequence of arrays
        Per layer, pooled spike times, ms.
    n_neurons : mapping or sequence of int
        Per layer, its size.
    duration_ms : float
        Length of the analysed window, ms.
    t_start_ms : float
        Start of the analysed window, ms.
    onset_ms : float
        Stimulus onset: packet latency and peak are given relative to it, ms.
    packet_window_ms : float or None
        Pulse-packet half window, ms, or None to skip the packet readout.
    packet_range_ms : (float, float), optional
        (start, stop) of the packet histogram, ms.
    packet_free : bool
        Also compute the window-free packet numbers.
    free_search_ms : (float, float), optional
        Search range of the window-free numbers, ms (default ``packet_range_ms``).
    baseline_rate_hz : mapping, sequence or float, optional
        Background rate per neuron for the packet baseline, Hz.
    stimulus : array, optional
        Continuous stimulus samples.
    stimulus_dt_ms : float, optional
        Stimulus sampling interval, ms.
    mi_bin_ms : float, optional
        Rate bin for the MI / coherence analyses, ms.
    max_lag_ms : float
        Longest stimulus-to-layer lag searched, ms.
    ksg_k : int
        KSG neighbours.
    nperseg : int
        Welch segment length (samples at mi_bin_ms) for the information rate.
    seed : int
        KSG jitter and shift-null seed.
    transfer : bool
        Also the layer-to-layer transfer entropy (needs a stimulus; layers in chain order).

    Returns
    -------
    per_layer : dict
        ``per_layer[key]`` maps the names above to floats.
    params : dict
        Every estimator setting (str/int/float/bool values, no None), for storing as HDF5
        attributes.
    """
    if isinstance(spike_times, Mapping):
        keys: list[Hashable] = list(spike_times.keys())
    else:
        keys = list(range(len(spike_times)))
    times = _per_layer(spike_times, keys, "spike_times")
    sizes = _per_layer(n_neurons, keys, "n_neurons")
    baselines = _per_layer(baseline_rate_hz, keys, "baseline_rate_hz")
    if not duration_ms > 0:
        raise ValueError(f"duration_ms must be > 0, got {duration_ms}")
    t_stop = t_start_ms + duration_ms
    packet_lo, packet_hi = (t_start_ms, t_stop) if packet_range_ms is None else packet_range_ms
    params: dict[str, Scalar] = {
        "t_start_ms": float(t_start_ms),
        "duration_ms": float(duration_ms),
        "rate_units": "Hz per neuron",
        "mi_units": "bits",
    }
    out: dict[Hashable, dict[str, float]] = {}
    for key in keys:
        t = np.asarray(times[key], dtype=np.float64).reshape(-1)
        n_spk = int(np.count_nonzero((t >= t_start_ms) & (t < t_stop)))
        out[key] = {
            "n_neurons": float(sizes[key]),
            "n_spikes": float(n_spk),
            "rate_hz": n_spk / int(sizes[key]) / (duration_ms / 1000.0),
        }
        if packet_window_ms is None:
            continue
        base = baselines[key]
        out[key].update(packet_readout(t, int(sizes[key]), packet_lo, packet_hi, onset_ms=float(onset_ms),
                                       baseline_rate_hz=None if base is None else float(base),
                                       window_ms=packet_window_ms))
        if packet_free:
            lo = packet_lo if free_search_ms is None else free_search_ms[0]
            hi = packet_hi if free_search_ms is None else free_search_ms[1]
            out[key].update(packet_readout_free(t, int(sizes[key]), lo, hi, onset_ms=float(onset_ms),
                                                baseline_rate_hz=None if base is None else float(base)))
    if packet_window_ms is not None and packet_free:
        params.update(packet_free_method="baseline-subtracted moments in centroid ± n SD (packet_moments); "
                                         "Poisson ML Gaussian + baseline fit (packet_gaussian_fit)",
                      packet_free_n_sd=float(FREE_N_SD), packet_free_min_half_ms=float(FREE_MIN_HALF_MS),
                      packet_free_max_half_ms=float(FREE_MAX_HALF_MS), packet_fit_bin_ms=float(FREE_FIT_BIN_MS),
                      packet_free_size_units="spikes per neuron",
                      packet_free_start_ms=float(packet_lo if free_search_ms is None else free_search_ms[0]),
                      packet_free_stop_ms=float(packet_hi if free_search_ms is None else free_search_ms[1]))
    if packet_window_ms is not None:
        params.update(packet_method="Han, De Schutter & Hong 2020", packet_n_bins=PACKET_N_BINS,
                      packet_window_ms=float(packet_window_ms), packet_sd_ddof=0,
                      packet_onset_ms=float(onset_ms),
                      packet_time_reference="packet_latency_ms and packet_peak_ms are ms after packet_onset_ms",
                      packet_start_ms=float(packet_lo), packet_stop_ms=float(packet_hi),
                      packet_baseline_subtracted=baseline_rate_hz is not None)
    if stimulus is None:
        for key in keys:
            out[key].update(mi_gcmi_bits=NAN, mi_ksg_bits=NAN, best_lag_ms=NAN, info_rate_bits_s=NAN,
                            info_rate_raw_bits_s=NAN, info_rate_null_bits_s=NAN)
        return out, params
    params.update(_stimulus_measures(times, sizes, keys, out, stimulus, stimulus_dt_ms, t_start_ms,
                                     mi_bin_ms, max_lag_ms, ksg_k, nperseg, seed, transfer))
    return out, params


def _stimulus_measures(
    times: dict, sizes: dict, keys: list[Hashable], out: dict, stimulus: ArrayLike,
    stimulus_dt_ms: float | None, t_start_ms: float, mi_bin_ms: float | None,
    max_lag_ms: float, ksg_k: int, nperseg: int, seed: int, transfer: bool = False,
) -> dict[str, Any]:
    """Fill the stimulus-dependent entries of ``out``; returns their parameters."""
    if stimulus_dt_ms is None or not stimulus_dt_ms > 0:
        raise ValueError("stimulus_dt_ms (> 0) is required with a stimulus")
    bin_ms = stimulus_dt_ms if mi_bin_ms is None else mi_bin_ms
    stim, by_key = binned_stimulus_and_rates(stimulus, stimulus_dt_ms, {key: times[key] for key in keys}, sizes,
                                             bin_ms, t_start_ms)
    n = stim.size
    max_lag = int(math.floor(max_lag_ms / bin_ms + 1e-9))
    m = n - max_lag
    if m < 16:
        raise ValueError(f"stimulus too short: {n} bins of {bin_ms} ms leave {m} after a {max_lag_ms} ms lag")
    rates = np.stack([by_key[key] for key in keys])
    # Lag scans of all layers in one batch: pair (layer, lag) = stim[0:m] with rate[lag:lag+m].
    lags = np.arange(max_lag + 1)
    stim_seg = np.broadcast_to(stim[:m], (len(keys) * lags.size, m))
    rate_seg = np.stack([rates[i, lag:lag + m] for i in range(len(keys)) for lag in lags])
    scan = mi_batch(stim_seg, rate_seg, "gcmi").reshape(len(keys), lags.size)
    best = scan.argmax(axis=1)
    ksg = mi_batch(np.broadcast_to(stim[:m], (len(keys), m)),
                   np.stack([rates[i, best[i]:best[i] + m] for i in range(len(keys))]),
                   "ksg", k=ksg_k, seed=seed)
    for i, key in enumerate(keys):
        _, _, rate_bits = info_rate_coherence(stim, rates[i], bin_ms / 1000.0, nperseg=nperseg)
        null = info_rate_shift_null(stim, rates[i], bin_ms / 1000.0, nperseg=nperseg, n=N_SHIFTS, seed=seed)
        out[key].update(mi_gcmi_bits=float(scan[i, best[i]]), mi_ksg_bits=float(ksg[i]),
                        best_lag_ms=float(best[i] * bin_ms), info_rate_bits_s=rate_bits - float(null.mean()),
                        info_rate_raw_bits_s=rate_bits, info_rate_null_bits_s=float(null.mean()))
    extra: dict[str, Any] = {}
    if transfer:
        from .transfer import TE_K, TE_MAX_LAG_MS, TE_N_SHIFTS, transfer_entropy_scan

        te_lags = list(range(1, max(1, int(math.floor(TE_MAX_LAG_MS / bin_ms + 1e-9))) + 1))
        for i, key in enumerate(keys):
            src = stim if i == 0 else rates[i - 1]
            te = transfer_entropy_scan(src, rates[i], te_lags, 1, TE_K, n_shifts=TE_N_SHIFTS, seed=seed + i)
            out[key].update(transfer_te_bits=te["te"], transfer_te_raw_bits=te["te_raw"],
                            transfer_te_null_bits=te["null_mean"], transfer_te_lag_ms=float(te["best_lag"] * bin_ms))
        extra = {"transfer_method": "KSG (Frenzel-Pompe) TE, target history 1 bin, max over source lags minus the "
                                    "mean lag-maximised TE of circularly shifted sources",
                 "transfer_source": "the previous layer's rate (layer 0: the stimulus)",
                 "transfer_k": int(TE_K), "transfer_max_lag_ms": float(te_lags[-1] * bin_ms),
                 "transfer_n_shifts": int(TE_N_SHIFTS), "transfer_bin_ms": float(bin_ms)}
    return {
        **extra,
        "stimulus_dt_ms": float(stimulus_dt_ms), "mi_bin_ms": float(bin_ms),
        "mi_n_samples": int(m), "max_lag_ms": float(max_lag * bin_ms),
        "lag_convention": "stimulus leads layer by best_lag_ms",
        "gcmi_method": "Ince et al. 2017, average-rank copula, analytic bias correction",
        "ksg_method": "Kraskov et al. 2004 algorithm 1, max-norm, standardised",
        "ksg_k": int(ksg_k), "ksg_noise": float(KSG_NOISE), "ksg_seed": int(seed),
        "coherence_method": "Welch, Hann, 50% overlap; rate = -int log2(1-C) df to Nyquist",
        "coherence_nperseg": int(min(nperseg, n // 4)),
        "info_rate_bias_correction": f"minus the mean over {N_SHIFTS} circularly shifted responses",
    }


def analyze_run(layers: list[dict], spikes: dict[str, tuple[np.ndarray, np.ndarray]], duration_ms: float,
                stimulus: Mapping) -> tuple[dict, dict, dict]:
    """Everything ``lamina analyze`` stores for one run.

    Parameters
    ----------
    layers : list of dict
        ``{"name", "size", ...}`` per layer, in network order.
    spikes : dict
        layer name -> (spike times in ms, node ids).
    duration_ms : float
        Run duration, ms.
    stimulus : mapping
        The run's stimulus description (``kind``, packet ``t0_ms`` / ``sigma_ms``, or a
        ``current`` array with ``current_dt_ms``).

    Returns
    -------
    per_layer : dict
        layer -> {number name: value} (see :func:`lamina.analysis.layer_summary`). Packet numbers
        over the whole run, times relative to :func:`stimulus_onset_ms`, the pre-packet spontaneous
        count subtracted (:func:`baseline_rates`); with an OU input everything over
        [:data:`SKIP_MS`, end), MI and coherence at :data:`MI_BIN_MS` bins, lags up to
        :data:`MAX_LAG_MS`, Welch segments of :data:`WELCH_SEGMENT_MS`, estimator seed
        :data:`ESTIMATOR_SEED`; with an input current also the layer-to-layer transfer entropy
        (``transfer_te_bits`` on layer z: layer z-1 → z, layer 0: current → layer 0). Pulse
        packets get the window-free packet numbers too (searched from the end of the
        pre-stimulus window, :func:`free_search_start_ms`).
    params : dict
        Estimator settings.
    filters : dict
        layer -> {"freq_hz", "gain", "phase_rad"} input → layer linear filter (continuous inputs,
        same bins and segments).
    """
    from .spectral import linear_filter

    nperseg = int(round(WELCH_SEGMENT_MS / MI_BIN_MS))
    t_start = analysis_start_ms(stimulus)
    kw: dict = {"onset_ms": stimulus_onset_ms(stimulus), "packet_window_ms": PACKET_WINDOW_MS,
                "packet_range_ms": (0.0, float(duration_ms)), "seed": ESTIMATOR_SEED,
                "packet_free": stimulus.get("kind") == "pulse_packet",
                "free_search_ms": (free_search_start_ms(stimulus), float(duration_ms))}
    bases = baseline_rates(layers, spikes, duration_ms, stimulus)
    if bases is not None:
        kw["baseline_rate_hz"] = bases
    current = stimulus.get("current")
    if current is not None:
        dt_ms = float(stimulus["current_dt_ms"])
        kw.update(stimulus=np.asarray(current, float)[int(round(t_start / dt_ms)):], stimulus_dt_ms=dt_ms,
                  mi_bin_ms=MI_BIN_MS, max_lag_ms=MAX_LAG_MS, nperseg=nperseg, transfer=True)
    times = {l["name"]: spikes[l["name"]][0] for l in layers}
    sizes = {l["name"]: int(l["size"]) for l in layers}
    per_layer, params = layer_summary(times, sizes, float(duration_ms) - t_start, t_start_ms=t_start, **kw)
    filters = {}
    if current is not None:
        s, rates, bin_s = continuous_signals(stimulus, spikes, layers)
        for name, r in rates.items():
            f = linear_filter(s, r, bin_s, nperseg=nperseg)
            filters[name] = {"freq_hz": f.freqs, "gain": f.gain, "phase_rad": f.phase}
        params["filter_nperseg"] = int(min(nperseg, s.size // 4))
    return per_layer, params, filters
