"""Analysis of lamina runs: rates, pulse packets, mutual information, spectral measures.

Plain numpy arrays in and out; spike times are in ms, rates in Hz, information
in bits. The heavy kernels are numba functions compiled on first use and cached
on disk (``cache=True``; set NUMBA_CACHE_DIR to relocate the cache). The cache is
emptied whenever any source file of this package changes (``_cache.py``: numba
alone would keep callers compiled with an old version of a helper from another
module). This package deliberately imports neither brian2 nor h5py.

Parallel kernels (``mi_batch``, and ``mi_ksg`` / ``mi_gcmi`` on large inputs)
use numba's thread count (NUMBA_NUM_THREADS); jobs under ~50 000 samples run on
one thread because a parallel launch would cost more than the work.
"""
from __future__ import annotations

from .batch import mi_batch
from .discrete import equal_population_bins, mi_discrete
from .gcmi import mi_gcmi
from .ksg import mi_ksg
from .lags import best_lag_mi, lagged_mi
from .null import mi_shuffle_null
from .packets import PacketFit, PacketMoments, PulsePacket, packet_gaussian_fit, packet_moments, pulse_packet
from .rates import population_rate
from .spectral import LinearFilter, info_rate_coherence, info_rate_shift_null, linear_filter
from .stats import (WINDOW_SD_CEILING_MS, bootstrap_ci, mean_ci, survival_by_threshold, wilson_interval,
                    window_sd_ceiling)
from .strength import fano_lower_bound, mi_codes, strength_decoder_mi, strength_mi, strength_mi_joint
from .transfer import cmi_ksg, gaussian_var_te, layer_transfer_mi, transfer_entropy, transfer_entropy_scan
from .summary import layer_summary
from ._cache import check_cache
from ._kdtree import build_forest as _any_cached_kernel

check_cache(_any_cached_kernel)  # before any kernel loads from the cache

__all__ = [
    "LinearFilter",
    "PacketFit",
    "PacketMoments",
    "bootstrap_ci",
    "cmi_ksg",
    "fano_lower_bound",
    "gaussian_var_te",
    "layer_transfer_mi",
    "mean_ci",
    "mi_codes",
    "packet_gaussian_fit",
    "packet_moments",
    "strength_decoder_mi",
    "strength_mi",
    "strength_mi_joint",
    "survival_by_threshold",
    "transfer_entropy",
    "transfer_entropy_scan",
    "WINDOW_SD_CEILING_MS",
    "PulsePacket",
    "best_lag_mi",
    "equal_population_bins",
    "info_rate_coherence",
    "info_rate_shift_null",
    "lagged_mi",
    "layer_summary",
    "linear_filter",
    "mi_batch",
    "mi_discrete",
    "mi_gcmi",
    "mi_ksg",
    "mi_shuffle_null",
    "population_rate",
    "pulse_packet",
    "wilson_interval",
    "window_sd_ceiling",
]
