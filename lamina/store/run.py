"""The HDF5 layout of one run (see docs/design.md), written atomically, and its reader.

::

    /                attrs: lamina_version, brian2_version, backend, seed, created, wall_time_s,
                            structure_key, magic = 0x0A7A, version = [0, 1], layers (JSON), ...
    /config          attrs: toml (resolved spec), point (JSON of swept values)
    /spikes/<layer>/timestamps  float64, attr units = "ms"   (SONATA spike layout)
    /spikes/<layer>/node_ids    uint64; group attrs sorting = "by_time", cell, size
    /rates/<layer>              float32 Hz per neuron; attrs dt_ms, t0_ms, units = "Hz"
    /stimulus                   attrs describe the input; packet/<layer>/{node_ids,times} or current
    /traces/<layer>/<var>       (neuron, time) state traces when recorded
    /analysis                   attrs: every estimator setting, lamina_version (``lamina analyze``)
    /analysis/<layer>/<name>    float64 scalars (rate_hz, packet_alpha, packet_sigma, ...), attrs units, method
    /analysis/<layer>/filter/{freq_hz, gain, phase_rad}   input → layer linear filter (continuous inputs)

This module is the one owner of that layout: everything that reads or writes a run file goes
through it (the sweep index has its own file, :mod:`lamina.store.sweep_index`).
"""
from __future__ import annotations

import json
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from ..errors import InputError
from ..simulation import RunResult

MAGIC = 0x0A7A  # in the root attrs of every lamina file (run files and sweep indexes)


def _attr(v: Any) -> Any:
    return json.dumps(v) if isinstance(v, (dict, list)) else v


def _write(f: h5py.File, r: RunResult) -> None:
    for k, v in r.attrs.items():
        f.attrs[k] = _attr(v)
    f.attrs["name"] = r.name
    f.attrs["magic"] = np.uint32(MAGIC)
    f.attrs["version"] = np.array([0, 1], dtype=np.uint32)
    f.attrs["layers"] = json.dumps(r.layers)
    f.attrs["duration_ms"] = r.duration_ms
    cfg = f.create_group("config")
    cfg.attrs["toml"] = r.config_toml
    cfg.attrs["point"] = json.dumps(r.point)
    sp = f.create_group("spikes")
    rates = f.create_group("rates")
    for layer in r.layers:
        name = layer["name"]
        if name in r.spikes:
            g = sp.create_group(name)
            g.attrs["sorting"] = "by_time"
            g.attrs.update({k: layer[k] for k in ("cell", "size", "role")})
            t, i = r.spikes[name]
            ts = g.create_dataset("timestamps", data=np.asarray(t, np.float64), compression="gzip")
            ts.attrs["units"] = "ms"
            g.create_dataset("node_ids", data=np.asarray(i, np.uint64), compression="gzip")
        d = rates.create_dataset(name, data=np.asarray(r.rates[name], np.float32))
        d.attrs.update({"dt_ms": r.rate_dt_ms, "t0_ms": 0.0, "units": "Hz",
                        "cell": layer["cell"], "size": layer["size"], "role": layer["role"]})
    st = f.create_group("stimulus")
    s = r.stimulus
    st.attrs.update({k: _attr(v) for k, v in s.attrs.items()})
    for name, ids in s.packet_ids.items():
        g = st.create_group(f"packet/{name}")
        g.create_dataset("node_ids", data=ids)
        g.create_dataset("times", data=s.packet_times_ms[name]).attrs["units"] = "ms"
    if s.current is not None:
        unit = s.attrs.get("si_per_unit", 1.0)
        d = st.create_dataset("current", data=s.current / unit, compression="gzip")
        d.attrs.update({"dt_ms": s.current_dt_ms, "t0_ms": 0.0, "units": s.attrs.get("current_unit", "")})
    for name, tr in r.traces.items():
        for var, arr in tr.items():
            d = f.create_dataset(f"traces/{name}/{var}", data=arr, compression="gzip")
            d.attrs["dt_ms"] = r.trace_dt_ms
            d.attrs["units"] = "SI"


def ensure_writable_dir(path: str | Path, field: str = "-o/--output") -> Path:
    """Create ``path`` if needed and check that files can be written there, before any work."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".lamina-write-test-{os.getpid()}"
        probe.touch()
        probe.unlink()
    except OSError as e:
        raise InputError(field, path, f"a writable directory ({e.strerror})") from None
    return path


def default_filename(r: RunResult) -> str:
    return f"{r.name}_seed{r.attrs.get('seed', 0)}.h5"


def write_run(result: RunResult, out: str | Path, filename: str | None = None) -> Path:
    """Write ``result`` into directory ``out``; returns the file's path.

    Atomic: written to a hidden temporary file in the same directory, then hard-linked to the
    final name, which never replaces an existing file (a numbered suffix is added instead).
    A killed run leaves at most a hidden ``.*.tmp`` file, never a partial ``.h5``.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    name = filename or default_filename(result)
    tmp = out / f".{name}.{os.getpid()}.tmp"
    try:
        with h5py.File(tmp, "w") as f:
            _write(f, result)
        stem, suffix = os.path.splitext(name)
        for n in range(10_000):
            final = out / (name if n == 0 else f"{stem}_{n}{suffix}")
            try:
                os.link(tmp, final)  # atomic, and fails rather than overwrite
                return final
            except FileExistsError:
                continue
        raise FileExistsError(f"no free file name for {name} in {out}")
    finally:
        tmp.unlink(missing_ok=True)


