"""Spectral stimulus-response analysis: coherence information rate and linear (Wiener) filters."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

DEFAULT_NPERSEG = 1024


def _pair(s: ArrayLike, r: ArrayLike, dt: float, nperseg: int) -> tuple[np.ndarray, np.ndarray, int]:
    sa = np.asarray(s, dtype=np.float64).reshape(-1)
    ra = np.asarray(r, dtype=np.float64).reshape(-1)
    if sa.size != ra.size:
        raise ValueError(f"s and r differ in length: {sa.size} != {ra.size}")
    if not dt > 0:
        raise ValueError(f"dt must be > 0 s, got {dt}")
    if sa.size < 16:
        raise ValueError(f"need at least 16 samples, got {sa.size}")
    # Welch needs several segments for a usable estimate: at most n/4 per segment.
    return sa, ra, int(min(nperseg, sa.size // 4))


def info_rate_coherence(
    s: ArrayLike,
    r: ArrayLike,
    dt: float,
    nperseg: int = DEFAULT_NPERSEG,
    fmax: float | None = None,
) -> tuple[np.ndarray, np.ndarray, float]:
    """Coherence and the Gaussian-channel lower bound on the information rate, bits/s.

    Method: magnitude-squared coherence C(f) = |S_sr|^2 / (S_ss S_rr) by Welch's
    method (scipy.signal.coherence, Hann window, 50 % overlap, ``nperseg``
    samples per segment), then R = -integral_0^fmax log2(1 - C(f)) df by the
    trapezoid rule (Borst & Theunissen 1999, Nat Neurosci 2:947). This is exact
    for a linear Gaussian channel and a lower bound otherwise. C is estimated
    with a positive bias of about (1 - C)^2 / n_segments, so use long records.

    Args:
        s: stimulus samples.
        r: response samples (same length and sampling as s).
        dt: sampling interval, seconds.
        nperseg: samples per Welch segment (frequency resolution 1 / (nperseg dt));
            reduced to n/4 for short records.
        fmax: upper integration limit, Hz (default: Nyquist).

    Returns:
        (freqs_Hz, coherence, info_rate_bits_per_s).
    """
    from scipy import signal  # imported here: it costs ~1 s, most users of the package never need it

    sa, ra, nseg = _pair(s, r, dt, nperseg)
    with np.errstate(divide="ignore", invalid="ignore"):
        freqs, coh = signal.coherence(sa, ra, fs=1.0 / dt, nperseg=nseg)
    coh = np.nan_to_num(coh)  # 0/0 where a signal has no power (silent layer): no information
    # C = 1 exactly only for noiseless data; clip so the log stays finite.
    density = -np.log2(1.0 - np.clip(coh, 0.0, 1.0 - 1e-12))
    keep = freqs <= (freqs[-1] if fmax is None else fmax)
    rate = float(np.trapezoid(density[keep], freqs[keep])) if keep.sum() > 1 else 0.0
    return freqs, coh, rate


def info_rate_shift_null(
    s: ArrayLike,
    r: ArrayLike,
    dt: float,
    nperseg: int = DEFAULT_NPERSEG,
    fmax: float | None = None,
    n: int = 20,
    seed: int = 0,
) -> np.ndarray:
    """Information rates (bits/s) of ``n`` circularly time-shifted responses: the estimator's null.

    Method: r is rolled by a random shift of at least one Welch segment (and at most n − segment),
    which keeps both spectra but breaks the stimulus–response alignment; each surrogate goes
    through ``info_rate_coherence`` with the same settings. The coherence estimate's positive
    bias (~1/segments per frequency) integrates over the band into a rate of the same order as a
    weak real signal (tens to hundreds of bits/s for short records at 1 ms bins), so subtract the
    mean of this null (``layer_summary`` does) and compare against its spread.

    Args:
        s, r, dt, nperseg, fmax: as ``info_rate_coherence``.
        n: number of surrogates.
        seed: seed of the shifts.

    Returns:
        (n,) null information rates, bits/s.
    """
    sa, ra, nseg = _pair(s, r, dt, nperseg)
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    m = sa.size  # >= 4 segments (_pair), so the shift range is never empty
    shifts = np.random.default_rng(seed).integers(nseg, m - nseg + 1, size=n)
    return np.array([info_rate_coherence(sa, np.roll(ra, k), dt, nperseg=nseg, fmax=fmax)[2] for k in shifts])


class LinearFilter(NamedTuple):
    """Wiener filter from a stimulus s to a response r (see ``linear_filter``).

    freqs: Hz. transfer: complex H(f) = S_sr / S_ss. gain: |H|. phase: angle(H),
    rad, wrapped to (-pi, pi]. lags: s, centred on 0. kernel: impulse response
    h(t) at those lags in response units per stimulus unit per second, so that
    r(t) ~ integral h(tau) s(t - tau) dtau. coherence: C(f) of the same segments.
    """

    freqs: np.ndarray
    transfer: np.ndarray
    gain: np.ndarray
    phase: np.ndarray
    lags: np.ndarray
    kernel: np.ndarray
    coherence: np.ndarray


def linear_filter(
    s: ArrayLike,
    r: ArrayLike,
    dt: float,
    nperseg: int = DEFAULT_NPERSEG,
) -> LinearFilter:
    """Best linear (Wiener) filter from stimulus s to response r.

    Method: Welch estimates (Hann window, 50 % overlap) of the cross spectrum
    S_sr = <conj(S) R> and the stimulus spectrum S_ss give H(f) = S_sr / S_ss;
    the impulse response is its inverse real FFT over ``nperseg`` samples,
    divided by dt and centred on lag 0 (kernels longer than about nperseg/2
    samples wrap around). Because transfer functions of a cascade multiply, the
    per-layer filters (input = previous layer's rate) can be compared with the
    cumulative filter (input = stimulus): H_cum(f) ~ prod_i H_i(f) where the
    cascade is linear.

    Args:
        s: stimulus samples.
        r: response samples (same length and sampling).
        dt: sampling interval, seconds.
        nperseg: samples per Welch segment; sets the resolution and the longest
            kernel; reduced to n/4 for short records.

    Returns:
        LinearFilter(freqs, transfer, gain, phase, lags, kernel, coherence).
    """
    from scipy import signal  # see info_rate_coherence

    sa, ra, nseg = _pair(s, r, dt, nperseg)
    freqs, s_sr = signal.csd(sa, ra, fs=1.0 / dt, nperseg=nseg)
    _, s_ss = signal.welch(sa, fs=1.0 / dt, nperseg=nseg)
    _, s_rr = signal.welch(ra, fs=1.0 / dt, nperseg=nseg)
    with np.errstate(divide="ignore", invalid="ignore"):
        transfer = np.where(s_ss > 0, s_sr / s_ss, 0.0)
        coherence = np.where(s_ss * s_rr > 0, np.abs(s_sr) ** 2 / (s_ss * s_rr), 0.0)
    kernel = np.fft.fftshift(np.fft.irfft(transfer, n=nseg)) / dt
    lags = (np.arange(nseg) - nseg // 2) * dt
    return LinearFilter(freqs, transfer, np.abs(transfer), np.angle(transfer), lags, kernel, coherence.real)


TILT_BAND_HZ = (4.0, 60.0)


def gain_tilt(freqs: np.ndarray, gain: np.ndarray, band: tuple[float, float] = TILT_BAND_HZ) -> float:
    """Slope of log10 gain vs log10 frequency over ``band`` (least squares): < 0 low-pass
    (integrating), > 0 high-pass (differentiating), 0 flat."""
    keep = (freqs >= band[0]) & (freqs <= band[1]) & (gain > 0)
    if keep.sum() < 3:
        return float("nan")
    return float(np.polyfit(np.log10(freqs[keep]), np.log10(gain[keep]), 1)[0])
