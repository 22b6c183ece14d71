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


# ---------------------------------------------------------------------------------------------
# Window-free packet measures (next to the paper's ±4 ms window readout above)

#: Settings of the window-free packet measures, ms: the final moments window is the centroid
#: ± FREE_N_SD SDs, clipped to [FREE_MIN_HALF_MS, FREE_MAX_HALF_MS]; the initial window is the
#: smoothed-PSTH peak ± FREE_MIN_HALF_MS; the Gaussian fit bins the spikes at FREE_FIT_BIN_MS.
FREE_N_SD = 3.0
FREE_MIN_HALF_MS = 5.0
FREE_MAX_HALF_MS = 80.0
FREE_SMOOTH_MS = 2.0
FREE_FIT_BIN_MS = 0.25


class PacketMoments(NamedTuple):
    """Baseline-subtracted moments of a layer's spike-time distribution (window-free readout).

    size: spikes above the expected background in the final window (total, may be < 0).
    sd: SD of the baseline-subtracted spike-time distribution, ms (nan if not positive).
    centroid: its mean, ms (absolute time; nan if size <= 0).
    n_raw: raw number of spikes in the final window.
    baseline: expected background spikes in the final window (what was subtracted).
    lo, hi: the final window, ms.
    z: Poisson z-score of the excess, size / sqrt(baseline) (inf if no background).
    """

    size: float
    sd: float
    centroid: float
    n_raw: int
    baseline: float
    lo: float
    hi: float
    z: float


def _excess_moments(times: np.ndarray, lam: float, lo: float, hi: float) -> tuple[float, float, float, int]:
    """(excess count, excess mean, excess variance, raw count) of the spikes in [lo, hi] minus a
    uniform background of ``lam`` spikes per ms, all moments exact integrals (no bins)."""
    t = times[(times >= lo) & (times <= hi)]
    size = t.size - lam * (hi - lo)
    if not size > 0:
        return float(size), np.nan, np.nan, int(t.size)
    mean = (t.sum() - lam * (hi * hi - lo * lo) / 2.0) / size
    m2 = np.sum((t - mean) ** 2) - lam * ((hi - mean) ** 3 - (lo - mean) ** 3) / 3.0
    return float(size), float(mean), float(m2 / size), int(t.size)


