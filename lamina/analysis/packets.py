"""Pulse-packet readout (alpha, sigma) of a layer's response."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from .rates import bin_spikes


class PulsePacket(NamedTuple):
    """Pulse-packet description of one layer's spikes.

    alpha: packet size, spikes in the window (baseline-corrected if requested).
    sigma: SD of the window's spike times, ms (nan if no spike).
    latency: mean of the window's spike times, ms (nan if no spike).
    peak_time: centre of the histogram's peak bin, ms (nan if no spike).
    n_window: raw number of spikes in the window.
    baseline: expected background spikes in the window that were subtracted.
    """

    alpha: float
    sigma: float
    latency: float
    peak_time: float
    n_window: int
    baseline: float


def background_count(baseline_rate: float, n_neurons: int, window: float) -> float:
    """Expected number of background spikes in a packet window.

    Parameters
    ----------
    baseline_rate : float
        Background rate per neuron, Hz.
    n_neurons : int
        Layer size.
    window : float
        Half-width of the packet window, ms (the window is 2 * window long).

    Returns
    -------
    float
        ``baseline_rate * n_neurons * 2 * window / 1000`` spikes, what :func:`pulse_packet`
        subtracts from the window count.
    """
    return float(baseline_rate) * int(n_neurons) * 2.0 * float(window) / 1000.0


def pulse_packet(
    spike_times: ArrayLike,
    t_start: float,
    t_stop: float,
    n_bins: int = 200,
    window: float = 4.0,
    baseline_rate: float | None = None,
    n_neurons: int | None = None,
) -> PulsePacket:
    """Pulse-packet size and temporal spread of a layer's spikes (times in ms).

    Method (the readout of Han, De Schutter & Hong, NeurIPS 2020): histogram the
    spikes in ``n_bins`` equal bins over [t_start, t_stop]; take the centre of
    the most populated bin (the first, on ties) as the peak time; the spikes
    within +-``window`` ms of it (inclusive) form the packet: alpha is their
    number, latency their mean time and sigma their standard deviation
    (population SD, ddof=0). If ``baseline_rate`` (Hz per neuron) and
    ``n_neurons`` are given, the expected number of background spikes in the
    window, baseline_rate * n_neurons * 2 * window / 1000, is subtracted from
    alpha (floored at 0); sigma and latency are left uncorrected, so with a
    strong background sigma is biased towards the uniform value window / sqrt(3).
    The bin width (t_stop - t_start) / n_bins should not exceed about the
    window: with coarse bins the window around the peak bin's centre can miss a
    packet that sits off-centre in that bin, so restrict [t_start, t_stop] to
    the part of a long run where the packet is expected.

    Args:
        spike_times: pooled spike times of the layer, ms.
        t_start, t_stop: histogram range, ms.
        n_bins: histogram bins over the range.
        window: half-width of the packet window around the peak, ms.
        baseline_rate: background rate per neuron, Hz (needs n_neurons).
        n_neurons: layer size for the baseline correction.

    Returns:
        PulsePacket(alpha, sigma, latency, peak_time, n_window, baseline);
        empty input gives alpha 0 and nan sigma/latency/peak_time.
    """
    if (baseline_rate is None) != (n_neurons is None):
        raise ValueError("baseline_rate and n_neurons must be given together")
    if not window > 0:
        raise ValueError(f"window must be > 0 ms, got {window}")
    times = np.asarray(spike_times, dtype=np.float64).reshape(-1)
    times = times[(times >= t_start) & (times <= t_stop)]
    baseline = 0.0 if baseline_rate is None else background_count(baseline_rate, n_neurons, window)
    if times.size == 0:
        return PulsePacket(0.0, np.nan, np.nan, np.nan, 0, baseline)
    width = (t_stop - t_start) / n_bins
    _, counts = bin_spikes(times, t_start, t_stop, width, include_stop=True)
    peak = int(np.argmax(counts))
    peak_time = float(t_start + (peak + 0.5) * width)
    packet = times[np.abs(times - peak_time) <= window]
    return PulsePacket(
        alpha=max(0.0, packet.size - baseline),
        sigma=float(packet.std()),
        latency=float(packet.mean()),
        peak_time=peak_time,
        n_window=int(packet.size),
        baseline=baseline,
    )
