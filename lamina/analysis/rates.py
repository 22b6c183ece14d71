"""Population firing rates from spike times."""
from __future__ import annotations

import math
from collections.abc import Hashable, Mapping

import numpy as np
from numpy.typing import ArrayLike


# Spike times within this fraction of a bin below an edge count as on the edge:
# decimal times such as 0.3 ms then land in the bin [0.3, 0.4) even though
# 0.3 / 0.1 = 2.9999999999999996 in floating point.
EDGE_TOLERANCE = 1e-9


def _bin_counts(times: np.ndarray, t_start: float, width: float, n_bins: int, include_stop: bool) -> np.ndarray:
    """Spike counts in bins [t_start + i*width, t_start + (i+1)*width), i < n_bins.

    With include_stop the last bin is closed, [.., t_stop], like numpy.histogram's. numpy, not
    numba: as fast for this one pass, and it spares every process ~0.4 s of loading numba's cache.
    """
    x = (times - t_start) / width
    i = np.floor(x + EDGE_TOLERANCE)
    if include_stop:
        i[(i == n_bins) & (x <= n_bins + EDGE_TOLERANCE)] = n_bins - 1
    i = i[(i >= 0) & (i < n_bins)].astype(np.int64)
    return np.bincount(i, minlength=n_bins).astype(np.int64)


def bin_spikes(spike_times: ArrayLike, t_start: float, t_stop: float, bin: float,
               include_stop: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Histogram of spike times (ms) in bins of ``bin`` ms from t_start; returns (edges_ms, counts).

    The number of bins is floor((t_stop - t_start) / bin) (up to 1e-9 rounding),
    so a trailing partial bin is dropped rather than reported with a wrong rate.
    Bins are half-open [a, b); ``include_stop`` closes the last one.
    """
    if not bin > 0:
        raise ValueError(f"bin must be > 0 ms, got {bin}")
    if not t_stop > t_start:
        raise ValueError(f"t_stop ({t_stop}) must be > t_start ({t_start})")
    n_bins = int(math.floor((t_stop - t_start) / bin + EDGE_TOLERANCE))
    if n_bins < 1:
        raise ValueError(f"window [{t_start}, {t_stop}) ms is shorter than one bin of {bin} ms")
    times = np.ascontiguousarray(spike_times, dtype=np.float64).reshape(-1)
    counts = _bin_counts(times, float(t_start), float(bin), n_bins, include_stop)
    return t_start + bin * np.arange(n_bins + 1), counts


def gaussian_smooth(values: np.ndarray, sd_bins: float) -> np.ndarray:
    """Convolve with a Gaussian of SD ``sd_bins`` (truncated at 4 SD), edge-corrected.

    Near the ends the kernel is renormalised by its mass inside the window, so a
    constant signal stays constant instead of sagging towards zero.
    """
    half = max(1, int(math.ceil(4.0 * sd_bins)))
    lags = np.arange(-half, half + 1)
    kernel = np.exp(-0.5 * (lags / sd_bins) ** 2)
    kernel /= kernel.sum()
    smoothed = np.convolve(values, kernel, mode="same")
    mass = np.convolve(np.ones_like(values, dtype=np.float64), kernel, mode="same")
    return smoothed / mass


def population_rate(
    spike_times: ArrayLike,
    t_start: float,
    t_stop: float,
    bin: float,
    smooth: float | None = None,
    n_neurons: int = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """Population firing rate in Hz from pooled spike times in ms.

    Method: count spikes in consecutive half-open bins of ``bin`` ms over
    [t_start, t_stop) (a trailing partial bin is dropped; a time within 1e-9 bin
    widths below an edge counts as on it, so decimal times are binned as
    written), divide by the bin width in seconds and
    by ``n_neurons``; optionally smooth with a Gaussian kernel of SD ``smooth``
    ms (truncated at 4 SD, renormalised at the edges).

    Args:
        spike_times: spike times of the whole population, ms (any order).
        t_start, t_stop: analysis window, ms.
        bin: bin width, ms.
        smooth: Gaussian SD in ms, or None for the raw histogram.
        n_neurons: divide by this many neurons; 1 (default) gives the total
            population rate, the layer size gives the mean rate per neuron.

    Returns:
        (bin_centres_ms, rate_Hz), both float64 arrays of length n_bins.
    """
    if n_neurons < 1:
        raise ValueError(f"n_neurons must be >= 1, got {n_neurons}")
    edges, counts = bin_spikes(spike_times, t_start, t_stop, bin)
    rate = counts / (bin / 1000.0) / n_neurons
    if smooth is not None:
        if not smooth > 0:
            raise ValueError(f"smooth must be a positive SD in ms or None, got {smooth}")
        rate = gaussian_smooth(rate, smooth / bin)
    return 0.5 * (edges[:-1] + edges[1:]), rate


def block_mean(trace: ArrayLike, factor: int) -> np.ndarray:
    """Average consecutive blocks of ``factor`` samples (a trailing partial block is dropped)."""
    a = np.asarray(trace, dtype=np.float64).reshape(-1)
    n = a.size // factor
    return a[: n * factor].reshape(n, factor).mean(axis=1)


def binned_stimulus_and_rates(
    stimulus: ArrayLike,
    stimulus_dt_ms: float,
    spike_times: Mapping[Hashable, ArrayLike],
    n_neurons: Mapping[Hashable, int],
    bin_ms: float,
    t_start_ms: float = 0.0,
) -> tuple[np.ndarray, dict[Hashable, np.ndarray]]:
    """A stimulus trace and the layers' rates on one grid of ``bin_ms`` bins.

    The stimulus (sample i covers t_start_ms + i * stimulus_dt_ms) is block-averaged to bin_ms,
    which must be a multiple of stimulus_dt_ms; each layer's rate per neuron (Hz) is binned over
    the same n bins from t_start_ms. Returns (stimulus (n,), {key: rate (n,)}).
    """
    factor = int(round(bin_ms / stimulus_dt_ms))
    if factor < 1 or not math.isclose(factor * stimulus_dt_ms, bin_ms, rel_tol=1e-9):
        raise ValueError(f"the rate bin ({bin_ms} ms) must be a multiple of the stimulus sampling interval "
                         f"({stimulus_dt_ms} ms)")
    stim = block_mean(stimulus, factor)
    t_stop = t_start_ms + stim.size * bin_ms
    rates = {key: population_rate(t, t_start_ms, t_stop, bin_ms, n_neurons=int(n_neurons[key]))[1]
             for key, t in spike_times.items()}
    return stim, rates
