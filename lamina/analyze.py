"""`lamina analyze`: per-layer analysis of run files, stored under /analysis (idempotent).

::

    /analysis                    attrs: every estimator setting (layer_summary's params), lamina_version
    /analysis/<layer>/<name>     float64 scalars: rate_hz, packet_alpha, packet_sigma, packet_latency,
                                 mi_gcmi_bits, mi_ksg_bits, best_lag_ms, info_rate_bits_s, ...
                                 each with attrs units and method
    /analysis/<layer>/filter/{freq_hz, gain, phase_rad}   input → layer linear filter (continuous inputs)

The file is rewritten atomically (copy, modify, rename), so a reader or a kill never sees a
half-written analysis; running twice gives the same numbers (all estimators are seeded).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import h5py
import numpy as np

from .errors import ConfigError
from .report import baseline_rates

MI_BIN_MS = 1.0  # rate bin for MI / coherence with continuous inputs

_META = {  # name -> (units, method)
    "rate_hz": ("Hz per neuron", "spike count / size / duration"),
    "n_spikes": ("1", "count"), "n_neurons": ("1", "layer size"),
    "packet_alpha": ("spikes", "pulse_packet: peak of 200-bin histogram, ±window, baseline subtracted"),
    "packet_sigma": ("ms", "pulse_packet: SD of spikes within ±window of the peak"),
    "packet_latency": ("ms", "pulse_packet: mean time of spikes within ±window"),
    "packet_peak_time": ("ms", "pulse_packet: centre of the peak bin"),
    "packet_n_window": ("spikes", "pulse_packet: raw count in window"),
    "packet_baseline": ("spikes", "expected background count in window"),
    "mi_gcmi_bits": ("bits", "Gaussian-copula MI (Ince et al. 2017) at the best lag"),
    "mi_ksg_bits": ("bits", "KSG algorithm 1 (Kraskov et al. 2004) at the best lag"),
    "best_lag_ms": ("ms", "lag maximising GCMI, stimulus leading"),
    "info_rate_bits_s": ("bits/s", "coherence lower bound -∫log2(1-C(f))df minus its shift-null mean"),
    "info_rate_raw_bits_s": ("bits/s", "coherence lower bound -∫log2(1-C(f))df, not bias-corrected"),
    "info_rate_null_bits_s": ("bits/s", "mean rate of circularly shifted responses (estimator bias)"),
}


def analyze_arrays(run) -> tuple[dict, dict, dict]:
    """(per-layer numbers, estimator params, per-layer filters) for a :class:`RunData`."""
    from .analysis import layer_summary, linear_filter

    names = run.layer_names
    duration = float(run.attrs.get("duration_ms"))
    stim = run.stimulus
    kw: dict = {}
    bases = baseline_rates(run.layers, run.spikes, duration, stim)
    if bases is not None:
        kw["baseline_rate_hz"] = bases
    current = stim.get("current")
    if current is not None:
        kw.update(stimulus=np.asarray(current, float), stimulus_dt_ms=float(stim["current_dt_ms"]),
                  mi_bin_ms=MI_BIN_MS)
    spikes = {n: run.spikes[n][0] for n in names}
    sizes = {l["name"]: int(l["size"]) for l in run.layers}
    per_layer, params = layer_summary(spikes, sizes, duration, **kw)
    filters = {}
    if current is not None:
        from .analysis.rates import binned_stimulus_and_rates

        s, rates = binned_stimulus_and_rates(current, kw["stimulus_dt_ms"], spikes, sizes, MI_BIN_MS)
        for name, r in rates.items():
            f = linear_filter(s, r, MI_BIN_MS / 1e3)
            filters[name] = {"freq_hz": f.freqs, "gain": f.gain, "phase_rad": f.phase}
    return per_layer, params, filters


def analyze_file(path: str | Path) -> dict:
    """Analyse one run file in place (atomically); returns the per-layer numbers."""
    from . import __version__
    from .store import open_run

    path = Path(path)
    try:
        run = open_run(path)
    except (OSError, ValueError, KeyError) as e:
        raise ConfigError("target", str(path), f"a readable lamina run file ({e})") from None
    per_layer, params, filters = analyze_arrays(run)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.analyze.tmp")
    try:
        # Rebuild rather than edit in place: deleting a group leaves free space behind, and
        # rebuilding makes a second `analyze` give a byte-identical file.
        with h5py.File(path, "r", locking=False) as src, h5py.File(tmp, "w", track_order=True) as f:
            f.attrs.update(dict(src.attrs))
            for key in src:
                if key != "analysis":
                    src.copy(src[key], f, name=key)
            g = f.create_group("analysis")
            g.attrs.update({k: v for k, v in params.items()})
            g.attrs["lamina_version"] = __version__
            for layer, numbers in per_layer.items():
                lg = g.create_group(str(layer))
                for name, value in numbers.items():
                    d = lg.create_dataset(name, data=np.float64(value))
                    units, method = _META.get(name, ("", ""))
                    d.attrs.update(units=units, method=method)
                for name, arr in filters.get(layer, {}).items():
                    lg.create_dataset(f"filter/{name}", data=arr)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return per_layer


def format_analysis(per_layer: dict) -> str:
    cols = [("rate_hz", "rate (Hz)", "{:.2f}"), ("packet_alpha", "packet size", "{:.0f}"),
            ("packet_sigma", "packet SD (ms)", "{:.2f}"), ("packet_latency", "latency (ms)", "{:.1f}"),
            ("mi_gcmi_bits", "MI gcmi (bit)", "{:.3f}"), ("mi_ksg_bits", "MI ksg (bit)", "{:.3f}"),
            ("best_lag_ms", "lag (ms)", "{:.0f}"), ("info_rate_bits_s", "info rate (bit/s)", "{:.1f}")]
    cols = [c for c in cols if any(np.isfinite(v.get(c[0], np.nan)) for v in per_layer.values())]
    rows = [["layer"] + [h for _, h, _ in cols]]
    rows += [[str(k)] + [f.format(v[c]) for c, _, f in cols] for k, v in per_layer.items()]
    w = [max(len(r[j]) for r in rows) for j in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w[j]) if j == 0 else c.rjust(w[j]) for j, c in enumerate(r)) for r in rows]
    lines.insert(1, "  ".join("-" * x for x in w))
    return "\n".join(lines)


def _note_compile(quiet: bool) -> None:
    """Say why the first analysis after an install or update pauses."""
    from .analysis import _cache

    if _cache.is_cold() and not quiet:
        print("lamina: compiling the analysis kernels (first use after an install or update, "
              "~30 s; cached afterwards)", file=sys.stderr, flush=True)


def cli_analyze(args) -> int:
    target = Path(args.target)
    if target.is_dir():
        files = sorted((target / "runs").glob("*.h5")) if (target / "runs").is_dir() else sorted(target.glob("*.h5"))
        if not files:
            raise ConfigError("target", str(target), "a run file or a directory holding run files (none found)")
    elif target.exists():
        files = [target]
    else:
        raise ConfigError("target", str(target), "an existing run file or sweep directory")
    _note_compile(args.quiet)
    if target.is_dir():
        from tqdm.auto import tqdm

        for f in tqdm(files, desc="analyze", unit="run", disable=args.quiet):
            analyze_file(f)
        if not args.quiet:
            print(f"analyzed {len(files)} runs in {target}")
        return 0
    per_layer = analyze_file(target)
    if not args.quiet:
        print(format_analysis(per_layer))
    return 0
