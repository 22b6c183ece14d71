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
    /analysis/...               written by `lamina analyze`
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

from .simulate import RunResult

MAGIC = 0x0A7A


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
    from .errors import ConfigError

    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".lamina-write-test-{os.getpid()}"
        probe.touch()
        probe.unlink()
    except OSError as e:
        raise ConfigError(field, str(path), f"a writable directory ({e.strerror})") from None
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
        from .config import experiment_from_dict

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