def packet_moments(
    spike_times: ArrayLike,
    t_start: float,
    t_stop: float,
    baseline_rate: float | None = None,
    n_neurons: int | None = None,
    *,
    n_sd: float = FREE_N_SD,
    min_half: float = FREE_MIN_HALF_MS,
    max_half: float = FREE_MAX_HALF_MS,
    smooth: float = FREE_SMOOTH_MS,
    max_iter: int = 50,
) -> PacketMoments:
    """Window-free packet size, width and centroid: baseline-subtracted moments of the spike times.

    Method: the spike times in [t_start, t_stop] (the search range, e.g. from the end of the
    pre-stimulus baseline window to the end of the run) are histogrammed in 0.5 ms bins and
    smoothed (Gaussian, SD ``smooth`` ms); the peak of the smoothed histogram centres an
    initial window of ±``min_half`` ms. In a window [lo, hi] a uniform background of
    ``lam = baseline_rate * n_neurons / 1000`` spikes per ms is subtracted from the spike
    distribution exactly (no bins)::

        size = n - lam (hi - lo)
        mean = (sum t - lam (hi² - lo²) / 2) / size
        var  = (sum (t - mean)² - lam ((hi - mean)³ - (lo - mean)³) / 3) / size

    and the window is re-centred as mean ± clip(``n_sd`` · sd, ``min_half``, ``max_half``)
    (within the search range) until it stops moving. The window grows from the narrow start:
    the SD of a Gaussian truncated at ±h is below h/√3, so h -> n_sd · sd(h) increases while
    h < n_sd · sd and settles where the window holds ±n_sd SDs (starting wide instead would let
    the background's noise, which grows as h³, swamp the second moment). With the default 3 SDs
    a Gaussian packet loses 0.27 % of its spikes and 1.3 % of its SD to the truncation (4 SDs
    lose less but fail far more often on weak, wide packets: the background term of the second
    moment has variance lam · 2h³/3 for a half-width h); see docs/statistics.md. Unlike
    :func:`pulse_packet` there is no fixed ±4 ms window, so the SD has no 8/√12 ms ceiling.

    Parameters
    ----------
    spike_times : array_like
        Pooled spike times of the layer, ms.
    t_start, t_stop : float
        Search range, ms.
    baseline_rate : float, optional
        Background rate per neuron, Hz (needs ``n_neurons``); without it nothing is subtracted
        (raw moments of the final window).
    n_neurons : int, optional
        Layer size.
    n_sd, min_half, max_half : float
        Final window: centroid ± clip(n_sd · sd, min_half, max_half), ms.
    smooth : float
        SD of the Gaussian smoothing that locates the initial peak, ms.
    max_iter : int
        Most window updates.

    Returns
    -------
    PacketMoments
        ``size`` (spikes, total), ``sd`` (ms), ``centroid`` (ms, absolute), ``n_raw``,
        ``baseline``, ``lo``, ``hi``, ``z``. No spike in range: size 0, nan sd/centroid. A
        non-positive excess or variance gives nan sd (and nan centroid for size <= 0).
    """
    from .rates import gaussian_smooth

    if (baseline_rate is None) != (n_neurons is None):
        raise ValueError("baseline_rate and n_neurons must be given together")
    if not t_stop > t_start:
        raise ValueError(f"t_stop ({t_stop}) must be > t_start ({t_start})")
    if not (n_sd > 0 and 0 < min_half <= max_half):
        raise ValueError("need n_sd > 0 and 0 < min_half <= max_half")
    times = np.asarray(spike_times, dtype=np.float64).reshape(-1)
    times = np.sort(times[(times >= t_start) & (times <= t_stop)])
    lam = 0.0 if baseline_rate is None else float(baseline_rate) * int(n_neurons) / 1000.0
    nan = float("nan")
    if times.size == 0:
        return PacketMoments(0.0, nan, nan, 0, 0.0, float(t_start), float(t_stop), 0.0)
    bw = 0.5
    n_bins = max(1, int(np.ceil((t_stop - t_start) / bw)))
    counts = np.bincount(np.minimum(((times - t_start) / bw).astype(np.int64), n_bins - 1), minlength=n_bins)
    peak = t_start + (int(np.argmax(gaussian_smooth(counts.astype(float), smooth / bw))) + 0.5) * bw
    lo, hi = max(t_start, peak - min_half), min(t_stop, peak + min_half)
    size, mean, var, n_raw = _excess_moments(times, lam, lo, hi)
    for _ in range(max_iter):
        if not (size > 0 and var > 0):
            break
        half = min(max(n_sd * np.sqrt(var), min_half), max_half)
        new_lo, new_hi = max(t_start, mean - half), min(t_stop, mean + half)
        if abs(new_lo - lo) < 1e-9 and abs(new_hi - hi) < 1e-9:
            break
        lo, hi = new_lo, new_hi
        size, mean, var, n_raw = _excess_moments(times, lam, lo, hi)
    base = lam * (hi - lo)
    sd = float(np.sqrt(var)) if size > 0 and var > 0 else nan
    z = size / np.sqrt(base) if base > 0 else (float("inf") if size > 0 else 0.0)
    return PacketMoments(float(size), sd, float(mean) if size > 0 else nan, n_raw, float(base),
                         float(lo), float(hi), float(z))


class PacketFit(NamedTuple):
    """Gaussian-plus-baseline fit of a layer's PSTH (Poisson likelihood).

    size: spikes in the Gaussian (total). sd: its SD, ms. centre: its mean, ms (absolute).
    baseline_rate: fitted background, spikes per ms (whole layer). ok: whether the fit converged.
    """

    size: float
    sd: float
    centre: float
    baseline_rate: float
    ok: bool