@dataclass
class RunData:
    """A run read back from HDF5: plain numpy arrays, times in ms."""

    path: Path
    attrs: dict
    layers: list[dict]
    spikes: dict[str, tuple[np.ndarray, np.ndarray]]
    rates: dict[str, np.ndarray]
    rate_dt_ms: float
    stimulus: dict
    config_toml: str
    point: dict
    traces: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    analysis: dict = field(default_factory=dict)

    @property
    def config(self) -> dict:
        return tomllib.loads(self.config_toml)

    @property
    def layer_names(self) -> list[str]:
        return [l["name"] for l in self.layers]

    def experiment(self):
        """The validated Experiment that produced this run (to re-run it)."""
        from ..config import experiment_from_dict

        return experiment_from_dict(self.config)


def _read_group(g: h5py.Group) -> dict:
    out: dict[str, Any] = dict(g.attrs)
    for k, v in g.items():
        out[k] = _read_group(v) if isinstance(v, h5py.Group) else v[()]
    return out


def open_run(path: str | Path) -> RunData:
    """Read a run file written by :func:`write_run` (whole file into memory)."""
    path = Path(path)
    with h5py.File(path, "r", locking=False) as f:
        if int(f.attrs.get("magic", 0)) != MAGIC:
            raise ValueError(f"{path} is not a lamina run file (magic attribute missing)")
        attrs = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in f.attrs.items()}
        layers = json.loads(attrs.pop("layers"))
        spikes = {k: (g["timestamps"][()], g["node_ids"][()]) for k, g in f["spikes"].items()}
        rates = {k: d[()] for k, d in f["rates"].items()}
        rate_dt = float(next(iter(f["rates"].values())).attrs["dt_ms"]) if len(f["rates"]) else 0.0
        traces = {k: {v: d[()] for v, d in g.items()} for k, g in f["traces"].items()} if "traces" in f else {}
        stimulus = _read_group(f["stimulus"])
        if "current" in f["stimulus"]:
            stimulus["current_dt_ms"] = float(f["stimulus/current"].attrs["dt_ms"])
            stimulus["current_units"] = str(f["stimulus/current"].attrs["units"])
        return RunData(path, attrs, layers, spikes, rates, rate_dt, stimulus,
                       f["config"].attrs["toml"], json.loads(f["config"].attrs["point"]), traces,
                       _read_group(f["analysis"]) if "analysis" in f else {})


def _scalar(v: Any) -> Any:
    if isinstance(v, bytes):
        return v.decode()
    return v.item() if isinstance(v, np.generic) else v


def read_header(path: str | Path) -> dict | None:
    """The root attributes and resolved spec (``spec``: TOML text) of a complete run file, or None
    if ``path`` is not a readable lamina run file. Cheap: reads no datasets."""
    try:
        with h5py.File(path, "r", locking=False) as f:
            if int(f.attrs.get("magic", 0)) != MAGIC or not all(k in f for k in ("spikes", "rates", "config")):
                return None
            out = {k: _scalar(v) for k, v in f.attrs.items()}
            out["spec"] = str(f["config"].attrs["toml"])
            return out
    except (OSError, KeyError, ValueError, TypeError):
        return None


def read_run_status(path: Path, seed: int, structure_key: str | None = None) -> tuple[str, float | None]:
    """("ok", wall_time_s) for a complete run file with this seed (and, if given, made by the
    program with this structure key); ("other", None) for a readable run file of another seed or
    program; ("bad", None) for a file that is not a readable lamina run."""
    h = read_header(path)
    if h is None or "seed" not in h:
        return "bad", None
    if int(h["seed"]) != int(seed) or (structure_key is not None and h.get("structure_key", "") != structure_key):
        return "other", None
    return "ok", float(h.get("wall_time_s", np.nan))


#: name -> (units, method) of the per-layer numbers ``lamina analyze`` stores.
ANALYSIS_META = {
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


def write_analysis(path: str | Path, per_layer: dict[str, dict[str, float]], params: dict[str, Any],
                   filters: dict[str, dict[str, np.ndarray]] | None = None) -> None:
    """Replace the ``/analysis`` group of run file ``path`` (atomically: copy, modify, rename).

    Rebuilt rather than edited in place: deleting a group leaves free space behind, and
    rebuilding makes a second ``lamina analyze`` give a byte-identical file.
    """
    from .._version import __version__

    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.analyze.tmp")
    try:
        with h5py.File(path, "r", locking=False) as src, h5py.File(tmp, "w", track_order=True) as f:
            f.attrs.update(dict(src.attrs))
            for key in src:
                if key != "analysis":
                    src.copy(src[key], f, name=key)
            g = f.create_group("analysis")
            g.attrs.update(dict(params))
            g.attrs["lamina_version"] = __version__
            for layer, numbers in per_layer.items():
                lg = g.create_group(str(layer))
                for name, value in numbers.items():
                    d = lg.create_dataset(name, data=np.float64(value))
                    units, method = ANALYSIS_META.get(name, ("", ""))
                    d.attrs.update(units=units, method=method)
                for name, arr in (filters or {}).get(layer, {}).items():
                    lg.create_dataset(f"filter/{name}", data=arr)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def read_analysis_scalars(path: str | Path) -> dict[str, Any]:
    """``{"<layer>.<name>": value}`` of the scalar numbers under ``/analysis`` ({} if none)."""
    out: dict[str, Any] = {}
    try:
        with h5py.File(path, "r", locking=False) as f:
            if "analysis" not in f:
                return out
            for layer, g in f["analysis"].items():
                if not isinstance(g, h5py.Group):
                    continue
                for name, d in g.items():
                    if isinstance(d, h5py.Dataset) and d.shape == ():
                        out[f"{layer}.{name}"] = (d.asstr()[()] if h5py.check_string_dtype(d.dtype)
                                                  else _scalar(d[()]))
    except OSError:
        pass
    return out