def packet_gaussian_fit(
    spike_times: ArrayLike,
    t_start: float,
    t_stop: float,
    *,
    centre: float | None = None,
    sd: float | None = None,
    half: float = FREE_MAX_HALF_MS,
    bin: float = FREE_FIT_BIN_MS,
) -> PacketFit:
    """Fit ``b + A · N(t; mu, s)`` to the spike histogram by Poisson maximum likelihood.

    Method: spikes in [centre - half, centre + half] ∩ [t_start, t_stop] are binned at ``bin``
    ms; the expected count of bin [a, c] is ``b (c - a) + A (Φ((c - mu)/s) - Φ((a - mu)/s))``
    (the Gaussian integrated over the bin, so bins as wide as s cause no bias), and
    (log b, log A, mu, log s) minimise the Poisson negative log-likelihood (L-BFGS-B, mu within
    the fitted range, s in [0.05 ms, half]). The background b is a free parameter, so the fit
    does not rely on a pre-stimulus estimate. Start: ``centre`` and ``sd`` (e.g. from
    :func:`packet_moments`; default the histogram peak and 2 ms).

    Parameters
    ----------
    spike_times : array_like
        Pooled spike times of the layer, ms.
    t_start, t_stop : float
        Allowed range, ms.
    centre, sd : float, optional
        Starting centre and SD, ms.
    half : float
        Half-width of the fitted range around ``centre``, ms.
    bin : float
        Histogram bin, ms.

    Returns
    -------
    PacketFit
        ``size`` (spikes), ``sd`` (ms), ``centre`` (ms), ``baseline_rate`` (spikes/ms), ``ok``.
        NaNs (ok False) with fewer than 5 spikes in range.
    """
    from scipy.optimize import minimize
    from scipy.special import ndtr

    times = np.asarray(spike_times, dtype=np.float64).reshape(-1)
    times = times[(times >= t_start) & (times <= t_stop)]
    nan = float("nan")
    if times.size < 5:
        return PacketFit(nan, nan, nan, nan, False)
    # a start outside the range (the centroid of a barely-positive baseline-subtracted excess can
    # land anywhere) would leave no fitted range: start from the histogram's peak instead
    if centre is None or not np.isfinite(centre) or not t_start <= centre <= t_stop:
        h, e = np.histogram(times, bins=max(1, int((t_stop - t_start) / 0.5)), range=(t_start, t_stop))
        centre = float(0.5 * (e[np.argmax(h)] + e[np.argmax(h) + 1]))
    lo, hi = max(t_start, centre - half), min(t_stop, centre + half)
    n_bins = max(3, int(np.round((hi - lo) / bin)))
    edges = np.linspace(lo, hi, n_bins + 1)
    counts, _ = np.histogram(times, bins=edges)
    widths = np.diff(edges)
    s0 = 2.0 if sd is None or not np.isfinite(sd) or sd <= 0 else float(sd)
    s0 = min(max(s0, 0.1), half)
    b0 = max(np.median(counts) / widths.mean(), 1e-3)
    a0 = max(counts.sum() - b0 * (hi - lo), 1.0)

    def nll(p):
        b, a, mu, s = np.exp(p[0]), np.exp(p[1]), p[2], np.exp(p[3])
        lam = b * widths + a * (ndtr((edges[1:] - mu) / s) - ndtr((edges[:-1] - mu) / s))
        lam = np.maximum(lam, 1e-300)
        return float(np.sum(lam - counts * np.log(lam)))

    x0 = np.array([np.log(b0), np.log(a0), float(np.clip(centre, lo, hi)), np.log(s0)])
    bounds = [(np.log(1e-6), np.log(1e7)), (np.log(1e-3), np.log(1e8)), (lo, hi), (np.log(0.05), np.log(half))]
    res = minimize(nll, x0, method="L-BFGS-B", bounds=bounds)
    b, a, mu, s = np.exp(res.x[0]), np.exp(res.x[1]), res.x[2], np.exp(res.x[3])
    return PacketFit(float(a), float(s), float(mu), float(b), bool(res.success))
